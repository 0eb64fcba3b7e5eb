package containerizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// monitor copies the container's logs until it stops, then records how it
// ended. It runs until then or until Close.
func (d *Docker) monitor(c *dockerContainer, pump *logPump) {
	defer d.wg.Done()
	ctx := d.ctx
	log := d.logger.With("container", c.id)
	backoff := 50 * time.Millisecond
	failures := 0
	for {
		err := pump.run(ctx, true)
		if ctx.Err() != nil {
			return
		}
		if err == nil || errors.Is(err, errLogsUnsupported) {
			if err != nil && failures == 0 {
				log.Warn("the container's logs cannot be copied into the sandbox", "err", err)
			}
			// The stream ended: the container has stopped (or its logs
			// cannot be read); wait returns once it does not run.
			_, werr := d.api.wait(ctx, c.dockerID)
			if ctx.Err() != nil {
				return
			}
			if werr == nil && err == nil {
				if err := pump.run(ctx, false); err != nil && ctx.Err() == nil {
					log.Warn("copying the last of the logs failed", "err", err)
				}
			}
			if werr == nil || isDockerNotFound(werr) {
				break
			}
			err = werr
		} else if info, ierr := d.api.inspect(ctx, c.dockerID); isDockerNotFound(ierr) {
			break
		} else if ierr == nil && !info.State.Running && failures < 3 {
			// Stopped: copy what is left (the next run ends at EOF).
			failures++
			continue
		} else if ierr == nil && !info.State.Running {
			log.Warn("giving up copying the logs of a stopped container", "err", err)
			break
		}
		failures++
		log.Warn("watching the container failed; retrying", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, dockerRetryMax)
	}
	d.finish(ctx, c)
}

// finish inspects the stopped container and records its Termination.
func (d *Docker) finish(ctx context.Context, c *dockerContainer) {
	var term Termination
	info, err := d.api.inspect(ctx, c.dockerID)
	switch {
	case err == nil:
		term = dockerTermination(info)
	case isDockerNotFound(err):
		if t, ok := readDockerExit(c.data.RunDir); ok {
			term = t
		} else {
			term = Termination{ExitCode: -1, Message: fmt.Sprintf("Container %s was removed; exit status unknown", c.data.Name)}
		}
	default:
		if ctx.Err() != nil {
			return
		}
		d.logger.Error("inspecting a stopped container failed", "container", c.id, "err", err)
		term = Termination{ExitCode: -1, Message: "Container ended; exit status unknown: " + err.Error()}
	}
	d.finishWith(c, term)
}

// finishWith sets the Termination, records it in RunDir and closes done.
func (d *Docker) finishWith(c *dockerContainer, term Termination) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended() {
		return
	}
	term.Killed = term.Killed || c.killed
	c.term = term
	if b, err := json.Marshal(term); err == nil {
		if err := writeFileAtomic(filepath.Join(c.data.RunDir, dockerExitFile), b); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.logger.Warn("recording the exit status failed", "container", c.id, "err", err)
		}
	}
	close(c.done)
	d.logger.Info("container ended", "container", c.id, "exit_code", term.ExitCode,
		"killed", term.Killed, "limitation", term.Limitation, "message", term.Message)
}

// dockerTermination reads how a stopped container ended. An exit code of
// 128+N is reported as signal N (what the engine records for a PID 1 killed
// by a signal).
func dockerTermination(info dockerInspect) Termination {
	code := info.State.ExitCode
	t := Termination{ExitCode: code, Message: fmt.Sprintf("Container exited with status %d", code)}
	if code > 128 && code <= 128+dockerMaxSignal {
		t.Signaled, t.Signal = true, code-128
	}
	if info.State.OOMKilled {
		t.Limitation = "memory"
		t.Message = "Memory limit exceeded: container exited with status " + fmt.Sprint(code)
	}
	if info.State.Error != "" {
		t.Message += ": " + info.State.Error
	}
	return t
}

func readDockerExit(runDir string) (Termination, bool) {
	b, err := os.ReadFile(filepath.Join(runDir, dockerExitFile))
	if err != nil {
		return Termination{}, false
	}
	var t Termination
	if json.Unmarshal(b, &t) != nil {
		return Termination{}, false
	}
	return t, true
}
