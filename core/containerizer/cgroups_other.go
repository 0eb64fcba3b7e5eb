//go:build !linux

package containerizer

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Cgroups is the cgroups containerizer. It needs Linux; on other systems
// NewCgroups fails.
type Cgroups struct{}

var _ Containerizer = (*Cgroups)(nil)

// DetectCgroups fails: cgroups are Linux only.
func DetectCgroups(root string) (CgroupsInfo, error) {
	return CgroupsInfo{}, fmt.Errorf("detect cgroups: not Linux: %w", ErrCgroupsUnavailable)
}

// NewCgroups fails: cgroups are Linux only.
func NewCgroups(cfg CgroupsConfig, logger *slog.Logger) (*Cgroups, error) {
	return nil, fmt.Errorf("cgroups: not Linux: %w", ErrCgroupsUnavailable)
}

// Kind returns "cgroups".
func (g *Cgroups) Kind() string { return CgroupsKind }

// Launch fails: cgroups need Linux.
func (g *Cgroups) Launch(ctx context.Context, spec Spec) (Checkpoint, error) {
	return Checkpoint{}, ErrCgroupsUnavailable
}

// Wait fails: cgroups need Linux.
func (g *Cgroups) Wait(ctx context.Context, id string) (Termination, error) {
	return Termination{}, ErrCgroupsUnavailable
}

// Kill fails: cgroups need Linux.
func (g *Cgroups) Kill(ctx context.Context, id string, grace time.Duration) error {
	return ErrCgroupsUnavailable
}

// Recover fails: cgroups need Linux.
func (g *Cgroups) Recover(ctx context.Context, checkpoints []Checkpoint) error {
	return ErrCgroupsUnavailable
}

// Usage fails: cgroups need Linux.
func (g *Cgroups) Usage(ctx context.Context, id string) (Usage, error) {
	return Usage{}, ErrCgroupsUnavailable
}

// Destroy fails: cgroups need Linux.
func (g *Cgroups) Destroy(ctx context.Context, id string) error {
	return ErrCgroupsUnavailable
}
