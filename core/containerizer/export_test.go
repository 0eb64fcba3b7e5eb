//go:build linux

package containerizer

import "log/slog"

// NewPosixWithoutPidfd returns a Posix that never uses pidfds: it watches
// recovered containers by polling /proc, as on kernels before 5.3.
func NewPosixWithoutPidfd(logger *slog.Logger) *Posix {
	p := NewPosix(logger)
	p.usePidfd = false
	return p
}
