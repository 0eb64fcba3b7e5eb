package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/strata-sched/strata/core/mesos"
)

// prepError is a failure to prepare a container other than a fetch of one
// of its URIs (those are *fetcher.URIError): REASON_CONTAINER_PREPARATION_FAILED.
type prepError struct{ err error }

func (e *prepError) Error() string { return "Failed to prepare the container: " + e.err.Error() }
func (e *prepError) Unwrap() error { return e.err }

// taskURIs are the URIs fetched into a task's sandbox before its launch.
func taskURIs(ti *mesos.TaskInfo) []mesos.URI {
	if ti.Command == nil {
		return nil
	}
	return ti.Command.URIs
}

// fetchForTask fetches a task's URIs into its sandbox; a kill of the task
// cancels the fetch (the launch then reports the kill).
func (a *Agent) fetchForTask(ctx context.Context, t *task, uris []mesos.URI, user string) error {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	if t.kill != nil {
		a.mu.Unlock()
		return nil // reported as killed during launch
	}
	t.cancelLaunch = cancel
	a.mu.Unlock()
	return a.fetch(fctx, uris, t.sandbox, user)
}

// fetch fetches uris into sandbox (owned by user when the agent runs as
// root and user is set), appending the fetcher's log to the sandbox's
// stderr as Mesos' fetcher does. It runs outside the agent's lock.
func (a *Agent) fetch(ctx context.Context, uris []mesos.URI, sandbox, user string) error {
	path := filepath.Join(sandbox, "stderr")
	log, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return &prepError{fmt.Errorf("opening the sandbox's stderr for the fetcher's log: %w", err)}
	}
	defer log.Close()
	if user != "" {
		if err := chownDir(path, user); err != nil {
			return &prepError{err}
		}
	}
	return a.cfg.Fetcher.Fetch(ctx, uris, sandbox, user, log)
}
