//go:build linux

package containerizer

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// cgroupsExt is what Cgroups adds to one posix container (posixExt): its
// cgroup, and the watchers that end it when it exceeds a limit.
type cgroupsExt struct {
	id       string
	cg       cgroup
	d        cgroupsData
	logger   *slog.Logger
	memory   bool // watch for OOM kills
	disk     bool // measure the sandbox
	enforce  bool // kill when the sandbox exceeds its disk
	interval time.Duration

	mu         sync.Mutex
	stopped    bool          // ended ran: start does nothing
	stop       chan struct{} // closed by ended: watchers return
	oom        *os.File      // OOM notifications; closed by ended
	limitation string        // first limitation hit ("memory", "disk")
	message    string
	diskUsed   uint64
}

var _ posixExt = (*cgroupsExt)(nil)

// newExt returns the extension of container id with cgroup d. It touches
// nothing on the host.
func (g *Cgroups) newExt(id string, d cgroupsData) *cgroupsExt {
	return &cgroupsExt{
		id:       id,
		cg:       newCgroup(d.Version, d.Dirs, d.Track),
		d:        d,
		logger:   g.logger,
		memory:   d.Dirs["memory"] != "" || (d.Version == 2 && d.Limits.MemHardBytes > 0),
		disk:     g.iso.disk && d.Sandbox != "",
		enforce:  g.cfg.EnforceDiskQuota && d.Limits.DiskBytes > 0,
		interval: g.cfg.DiskWatchInterval,
		stop:     make(chan struct{}),
	}
}

// newCgroup describes the cgroup with the given directories (controller ->
// directory; on v2 one, keyed "") whose track directory lists processes.
func newCgroup(version int, dirs map[string]string, track string) cgroup {
	g := cgroup{version: version, procs: dirs[track]}
	for c, d := range dirs {
		if !slices.Contains(g.dirs, d) {
			g.dirs = append(g.dirs, d)
		}
		switch c {
		case "cpu":
			g.cpu = d
		case "cpuacct":
			g.cpuacct = d
		case "memory":
			g.memory = d
		case "freezer":
			g.freezer = d
		case "":
			g.cpu, g.cpuacct, g.memory, g.freezer = d, d, d, d
		}
	}
	slices.Sort(g.dirs)
	return g
}

func (x *cgroupsExt) attach(pid int) error { return x.cg.addProc(pid) }

func (x *cgroupsExt) snapshot() (map[int]procStat, error) {
	pids, err := x.cg.pids()
	if err != nil {
		return nil, err
	}
	procs := make(map[int]procStat, len(pids))
	buf := make([]byte, 1024)
	for _, pid := range pids {
		n, err := readSmallFile("/proc/"+strconv.Itoa(pid)+"/stat", buf)
		if err != nil {
			continue // exited meanwhile
		}
		if s, err := parseProcStat(pid, buf[:n]); err == nil {
			procs[pid] = s
		}
	}
	return procs, nil
}

func (x *cgroupsExt) killAll() {
	if err := x.cg.killAll(); err != nil {
		x.logger.Warn("killing the container's processes failed", "container", x.id, "err", err)
	}
}

func (x *cgroupsExt) abort() {
	x.halt()
	if err := x.cg.remove(); err != nil {
		x.logger.Error("removing the cgroup of a failed launch failed", "container", x.id, "err", err)
	}
}

