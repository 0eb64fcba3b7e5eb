//go:build linux

package containerizer

import (
	"os"
	"slices"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and parentheses.
	line := "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 1 0 98765 4096000 321 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
	s, err := parseProcStat(1234, []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{pid: 1234, state: 'S', ppid: 1, pgrp: 1234, session: 1234, utime: 7, stime: 3, cutime: 2, cstime: 1, startTime: 98765, rssPages: 321}
	if s != want {
		t.Errorf("parseProcStat = %+v, want %+v", s, want)
	}
	if _, err := parseProcStat(1, []byte("1 (x) S 1 2")); err == nil {
		t.Error("short stat parsed without error")
	}
	self, err := readProcStat(os.Getpid())
	if err != nil || self.ppid != os.Getppid() || self.startTime == 0 {
		t.Errorf("readProcStat(self) = %+v, %v", self, err)
	}
}

func TestExitCodeTermination(t *testing.T) {
	for _, tc := range []struct {
		code     int
		signaled bool
		signal   int
		message  string
	}{
		{0, false, 0, "Command exited with status 0"},
		{3, false, 0, "Command exited with status 3"},
		{128, false, 0, "Command exited with status 128"},
		{137, true, 9, "Command terminated with signal SIGKILL"},
		{143, true, 15, "Command terminated with signal SIGTERM"},
		{200, false, 0, "Command exited with status 200"},
	} {
		got := exitCodeTermination(tc.code)
		if got.ExitCode != tc.code || got.Signaled != tc.signaled || got.Signal != tc.signal || got.Message != tc.message {
			t.Errorf("exitCodeTermination(%d) = %+v", tc.code, got)
		}
	}
}

func TestWrapperEnv(t *testing.T) {
	env, fix, err := wrapperEnv([]string{"A=1", "PWD=/x", "IFS=", "B=2=3", "NOEQUALS", "STRATA_WRAPPER_STATE=s"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1", "B=2=3", "NOEQUALS"}; !slices.Equal(env, want) {
		t.Errorf("env = %q, want %q", env, want)
	}
	if want := [5]string{"=/x", "-", "-", "=", "=s"}; fix != want {
		t.Errorf("fix = %q, want %q", fix, want)
	}
	if env, _, _ := wrapperEnv(nil); env == nil {
		t.Error("wrapperEnv(nil) = nil: the wrapper would inherit the agent's environment")
	}
	if _, _, err := wrapperEnv([]string{"OPTIND=x"}); err == nil {
		t.Error("OPTIND=x accepted")
	}
}
