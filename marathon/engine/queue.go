package engine

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/sched"
)

const lastOffersKept = 10

// offerStats is an app's processedOffersSummary and what explains it.
type offerStats struct {
	processed, unused        int
	lastUsedAt, lastUnused   time.Time
	attempt                  map[string]int // reason -> offers declined for it since the launch attempt began
	attemptProcessed         int
	recent                   []offerRecord // last offers processed
	maxCPUs, maxMem, maxDisk float64       // largest unusable offer seen in this attempt
	maxPorts                 uint64
}

type offerRecord struct {
	offerID, agentID, hostname string
	resources                  mesos.Resources
	reason                     string
	at                         time.Time
}

func (s *offerStats) startAttempt() {
	s.attempt, s.attemptProcessed = map[string]int{}, 0
	s.maxCPUs, s.maxMem, s.maxDisk, s.maxPorts = 0, 0, 0, 0
}

func (s *offerStats) record(o *mesos.Offer, used bool, reason string, now time.Time) {
	s.processed++
	s.attemptProcessed++
	if s.attempt == nil {
		s.attempt = map[string]int{}
	}
	if used {
		s.lastUsedAt = now
	}
	if reason != "" && !used {
		s.unused++
		s.lastUnused = now
		s.attempt[reason]++
		s.maxCPUs = max(s.maxCPUs, o.Resources.Scalar("cpus"))
		s.maxMem = max(s.maxMem, o.Resources.Scalar("mem"))
		s.maxDisk = max(s.maxDisk, o.Resources.Scalar("disk"))
		var ports uint64
		for _, r := range o.Resources.Ranges("ports") {
			ports += r.End - r.Begin + 1
		}
		s.maxPorts = max(s.maxPorts, ports)
	}
	s.recent = append(s.recent, offerRecord{offerID: o.ID.Value, agentID: o.AgentID.Value, hostname: o.Hostname,
		resources: o.Resources, reason: reason, at: now})
	if len(s.recent) > lastOffersKept {
		s.recent = s.recent[len(s.recent)-lastOffersKept:]
	}
}

// QueueEntry is one app of GET /v2/queue.
type QueueEntry struct {
	App   app.AppInfo
	Count int
	Role  string
	// Delay: time left of the backoff; Overdue true when waiting for
	// offers rather than backed off.
	TimeLeftSeconds int
	Overdue         bool
	Since           string
	Summary         OfferSummary
	LastUnused      []UnusedOffer
	// Message explains in words why the instances are not running yet.
	Message string
}

// OfferSummary is processedOffersSummary.
type OfferSummary struct {
	ProcessedOffersCount       int           `json:"processedOffersCount"`
	UnusedOffersCount          int           `json:"unusedOffersCount"`
	LastUnusedOfferAt          string        `json:"lastUnusedOfferAt,omitempty"`
	LastUsedOfferAt            string        `json:"lastUsedOfferAt,omitempty"`
	RejectSummaryLastOffers    []ReasonCount `json:"rejectSummaryLastOffers"`
	RejectSummaryLaunchAttempt []ReasonCount `json:"rejectSummaryLaunchAttempt"`
}

// ReasonCount is one rejectSummary entry.
type ReasonCount struct {
	Reason    string `json:"reason"`
	Declined  int    `json:"declined"`
	Processed int    `json:"processed"`
}

// UnusedOffer is one of lastUnusedOffers.
type UnusedOffer struct {
	Offer     map[string]any `json:"offer"`
	Timestamp string         `json:"timestamp"`
	Reason    []string       `json:"reason"`
}

// Queue returns the apps waiting for instances to launch.
func (e *Engine) Queue() ([]QueueEntry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return nil, ErrNotLeading
	}
	now := e.cfg.Now()
	byApp := e.tasksByApp()
	var out []QueueEntry
	for _, r := range e.requests(now, false) {
		q := QueueEntry{App: e.appInfo(r.app, byApp[r.app.ID], embedCounts|embedDeployments), Count: r.count,
			Role: roleOf(r.app), Overdue: r.blocked == 0, Since: Timestamp(r.rt.waitingSince)}
		if r.blocked > 0 {
			q.TimeLeftSeconds = int((r.blocked + time.Second - 1) / time.Second)
		}
		q.Summary = r.rt.offers.summary()
		for _, rec := range r.rt.offers.recent {
			if rec.reason == "" {
				continue
			}
			q.LastUnused = append(q.LastUnused, UnusedOffer{
				Offer: map[string]any{"id": rec.offerID, "agentId": rec.agentID, "hostname": rec.hostname,
					"resources": resourcesJSON(rec.resources)},
				Timestamp: Timestamp(rec.at), Reason: []string{rec.reason}})
		}
		q.Message = e.explainWaiting(r, now)
		out = append(out, q)
	}
	return out, nil
}

// ResetDelay forgets an app's backoff (DELETE /v2/queue/{id}/delay). ok is
// false when the app is not in the queue.
func (e *Engine) ResetDelay(appID string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return false, ErrNotLeading
	}
	for _, r := range e.requests(e.cfg.Now(), false) {
		if r.app.ID == appID {
			e.resetBackoff(e.ctx, appID, r.rt)
			e.kick()
			return true, nil
		}
	}
	return false, nil
}

