package master

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// TestRecoverReadsAgentIDsFromKeys: a new leader learns the admitted and
// gone agents from the registry's keys alone, skips keys that name no valid
// agent ID, does not rewrite the admission of an agent that re-registers,
// and still refuses an agent marked gone.
func TestRecoverReadsAgentIDsFromKeys(t *testing.T) {
	c := newTestCluster(t, nil)
	ctx := context.Background()
	put := func(key string, value []byte) {
		t.Helper()
		if _, err := c.store.Put(ctx, key, value, 0); err != nil {
			t.Fatal(err)
		}
	}
	info, _ := json.Marshal(mesos.AgentInfo{Hostname: "h1", ID: &mesos.AgentID{Value: "a1"}})
	put(keyAgents+"a1", info)
	put(keyAgents+"a2", []byte("written by an older version")) // the key is what counts
	put(keyAgents+"nested/a3", info)                           // not an agent ID
	put(keyAgents+"..", info)                                  // not an agent ID
	put(keyGone+"g1", []byte(`{"timestamp_ns":1}`))
	put(keyGone+"bad/g2", []byte(`{"timestamp_ns":1}`))

	m, err := New(Config{Store: c.store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(m.admitted)), []string{"a1", "a2"}; !slices.Equal(got, want) {
		t.Errorf("admitted after Recover = %q, want %q", got, want)
	}
	if got, want := slices.Sorted(maps.Keys(m.gone)), []string{"g1"}; !slices.Equal(got, want) {
		t.Errorf("gone after Recover = %q, want %q", got, want)
	}

	// The cluster's own master recovers the same registry and serves.
	c.m.mu.Lock()
	c.m.admitted, c.m.gone = map[string]bool{}, map[string]bool{}
	c.m.mu.Unlock()
	if err := c.m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	a := c.registerAgent("a1", "cpus:1;mem:128")
	if a.id != "a1" {
		t.Fatalf("re-registered as %q, want a1", a.id)
	}
	if kv, err := c.store.Get(ctx, keyAgents+"a1"); err != nil || kv.Version != 1 {
		t.Errorf("registry entry of a re-registered agent: version %d, %v; want version 1 (no rewrite)", kv.Version, err)
	}
	res, _ := mesos.ParseResources("cpus:1;mem:128", "")
	es, _ := c.openStream("/api/v1/agent", mesos.AgentCall{Type: mesos.AgentCallRegister, Register: &mesos.AgentRegister{
		AgentInfo: mesos.AgentInfo{Hostname: "h-g1", ID: &mesos.AgentID{Value: "g1"}, Resources: res}}})
	if es == nil {
		t.Fatal("register g1: no event stream")
	}
	defer es.close()
	var ev mesos.AgentEvent
	json.Unmarshal(es.next(mesos.AgentEventRegistered, mesos.AgentEventError), &ev)
	if ev.Type != mesos.AgentEventError {
		t.Errorf("agent marked gone in the registry: got %s, want ERROR", ev.Type)
	}
	if _, err := c.store.Get(ctx, keyAgents+"g1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("registry entry of the agent marked gone: %v, want not found", err)
	}
}
