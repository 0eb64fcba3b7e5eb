package primes

import (
	"strings"
	"testing"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler/schedulertest"
)

func newTestJob(t *testing.T, tasks int) *Job {
	t.Helper()
	j, err := NewJob(JobConfig{From: 1, To: 100, Tasks: tasks, CPUs: 0.5, Mem: 64,
		Executable: "/opt/my primes/primes", ResultURL: "http://127.0.0.1:9/result"})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func status(task string, state mesos.TaskState) mesos.TaskStatus {
	return schedulertest.Status(task, "a-1", state, true)
}

func TestJobPlanPacksOffers(t *testing.T) {
	j := newTestJob(t, 4)
	// 1.2 cpus fit two 0.5-cpu tasks.
	tasks := j.Plan(schedulertest.Offer("o-1", "fw", "a-1", 1.2, 1024))
	if len(tasks) != 2 || j.Pending() != 2 {
		t.Fatalf("planned %d tasks, %d pending; want 2 and 2", len(tasks), j.Pending())
	}
	task := tasks[0]
	if task.TaskID.Value != "primes-0-1" || task.AgentID.Value != "a-1" {
		t.Fatalf("task = %+v", task)
	}
	if got, want := task.Command.GetValue(), `'/opt/my primes/primes' count --from 1 --to 25`; got != want {
		t.Fatalf("command = %q, want %q", got, want)
	}
	env := map[string]string{}
	for _, v := range task.Command.Environment.Variables {
		env[v.Name] = v.Value
	}
	if env[EnvResultURL] != "http://127.0.0.1:9/result" || env[EnvTaskID] != "primes-0-1" {
		t.Fatalf("environment = %v", env)
	}
	if res := mesos.Resources(task.Resources); res.Scalar("cpus") != 0.5 || res.Scalar("mem") != 64 {
		t.Fatalf("resources = %s", res)
	}
	if tasks := j.Plan(schedulertest.Offer("o-2", "fw", "a-2", 0.4, 1024)); len(tasks) != 0 {
		t.Fatalf("a too-small offer got %d tasks", len(tasks))
	}
	if tasks := j.Plan(schedulertest.Offer("o-3", "fw", "a-3", 8, 8192)); len(tasks) != 2 || j.Pending() != 0 {
		t.Fatalf("big offer: %d tasks, %d pending", len(tasks), j.Pending())
	}
	if got := len(j.KnownTasks()); got != 4 {
		t.Fatalf("KnownTasks = %d, want 4", got)
	}
}

func TestJobCountsAndRetries(t *testing.T) {
	j := newTestJob(t, 2)
	tasks := j.Plan(schedulertest.Offer("o-1", "fw", "a-1", 4, 4096))
	if len(tasks) != 2 {
		t.Fatalf("planned %d", len(tasks))
	}
	// Range 0 reports and finishes.
	if err := j.Result("primes-0-1", 9); err != nil {
		t.Fatal(err)
	}
	j.Update(status("primes-0-1", mesos.TaskFinished))
	if err := j.Result("primes-0-1", 9); err == nil {
		t.Fatal("duplicate result accepted")
	}
	// Range 1 finishes without reporting: that is a failure.
	j.Update(status("primes-1-1", mesos.TaskRunning))
	j.Update(status("primes-1-1", mesos.TaskFinished))
	if j.Pending() != 1 || j.Err() != nil {
		t.Fatalf("pending %d, err %v", j.Pending(), j.Err())
	}
	retry := j.Plan(schedulertest.Offer("o-2", "fw", "a-1", 4, 4096))
	if len(retry) != 1 || retry[0].TaskID.Value != "primes-1-2" {
		t.Fatalf("retry = %+v", retry)
	}
	// A late update of the old attempt changes nothing.
	j.Update(status("primes-1-1", mesos.TaskFailed))
	if j.Pending() != 0 {
		t.Fatal("stale update re-queued the range")
	}
	if err := j.Result("nope", 1); err == nil {
		t.Fatal("result of an unknown task accepted")
	}
	if err := j.Result("primes-1-2", 16); err != nil {
		t.Fatal(err)
	}
	if !j.Done() || j.Total() != 25 || j.Launches() != 3 {
		t.Fatalf("done %v total %d launches %d; want true 25 3", j.Done(), j.Total(), j.Launches())
	}
}

func TestJobGivesUpAfterMaxRetries(t *testing.T) {
	j := newTestJob(t, 1)
	for attempt := 1; attempt <= 4; attempt++ {
		tasks := j.Plan(schedulertest.Offer("o", "fw", "a-1", 1, 128))
		if len(tasks) != 1 {
			t.Fatalf("attempt %d: planned %d", attempt, len(tasks))
		}
		st := status(tasks[0].TaskID.Value, mesos.TaskFailed)
		st.Message = "exit status 1"
		j.Update(st)
		if attempt < 4 && j.Err() != nil {
			t.Fatalf("failed after %d attempts", attempt)
		}
	}
	if err := j.Err(); err == nil || !strings.Contains(err.Error(), "failed 4 times") || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("Err = %v", err)
	}
	if tasks := j.Plan(schedulertest.Offer("o", "fw", "a-1", 1, 128)); tasks != nil {
		t.Fatal("a failed job still plans tasks")
	}
}

func TestJobLaunchFailedRequeues(t *testing.T) {
	j := newTestJob(t, 2)
	tasks := j.Plan(schedulertest.Offer("o-1", "fw", "a-1", 4, 4096))
	j.LaunchFailed(tasks)
	if j.Pending() != 2 {
		t.Fatalf("pending = %d", j.Pending())
	}
	if tasks := j.Plan(schedulertest.Offer("o-2", "fw", "a-1", 4, 4096)); tasks[0].TaskID.Value != "primes-0-2" {
		t.Fatalf("relaunch reuses task ID: %s", tasks[0].TaskID.Value)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/primes": "/usr/bin/primes",
		"/a b/primes":     "'/a b/primes'",
		"/it's":           `'/it'\''s'`,
		"":                "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
