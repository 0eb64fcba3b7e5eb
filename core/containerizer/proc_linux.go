//go:build linux

package containerizer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procStat is the part of /proc/<pid>/stat (proc(5)) the posix containerizer uses.
type procStat struct {
	pid     int
	state   byte // R, S, D, Z, T, t, X, I...
	ppid    int
	pgrp    int
	session int
	// utime, stime, cutime and cstime are in clock ticks.
	utime, stime, cutime, cstime uint64
	// startTime is field 22: clock ticks after boot when the process started.
	startTime uint64
	rssPages  int64
}

// dead reports whether the process has exited (a zombie waiting to be reaped
// counts as exited).
func (s procStat) dead() bool { return s.state == 'Z' || s.state == 'X' || s.state == 'x' }

// readProcStat reads /proc/<pid>/stat. A process that does not exist yields an
// error that matches os.ErrNotExist.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, syscall.ESRCH) {
			// The process exited between open and read.
			err = os.ErrNotExist
		}
		return procStat{}, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	return parseProcStat(pid, b)
}

// parseProcStat parses the contents of /proc/<pid>/stat. The command name (field
// 2) is in parentheses and may itself contain spaces and parentheses, so the
// fields are counted from the last ')'.
func parseProcStat(pid int, b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return procStat{}, fmt.Errorf("parse stat of pid %d: no command name", pid)
	}
	// f[k] is field k+3 of proc(5).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 22 || len(f[0]) == 0 {
		return procStat{}, fmt.Errorf("parse stat of pid %d: %d fields after the command name, want >= 22", pid, len(f))
	}
	s := procStat{pid: pid, state: f[0][0]}
	var errs []error
	atoi := func(k int) int {
		v, err := strconv.Atoi(f[k-3])
		errs = append(errs, err)
		return v
	}
	atou := func(k int) uint64 {
		v, err := strconv.ParseUint(f[k-3], 10, 64)
		errs = append(errs, err)
		return v
	}
	s.ppid = atoi(4)
	s.pgrp = atoi(5)
	s.session = atoi(6)
	s.utime = atou(14)
	s.stime = atou(15)
	// cutime and cstime are signed in proc(5) but never negative in practice.
	s.cutime = uint64(max(0, atoi(16)))
	s.cstime = uint64(max(0, atoi(17)))
	s.startTime = atou(22)
	s.rssPages = int64(max(0, atoi(24)))
	if err := errors.Join(errs...); err != nil {
		return procStat{}, fmt.Errorf("parse stat of pid %d: %w", pid, err)
	}
	return s, nil
}

// scanProcs reads the stat of every process in /proc. Processes that vanish
// during the scan are skipped.
func scanProcs() (map[int]procStat, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("scan /proc: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("scan /proc: %w", err)
	}
	procs := make(map[int]procStat, len(names))
	buf := make([]byte, 0, 1024)
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		buf, err = readFileInto(buf[:0], "/proc/"+name+"/stat")
		if err != nil {
			continue // exited meanwhile
		}
		s, err := parseProcStat(pid, buf)
		if err != nil {
			continue
		}
		procs[pid] = s
	}
	return procs, nil
}

// readFileInto appends the contents of a small file to buf; it saves the
// allocations of os.ReadFile when scanning thousands of stat files.
func readFileInto(buf []byte, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
