package engine

import (
	"slices"
	"time"

	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/health"
	"github.com/strata-sched/strata/marathon/sched"
	"github.com/strata-sched/strata/marathon/state"
)

// healthReporter feeds probe results back into the engine.
type healthReporter struct{ e *Engine }

func (h healthReporter) HealthResult(taskID string, index int, r health.Result) {
	h.e.healthResult(taskID, index, r)
}

func (h healthReporter) ReadinessResult(taskID string, r app.ReadinessCheckResult) {
	h.e.readinessResult(taskID, r)
}

func (e *Engine) healthResult(taskID string, index int, r health.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return
	}
	in, ok := e.tasks[taskID]
	if !ok || index >= len(in.def.HealthChecks) || index >= len(in.health) {
		return
	}
	hc := in.def.HealthChecks[index]
	was := e.healthy(in)
	prev := in.health[index]
	st, v := prev.Observe(hc, r, in.Running() && in.Goal == state.GoalRunning, in.StartedAt)
	in.health[index] = st
	if health.NeedsStore(hc, prev, st) {
		e.storeHealth(e.ctx, in)
	}
	if v.Failed {
		e.bus.Publish("failed_health_check_event", map[string]any{"appId": in.AppID, "taskId": in.InstanceID(), "instanceId": in.InstanceID(), "healthCheck": hc})
	}
	if v.Kill && in.State != "TASK_UNREACHABLE" {
		e.log.Info("killing unhealthy task", "task", in.TaskID, "check", index, "failures", st.ConsecutiveFailures, "cause", st.LastFailureCause)
		e.bus.Publish("unhealthy_instance_kill_event", map[string]any{"appId": in.AppID, "taskId": in.TaskID, "instanceId": in.InstanceID(),
			"version": in.Version, "reason": st.LastFailureCause, "host": in.Host, "slaveId": in.AgentID})
		e.metrics.HealthKills++
		e.requestKill(e.ctx, in, reasonHealth, r.At)
	}
	if now := e.healthy(in); now != was {
		e.publishHealthChange(in, now)
		e.kick()
	}
}

func (e *Engine) readinessResult(taskID string, r app.ReadinessCheckResult) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading {
		return
	}
	in, ok := e.tasks[taskID]
	if !ok {
		return
	}
	res := r
	in.ready = &res
	if r.Ready {
		e.kick()
	}
}

// healthTargets lists the probes to run: Marathon-level health checks of
// running tasks, and readiness checks of running tasks not ready yet.
func (e *Engine) healthTargets() []health.Target {
	var out []health.Target
	for _, in := range e.tasks {
		if !in.Running() || in.Goal != state.GoalRunning {
			continue
		}
		t := health.Target{TaskID: in.TaskID, Host: in.Host}
		for i, hc := range in.def.HealthChecks {
			if !sched.IsMarathonCheck(hc) {
				continue
			}
			interval := time.Duration(hc.IntervalSeconds) * time.Second
			t.Checks = append(t.Checks, health.Probe{
				Index: i, Protocol: protocolOf(hc), Port: sched.CheckPort(in.def, hc, in.Ports), Path: hc.EffectivePath(),
				Interval: max(interval, 100*time.Millisecond), Timeout: max(time.Duration(hc.TimeoutSeconds)*time.Second, 100*time.Millisecond),
				FirstAfter: health.FirstProbeAfter(hc),
			})
		}
		if rcs := in.def.ReadinessChecks; len(rcs) > 0 && (in.ready == nil || !in.ready.Ready) {
			rc := rcs[0]
			port := uint64(0)
			if i := slices.Index(in.def.PortNames(), rc.PortName); i >= 0 && i < len(in.Ports) {
				port = in.Ports[i]
			}
			t.Readiness = &health.ReadinessProbe{
				Name: rc.Name, Protocol: rc.Protocol, Port: port, Path: rc.Path,
				Interval: max(time.Duration(rc.IntervalSeconds)*time.Second, 100*time.Millisecond),
				Timeout:  max(time.Duration(rc.TimeoutSeconds)*time.Second, 100*time.Millisecond),
				Codes:    rc.HTTPStatusCodesForReady, Preserve: rc.PreserveLastResponse,
			}
		}
		if len(t.Checks) > 0 || t.Readiness != nil {
			out = append(out, t)
		}
	}
	return out
}

func protocolOf(hc app.HealthCheck) string {
	if hc.Protocol == "" {
		return app.ProtoHTTP
	}
	return hc.Protocol
}
