package executor_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/executor"
)

// The skeleton of a custom executor's main: configuration from the
// agent's environment, a handler for the events it cares about, and Run.
// Real executors run tasks on goroutines they own and report from there.
func Example() {
	cfg, err := executor.ConfigFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // not started by an agent
		return
	}
	cfg.Handler = executor.HandlerFuncs{
		LaunchFunc: func(ctx context.Context, e *executor.Executor, task mesos.TaskInfo) {
			for _, state := range []mesos.TaskState{mesos.TaskRunning, mesos.TaskFinished} {
				if _, err := e.Update(ctx, mesos.TaskStatus{TaskID: task.TaskID, State: state}); err != nil {
					fmt.Fprintln(os.Stderr, "update:", err) // kept and resent after reconnecting
				}
			}
		},
		KillFunc: func(ctx context.Context, e *executor.Executor, id mesos.TaskID, _ *mesos.KillPolicy) {
			_, _ = e.Update(ctx, mesos.TaskStatus{TaskID: id, State: mesos.TaskKilled})
		},
	}
	ex, err := executor.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	if err := ex.Run(context.Background()); errors.Is(err, executor.ErrDisconnected) || errors.Is(err, executor.ErrRecoveryTimeout) {
		os.Exit(1)
	}
}
