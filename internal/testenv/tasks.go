package testenv

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// KillTasksUnder makes sure, at cleanup, that no task of an agent whose
// work dir is dir outlives the test. Agents keep their tasks running when
// they stop (that is the point of agent recovery), so a test that stops
// or kills agents would otherwise leave task processes behind on the
// machine. Each posix/cgroups container runs under a wrapper whose
// arguments name its run dir inside the work dir, in a process group of
// its own: that whole group is killed.
func KillTasksUnder(t testing.TB, dir string) {
	if dir == "" {
		return
	}
	t.Cleanup(func() { killTasksUnder(dir) })
}

func killTasksUnder(dir string) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	self := os.Getpid()
	needle := []byte(dir + "/")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmdline, []byte("strata-wrapper")) || !bytes.Contains(cmdline, needle) {
			continue
		}
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// workDirArg returns the value of --work_dir in args, if any.
func workDirArg(args []string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--work_dir="); ok {
			return v
		}
		if a == "--work_dir" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
