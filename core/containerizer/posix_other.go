//go:build !linux

package containerizer

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// errPosixUnsupported is returned by every method of Posix off Linux.
var errPosixUnsupported = errors.New("containerizer: posix containerizer requires Linux")

// Posix is the posix containerizer. It needs Linux (/proc, pidfd_open,
// prlimit); on other systems every method fails.
type Posix struct{}

var _ Containerizer = (*Posix)(nil)

// NewPosix returns a posix containerizer that fails on this system.
func NewPosix(logger *slog.Logger) *Posix { return &Posix{} }

// Kind returns "posix".
func (p *Posix) Kind() string { return PosixKind }

// Launch fails: posix needs Linux.
func (p *Posix) Launch(ctx context.Context, spec Spec) (Checkpoint, error) {
	return Checkpoint{}, errPosixUnsupported
}

// Wait fails: posix needs Linux.
func (p *Posix) Wait(ctx context.Context, containerID string) (Termination, error) {
	return Termination{}, errPosixUnsupported
}

// Kill fails: posix needs Linux.
func (p *Posix) Kill(ctx context.Context, containerID string, grace time.Duration) error {
	return errPosixUnsupported
}

// Recover fails: posix needs Linux.
func (p *Posix) Recover(ctx context.Context, checkpoints []Checkpoint) error {
	return errPosixUnsupported
}

// Usage fails: posix needs Linux.
func (p *Posix) Usage(ctx context.Context, containerID string) (Usage, error) {
	return Usage{}, errPosixUnsupported
}

// Destroy fails: posix needs Linux.
func (p *Posix) Destroy(ctx context.Context, containerID string) error {
	return errPosixUnsupported
}
