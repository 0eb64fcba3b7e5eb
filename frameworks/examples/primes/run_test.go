package primes

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler/schedulertest"
)

// Interrupting Run tears the framework down so that no task outlives it.
func TestRunInterruptedTearsDown(t *testing.T) {
	m := schedulertest.NewMaster(schedulertest.Config{})
	t.Cleanup(m.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Master: m.Addr(), From: 1, To: 100, Tasks: 2, CPUs: 1, Mem: 32,
			Executable: "primes", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		errc <- err
	}()
	schedulertest.Next(t, m.Subscribes())
	// A too-small offer comes back declined: the client is subscribed.
	if err := m.Send(schedulertest.OffersEvent(schedulertest.Offer("o-1", "fw-1", "a-1", 0.1, 16))); err != nil {
		t.Fatal(err)
	}
	if req := schedulertest.Next(t, m.Calls()); req.Call.Type != mesos.CallDecline {
		t.Fatalf("got %s, want DECLINE", req.Call.Type)
	}
	cancel()
	if err := schedulertest.Next(t, errc); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if req := schedulertest.Next(t, m.Calls()); req.Call.Type != mesos.CallTeardown {
		t.Fatalf("got %s, want TEARDOWN", req.Call.Type)
	}
}
