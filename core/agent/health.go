package agent

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"os/user"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/healthcheck"
	"github.com/strata-sched/strata/core/mesos"
)

// Health checks (TaskInfo.health_check) and general checks
// (TaskInfo.check) of command tasks and of task groups' tasks, for which
// the agent is the executor. Mesos' command and default executors run them
// next to the task; so does the agent (core/healthcheck probes, the agent
// reports): from the task's TASK_RUNNING until its container ends or it is
// killed. A custom executor runs its tasks' checks itself.
//
// Every health result healthcheck reports becomes a TASK_RUNNING update
// with healthy set and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED; a Kill
// result kills the task with its kill policy's grace period, and its
// terminal TASK_KILLED says healthy=false, as Mesos' command executor
// does. A general check's result becomes a TASK_RUNNING update with
// check_status and REASON_TASK_CHECK_STATUS_UPDATED when it differs from
// the previous one. Each RUNNING update carries the latest health and
// check status, so none of them erases the other.

// taskRunning reports a launched task TASK_RUNNING and starts its checks.
// Called with a.mu held.
func (a *Agent) taskRunning(t *task, spec containerizer.Spec) {
	if ci := t.info.Check; ci != nil {
		// Until the first result: the check's type and no result.
		empty := emptyCheckStatus(strings.ToUpper(ci.Type))
		t.checkStatus = &empty
	}
	a.runningUpdate(t, mesos.TaskStatus{})
	if t.kill == nil {
		a.startChecks(t, spec)
	}
}

// runningUpdate sends a TASK_RUNNING update of t carrying its latest
// health and check status. Called with a.mu held.
func (a *Agent) runningUpdate(t *task, st mesos.TaskStatus) {
	st.State = mesos.TaskRunning
	st.Source = mesos.SourceExecutor
	st.Healthy = t.healthy
	st.CheckStatus = t.checkStatus
	if err := a.statusUpdate(t, st); err != nil {
		a.log.Warn("status update failed", "task_id", t.info.TaskID.Value, "state", st.State, "reason", st.Reason, "err", err)
	}
}

// startChecks starts the task's health check and general check, if any.
// Called with a.mu held.
func (a *Agent) startChecks(t *task, spec containerizer.Spec) {
	hc, ci := t.info.HealthCheck, t.info.Check
	if (hc == nil && ci == nil) || t.stopChecks != nil || a.ctx == nil {
		return
	}
	ctx, cancel := context.WithCancel(a.ctx)
	t.stopChecks = cancel
	target := healthcheck.Target{Host: "127.0.0.1", RunCommand: checkCommandRunner(spec)}
	if spec.Docker != nil && spec.Docker.Network == "BRIDGE" && t.pid > 0 {
		// Probe from inside the container's network namespace.
		target.NetNS = fmt.Sprintf("/proc/%d/ns/net", t.pid)
	}
	if hc != nil {
		if err := healthcheck.ValidateHealthCheck(*hc); err != nil {
			a.log.Warn("task's health check is invalid; not running it", "task_id", t.info.TaskID.Value, "err", err)
		} else {
			check := *hc
			a.goFn(func() {
				healthcheck.RunHealth(ctx, check, target, func(r healthcheck.HealthResult) { a.healthResult(ctx, t, r) })
			})
		}
	}
	if ci != nil {
		check := *ci
		a.goFn(func() {
			healthcheck.RunCheck(ctx, check, target, func(cs mesos.CheckStatusInfo) { a.checkResult(ctx, t, cs) })
		})
	}
}

// stopTaskChecks stops the task's checks. Called with a.mu held.
func (a *Agent) stopTaskChecks(t *task) {
	if t.stopChecks != nil {
		t.stopChecks()
	}
}

// healthResult reports a health check result.
func (a *Agent) healthResult(ctx context.Context, t *task, r healthcheck.HealthResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ctx.Err() != nil || a.stopping || t.state != mesos.TaskRunning || t.kill != nil {
		return
	}
	healthy := r.Healthy
	t.healthy = &healthy
	st := mesos.TaskStatus{Reason: mesos.ReasonTaskHealthCheckStatusUpdated}
	if !healthy {
		st.Message = r.Message
	}
	a.runningUpdate(t, st)
	if r.Kill {
		a.log.Info("killing task: its health check failed", "framework_id", t.ex.fw.id, "task_id", t.info.TaskID.Value,
			"consecutive_failures", r.ConsecutiveFailures, "message", r.Message)
		t.unhealthy = true
		msg := "Task killed because its health check failed"
		if r.Message != "" {
			msg += ": " + r.Message
		}
		a.killTask(t, killGrace(nil, t.info.KillPolicy), &endCause{message: msg})
	}
}

