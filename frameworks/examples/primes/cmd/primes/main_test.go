package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler/schedulertest"
)

func TestCountSubcommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"count", "--from", "1", "--to", "100"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if out.String() != "25\n" {
		t.Fatalf("stdout = %q", out.String())
	}
}

// fakeCluster plays master and agent: it offers resources, "runs" each
// launched task by calling primes.Work in-process with the task's command
// line and environment, and reports the task's states. The first task of
// range 1 fails without running, to exercise the retry.
func fakeCluster(t *testing.T, m *schedulertest.Master) (tornDown <-chan struct{}) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	update := func(task mesos.TaskInfo, state mesos.TaskState) {
		_ = m.Send(schedulertest.UpdateEvent(schedulertest.Status(task.TaskID.Value, task.AgentID.Value, state, true)))
	}
	wg.Go(func() {
		<-m.Subscribes()
		_ = m.Send(schedulertest.OffersEvent(
			schedulertest.Offer("o-1", "fw-1", "a-1", 1, 1024), // two 0.5-cpu tasks
			schedulertest.Offer("o-2", "fw-1", "a-2", 2, 1024), // the other two (and room to spare)
		))
		offers := 2
		for {
			var req schedulertest.Request
			select {
			case req = <-m.Calls():
			case <-t.Context().Done():
				return
			}
			switch req.Call.Type {
			case mesos.CallRevive:
				offers++
				_ = m.Send(schedulertest.OffersEvent(schedulertest.Offer(fmt.Sprintf("o-%d", offers), "fw-1", "a-1", 4, 4096)))
			case mesos.CallTeardown:
				close(done)
				return
			case mesos.CallAccept:
				for _, task := range req.Call.Accept.Operations[0].Launch.TaskInfos {
					if task.TaskID.Value == "primes-1-1" {
						update(task, mesos.TaskFailed)
						continue
					}
					wg.Go(func() {
						update(task, mesos.TaskRunning)
						// Not t.Context(): like a real worker process, the task
						// finishes its report even after the framework is done.
						if err := runTask(context.Background(), task); err != nil {
							t.Errorf("task %s: %v", task.TaskID.Value, err)
							update(task, mesos.TaskFailed)
							return
						}
						update(task, mesos.TaskFinished)
					})
				}
			}
		}
	})
	return done
}

// runTask does what the agent's command executor would: run the task's
// shell command with its environment. The command names os.Executable(),
// which is this test binary; TestMain makes it act as primes for "count".
func runTask(ctx context.Context, task mesos.TaskInfo) error {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", task.Command.GetValue())
	cmd.Env = os.Environ()
	for _, v := range task.Command.Environment.Variables {
		cmd.Env = append(cmd.Env, v.Name+"="+v.Value)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%q: %w; output:\n%s", task.Command.GetValue(), err, out)
	}
	return nil
}

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "count" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestPrimesAgainstFakeCluster(t *testing.T) {
	m := schedulertest.NewMaster(schedulertest.Config{})
	t.Cleanup(m.Close)
	tornDown := fakeCluster(t, m)
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"--master", m.Addr(), "--from", "1", "--to", "1000000", "--tasks", "4"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "78498 primes in [1, 1000000] (4 tasks, 5 launches)") {
		t.Fatalf("stdout = %q\nstderr:\n%s", out.String(), errOut.String())
	}
	schedulertest.Next(t, tornDown)
}
