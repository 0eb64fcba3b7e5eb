package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/strata-sched/strata/internal/testenv"
)

// TestMesosGoScheduler drives a real master and agent with an unmodified
// mesos-go v0.0.11 scheduler over the JSON codec: subscribe, offers, launch
// command tasks, status updates with acknowledgements, reconciliation,
// kill and teardown.
func TestMesosGoScheduler(t *testing.T) {
	cl := testenv.StartCluster(t, testenv.ClusterOptions{Agents: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	cli := httpsched.NewCaller(httpcli.New(
		httpcli.Endpoint(cl.MasterURL+"/api/v1/scheduler"),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeJSON]),
	))
	fi := &mesos.FrameworkInfo{
		User: "root", Name: "mesos-go-compat", FailoverTimeout: func() *float64 { f := 60.0; return &f }(),
		Roles:        []string{"*"},
		Capabilities: []mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE}},
	}
	resp, err := cli.Call(ctx, calls.Subscribe(fi))
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer resp.Close()

	var (
		fwID       string
		mu         sync.Mutex
		states     = map[string][]mesos.TaskState{}
		launched   bool
		reconciled = make(chan mesos.TaskStatus, 10)
		done       = make(chan struct{})
	)
	call := func(c *scheduler.Call) error {
		c.FrameworkID = &mesos.FrameworkID{Value: fwID}
		r, err := cli.Call(ctx, c)
		if r != nil {
			r.Close()
		}
		return err
	}
	go func() {
		<-ctx.Done()
		resp.Close()
	}()
	for {
		var e scheduler.Event
		if err := resp.Decode(&e); err != nil {
			select {
			case <-done:
				return
			default:
			}
			t.Fatalf("decode event: %v", err)
		}
		switch e.GetType() {
		case scheduler.Event_SUBSCRIBED:
			fwID = e.GetSubscribed().GetFrameworkID().GetValue()
			if hb := e.GetSubscribed().GetHeartbeatIntervalSeconds(); hb != 15 {
				t.Errorf("heartbeat interval %v, want 15", hb)
			}
		case scheduler.Event_OFFERS:
			for _, o := range e.GetOffers().GetOffers() {
				if launched {
					if err := call(calls.Decline(o.ID)); err != nil {
						t.Fatalf("decline: %v", err)
					}
					continue
				}
				launched = true
				var tasks []mesos.TaskInfo
				for i, cmd := range []string{"echo hello from mesos-go", "exit 3", "sleep 1000"} {
					res := mesos.Resources{
						{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 0.1}},
						{Name: "mem", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 32}},
					}
					for j := range res {
						res[j].AllocationInfo = o.AllocationInfo
						res[j].Role = func() *string { s := "*"; return &s }()
					}
					value := cmd
					tasks = append(tasks, mesos.TaskInfo{
						Name: fmt.Sprintf("t%d", i), TaskID: mesos.TaskID{Value: fmt.Sprintf("mg-%d", i)},
						AgentID: o.AgentID, Resources: res,
						Command: &mesos.CommandInfo{Value: &value},
					})
				}
				accept := calls.Accept(calls.OfferOperations{calls.OpLaunch(tasks...)}.WithOffers(o.ID)).
					With(calls.RefuseSeconds(time.Second))
				if err := call(accept); err != nil {
					t.Fatalf("accept: %v", err)
				}
			}
		case scheduler.Event_UPDATE:
			st := e.GetUpdate().GetStatus()
			if st.GetReason() == mesos.REASON_RECONCILIATION {
				// The answer to our explicit reconciliation: the task runs; kill it.
				if st.TaskID.Value != "mg-2" || st.GetState() != mesos.TASK_RUNNING || len(st.UUID) != 0 {
					t.Fatalf("reconciliation answer: %v", st)
				}
				reconciled <- st
				if err := call(calls.Kill("mg-2", st.GetAgentID().GetValue())); err != nil {
					t.Fatalf("kill: %v", err)
				}
				continue
			}
			mu.Lock()
			states[st.TaskID.Value] = append(states[st.TaskID.Value], st.GetState())
			mu.Unlock()
			if len(st.UUID) > 0 {
				if err := call(calls.Acknowledge(st.GetAgentID().GetValue(), st.TaskID.Value, st.UUID)); err != nil {
					t.Fatalf("ack: %v", err)
				}
			}
			if st.TaskID.Value == "mg-2" && st.GetState() == mesos.TASK_RUNNING {
				if err := call(calls.Reconcile(calls.ReconcileTasks(map[string]string{"mg-2": st.GetAgentID().GetValue()}))); err != nil {
					t.Fatalf("reconcile: %v", err)
				}
			}
			mu.Lock()
			finished := terminal(states["mg-0"]) && terminal(states["mg-1"]) && terminal(states["mg-2"])
			mu.Unlock()
			if finished {
				want := map[string]mesos.TaskState{"mg-0": mesos.TASK_FINISHED, "mg-1": mesos.TASK_FAILED, "mg-2": mesos.TASK_KILLED}
				for id, w := range want {
					got := states[id]
					if got[len(got)-1] != w {
						t.Errorf("%s: states %v, want final %v", id, got, w)
					}
					if got[0] != mesos.TASK_STARTING && got[0] != mesos.TASK_RUNNING {
						t.Errorf("%s: first state %v", id, got[0])
					}
				}
				if len(reconciled) != 1 {
					t.Errorf("want one reconciliation answer, got %d", len(reconciled))
				}
				out := cl.TaskOutput(t, fwID, "mg-0", "stdout")
				if !strings.Contains(out, "hello from mesos-go") {
					t.Errorf("stdout of mg-0: %q", out)
				}
				close(done)
				if err := call(&scheduler.Call{Type: scheduler.Call_TEARDOWN}); err != nil {
					t.Fatalf("teardown: %v", err)
				}
				return
			}
		case scheduler.Event_ERROR:
			t.Fatalf("error event: %s", e.GetError().GetMessage())
		}
	}
}

func terminal(states []mesos.TaskState) bool {
	if len(states) == 0 {
		return false
	}
	switch states[len(states)-1] {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_LOST, mesos.TASK_ERROR:
		return true
	}
	return false
}