func (s *offerStats) summary() OfferSummary {
	out := OfferSummary{ProcessedOffersCount: s.processed, UnusedOffersCount: s.unused,
		RejectSummaryLastOffers: []ReasonCount{}, RejectSummaryLaunchAttempt: []ReasonCount{}}
	if !s.lastUnused.IsZero() {
		out.LastUnusedOfferAt = Timestamp(s.lastUnused)
	}
	if !s.lastUsedAt.IsZero() {
		out.LastUsedOfferAt = Timestamp(s.lastUsedAt)
	}
	last := map[string]int{}
	for _, r := range s.recent {
		if r.reason != "" {
			last[r.reason]++
		}
	}
	for _, reason := range sched.AllReasons {
		out.RejectSummaryLastOffers = append(out.RejectSummaryLastOffers, ReasonCount{Reason: reason, Declined: last[reason], Processed: len(s.recent)})
		out.RejectSummaryLaunchAttempt = append(out.RejectSummaryLaunchAttempt, ReasonCount{Reason: reason, Declined: s.attempt[reason], Processed: s.attemptProcessed})
	}
	return out
}

func resourcesJSON(rs mesos.Resources) []map[string]any {
	var out []map[string]any
	for _, r := range rs {
		m := map[string]any{"name": r.Name, "role": r.ReservationRole()}
		switch {
		case r.Scalar != nil:
			m["scalar"] = r.Scalar.Value
		case r.Ranges != nil:
			var rg []map[string]uint64
			for _, x := range r.Ranges.Range {
				rg = append(rg, map[string]uint64{"begin": x.Begin, "end": x.End})
			}
			m["ranges"] = rg
		case r.Set != nil:
			m["set"] = r.Set.Item
		}
		out = append(out, m)
	}
	return out
}

// explainWaiting says in words why r's instances are not launched.
func (e *Engine) explainWaiting(r request, now time.Time) string {
	a := r.app
	n := r.count
	inst := plural(n, "instance")
	switch {
	case r.held:
		return fmt.Sprintf("%s of %s waits for an earlier step of deployment %s (its dependencies) to finish", inst, a.ID, e.byApp[a.ID].plan.ID)
	case r.blocked > 0:
		msg := fmt.Sprintf("launching %s of %s is delayed for %ds because its tasks keep failing (backoff %ds, factor %v, at most %ds)",
			inst, a.ID, int(r.blocked.Seconds()+0.999), derefInt(a.BackoffSeconds, 1), derefFloat(a.BackoffFactor, 1.15), derefInt(a.MaxLaunchDelaySeconds, 300))
		if f := r.rt.lastFailure; f != nil {
			msg += fmt.Sprintf("; last failure: task %s %s on %s: %q", f.TaskID, f.State, f.Host, f.Message)
		}
		return msg + "; fix the command (see the task's stderr in its sandbox), then DELETE /v2/queue" + a.ID + "/delay to retry at once"
	}
	s := &r.rt.offers
	if s.attemptProcessed == 0 {
		if now.Sub(r.rt.waitingSince) < 2*time.Second {
			return fmt.Sprintf("%s of %s waiting for resource offers", inst, a.ID)
		}
		return fmt.Sprintf("%s of %s waiting: no resource offers received since %s; check that agents are registered and have free resources for role %q",
			inst, a.ID, Timestamp(r.rt.waitingSince), roleOf(a))
	}
	if len(s.attempt) == 0 {
		return fmt.Sprintf("%s of %s waiting for more resource offers (%d processed)", inst, a.ID, s.attemptProcessed)
	}
	res := a.Resources()
	var parts []string
	keys := make([]string, 0, len(s.attempt))
	for k := range s.attempt {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return s.attempt[keys[i]] > s.attempt[keys[j]] || (s.attempt[keys[i]] == s.attempt[keys[j]] && keys[i] < keys[j])
	})
	for _, k := range keys {
		detail := ""
		switch k {
		case sched.ReasonInsufficientCpus:
			detail = fmt.Sprintf(": the app needs %v cpus per instance, the largest offer had %v", res.CPUs, s.maxCPUs)
		case sched.ReasonInsufficientMemory:
			detail = fmt.Sprintf(": the app needs %v MiB mem per instance, the largest offer had %v", res.Mem, s.maxMem)
		case sched.ReasonInsufficientDisk:
			detail = fmt.Sprintf(": the app needs %v MiB disk per instance, the largest offer had %v", res.Disk, s.maxDisk)
		case sched.ReasonInsufficientPorts:
			detail = fmt.Sprintf(": the app needs %d host ports%s, the largest offer had %d", len(sched.PortRequests(a)), requirePortsNote(a), s.maxPorts)
		case sched.ReasonUnfulfilledConstraint:
			detail = fmt.Sprintf(": constraints %v", a.Constraints)
		case sched.ReasonUnfulfilledRole:
			detail = fmt.Sprintf(": the app runs as role %q and accepts resources of %v", roleOf(a), acceptedRoles(a))
		case sched.ReasonAgentMaintenance:
			detail = " from agents in a maintenance window (start Marathon with --disable_maintenance_mode to use them)"
		}
		parts = append(parts, fmt.Sprintf("%s on %s%s", k, plural(s.attempt[k], "offer"), detail))
	}
	return fmt.Sprintf("%s of %s cannot be placed: no offer fits (%d offers processed): %s; lower the app's requirements, relax its constraints or add agents",
		inst, a.ID, s.attemptProcessed, strings.Join(parts, "; "))
}

func requirePortsNote(a *app.App) string {
	if a.RequirePorts != nil && *a.RequirePorts {
		var ps []string
		for _, pd := range a.PortDefinitions {
			ps = append(ps, fmt.Sprint(pd.Port))
		}
		return " (requirePorts: exactly " + strings.Join(ps, ", ") + ")"
	}
	return ""
}

func acceptedRoles(a *app.App) []string {
	if len(a.AcceptedResourceRoles) > 0 {
		return a.AcceptedResourceRoles
	}
	return []string{"*", roleOf(a)}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func derefInt(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

func derefFloat(p *float64, d float64) float64 {
	if p == nil {
		return d
	}
	return *p
}
