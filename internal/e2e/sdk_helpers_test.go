package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
)

// testFramework is a framework on the SDK that records what it sees.
type testFramework struct {
	t       *testing.T
	c       *scheduler.Client
	offers  chan mesos.Offer
	updates chan mesos.TaskStatus
	errs    chan string
	inverse chan mesos.InverseOffer
	cancel  context.CancelFunc
	done    chan error

	mu       sync.Mutex
	statuses map[string][]mesos.TaskStatus
}

func startFramework(t *testing.T, masterURL string, info mesos.FrameworkInfo) *testFramework {
	t.Helper()
	tf := &testFramework{t: t, offers: make(chan mesos.Offer, 100), updates: make(chan mesos.TaskStatus, 1000),
		errs: make(chan string, 10), inverse: make(chan mesos.InverseOffer, 100), done: make(chan error, 1),
		statuses: map[string][]mesos.TaskStatus{}}
	h := scheduler.HandlerFuncs{
		OffersFunc: func(ctx context.Context, c *scheduler.Client, offers []mesos.Offer) {
			for _, o := range offers {
				tf.offers <- o
			}
		},
		UpdateFunc: func(ctx context.Context, c *scheduler.Client, st mesos.TaskStatus) {
			tf.mu.Lock()
			tf.statuses[st.TaskID.Value] = append(tf.statuses[st.TaskID.Value], st)
			tf.mu.Unlock()
			tf.updates <- st
		},
		ErrorFunc: func(ctx context.Context, c *scheduler.Client, msg string) { tf.errs <- msg },
		InverseOffersFunc: func(ctx context.Context, c *scheduler.Client, ios []mesos.InverseOffer) {
			for _, io := range ios {
				tf.inverse <- io
			}
		},
		// Offers die with the stream that carried them (Mesos semantics).
		DisconnectedFunc: func(ctx context.Context, c *scheduler.Client, err error) {
			for {
				select {
				case <-tf.offers:
				default:
					return
				}
			}
		},
	}
	c, err := scheduler.New(scheduler.Config{Master: masterURL, Framework: info, Handler: h, AutoAck: true,
		Logger: slog.New(slog.DiscardHandler), MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tf.c = c
	ctx, cancel := context.WithCancel(context.Background())
	tf.cancel = cancel
	go func() { tf.done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-tf.done
	})
	return tf
}

func (tf *testFramework) offer() mesos.Offer {
	tf.t.Helper()
	select {
	case o := <-tf.offers:
		return o
	case <-time.After(20 * time.Second):
		tf.t.Fatal("no offer within 20s")
	}
	return mesos.Offer{}
}

// launch starts one command task on the next offer.
func (tf *testFramework) launch(id, cmd string, mod ...func(*mesos.TaskInfo)) mesos.Offer {
	tf.t.Helper()
	o := tf.offer()
	res, _, ok := scheduler.Take(o.Resources, map[string]float64{"cpus": 0.1, "mem": 32})
	if !ok {
		tf.t.Fatalf("offer too small: %s", mesos.Resources(o.Resources))
	}
	ti := scheduler.CommandTask(id, id, o, res, cmd)
	for _, m := range mod {
		m(&ti)
	}
	if err := tf.c.Launch(context.Background(), o.ID, []mesos.TaskInfo{ti}, scheduler.RefuseSeconds(0.05)); err != nil {
		tf.t.Fatalf("launch %s: %v", id, err)
	}
	return o
}

// waitState waits for an update of task id in state s and returns it.
func (tf *testFramework) waitState(id string, s mesos.TaskState) mesos.TaskStatus {
	tf.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		tf.mu.Lock()
		for _, st := range tf.statuses[id] {
			if st.State == s {
				tf.mu.Unlock()
				return st
			}
		}
		tf.mu.Unlock()
		select {
		case <-tf.updates:
		case <-deadline:
			tf.mu.Lock()
			defer tf.mu.Unlock()
			tf.t.Fatalf("task %s never reached %s; saw %s", id, s, statesOf(tf.statuses[id]))
		}
	}
}

func (tf *testFramework) states(id string) []mesos.TaskState {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	var out []mesos.TaskState
	for _, st := range tf.statuses[id] {
		out = append(out, st.State)
	}
	return out
}

func statesOf(sts []mesos.TaskStatus) string {
	var s string
	for _, st := range sts {
		s += fmt.Sprintf("%s(%s %q) ", st.State, st.Reason, st.Message)
	}
	return s
}

// launchRetrying launches id and, when the offer turned out to be stale
// (TASK_DROPPED or TASK_LOST with REASON_INVALID_OFFERS: the task never
// started, e.g. the offer came from a master that has since failed over),
// launches it again on a fresh offer. It returns once the task runs.
func (tf *testFramework) launchRetrying(id, cmd string) mesos.TaskStatus {
	tf.t.Helper()
	for attempt := 0; attempt < 5; attempt++ {
		tf.launch(id, cmd)
		deadline := time.After(30 * time.Second)
		for {
			tf.mu.Lock()
			var last *mesos.TaskStatus
			if sts := tf.statuses[id]; len(sts) > 0 {
				last = &sts[len(sts)-1]
			}
			tf.mu.Unlock()
			if last != nil && last.State == mesos.TaskRunning {
				return *last
			}
			if last != nil && last.Reason == mesos.ReasonInvalidOffers {
				tf.mu.Lock()
				delete(tf.statuses, id)
				tf.mu.Unlock()
				break
			}
			select {
			case <-tf.updates:
			case <-deadline:
				tf.t.Fatalf("task %s never reached TASK_RUNNING; saw %s", id, statesOf(tf.statuses[id]))
			}
		}
	}
	tf.t.Fatalf("task %s: every offer was stale", id)
	return mesos.TaskStatus{}
}
