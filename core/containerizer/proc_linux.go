//go:build linux

package containerizer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
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
	buf := make([]byte, 4096)
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		n, err := readSmallFile("/proc/"+name+"/stat", buf)
		if err != nil {
			continue // exited meanwhile
		}
		s, err := parseProcStat(pid, buf[:n])
		if err != nil {
			continue
		}
		procs[pid] = s
	}
	return procs, nil
}

// readSmallFile reads a file of at most len(buf) bytes into buf with plain
// system calls: os.Open would also try to register every file with the
// runtime poller, which doubles the cost of scanning /proc.
func readSmallFile(path string, buf []byte) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	total := 0
	for total < len(buf) {
		n, err := unix.Read(fd, buf[total:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			break
		}
		total += n
	}
	return total, nil
}

// procScanner shares /proc scans between concurrent callers (many Kills or
// Usage samples at once): at most one scan runs at a time, and callers that
// arrive while it runs share the next one. Each caller gets a snapshot taken
// entirely after its call, as Kill needs to see the effect of its signals.
// Snapshots are shared and must not be modified.
type procScanner struct {
	mu      sync.Mutex
	running bool
	next    *scanResult // starts when the running scan ends; nil if none
}

type scanResult struct {
	done  chan struct{}
	procs map[int]procStat
	err   error
}

func (s *procScanner) scan() (map[int]procStat, error) {
	s.mu.Lock()
	if !s.running {
		s.running = true
		s.mu.Unlock()
		procs, err := scanProcs()
		s.finished()
		return procs, err
	}
	r := s.next
	if r == nil {
		r = &scanResult{done: make(chan struct{})}
		s.next = r
	}
	s.mu.Unlock()
	<-r.done
	return r.procs, r.err
}

// finished starts the queued scan, if any, once a scan has ended.
func (s *procScanner) finished() {
	s.mu.Lock()
	r := s.next
	s.next = nil
	if r == nil {
		s.running = false
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	go func() {
		r.procs, r.err = scanProcs()
		close(r.done)
		s.finished()
	}()
}
