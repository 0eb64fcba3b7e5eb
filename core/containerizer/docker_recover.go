package containerizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// scheduleRemoval removes the engine's container dockerID after delay
// (unless Close comes first).
func (d *Docker) scheduleRemoval(dockerID string, delay time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if _, ok := d.removals[dockerID]; ok {
		return
	}
	d.wg.Add(1)
	d.removals[dockerID] = time.AfterFunc(delay, func() {
		defer d.wg.Done()
		d.mu.Lock()
		delete(d.removals, dockerID)
		d.mu.Unlock()
		if err := d.api.remove(d.ctx, dockerID); err != nil && d.ctx.Err() == nil {
			d.logger.Warn("removing a stopped container failed", "docker_id", dockerID, "err", err)
		}
	})
}

// Recover re-attaches to the containers of docker checkpoints: each one
// found in the engine is watched again (its log copy resumes where it
// stopped; nothing is restarted), and one that has stopped meanwhile is
// reported by Wait with its exit code. A container the engine no longer has
// is reported with the exit status recorded in RunDir, or ExitCode -1.
// With KillOrphans, Strata's containers of the same Owner that no
// checkpoint knows are then removed (stopped ones RemoveDelay after they
// finished). Containers already known are skipped, so Recover is
// idempotent. Errors about single checkpoints are joined; the others are
// still recovered.
func (d *Docker) Recover(ctx context.Context, checkpoints []Checkpoint) error {
	var errs []error
	known := make(map[string]bool, len(checkpoints))
	for _, cp := range checkpoints {
		known[cp.ContainerID] = true
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := d.recoverOne(ctx, cp); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", cp.ContainerID, err))
		}
	}
	// Every checkpoint counts as known, also one that failed to recover.
	if d.cfg.KillOrphans && ctx.Err() == nil {
		if err := d.removeOrphans(ctx, known); err != nil {
			errs = append(errs, fmt.Errorf("orphans: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("docker: recover: %w", err)
	}
	return nil
}

func (d *Docker) recoverOne(ctx context.Context, cp Checkpoint) error {
	switch {
	case cp.Kind != DockerKind:
		return fmt.Errorf("checkpoint kind %q, want %q", cp.Kind, DockerKind)
	case cp.Version != dockerCheckpointVersion:
		return fmt.Errorf("checkpoint version %d, want %d", cp.Version, dockerCheckpointVersion)
	case cp.ContainerID == "":
		return errors.New("empty container ID")
	}
	var data dockerData
	if err := json.Unmarshal(cp.Data, &data); err != nil {
		return fmt.Errorf("decode checkpoint data: %w", err)
	}
	if data.DockerID == "" || data.RunDir == "" || data.Sandbox == "" {
		return errors.New("checkpoint without docker ID, run dir or sandbox")
	}
	d.mu.Lock()
	_, known := d.containers[cp.ContainerID]
	closed := d.closed
	d.mu.Unlock()
	if known {
		return nil
	}
	if closed {
		return errDockerClosed
	}

	info, err := d.api.inspect(ctx, data.DockerID)
	gone := isDockerNotFound(err)
	if err != nil && !gone {
		return fmt.Errorf("inspect %s: %w", data.Name, err)
	}
	if !gone && info.State.StartedAt != data.StartedAt {
		d.logger.Warn("recovered container was restarted by someone else", "container", cp.ContainerID,
			"started_at", info.State.StartedAt, "checkpointed", data.StartedAt)
	}
	c, err := newDockerContainer(cp.ContainerID, data, info)
	if err != nil {
		return err
	}
	if c.pid == 0 {
		c.pid = cp.Pid
	}
	var pump *logPump
	if !gone {
		pos, ok, err := readLogPosition(data.RunDir)
		if err != nil || !ok {
			// Without a position the copy cannot be exact: append what
			// follows rather than duplicate everything.
			d.logger.Warn("no log position; copying only new output", "container", c.id, "err", err)
			pos = logPosition{Seen: time.Now().UnixNano()}
			pos.Stdout.Size, pos.Stderr.Size = fileSize(filepath.Join(data.Sandbox, "stdout")), fileSize(filepath.Join(data.Sandbox, "stderr"))
		}
		pump = d.newPump(c, pos)
	}

	d.mu.Lock()
	if _, known := d.containers[cp.ContainerID]; known || d.closed {
		d.mu.Unlock()
		return nil
	}
	d.containers[cp.ContainerID] = c
	if !gone {
		d.wg.Add(1)
	}
	d.mu.Unlock()

	if gone {
		term, ok := readDockerExit(data.RunDir)
		if !ok {
			term = Termination{ExitCode: -1, Message: fmt.Sprintf("Container %s is gone; exit status unknown", data.Name)}
		}
		c.killed = term.Killed
		d.logger.Info("recovered container is gone", "container", c.id, "name", data.Name)
		d.finishWith(c, term)
		return nil
	}
	d.logger.Info("recovered container", "container", c.id, "name", data.Name, "running", info.State.Running)
	go d.monitor(c, pump)
	return nil
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// removeOrphans removes Strata's containers of this Owner that neither a
// checkpoint (known, by container ID) nor this instance knows.
func (d *Docker) removeOrphans(ctx context.Context, known map[string]bool) error {
	list, err := d.api.list(ctx, map[string]string{DockerLabelContainerizer: DockerKind, DockerLabelOwner: d.cfg.Owner})
	if err != nil {
		return err
	}
	d.mu.Lock()
	mine := make(map[string]bool, len(d.containers))
	for _, c := range d.containers {
		if c != nil {
			mine[c.dockerID] = true
		}
	}
	d.mu.Unlock()
	var errs []error
	for _, s := range list {
		if known[s.Labels[DockerLabelContainerID]] || mine[s.ID] {
			continue
		}
		name := s.ID
		if len(s.Names) > 0 {
			name = s.Names[0]
		}
		if s.State != "exited" && s.State != "dead" {
			d.logger.Info("removing orphan container", "name", name, "state", s.State)
			if err := d.api.remove(ctx, s.ID); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", name, err))
			}
			continue
		}
		delay := d.cfg.RemoveDelay
		if info, err := d.api.inspect(ctx, s.ID); err == nil {
			if fin, err := time.Parse(time.RFC3339Nano, info.State.FinishedAt); err == nil {
				delay -= time.Since(fin)
			}
		}
		if delay <= 0 {
			d.logger.Info("removing stopped orphan container", "name", name)
			if err := d.api.remove(ctx, s.ID); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", name, err))
			}
			continue
		}
		d.scheduleRemoval(s.ID, delay)
	}
	return errors.Join(errs...)
}
