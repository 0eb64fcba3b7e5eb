//go:build linux

package containerizer

// This file holds the hooks through which a containerizer built on Posix
// (Cgroups) isolates its containers while reusing Posix's wrapper, exit
// status recording, kill with grace and recovery.

// launchOptions are what a containerizer built on Posix (Cgroups) adds to a
// launch. The zero value is a plain posix launch.
type launchOptions struct {
	// prepare, when set, is called once the container ID is reserved and
	// before the wrapper starts (Cgroups creates the container's cgroups
	// there). The container is launched with the extension it returns; when
	// the launch fails after prepare, the extension's abort is called.
	prepare func(spec Spec) (posixExt, error)
	// pidNamespace runs the wrapper as init of a new PID and mount
	// namespace, with a private /proc (namespaces/pid).
	pidNamespace bool
}

// posixExt extends one container of a Posix with isolation. Posix calls it
// at fixed points of the container's life; a nil posixExt is plain posix.
type posixExt interface {
	// attach runs while the wrapper waits at its gate, before the command
	// starts: the container's processes are the descendants of what attach
	// set up (Cgroups moves the wrapper into the container's cgroups).
	attach(pid int) error
	// snapshot returns every live process of the container (from its
	// cgroup), replacing the /proc scan and the session/group/descendant
	// search of plain posix, so that no process escapes Kill.
	snapshot() (map[int]procStat, error)
	// killAll sends SIGKILL to every process of the container at once.
	killAll()
	// ended runs once when the wrapper has exited and before Wait returns;
	// it may amend term (e.g. with a limitation) and clean up.
	ended(term *Termination)
	// abort undoes what prepare set up when the launch failed.
	abort()
}
