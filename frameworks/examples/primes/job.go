package primes

import (
	"errors"
	"fmt"
	"strings"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
)

// Environment variables a worker task gets.
const (
	EnvResultURL = "PRIMES_RESULT_URL"
	EnvTaskID    = "PRIMES_TASK_ID"
)

// JobConfig describes one counting job.
type JobConfig struct {
	From, To  uint64
	Tasks     int     // how many ranges to split into
	CPUs, Mem float64 // per task
	// MaxRetries is how many times a failed range is run again; 0 means
	// the default, 3; negative means never.
	MaxRetries int
	// Executable is the primes binary the agent runs as
	// "<Executable> count --from A --to B".
	Executable string
	// ResultURL is where workers POST their counts.
	ResultURL string
}

type rangeStatus int

const (
	pending rangeStatus = iota
	launched
	counted
)

type rangeState struct {
	r        Range
	status   rangeStatus
	launches int    // tasks launched for this range so far
	failures int    // tasks that ended without a count
	taskID   string // the current task, when launched
	count    uint64
}

// Job is the deciding part of the primes framework: which ranges to launch
// on an offer, what a status update or a result means. It does no I/O and
// is not safe for concurrent use.
type Job struct {
	cfg    JobConfig
	ranges []rangeState
	byTask map[string]int
	err    error
}

// NewJob splits the work and returns a Job with every range pending.
func NewJob(cfg JobConfig) (*Job, error) {
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	var errs []error
	if cfg.CPUs <= 0 || cfg.Mem <= 0 {
		errs = append(errs, fmt.Errorf("cpus (%v) and mem (%v) per task must be positive", cfg.CPUs, cfg.Mem))
	}
	if cfg.Executable == "" {
		errs = append(errs, errors.New("the worker executable is required"))
	}
	rs, err := Split(cfg.From, cfg.To, cfg.Tasks)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("primes: %w", errors.Join(errs...))
	}
	j := &Job{cfg: cfg, byTask: map[string]int{}}
	for _, r := range rs {
		j.ranges = append(j.ranges, rangeState{r: r})
	}
	return j, nil
}

// Plan assigns pending ranges to offer, as many as its resources allow,
// and returns their tasks (none if the offer is too small or nothing is
// pending). The ranges count as launched from now on.
func (j *Job) Plan(offer mesos.Offer) []mesos.TaskInfo {
	if j.err != nil {
		return nil
	}
	var tasks []mesos.TaskInfo
	avail := mesos.Resources(offer.Resources)
	for i := range j.ranges {
		rs := &j.ranges[i]
		if rs.status != pending {
			continue
		}
		res, rest, ok := scheduler.Take(avail, map[string]float64{"cpus": j.cfg.CPUs, "mem": j.cfg.Mem})
		if !ok {
			break
		}
		avail = rest
		rs.launches++
		rs.status = launched
		rs.taskID = fmt.Sprintf("primes-%d-%d", i, rs.launches)
		j.byTask[rs.taskID] = i
		tasks = append(tasks, j.task(offer, res, rs))
	}
	return tasks
}

func (j *Job) task(offer mesos.Offer, res mesos.Resources, rs *rangeState) mesos.TaskInfo {
	cmd := fmt.Sprintf("%s count --from %d --to %d", shellQuote(j.cfg.Executable), rs.r.From, rs.r.To)
	t := scheduler.CommandTask("primes "+rs.r.String(), rs.taskID, offer, res, cmd)
	t.Command.Environment = &mesos.Environment{Variables: []mesos.EnvVariable{
		{Name: EnvResultURL, Type: "VALUE", Value: j.cfg.ResultURL},
		{Name: EnvTaskID, Type: "VALUE", Value: rs.taskID},
	}}
	return t
}

// LaunchFailed puts the ranges of tasks whose ACCEPT failed back to pending.
func (j *Job) LaunchFailed(tasks []mesos.TaskInfo) {
	for _, t := range tasks {
		if i, ok := j.current(t.TaskID.Value); ok {
			j.ranges[i].status, j.ranges[i].taskID = pending, ""
		}
	}
}

// current returns the range a task works on if it is that range's current
// task (older attempts are stale).
func (j *Job) current(taskID string) (int, bool) {
	i, ok := j.byTask[taskID]
	if !ok || j.ranges[i].status != launched || j.ranges[i].taskID != taskID {
		return 0, false
	}
	return i, true
}

// Result records a worker's count. A count for an unknown task or for a
// range already counted is refused.
func (j *Job) Result(taskID string, count uint64) error {
	i, ok := j.byTask[taskID]
	if !ok {
		return fmt.Errorf("unknown task %q", taskID)
	}
	rs := &j.ranges[i]
	if rs.status == counted {
		return fmt.Errorf("range %s is already counted", rs.r)
	}
	// A late result from an earlier attempt is as good as any.
	rs.status, rs.count, rs.taskID = counted, count, ""
	return nil
}

// Update applies a task status update. A task that ends without having
// posted its count (failed, killed, lost, or finished without a result)
// sends its range back to pending, until the range has failed MaxRetries+1
// times: then the job fails (see Err).
func (j *Job) Update(st mesos.TaskStatus) {
	i, ok := j.current(st.TaskID.Value)
	if !ok || !(st.State.IsTerminal() || st.State == mesos.TaskUnknown) {
		return
	}
	rs := &j.ranges[i]
	rs.failures++
	rs.status, rs.taskID = pending, ""
	if rs.failures > j.cfg.MaxRetries && j.err == nil {
		j.err = fmt.Errorf("range %s failed %d times, last as %s (%s %s)", rs.r, rs.failures, st.TaskID.Value,
			st.State, strings.TrimSpace(st.Reason+" "+st.Message))
	}
}

// KnownTasks lists the launched tasks, for reconciliation.
func (j *Job) KnownTasks() []mesos.ReconcileTask {
	var out []mesos.ReconcileTask
	for _, rs := range j.ranges {
		if rs.status == launched {
			out = append(out, mesos.ReconcileTask{TaskID: mesos.TaskID{Value: rs.taskID}})
		}
	}
	return out
}

// Pending is the number of ranges waiting for an offer.
func (j *Job) Pending() int { return j.countStatus(pending) }

// Counted is the number of ranges with a result.
func (j *Job) Counted() int { return j.countStatus(counted) }

func (j *Job) countStatus(s rangeStatus) int {
	n := 0
	for _, rs := range j.ranges {
		if rs.status == s {
			n++
		}
	}
	return n
}

// Done reports whether every range is counted.
func (j *Job) Done() bool { return j.Counted() == len(j.ranges) }

// Err is the reason the job failed, or nil.
func (j *Job) Err() error { return j.err }

// Total is the sum of the counts received.
func (j *Job) Total() uint64 {
	var n uint64
	for _, rs := range j.ranges {
		n += rs.count
	}
	return n
}

// Launches is the number of tasks launched so far.
func (j *Job) Launches() int {
	n := 0
	for _, rs := range j.ranges {
		n += rs.launches
	}
	return n
}

// Ranges is the number of ranges the work was split into.
func (j *Job) Ranges() int { return len(j.ranges) }

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
