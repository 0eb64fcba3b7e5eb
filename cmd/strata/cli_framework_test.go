package main

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
)

// cliFramework launches tasks for the binary-level tests.
type cliFramework struct {
	c      *scheduler.Client
	offers chan mesos.Offer
	mu     sync.Mutex
	last   map[string]mesos.TaskStatus
}

func newCLIFramework(t *testing.T, master string) *cliFramework {
	f := &cliFramework{offers: make(chan mesos.Offer, 100), last: map[string]mesos.TaskStatus{}}
	c, err := scheduler.New(scheduler.Config{Master: master, AutoAck: true, Logger: slog.New(slog.DiscardHandler),
		Framework: mesos.FrameworkInfo{User: "root", Name: "cli-test", FailoverTimeout: 60},
		Handler: scheduler.HandlerFuncs{
			OffersFunc: func(ctx context.Context, c *scheduler.Client, offers []mesos.Offer) {
				for _, o := range offers {
					f.offers <- o
				}
			},
			UpdateFunc: func(ctx context.Context, c *scheduler.Client, st mesos.TaskStatus) {
				f.mu.Lock()
				f.last[st.TaskID.Value] = st
				f.mu.Unlock()
			},
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// run launches a task and waits for RUNNING or a terminal state; it returns the executor pid.
func (f *cliFramework) run(t *testing.T, id, cmd string) int {
	t.Helper()
	var o mesos.Offer
	select {
	case o = <-f.offers:
	case <-time.After(20 * time.Second):
		t.Fatal("no offer")
	}
	res, _, ok := scheduler.Take(o.Resources, map[string]float64{"cpus": 0.1, "mem": 32})
	if !ok {
		t.Fatalf("offer too small")
	}
	if err := f.c.Launch(context.Background(), o.ID, []mesos.TaskInfo{scheduler.CommandTask(id, id, o, res, cmd)}, scheduler.RefuseSeconds(0.1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		st, ok := f.last[id]
		f.mu.Unlock()
		if ok && (st.State == mesos.TaskRunning || st.State.IsTerminal()) {
			if st.ContainerStatus != nil && st.ContainerStatus.ExecutorPID != nil {
				return int(*st.ContainerStatus.ExecutorPID)
			}
			return 0
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task %s did not start", id)
	return 0
}

func (f *cliFramework) waitFinished(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		st := f.last[id]
		f.mu.Unlock()
		if st.State == mesos.TaskFinished {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task %s did not finish", id)
}

// stopTakingOffers suppresses offers and declines the ones already held,
// so that other frameworks (Marathon) get the agents' resources.
func (f *cliFramework) stopTakingOffers(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := f.c.Suppress(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case o := <-f.offers:
			if err := f.c.Decline(ctx, []mesos.OfferID{o.ID}, scheduler.RefuseSeconds(3600)); err != nil {
				t.Fatal(err)
			}
		default:
			return
		}
	}
}
