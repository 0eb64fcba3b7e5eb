package sched

import (
	"slices"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
	"github.com/strata-sched/strata/marathon/app"
)

// Reasons an offer was not used for an app (Marathon's NoOfferMatchReason).
const (
	ReasonUnfulfilledRole       = "UnfulfilledRole"
	ReasonUnfulfilledConstraint = "UnfulfilledConstraint"
	ReasonAgentMaintenance      = "AgentMaintenance"
	ReasonInsufficientCpus      = "InsufficientCpus"
	ReasonInsufficientMemory    = "InsufficientMemory"
	ReasonInsufficientDisk      = "InsufficientDisk"
	ReasonInsufficientGpus      = "InsufficientGpus"
	ReasonInsufficientPorts     = "InsufficientPorts"
)

// AllReasons lists the reasons in the order Marathon reports them.
var AllReasons = []string{ReasonUnfulfilledRole, ReasonUnfulfilledConstraint, ReasonAgentMaintenance, ReasonInsufficientCpus,
	ReasonInsufficientMemory, ReasonInsufficientDisk, ReasonInsufficientGpus, ReasonInsufficientPorts}

// Request is one app's demand for new instances.
type Request struct {
	App *app.App
	// Constraints are the app's parsed constraints.
	Constraints []app.Constraint
	// Count is how many instances to launch.
	Count int
	// Placed lists where the app's active instances run.
	Placed []app.Placement
}

// Launch is one instance an offer takes.
type Launch struct {
	// Request is the index of the request served.
	Request int
	TaskID  string
	// Resources are carved out of the offer (with its allocation info).
	Resources mesos.Resources
	// HostPorts has one entry per declared port of the app (0 for a
	// container port without host port).
	HostPorts []uint64
}

// Result is what one offer gives.
type Result struct {
	Launches []Launch
	// Reasons holds, per request index, why the offer could not take (more
	// of) its instances. A request that launched everything it asked for
	// has no entry.
	Reasons map[int]string
}

// OfferPlacement is the offer's hostname and attributes in the form
// constraints use: attributes formatted as Marathon compares them, plus
// @region and @zone from the fault domain.
func OfferPlacement(o *mesos.Offer) app.Placement {
	attrs := make(map[string]string, len(o.Attributes)+2)
	for _, a := range o.Attributes {
		switch a.Type {
		case mesos.SCALAR:
			if a.Scalar != nil {
				attrs[a.Name] = app.FormatScalar(a.Scalar.Value)
			}
		case mesos.RANGES:
			if a.Ranges != nil {
				rs := make([]app.Range, len(a.Ranges.Range))
				for i, r := range a.Ranges.Range {
					rs[i] = app.Range{Begin: r.Begin, End: r.End}
				}
				attrs[a.Name] = app.FormatRanges(rs)
			}
		case mesos.SET:
			if a.Set != nil {
				attrs[a.Name] = app.FormatSet(a.Set.Item)
			}
		case mesos.TEXT:
			if a.Text != nil {
				attrs[a.Name] = a.Text.Value
			}
		}
	}
	if d := o.Domain; d != nil && d.FaultDomain != nil {
		attrs[app.FieldRegion] = d.FaultDomain.Region.Name
		attrs[app.FieldZone] = d.FaultDomain.Zone.Name
	}
	return app.Placement{Hostname: o.Hostname, Attributes: attrs}
}

// InMaintenance reports whether an offer comes from an agent whose
// maintenance window (the offer's unavailability, set by the master for
// machines scheduled for maintenance) has started or starts within
// draining, and has not ended: Marathon's maintenance mode declines such
// offers so that no new instance lands on a machine about to go down.
func InMaintenance(o *mesos.Offer, now time.Time, draining time.Duration) bool {
	u := o.Unavailability
	if u == nil {
		return false
	}
	start := time.Unix(0, u.Start.Nanoseconds)
	if now.Before(start.Add(-draining)) {
		return false
	}
	return u.Duration == nil || now.Before(start.Add(time.Duration(u.Duration.Nanoseconds)))
}

// MaintenanceResult is the Result of an offer declined for maintenance:
// every request is told why.
func MaintenanceResult(reqs []Request) Result {
	res := Result{Reasons: make(map[int]string, len(reqs))}
	for i := range reqs {
		res.Reasons[i] = ReasonAgentMaintenance
	}
	return res
}

