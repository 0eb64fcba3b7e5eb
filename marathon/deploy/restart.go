package deploy

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/strata-sched/strata/marathon/app"
)

// Strategy is how a RestartApplication proceeds, fixed when the action
// starts (TaskReplaceActor.computeRestartStrategy).
type Strategy struct {
	// MinHealthy is ceil(N × minimumHealthCapacity): healthy instances
	// that must remain while old ones are replaced.
	MinHealthy int `json:"minHealthy"`
	// MaxCapacity is floor(N × (1 + maximumOverCapacity)), plus one when
	// the strategy would otherwise leave no room to start a new instance.
	MaxCapacity int `json:"maxCapacity"`
	// KillImmediately old instances are killed when the action starts.
	KillImmediately int `json:"killImmediately"`
	// OldAtStart is the number of old instances with goal Running when
	// the action started; it is what later kills count down from.
	OldAtStart int `json:"oldAtStart"`
}

// RestartStrategy computes the strategy for replacing oldRunning instances
// (old version, goal Running) by n new ones:
//
//	minHealthy  = ceil(n × minimumHealthCapacity)
//	maxCapacity = floor(n × (1 + maximumOverCapacity))
//	killNow     = max(0, oldRunning − minHealthy)
//	if minHealthy == maxCapacity && maxCapacity <= oldRunning:
//	    resident: killNow = oldRunning − minHealthy + 1
//	    else:     maxCapacity += 1
//	if n < oldRunning: killNow = max(oldRunning − n, killNow)
func RestartStrategy(n int, us app.UpgradeStrategy, resident bool, oldRunning int) Strategy {
	// Round before ceil/floor so that 10 × 0.7 is 7, not 7.000000000000001.
	minHealthy := int(math.Ceil(round9(float64(n) * us.MinimumHealthCapacity)))
	maxCapacity := int(math.Floor(round9(float64(n) * (1 + us.MaximumOverCapacity))))
	killNow := max(0, oldRunning-minHealthy)
	if minHealthy == maxCapacity && maxCapacity <= oldRunning {
		if resident {
			killNow = oldRunning - minHealthy + 1
		} else {
			maxCapacity++
		}
	}
	if n < oldRunning {
		killNow = max(oldRunning-n, killNow)
	}
	return Strategy{MinHealthy: minHealthy, MaxCapacity: maxCapacity, KillImmediately: killNow, OldAtStart: oldRunning}
}

func round9(f float64) float64 { return math.Round(f*1e9) / 1e9 }

// Candidate is an instance a decision may kill.
type Candidate struct {
	TaskID   string
	StagedAt time.Time
	// Running is true once the task reached TASK_RUNNING.
	Running bool
	// Healthy is true when the instance counts as healthy (and ready).
	Healthy bool
}

// RestartView is what DecideRestart looks at: the action's strategy and
// the app's instances right now.
type RestartView struct {
	N        int
	Strategy Strategy
	// OldRunning are old-version instances with goal Running (not yet
	// asked to stop) and not terminal.
	OldRunning []Candidate
	// OldAlive counts old-version instances that are not terminal, being
	// killed or not: they hold capacity until they are gone.
	OldAlive int
	// NewStarted counts new-version instances with goal Running that are
	// not terminal, including those still staging.
	NewStarted int
	// NewReady counts new-version instances that are running, healthy
	// (when the app has health checks) and ready (readiness checks).
	NewReady int
}

// RestartDecision is what to do now.
type RestartDecision struct {
	// Kill lists old instances to kill now, unhealthy ones first.
	Kill []string
	// Launch is how many new instances to start now.
	Launch int
	// Done is true when N new instances are ready and no old one is
	// left.
	Done bool
}

// DecideRestart is one evaluation of the rolling restart (reference §2.8):
// KillImmediately old instances go at once, one more for every new
// instance that becomes healthy and ready; new instances start while
// old-alive + new-started stays within MaxCapacity. Kills prefer unhealthy
// instances, then older ones (killSelection does not apply to restarts,
// as in Marathon). Because it looks only at the current counts it can be
// evaluated as often as the engine likes, and after a failover.
func DecideRestart(v RestartView) RestartDecision {
	var d RestartDecision
	if v.NewReady >= v.N && v.OldAlive == 0 {
		d.Done = true
		return d
	}
	allowedOld := max(0, v.Strategy.OldAtStart-v.Strategy.KillImmediately-v.NewReady)
	if excess := len(v.OldRunning) - allowedOld; excess > 0 {
		order := slices.Clone(v.OldRunning)
		slices.SortStableFunc(order, func(a, b Candidate) int {
			if a.Healthy != b.Healthy {
				if !a.Healthy {
					return -1
				}
				return 1
			}
			if c := a.StagedAt.Compare(b.StagedAt); c != 0 {
				return c
			}
			return strings.Compare(a.TaskID, b.TaskID)
		})
		for _, c := range order[:excess] {
			d.Kill = append(d.Kill, c.TaskID)
		}
	}
	left := max(0, v.Strategy.MaxCapacity-v.OldAlive-v.NewStarted)
	d.Launch = max(0, min(v.N-v.NewStarted, left))
	return d
}

// ScaleDown picks which of the active instances to kill so that n remain:
// the tasks named in toKill first, then instances that are not running
// yet, then unhealthy ones, then by killSelection (YOUNGEST_FIRST, the
// default, or OLDEST_FIRST).
func ScaleDown(active []Candidate, n int, toKill []string, killSelection string) []string {
	excess := len(active) - n
	if excess <= 0 {
		return nil
	}
	rank := func(c Candidate) int {
		switch {
		case slices.Contains(toKill, c.TaskID):
			return 0
		case !c.Running:
			return 1
		case !c.Healthy:
			return 2
		}
		return 3
	}
	order := slices.Clone(active)
	slices.SortStableFunc(order, func(a, b Candidate) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		c := a.StagedAt.Compare(b.StagedAt)
		if killSelection != app.KillOldestFirst {
			c = -c
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.TaskID, b.TaskID)
	})
	out := make([]string, 0, excess)
	for _, c := range order[:excess] {
		out = append(out, c.TaskID)
	}
	return out
}