// ended records an OOM kill the watcher has not reported yet, kills what is
// left in the cgroup (processes that outlived the wrapper), removes it and
// puts the limitation, if any, into term.
func (x *cgroupsExt) ended(term *Termination) {
	x.halt()
	if x.memory && x.cg.oomKills() > 0 {
		x.limit("memory", x.cg.memoryLimitMessage())
	}
	if err := x.cg.remove(); err != nil {
		x.logger.Error("removing the container's cgroup failed; Recover will retry", "container", x.id, "err", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.limitation != "" {
		term.Limitation = x.limitation
		term.Message = x.message
	}
}

// halt stops the watchers (without waiting for them: one may be killing the
// container, which waits for ended).
func (x *cgroupsExt) halt() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.stopped {
		return
	}
	x.stopped = true
	close(x.stop)
	if x.oom != nil {
		x.oom.Close()
	}
}

// limit records a limitation unless one was recorded already, and reports
// whether it did.
func (x *cgroupsExt) limit(what, message string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.limitation != "" {
		return false
	}
	x.limitation, x.message = what, message
	x.logger.Info("container exceeded a limit", "container", x.id, "limitation", what, "message", message)
	return true
}

// start starts the watchers of a running container; kill ends it for a
// limitation. The watchers return when the container ends.
func (x *cgroupsExt) start(kill func()) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.stopped {
		return
	}
	if x.memory {
		f, err := x.cg.oomNotifier()
		if err != nil {
			// The end of the container still tells an OOM kill.
			x.logger.Warn("no OOM notifications; an OOM kill is noticed when the container ends", "container", x.id, "err", err)
		} else {
			x.oom = f
			go x.watchOOM(f, kill)
		}
	}
	if x.disk {
		go x.watchDisk(kill)
	}
}

// oomSettle bounds how long watchOOM waits, after a notification, for the
// OOM killer's count to rise.
const oomSettle = 100 * time.Millisecond

// watchOOM ends the container when the OOM killer kills one of its
// processes, as Mesos does (the rest of the container would be left in an
// unknown state).
func (x *cgroupsExt) watchOOM(f *os.File, kill func()) {
	buf := make([]byte, 4096)
	for {
		if _, err := f.Read(buf); err != nil {
			return // closed by halt
		}
		// v1 notifies when the cgroup is under OOM, which may be just
		// before the killer counts its kill.
		deadline := time.Now().Add(oomSettle)
		for x.cg.oomKills() == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if x.cg.oomKills() == 0 {
			continue
		}
		select {
		case <-x.stop:
			return // ended reports it
		default:
		}
		if x.limit("memory", x.cg.memoryLimitMessage()) {
			kill()
		}
		return
	}
}

// watchDisk measures the sandbox every interval and, when enforced, ends
// the container once it uses more than its disk.
func (x *cgroupsExt) watchDisk(kill func()) {
	t := time.NewTicker(x.interval)
	defer t.Stop()
	for {
		select {
		case <-x.stop:
			return
		case <-t.C:
		}
		used, err := diskUsage(x.d.Sandbox)
		if err != nil {
			x.logger.Warn("measuring the sandbox failed", "container", x.id, "err", err)
			continue
		}
		x.mu.Lock()
		x.diskUsed = used
		x.mu.Unlock()
		if x.enforce && used > x.d.Limits.DiskBytes {
			msg := fmt.Sprintf("Disk usage (%s) exceeds quota (%s)", formatBytes(used), formatBytes(x.d.Limits.DiskBytes))
			if x.limit("disk", msg) {
				kill()
			}
			return
		}
	}
}

// diskUsage is what `du -s` reports for dir, in bytes: the blocks allocated
// to dir and everything below it, hard links counted once, symbolic links
// not followed. Entries that vanish during the walk are skipped.
func diskUsage(dir string) (uint64, error) {
	type inode struct{ dev, ino uint64 }
	seen := make(map[inode]bool)
	var total uint64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path != dir {
				return nil
			}
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return nil // vanished
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if st.Nlink > 1 && !fi.IsDir() {
			k := inode{uint64(st.Dev), st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		total += uint64(st.Blocks) * 512
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w", dir, err)
	}
	return total, nil
}

// usage adds what the cgroup knows to a sample taken from the container's
// processes.
func (x *cgroupsExt) usage(u *Usage) {
	l := x.d.Limits
	u.CPUsLimit = l.CPUs
	u.MemLimitBytes = l.MemHardBytes
	u.MemSoftLimitBytes = l.MemSoftBytes
	u.DiskLimitBytes = l.DiskBytes
	x.mu.Lock()
	u.DiskUsedBytes = x.diskUsed
	x.mu.Unlock()
	if !x.cg.exists() {
		return
	}
	u.Threads = x.cg.threads()
	x.cg.cpuUsage(u)
	x.cg.memoryUsage(u)
}
