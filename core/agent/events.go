package agent

import (
	"github.com/strata-sched/strata/core/mesos"
)

// handleEvent applies one event from the master.
func (a *Agent) handleEvent(conn *masterConn, ev mesos.AgentEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		return
	}
	missing := func() { a.log.Warn("event without its payload; ignored", "type", ev.Type) }
	switch ev.Type {
	case mesos.AgentEventPing:
		conn.send(mesos.AgentCall{Type: mesos.AgentCallPong})

	case mesos.AgentEventRunTask:
		if ev.RunTask == nil {
			missing()
			return
		}
		a.runTask(ev.RunTask.FrameworkInfo, ev.RunTask.Task)

	case mesos.AgentEventRunTaskGroup:
		if ev.RunTaskGroup == nil {
			missing()
			return
		}
		p := ev.RunTaskGroup
		a.runTaskGroup(p.FrameworkInfo, p.Executor, p.TaskGroup)

	case mesos.AgentEventKillTask:
		if ev.KillTask == nil {
			missing()
			return
		}
		a.killTaskRequest(ev.KillTask.FrameworkID.Value, ev.KillTask.TaskID, ev.KillTask.KillPolicy)

	case mesos.AgentEventShutdownExecutor:
		if ev.ShutdownExecutor == nil {
			missing()
			return
		}
		fw := a.frameworks[ev.ShutdownExecutor.FrameworkID.Value]
		if fw == nil {
			return
		}
		if ex := fw.executors[ev.ShutdownExecutor.ExecutorID.Value]; ex != nil {
			a.log.Info("shutting down executor", "framework_id", fw.id, "executor_id", ex.id)
			a.shutdownExecutor(ex, &endCause{reason: mesos.ReasonExecutorTerminated, message: "Executor shut down by the framework"})
		}

	case mesos.AgentEventShutdownFramework:
		if ev.ShutdownFramework == nil {
			missing()
			return
		}
		a.shutdownFramework(ev.ShutdownFramework.FrameworkID.Value)

	case mesos.AgentEventAcknowledge:
		if ev.Acknowledge == nil {
			missing()
			return
		}
		a.acknowledge(ev.Acknowledge.FrameworkID.Value, ev.Acknowledge.TaskID.Value, ev.Acknowledge.UUID)

	case mesos.AgentEventMessage:
		if ev.Message == nil {
			missing()
			return
		}
		a.frameworkMessage(ev.Message.FrameworkID.Value, ev.Message.ExecutorID.Value, ev.Message.Data)

	case mesos.AgentEventUpdateFramework:
		if ev.UpdateFramework == nil || ev.UpdateFramework.FrameworkInfo.ID == nil {
			missing()
			return
		}
		info := ev.UpdateFramework.FrameworkInfo
		fw := a.frameworks[info.ID.Value]
		if fw == nil {
			return
		}
		fw.info = info
		if err := writeJSONAtomic(a.paths.frameworkInfo(a.id, fw.id), info); err != nil {
			a.log.Warn("checkpointing framework info failed", "framework_id", fw.id, "err", err)
		}

	case mesos.AgentEventCheckpointRes:
		if ev.CheckpointResources == nil {
			missing()
			return
		}
		rs := mesos.Resources(ev.CheckpointResources.Resources)
		if err := rs.Validate(); err != nil {
			a.log.Error("CHECKPOINT_RESOURCES with invalid resources; ignored", "err", err)
			return
		}
		rs = rs.Normalize()
		if err := writeJSONAtomic(a.paths.resourcesInfo(), rs); err != nil {
			a.log.Error("checkpointing resources failed", "err", err)
			return
		}
		a.total = rs
		a.log.Info("checkpointed resources", "resources", rs.String())

	case mesos.AgentEventRegistered:
		a.log.Debug("REGISTERED on an established stream; ignored")

	default:
		a.log.Warn("unknown event from master; ignored", "type", ev.Type)
	}
}

// shutdownFramework kills every executor of a framework; the framework is
// removed once they are gone. Called with a.mu held.
func (a *Agent) shutdownFramework(fwID string) {
	fw := a.frameworks[fwID]
	if fw == nil {
		return
	}
	a.log.Info("shutting down framework", "framework_id", fwID)
	fw.shuttingDown = true
	cause := &endCause{reason: mesos.ReasonFrameworkRemoved, message: "Framework was removed"}
	for _, ex := range fw.executors {
		a.shutdownExecutor(ex, cause)
		a.maybeCompleteExecutor(ex)
	}
	if len(fw.executors) == 0 {
		a.removeFramework(fw)
	}
}

// frameworkMessage delivers a framework message to its executor
// (at-most-once). Called with a.mu held.
func (a *Agent) frameworkMessage(fwID, exID string, data []byte) {
	fw := a.frameworks[fwID]
	var ex *executor
	if fw != nil {
		ex = fw.executors[exID]
	}
	if ex == nil || ex.kind != kindCustom || ex.conn == nil {
		a.counters.invalidFrameworkMessages++
		a.log.Info("dropping framework message: executor not subscribed here", "framework_id", fwID, "executor_id", exID)
		return
	}
	a.counters.validFrameworkMessages++
	ev := mesos.ExecutorEvent{Type: mesos.ExecEventMessage}
	ev.Message = &struct {
		Data []byte `json:"data"`
	}{data}
	ex.conn.send(ev)
}
