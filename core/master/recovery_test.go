package master

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// TestRecoveredAgentsExpire: after a failover, agents from the registry
// that never re-register are marked unreachable once
// AgentReregisterTimeout passes, so reconciling their tasks is answered
// (TASK_UNREACHABLE for partition-aware frameworks, TASK_LOST otherwise)
// instead of waiting forever; agents already unreachable before the
// failover are answered at once.
func TestRecoveredAgentsExpire(t *testing.T) {
	c := newTestCluster(t, func(cfg *Config) { cfg.AgentReregisterTimeout = 300 * time.Millisecond })
	put := func(key string, v any) {
		b, _ := json.Marshal(v)
		if _, err := c.store.Put(context.Background(), key, b, store.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	// The registry a previous leader left: agent "old-1" admitted, agent
	// "old-2" admitted and already unreachable.
	put(keyAgents+"old-1", mesos.AgentInfo{Hostname: "h1", ID: &mesos.AgentID{Value: "old-1"}})
	put(keyAgents+"old-2", mesos.AgentInfo{Hostname: "h2", ID: &mesos.AgentID{Value: "old-2"}})
	unreachableAt := time.Now().Add(-time.Hour).Truncate(time.Second)
	put(keyUnreachable+"old-2", map[string]int64{"timestamp_ns": unreachableAt.UnixNano()})
	if err := c.m.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}

	pa := c.subscribe(fw("pa", mesos.CapPartitionAware))
	legacy := c.subscribe(fw("legacy"))
	reconcile := func(s *fakeScheduler, agent string) {
		t.Helper()
		if code, body := s.call(mesos.Call{Type: mesos.CallReconcile, Reconcile: &mesos.CallReconcileBody{
			Tasks: []mesos.ReconcileTask{{TaskID: mesos.TaskID{Value: "t-" + agent}, AgentID: &mesos.AgentID{Value: agent}}}}}); code != 202 {
			t.Fatalf("reconcile: %d %s", code, body)
		}
	}
	// Unreachable before the failover: answered at once, with its time.
	reconcile(pa, "old-2")
	if st := pa.nextUpdate(); st.State != mesos.TaskUnreachable || st.UnreachableTime == nil ||
		st.UnreachableTime.Nanoseconds != unreachableAt.UnixNano() {
		t.Fatalf("reconcile on an unreachable agent: %+v", st)
	}
	// Recovered: no answer until the agent re-registers or times out.
	reconcile(pa, "old-1")
	if ev := pa.nextEvent(mesos.EventFailure); ev.Failure.AgentID == nil || ev.Failure.AgentID.Value != "old-1" {
		t.Fatalf("failure event: %+v", ev.Failure)
	}
	reconcile(pa, "old-1")
	if st := pa.nextUpdate(); st.TaskID.Value != "t-old-1" || st.State != mesos.TaskUnreachable {
		t.Fatalf("reconcile after the re-register timeout (partition-aware): %+v", st)
	}
	reconcile(legacy, "old-1")
	if st := legacy.nextUpdate(); st.State != mesos.TaskLost {
		t.Fatalf("reconcile after the re-register timeout: %+v", st)
	}
	// The mark is durable.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := c.store.Get(context.Background(), keyUnreachable+"old-1"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("unreachable mark of the expired agent not in the registry")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRegistryGC: unreachable agents older than the maximum age, and the
// oldest beyond the maximum count, leave the registry.
func TestRegistryGC(t *testing.T) {
	c := newTestCluster(t, func(cfg *Config) {
		cfg.RegistryMaxAgentAge = time.Hour
		cfg.RegistryMaxAgentCount = 2
		cfg.RegistryGCInterval = 50 * time.Millisecond
	})
	now := time.Now()
	ages := map[string]time.Duration{"a-2h": 2 * time.Hour, "a-30m": 30 * time.Minute, "a-20m": 20 * time.Minute, "a-10m": 10 * time.Minute}
	for id, age := range ages {
		b, _ := json.Marshal(mesos.AgentInfo{Hostname: id, ID: &mesos.AgentID{Value: id}})
		c.store.Put(context.Background(), keyAgents+id, b, store.AnyVersion)
		b, _ = json.Marshal(map[string]int64{"timestamp_ns": now.Add(-age).UnixNano()})
		c.store.Put(context.Background(), keyUnreachable+id, b, store.AnyVersion)
	}
	if err := c.m.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	exists := func(key string) bool {
		_, err := c.store.Get(context.Background(), key)
		return err == nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for exists(keyUnreachable+"a-2h") || exists(keyAgents+"a-2h") || exists(keyUnreachable+"a-30m") || exists(keyAgents+"a-30m") {
		if time.Now().After(deadline) {
			t.Fatal("old unreachable agents were not collected")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []string{"a-20m", "a-10m"} {
		if !exists(keyUnreachable+id) || !exists(keyAgents+id) {
			t.Errorf("%s was collected but is young and within the count", id)
		}
	}
	s := c.subscribe(fw("legacy"))
	s.call(mesos.Call{Type: mesos.CallReconcile, Reconcile: &mesos.CallReconcileBody{
		Tasks: []mesos.ReconcileTask{{TaskID: mesos.TaskID{Value: "t"}, AgentID: &mesos.AgentID{Value: "a-2h"}}}}})
	if st := s.nextUpdate(); st.State != mesos.TaskLost {
		t.Fatalf("reconcile on a collected agent: %+v", st)
	}
}