// MatchOffer decides what offer launches for reqs, at most maxPerOffer
// instances (0: no limit). newTaskID names each new task. reqs is not
// modified; the caller subtracts the launches from its demand.
func MatchOffer(offer *mesos.Offer, reqs []Request, maxPerOffer int, newTaskID func(appID string) string) Result {
	res := Result{Reasons: map[int]string{}}
	remaining := offer.Resources.Clone()
	place := OfferPlacement(offer)
	left := make([]int, len(reqs))
	placed := make([][]app.Placement, len(reqs))
	for i, r := range reqs {
		left[i] = r.Count
		placed[i] = r.Placed
	}
	for {
		progress := false
		for i := range reqs {
			if left[i] <= 0 || (maxPerOffer > 0 && len(res.Launches) >= maxPerOffer) {
				continue
			}
			if _, failed := res.Reasons[i]; failed {
				continue
			}
			l, rest, reason := fit(remaining, reqs[i].App, reqs[i].Constraints, place, offer.AllocationInfo, placed[i])
			if reason != "" {
				res.Reasons[i] = reason
				continue
			}
			l.Request = i
			l.TaskID = newTaskID(reqs[i].App.ID)
			res.Launches = append(res.Launches, l)
			remaining = rest
			left[i]--
			placed[i] = append(slices.Clip(placed[i]), place)
			progress = true
		}
		if !progress {
			return res
		}
	}
}

// fit tries to carve one instance of a out of rs.
func fit(rs mesos.Resources, a *app.App, cs []app.Constraint, place app.Placement, alloc *mesos.AllocationInfo, placed []app.Placement) (Launch, mesos.Resources, string) {
	role := a.Role
	if role == "" {
		role = "*"
	}
	accepted := a.AcceptedResourceRoles
	if len(accepted) == 0 {
		accepted = []string{"*", role}
	}
	if alloc != nil && alloc.Role != "" && alloc.Role != role {
		return Launch{}, rs, ReasonUnfulfilledRole
	}
	var usable, other mesos.Resources
	for _, r := range rs {
		if usableBy(&r, role, accepted) {
			usable = append(usable, r)
		} else {
			other = append(other, r)
		}
	}
	if len(usable) == 0 {
		return Launch{}, rs, ReasonUnfulfilledRole
	}
	if !app.SatisfiesAll(cs, place.Hostname, place.Attributes, placed) {
		return Launch{}, rs, ReasonUnfulfilledConstraint
	}
	need := a.Resources()
	for _, c := range []struct {
		name   string
		want   float64
		reason string
	}{
		{"cpus", need.CPUs, ReasonInsufficientCpus},
		{"mem", need.Mem, ReasonInsufficientMemory},
		{"disk", need.Disk, ReasonInsufficientDisk},
		{"gpus", float64(need.GPUs), ReasonInsufficientGpus},
	} {
		if c.want > 0 && usable.Scalar(c.name)+1e-9 < round3(c.want) {
			return Launch{}, rs, c.reason
		}
	}
	want := map[string]float64{"cpus": need.CPUs, "mem": need.Mem, "disk": need.Disk}
	if need.GPUs > 0 {
		want["gpus"] = float64(need.GPUs)
	}
	taken, usableLeft, ok := scheduler.Take(usable, want)
	if !ok {
		return Launch{}, rs, ReasonInsufficientCpus
	}
	requests := PortRequests(a)
	portRes, usableLeft, hostPorts, ok := TakePorts(usableLeft, requests)
	if !ok {
		return Launch{}, rs, ReasonInsufficientPorts
	}
	taken = append(taken, portRes...)
	return Launch{Resources: taken, HostPorts: hostPorts}, append(other, usableLeft...), ""
}

// usableBy reports whether resource r may serve an app of role with the
// accepted resource roles ("*" stands for unreserved resources).
func usableBy(r *mesos.Resource, role string, accepted []string) bool {
	if r.Revocable != nil || r.Shared != nil || (r.Disk != nil && r.Disk.Persistence != nil) {
		return false
	}
	if r.AllocationInfo != nil && r.AllocationInfo.Role != "" && r.AllocationInfo.Role != role {
		return false
	}
	return slices.Contains(accepted, r.ReservationRole())
}

