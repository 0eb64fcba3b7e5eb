package healthcheck

import (
	"fmt"
	"net"
	"runtime"

	"golang.org/x/sys/unix"
)

// dialInNetNS runs dial on an OS thread that has entered the network
// namespace at nsPath, and returns its connection. Sockets belong to the
// namespace they were created in, so the connection can be used from any
// goroutine afterwards.
//
// A dedicated goroutine locks its thread, enters the namespace, dials and
// enters the thread's original namespace again; only then does it unlock,
// returning a clean thread to the pool. If it cannot go back, it exits
// still locked and the runtime terminates the thread. Restoring matters
// even though exiting alone would be safe for ordinary threads: the
// goroutine may run on the main thread, which the runtime cannot
// terminate; it would park it forever, still in the task's namespace, and
// /proc/self/ns/net (the main thread's) would then name the task's
// namespace to everything in the process that reads it.
//
// dial must honour its context; dialInNetNS waits for it.
func dialInNetNS(nsPath string, dial func() (net.Conn, error)) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("opening the agent's network namespace: %w", err)}
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("opening network namespace %s: %w", nsPath, err)}
			return
		}
		err = unix.Setns(target, unix.CLONE_NEWNET)
		unix.Close(target)
		if err != nil {
			runtime.UnlockOSThread() // setns failed: still in the original namespace
			done <- result{err: fmt.Errorf("entering network namespace %s: %w", nsPath, err)}
			return
		}
		c, err := dial()
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr == nil {
			runtime.UnlockOSThread()
		} // else: exit locked; the runtime discards the thread
		done <- result{c, err}
	}()
	r := <-done
	return r.conn, r.err
}
