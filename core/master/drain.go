package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// This file holds DRAIN_AGENT (Mesos 1.9 "automatic agent draining",
// reference/mesos.md §1.7): the agent is deactivated (no offers), every
// task on it is killed, with its grace period capped by max_grace_period,
// and once no task is left the agent is DRAINED (and, with mark_gone,
// marked gone). The drain survives master failover (registry key
// registry/draining/<agent>); REACTIVATE_AGENT ends it.

const keyDraining = "registry/draining/"

// recoverDrains loads the drains in progress; m.mu held.
func (m *Master) recoverDrains(ctx context.Context) error {
	kvs, err := m.cfg.Store.List(ctx, keyDraining)
	if err != nil {
		return fmt.Errorf("master: reading registry drains: %w", err)
	}
	for _, kv := range kvs {
		var di mesos.DrainInfo
		if err := json.Unmarshal(kv.Value, &di); err != nil {
			m.log.Warn("skipping bad registry drain entry", "key", kv.Key, "err", err)
			continue
		}
		m.maint.drains[kv.Key[len(keyDraining):]] = &di
	}
	return nil
}

// drainAgent is DRAIN_AGENT.
func (op *operatorAPI) drainAgent(id string, maxGrace *mesos.DurationInfo, markGone bool) error {
	if maxGrace != nil && maxGrace.Nanoseconds < 0 {
		return badRequest("max_grace_period must not be negative")
	}
	m := op.m
	op.regMu.Lock()
	defer op.regMu.Unlock()
	m.mu.Lock()
	m.maint.init()
	_, unreachable := m.unreachable[id]
	known := m.agents[id] != nil || unreachable || m.admitted[id]
	gone := m.gone[id]
	m.mu.Unlock()
	if gone {
		return badRequest("Agent %s has been marked gone and cannot be drained", id)
	}
	if !known {
		return badRequest("Unknown agent")
	}
	di := &mesos.DrainInfo{State: mesos.DrainStateDraining, Config: mesos.DrainConfig{MaxGracePeriod: maxGrace, MarkGone: markGone}}
	if err := op.persist(keyDraining+id, di); err != nil {
		return err
	}
	m.mu.Lock()
	m.maint.drains[id] = di
	m.maint.drainOp = op
	if a := m.agents[id]; a != nil {
		m.startDrain(a, di)
	}
	m.mu.Unlock()
	m.log.Warn("agent draining", "agent", id, "max_grace_period", maxGrace, "mark_gone", markGone)
	return nil
}

// startDrain deactivates a and asks it to kill every task; it runs again
// when a draining agent re-registers. m.mu held.
func (m *Master) startDrain(a *agent, di *mesos.DrainInfo) {
	a.active = false
	m.rescindAgentOffers(a)
	if !a.connected {
		return
	}
	for k, t := range a.tasks {
		if t.State.IsTerminal() {
			continue
		}
		kp := t.KillPolicy
		if mg := di.Config.MaxGracePeriod; mg != nil {
			if kp == nil || kp.GracePeriod == nil || kp.GracePeriod.Nanoseconds > mg.Nanoseconds {
				kp = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: mg.Nanoseconds}}
			}
		}
		a.stream.Send(killTaskEvent(k.fw, t.TaskID, kp))
	}
}

// resumeDrain re-applies a drain to an agent that (re-)registered. m.mu held.
func (m *Master) resumeDrain(a *agent) {
	if di := m.maint.drains[a.id]; di != nil {
		m.startDrain(a, di)
	}
}

// checkDrains moves draining agents with no task left to DRAINED (and
// marks them gone when asked); called by housekeeping with m.mu held. The
// registry work happens off the lock: if it is lost, the agent is found
// empty again after a failover.
func (m *Master) checkDrains() {
	for id, di := range m.maint.drains {
		a := m.agents[id]
		if di.State != mesos.DrainStateDraining || a == nil || !a.connected || len(a.tasks) > 0 {
			continue
		}
		di.State = mesos.DrainStateDrained
		m.log.Info("agent drained", "agent", id, "mark_gone", di.Config.MarkGone)
		if op := m.maint.drainOp; op != nil {
			done := *di
			go op.finishDrain(id, done)
		}
	}
}

// finishDrain records DRAINED and, with mark_gone, marks the agent gone.
func (op *operatorAPI) finishDrain(id string, di mesos.DrainInfo) {
	if di.Config.MarkGone {
		if err := op.markAgentGone(id); err != nil {
			op.m.log.Error("could not mark a drained agent gone", "agent", id, "err", err)
			return
		}
		op.m.mu.Lock()
		delete(op.m.maint.drains, id)
		op.m.mu.Unlock()
		op.deleteKey(keyDraining + id)
		return
	}
	op.regMu.Lock()
	defer op.regMu.Unlock()
	op.m.mu.Lock()
	cur := op.m.maint.drains[id]
	op.m.mu.Unlock()
	if cur == nil || cur.State != mesos.DrainStateDrained {
		return // reactivated meanwhile
	}
	if err := op.persist(keyDraining+id, di); err != nil {
		op.m.log.Warn("could not record a drained agent", "agent", id, "err", err)
	}
}

// reactivateAgent is REACTIVATE_AGENT: it also ends a drain.
func (op *operatorAPI) reactivateAgent(id string) error {
	m := op.m
	op.regMu.Lock()
	m.mu.Lock()
	_, draining := m.maint.drains[id]
	m.mu.Unlock()
	if draining {
		if err := op.deleteKey(keyDraining + id); err != nil {
			op.regMu.Unlock()
			return err
		}
		m.mu.Lock()
		delete(m.maint.drains, id)
		m.mu.Unlock()
	}
	op.regMu.Unlock()
	return m.setAgentActive(id, true)
}

func (op *operatorAPI) deleteKey(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	if err := op.m.cfg.Store.Delete(ctx, key, store.AnyVersion); err != nil && !errors.Is(err, store.ErrNotFound) {
		op.m.log.Error("registry delete failed", "key", key, "err", err)
		return err
	}
	return nil
}
