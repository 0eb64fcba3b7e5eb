package scheduler_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
)

func scalar(name string, v float64, role string, reserved string) mesos.Resource {
	r := mesos.Resource{Name: name, Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: v}, AllocationInfo: &mesos.AllocationInfo{Role: role}}
	if reserved != "" {
		r.Reservations = []mesos.ReservationInfo{{Type: "DYNAMIC", Role: reserved, Principal: "p"}}
	}
	return r
}

func TestTake(t *testing.T) {
	offer := mesos.Resources{
		scalar("cpus", 2, "web", ""),
		scalar("cpus", 1, "web", "web"),
		scalar("mem", 1024, "web", ""),
		{Name: "cpus", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: 8}, Revocable: &struct{}{}, AllocationInfo: &mesos.AllocationInfo{Role: "web"}},
	}
	orig, _ := json.Marshal(offer)

	taken, rest, ok := scheduler.Take(offer, map[string]float64{"cpus": 1.5, "mem": 256})
	if !ok {
		t.Fatal("Take failed on a large enough offer")
	}
	if got, _ := json.Marshal(offer); string(got) != string(orig) {
		t.Fatal("Take modified the offer")
	}
	// Reserved cpus first (1), then 0.5 unreserved.
	if len(taken) != 3 || !taken[0].IsReserved() || taken[0].Scalar.Value != 1 || taken[1].IsReserved() || taken[1].Scalar.Value != 0.5 {
		t.Fatalf("taken = %s", taken)
	}
	for _, r := range taken {
		if r.AllocationRole() != "web" || r.Revocable != nil {
			t.Errorf("taken %s lost its allocation role or is revocable", r.String())
		}
	}
	if rest.Scalar("cpus") != 9.5 || rest.Scalar("mem") != 768 {
		t.Fatalf("remaining = %s", rest)
	}
	if mesos.Resources(taken).Plus(rest).Scalar("cpus") != offer.Scalar("cpus") {
		t.Fatal("taken + remaining != offer")
	}

	// Revocable cpus are never used: 3.5 non-revocable cpus are not there.
	if taken, rest, ok := scheduler.Take(offer, map[string]float64{"cpus": 3.5}); ok || taken != nil || rest.Scalar("cpus") != 11 {
		t.Fatalf("Take beyond the offer = %v, %s, %s", ok, taken, rest)
	}
	if _, _, ok := scheduler.Take(offer, map[string]float64{"gpus": 1}); ok {
		t.Fatal("Take of an absent resource succeeded")
	}
	if taken, rest, ok := scheduler.Take(offer, nil); !ok || len(taken) != 0 || len(rest) != len(offer) {
		t.Fatal("Take of nothing must succeed and take nothing")
	}
	// Exact fit leaves no zero-valued resource behind.
	_, rest, ok = scheduler.Take(mesos.Resources{scalar("cpus", 0.3, "*", "")}, map[string]float64{"cpus": 0.1 + 0.2})
	if !ok || len(rest) != 0 {
		t.Fatalf("exact fit: ok=%v rest=%s", ok, rest)
	}
}

func TestTakePorts(t *testing.T) {
	offer := mesos.Resources{{Name: "ports", Type: mesos.RANGES, Role: "*", AllocationInfo: &mesos.AllocationInfo{Role: "*"},
		Ranges: &mesos.Ranges{Range: []mesos.Range{{Begin: 31000, End: 31001}, {Begin: 31005, End: 31010}}}}}
	taken, rest, ports, ok := scheduler.TakePorts(offer, 3)
	if !ok || len(ports) != 3 || ports[0] != 31000 || ports[2] != 31005 {
		t.Fatalf("TakePorts = %v %v", ok, ports)
	}
	if got := mesos.Resources(taken).Ranges("ports"); len(got) != 2 || got[0] != (mesos.Range{Begin: 31000, End: 31001}) {
		t.Fatalf("taken ranges = %v", got)
	}
	if taken[0].AllocationRole() != "*" {
		t.Fatal("taken ports lost allocation_info")
	}
	if got := rest.Ranges("ports"); len(got) != 1 || got[0] != (mesos.Range{Begin: 31006, End: 31010}) {
		t.Fatalf("remaining = %v", got)
	}
	if offer[0].Ranges.Range[0].Begin != 31000 {
		t.Fatal("TakePorts modified the offer")
	}
	if _, _, _, ok := scheduler.TakePorts(offer, 9); ok {
		t.Fatal("TakePorts beyond the offer succeeded")
	}
}

func TestCommandTaskJSON(t *testing.T) {
	offer := mesos.Offer{AgentID: mesos.AgentID{Value: "a-1"}}
	task := scheduler.CommandTask("web.1", "web.1a", offer, mesos.Resources{scalar("cpus", 0.5, "*", "")}, "echo $HOME")
	b, err := json.Marshal(scheduler.LaunchOp(task))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"type":"LAUNCH"`, `"task_infos":[{"name":"web.1","task_id":{"value":"web.1a"},"agent_id":{"value":"a-1"}`,
		`"command":{"shell":true,"value":"echo $HOME"}`, `"allocation_info":{"role":"*"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("LAUNCH JSON lacks %s:\n%s", want, b)
		}
	}
}
