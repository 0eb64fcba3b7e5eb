//go:build linux

package containerizer

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pid1SignalReady tells whether the process pid (the PID 1 of the engine's
// container dockerID, as the host sees it) can receive signal. A
// namespace's PID 1 never receives a signal it has left at the default
// action, so a stop signal sent before the process (or the init in front of
// it) has set up its handlers is lost. Ready means that /proc/<pid>/status
// shows the signal blocked, ignored or caught, or that the process has a
// child: docker's init (tini) blocks every signal before it starts the
// command and then waits in sigtimedwait, which hides the blocked set from
// /proc while it waits. known is false when the agent cannot tell: the pid
// is not the container's in the agent's view (/proc/<pid>/cgroup does not
// name the container, e.g. when the agent has its own pid or cgroup
// namespace), or the signal name is unknown.
func pid1SignalReady(pid int, dockerID, signal string) (ready, known bool) {
	sig := signalNumber(signal)
	if sig <= 0 || sig > dockerMaxSignal || dockerID == "" {
		return false, false
	}
	proc := "/proc/" + strconv.Itoa(pid)
	if cg, err := os.ReadFile(proc + "/cgroup"); err != nil || !strings.Contains(string(cg), dockerID) {
		return false, false
	}
	if ch, err := os.ReadFile(proc + "/task/" + strconv.Itoa(pid) + "/children"); err == nil && len(strings.TrimSpace(string(ch))) > 0 {
		return true, true
	}
	f, err := os.Open(proc + "/status")
	if err != nil {
		return false, false
	}
	defer f.Close()
	var mask uint64
	fields := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "SigBlk" && k != "SigIgn" && k != "SigCgt") {
			continue
		}
		m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return false, false
		}
		mask |= m
		fields++
	}
	if fields != 3 {
		return false, false
	}
	return mask&(1<<(sig-1)) != 0, true
}

// signalNumber parses a docker stop signal ("SIGTERM", "TERM" or "15").
func signalNumber(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	s = strings.ToUpper(s)
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	return int(unix.SignalNum(s))
}