// PortRequest is one declared port of an app: Want is the exact host port
// (0 = any), None means the port needs no host port at all.
type PortRequest struct {
	Want uint64
	None bool
}

// PortRequests lists the host ports an app's task needs, one per declared
// port: portDefinitions on host networking (exact ports with
// requirePorts), container.portMappings otherwise (hostPort absent: none).
func PortRequests(a *app.App) []PortRequest {
	var out []PortRequest
	if a.UsesPortMappings() {
		for _, pm := range a.Container.PortMappings {
			switch {
			case pm.HostPort == nil:
				out = append(out, PortRequest{None: true})
			default:
				out = append(out, PortRequest{Want: uint64(*pm.HostPort)})
			}
		}
		return out
	}
	require := a.RequirePorts != nil && *a.RequirePorts
	for _, pd := range a.PortDefinitions {
		if require {
			out = append(out, PortRequest{Want: uint64(pd.Port)})
		} else {
			out = append(out, PortRequest{})
		}
	}
	return out
}

// TakePorts carves the requested host ports out of rs: exact ports first,
// then the lowest free ones for the others. ports has one entry per
// request (0 for None). ok=false leaves rs untouched.
func TakePorts(rs mesos.Resources, reqs []PortRequest) (taken, remaining mesos.Resources, ports []uint64, ok bool) {
	remaining = rs.Clone()
	ports = make([]uint64, len(reqs))
	got := map[int][]mesos.Range{} // resource index -> ports taken
	takeFrom := func(i int, p uint64) {
		r := &remaining[i]
		var out []mesos.Range
		for _, rg := range r.Ranges.Range {
			switch {
			case p < rg.Begin || p > rg.End:
				out = append(out, rg)
			default:
				if rg.Begin < p {
					out = append(out, mesos.Range{Begin: rg.Begin, End: p - 1})
				}
				if p < rg.End {
					out = append(out, mesos.Range{Begin: p + 1, End: rg.End})
				}
			}
		}
		r.Ranges = &mesos.Ranges{Range: out}
		got[i] = appendPort(got[i], p)
	}
	isPorts := func(r *mesos.Resource) bool {
		return r.Name == "ports" && r.Type == mesos.RANGES && r.Ranges != nil
	}
	for k, req := range reqs {
		if req.None || req.Want == 0 {
			continue
		}
		found := false
		for i := range remaining {
			r := &remaining[i]
			if !isPorts(r) {
				continue
			}
			for _, rg := range r.Ranges.Range {
				if req.Want >= rg.Begin && req.Want <= rg.End {
					found = true
					break
				}
			}
			if found {
				takeFrom(i, req.Want)
				ports[k] = req.Want
				break
			}
		}
		if !found {
			return nil, rs, nil, false
		}
	}
	for k, req := range reqs {
		if req.None || req.Want != 0 {
			continue
		}
		found := false
		for i := range remaining {
			r := &remaining[i]
			if !isPorts(r) || len(r.Ranges.Range) == 0 {
				continue
			}
			p := r.Ranges.Range[0].Begin
			takeFrom(i, p)
			ports[k] = p
			found = true
			break
		}
		if !found {
			return nil, rs, nil, false
		}
	}
	for i := range remaining {
		if rgs, ok := got[i]; ok {
			piece := mesos.Resources{remaining[i]}.Clone()[0]
			piece.Ranges = &mesos.Ranges{Range: rgs}
			taken = append(taken, piece)
		}
	}
	remaining = slices.DeleteFunc(remaining, func(r mesos.Resource) bool {
		return r.Type == mesos.RANGES && (r.Ranges == nil || len(r.Ranges.Range) == 0)
	})
	return taken, remaining, ports, true
}

func appendPort(rgs []mesos.Range, p uint64) []mesos.Range {
	if k := len(rgs); k > 0 && rgs[k-1].End+1 == p {
		rgs[k-1].End = p
		return rgs
	}
	return append(rgs, mesos.Range{Begin: p, End: p})
}

func round3(v float64) float64 {
	return float64(int64(v*1000+0.5)) / 1000
}
