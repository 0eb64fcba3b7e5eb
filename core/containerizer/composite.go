package containerizer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Composite tries several containerizers in order, as Mesos' composing
// containerizer does with --containerizers=docker,mesos: Launch goes to the
// first one that accepts the Spec (one that returns ErrUnsupported is
// skipped); every other call goes to the containerizer that launched or
// recovered the container. Recover hands each checkpoint to the
// containerizer of its Kind.
type Composite struct {
	cs []Containerizer

	mu sync.Mutex
	// owner maps a container ID to the containerizer holding it. A nil value
	// reserves the ID while Launch runs.
	owner map[string]Containerizer
}

var _ Containerizer = (*Composite)(nil)

// NewComposite returns a Composite over cs, in order of preference.
func NewComposite(cs ...Containerizer) *Composite {
	return &Composite{cs: cs, owner: make(map[string]Containerizer)}
}

// Kind returns the kinds of the containerizers in order, e.g. "docker,posix".
func (m *Composite) Kind() string {
	kinds := make([]string, len(m.cs))
	for i, c := range m.cs {
		kinds[i] = c.Kind()
	}
	return strings.Join(kinds, ",")
}

// Launch launches spec with the first containerizer that supports it. When
// none does, the error (which wraps ErrUnsupported) names the enabled
// containerizers and, for a Docker spec, the flag that enables docker. The
// Checkpoint is the launching containerizer's (its Kind routes Recover).
func (m *Composite) Launch(ctx context.Context, spec Spec) (Checkpoint, error) {
	id := spec.ContainerID
	m.mu.Lock()
	if _, dup := m.owner[id]; dup {
		m.mu.Unlock()
		return Checkpoint{}, fmt.Errorf("composite: launch %s: container already exists", id)
	}
	m.owner[id] = nil
	m.mu.Unlock()

	var reasons []string
	for _, c := range m.cs {
		cp, err := c.Launch(ctx, spec)
		if errors.Is(err, ErrUnsupported) {
			reasons = append(reasons, err.Error())
			continue
		}
		m.mu.Lock()
		if err != nil {
			delete(m.owner, id)
		} else {
			m.owner[id] = c
		}
		m.mu.Unlock()
		return cp, err
	}
	m.mu.Lock()
	delete(m.owner, id)
	m.mu.Unlock()
	hint := ""
	if spec.Docker != nil {
		hint = "; a Docker task needs --containerizers=docker,mesos"
	}
	return Checkpoint{}, fmt.Errorf("composite: launch %s: no enabled containerizer (%s) supports it%s (%s): %w",
		id, m.Kind(), hint, strings.Join(reasons, "; "), ErrUnsupported)
}

// route returns the containerizer holding id.
func (m *Composite) route(id string) (Containerizer, error) {
	m.mu.Lock()
	c := m.owner[id]
	m.mu.Unlock()
	if c == nil {
		return nil, ErrUnknownContainer
	}
	return c, nil
}

// Wait waits with the containerizer holding the container.
func (m *Composite) Wait(ctx context.Context, id string) (Termination, error) {
	c, err := m.route(id)
	if err != nil {
		return Termination{}, fmt.Errorf("composite: wait %s: %w", id, err)
	}
	return c.Wait(ctx, id)
}

// Kill kills with the containerizer holding the container.
func (m *Composite) Kill(ctx context.Context, id string, grace time.Duration) error {
	c, err := m.route(id)
	if err != nil {
		return fmt.Errorf("composite: kill %s: %w", id, err)
	}
	return c.Kill(ctx, id, grace)
}

// Usage samples with the containerizer holding the container.
func (m *Composite) Usage(ctx context.Context, id string) (Usage, error) {
	c, err := m.route(id)
	if err != nil {
		return Usage{}, fmt.Errorf("composite: usage %s: %w", id, err)
	}
	return c.Usage(ctx, id)
}

// Destroy destroys with the containerizer holding the container and forgets
// the route once it has (or once that containerizer no longer knows it).
func (m *Composite) Destroy(ctx context.Context, id string) error {
	c, err := m.route(id)
	if err != nil {
		return fmt.Errorf("composite: destroy %s: %w", id, err)
	}
	err = c.Destroy(ctx, id)
	if err == nil || errors.Is(err, ErrUnknownContainer) {
		m.mu.Lock()
		if m.owner[id] == c {
			delete(m.owner, id)
		}
		m.mu.Unlock()
	}
	return err
}

// Recover groups the checkpoints by Kind and hands each group to the
// containerizer of that Kind; a checkpoint of a kind none of them has is an
// error (the others are still recovered). Recovered containers are routed
// to their containerizer.
func (m *Composite) Recover(ctx context.Context, checkpoints []Checkpoint) error {
	byKind := make(map[string][]Checkpoint)
	var errs []error
	for _, cp := range checkpoints {
		target := m.byKind(cp.Kind)
		if target == nil && cp.Kind == PosixKind {
			// The cgroups containerizer re-attaches posix containers (an
			// agent upgraded from posix to cgroups isolation keeps its tasks).
			target = m.byKind(CgroupsKind)
		}
		if target == nil {
			errs = append(errs, fmt.Errorf("container %s: checkpoint of kind %q, but the enabled containerizers are %s",
				cp.ContainerID, cp.Kind, m.Kind()))
			continue
		}
		byKind[target.Kind()] = append(byKind[target.Kind()], cp)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	// Every containerizer recovers, also with no checkpoints: docker then
	// cleans up its orphans.
	for _, c := range m.cs {
		cps := byKind[c.Kind()]
		if err := c.Recover(ctx, cps); err != nil {
			errs = append(errs, err)
		}
		// Route whatever it now knows (a checkpoint that failed to recover
		// is not known: Wait, asked without blocking, says so).
		for _, cp := range cps {
			if _, err := c.Wait(done, cp.ContainerID); errors.Is(err, ErrUnknownContainer) {
				continue
			}
			m.mu.Lock()
			if _, ok := m.owner[cp.ContainerID]; !ok {
				m.owner[cp.ContainerID] = c
			}
			m.mu.Unlock()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("composite: recover: %w", err)
	}
	return nil
}

// byKind returns the first containerizer of a kind, or nil.
func (m *Composite) byKind(kind string) Containerizer {
	for _, c := range m.cs {
		if c.Kind() == kind {
			return c
		}
	}
	return nil
}

// Close closes the containerizers that have a Close method (docker: its
// goroutines; containers keep running) and returns their errors joined.
func (m *Composite) Close() error {
	var errs []error
	for _, c := range m.cs {
		if cl, ok := c.(interface{ Close() error }); ok {
			errs = append(errs, cl.Close())
		}
	}
	return errors.Join(errs...)
}