// checkResult reports a general check result if it changed.
func (a *Agent) checkResult(ctx context.Context, t *task, cs mesos.CheckStatusInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ctx.Err() != nil || a.stopping || t.state != mesos.TaskRunning || t.kill != nil {
		return
	}
	if t.checkStatus != nil && reflect.DeepEqual(*t.checkStatus, cs) {
		return
	}
	t.checkStatus = &cs
	a.runningUpdate(t, mesos.TaskStatus{Reason: mesos.ReasonTaskCheckStatusUpdated})
}

// emptyCheckStatus is a check status of typ without a result.
func emptyCheckStatus(typ string) mesos.CheckStatusInfo {
	st := mesos.CheckStatusInfo{Type: typ}
	switch typ {
	case healthcheck.TypeCommand:
		st.Command = &struct {
			ExitCode *int32 `json:"exit_code,omitempty"`
		}{}
	case healthcheck.TypeHTTP:
		st.HTTP = &struct {
			StatusCode *uint32 `json:"status_code,omitempty"`
		}{}
	case healthcheck.TypeTCP:
		st.TCP = &struct {
			Succeeded *bool `json:"succeeded,omitempty"`
		}{}
	}
	return st
}

// checkCommandWaitDelay bounds the wait for a check command's output
// after it was killed at its timeout.
const checkCommandWaitDelay = time.Second

// checkCommandRunner runs COMMAND checks next to the task: a short-lived
// process in the task's sandbox with the task's environment (plus the
// check command's) and user, in a process group of its own that is killed
// when ctx ends (the check's timeout). A Docker task's check command runs
// on the host too, in the sandbox the container mounts.
func checkCommandRunner(spec containerizer.Spec) func(context.Context, mesos.CommandInfo) (int, error) {
	return func(ctx context.Context, cmd mesos.CommandInfo) (int, error) {
		var c *exec.Cmd
		if cmd.IsShell() {
			c = exec.CommandContext(ctx, "/bin/sh", "-c", cmd.GetValue())
		} else {
			c = exec.CommandContext(ctx, cmd.GetValue())
			if len(cmd.Arguments) > 0 {
				c.Args = cmd.Arguments
			}
		}
		env, err := checkEnv(spec.Env, cmd.Environment)
		if err != nil {
			return -1, err
		}
		c.Env = env
		c.Dir = spec.Sandbox
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if spec.User != "" {
			cred, err := lookupCredential(spec.User)
			if err != nil {
				return -1, err
			}
			c.SysProcAttr.Credential = cred
		}
		c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
		c.WaitDelay = checkCommandWaitDelay
		err = c.Run()
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return 128 + int(ws.Signal()), nil
			}
			return exit.ExitCode(), nil
		}
		if err != nil {
			return -1, err
		}
		return 0, nil
	}
}

// checkEnv is the task's environment with the check command's variables
// added (they win).
func checkEnv(taskEnv []string, extra *mesos.Environment) ([]string, error) {
	base := make(map[string]string, len(taskEnv))
	for _, kv := range taskEnv {
		k, v, _ := strings.Cut(kv, "=")
		base[k] = v
	}
	return buildEnv(base, &mesos.CommandInfo{Environment: extra}, "")
}

// lookupCredential resolves a user to the credential a check command runs
// with: uid, primary gid and supplementary groups.
func lookupCredential(name string) (*syscall.Credential, error) {
	uid, gid, err := lookupIDs(name)
	if err != nil {
		return nil, err
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if u, err := user.Lookup(name); err == nil {
		if gids, err := u.GroupIds(); err == nil {
			for _, g := range gids {
				if n, err := strconv.ParseUint(g, 10, 32); err == nil {
					cred.Groups = append(cred.Groups, uint32(n))
				}
			}
		}
	}
	return cred, nil
}
