//go:build linux

package containerizer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// This file holds the cgroup file system operations of one container's
// cgroup, for cgroups v1 (one directory per controller hierarchy) and v2
// (one directory).

// cgroup is the cgroup of one container. On v1 it is a directory in each
// hierarchy used; on v2 one directory. A controller's field is the directory
// holding its files, "" when the container does not use the controller.
type cgroup struct {
	version int
	// dirs are the distinct directories (v1: co-mounted controllers share one).
	dirs []string
	// procs is the directory whose cgroup.procs lists the container's
	// processes (v1: the freezer's, or the first hierarchy used).
	procs                         string
	cpu, cpuacct, memory, freezer string
}

// cfsPeriodUs is the CFS period Mesos uses (100 ms).
const cfsPeriodUs = 100_000

// cgroupRemoveTimeout bounds how long remove retries a busy cgroup.
const cgroupRemoveTimeout = 10 * time.Second

// writeCgroupFile writes value to a cgroup control file. Plain system calls
// keep the file out of the runtime poller.
func writeCgroupFile(path, value string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer unix.Close(fd)
	for {
		_, err = unix.Write(fd, []byte(value))
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, path, err)
	}
	return nil
}

// readCgroupFile reads a cgroup file (they are small, but memory.stat and a
// busy cgroup.procs may exceed a page).
func readCgroupFile(path string) ([]byte, error) {
	buf := make([]byte, 4096)
	for {
		n, err := readSmallFile(path, buf)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if n < len(buf) {
			return buf[:n], nil
		}
		buf = make([]byte, 4*len(buf))
	}
}

// readKeyed parses a flat keyed cgroup file ("key value" per line, such as
// memory.stat, cpu.stat, memory.events, memory.oom_control).
func readKeyed(path string) (map[string]uint64, error) {
	b, err := readCgroupFile(path)
	if err != nil {
		return nil, err
	}
	m := make(map[string]uint64)
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			m[k] = n
		}
	}
	return m, nil
}

// readUint reads a cgroup file holding one number ("max" reads as 0, false).
func readUint(path string) (uint64, bool, error) {
	b, err := readCgroupFile(path)
	if err != nil {
		return 0, false, err
	}
	n, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, false, nil
	}
	return n, true, nil
}

// create makes the container's directories. One that exists is an error:
// it belongs to another container or is an orphan.
func (g *cgroup) create() error {
	for i, d := range g.dirs {
		if err := os.Mkdir(d, 0o755); err != nil {
			for _, made := range g.dirs[:i] {
				_ = os.Remove(made)
			}
			return fmt.Errorf("create cgroup: %w", err)
		}
	}
	return nil
}

// exists reports whether the container's process-tracking directory exists.
func (g *cgroup) exists() bool {
	_, err := os.Stat(g.procs)
	return err == nil
}

// addProc moves pid into the container's cgroup in every hierarchy.
func (g *cgroup) addProc(pid int) error {
	v := strconv.Itoa(pid)
	for _, d := range g.dirs {
		if err := writeCgroupFile(filepath.Join(d, "cgroup.procs"), v); err != nil {
			return fmt.Errorf("attach pid %d: %w", pid, err)
		}
	}
	return nil
}

// pids lists the processes in the cgroup (none when it is gone).
func (g *cgroup) pids() ([]int, error) {
	b, err := readCgroupFile(filepath.Join(g.procs, "cgroup.procs"))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENODEV) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out, nil
}

// threads counts the threads in the cgroup.
func (g *cgroup) threads() int {
	name := "tasks"
	if g.version == 2 {
		name = "cgroup.threads"
	}
	b, err := readCgroupFile(filepath.Join(g.procs, name))
	if err != nil {
		return 0
	}
	return len(strings.Fields(string(b)))
}

// cpuShares is Mesos' cpu.shares for a CPU request: max(1024 × cpus, 2).
func cpuShares(cpus float64) uint64 {
	return max(uint64(1024*cpus), 2)
}

// cpuWeight converts cpu.shares to cgroup v2's cpu.weight (the conversion of
// runc and Kubernetes: [2, 262144] onto [1, 10000]).
func cpuWeight(shares uint64) uint64 {
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}

// cfsQuotaUs is the CFS quota for a CPU limit: max(100 ms × cpus, 1 ms).
func cfsQuotaUs(cpus float64) int64 {
	return max(int64(cfsPeriodUs*cpus), 1000)
}

// setCPU writes the cpu controller's settings; quotaUs 0 leaves the quota
// unlimited.
func (g *cgroup) setCPU(shares uint64, quotaUs int64) error {
	if g.version == 2 {
		if err := writeCgroupFile(filepath.Join(g.cpu, "cpu.weight"), strconv.FormatUint(cpuWeight(shares), 10)); err != nil {
			return err
		}
		if quotaUs > 0 {
			return writeCgroupFile(filepath.Join(g.cpu, "cpu.max"), fmt.Sprintf("%d %d", quotaUs, cfsPeriodUs))
		}
		return nil
	}
	if err := writeCgroupFile(filepath.Join(g.cpu, "cpu.shares"), strconv.FormatUint(shares, 10)); err != nil {
		return err
	}
	if quotaUs > 0 {
		if err := writeCgroupFile(filepath.Join(g.cpu, "cpu.cfs_period_us"), strconv.Itoa(cfsPeriodUs)); err != nil {
			return err
		}
		return writeCgroupFile(filepath.Join(g.cpu, "cpu.cfs_quota_us"), strconv.FormatInt(quotaUs, 10))
	}
	return nil
}

// setMemory writes the memory limit and soft limit (v2: memory.max and
// memory.low). On v2 the whole cgroup is OOM-killed as a unit.
func (g *cgroup) setMemory(soft, hard uint64) error {
	if g.version == 2 {
		if err := writeCgroupFile(filepath.Join(g.memory, "memory.max"), strconv.FormatUint(hard, 10)); err != nil {
			return err
		}
		if err := writeCgroupFile(filepath.Join(g.memory, "memory.low"), strconv.FormatUint(soft, 10)); err != nil {
			return err
		}
		// Kernels before 4.19 lack it; Strata kills the rest anyway.
		_ = writeCgroupFile(filepath.Join(g.memory, "memory.oom.group"), "1")
		return nil
	}
	if err := writeCgroupFile(filepath.Join(g.memory, "memory.limit_in_bytes"), strconv.FormatUint(hard, 10)); err != nil {
		return err
	}
	return writeCgroupFile(filepath.Join(g.memory, "memory.soft_limit_in_bytes"), strconv.FormatUint(soft, 10))
}

// oomKills returns how many processes the OOM killer killed in the cgroup
// (v1: memory.oom_control's oom_kill, Linux 4.13+; v2: memory.events).
func (g *cgroup) oomKills() uint64 {
	name := "memory.oom_control"
	if g.version == 2 {
		name = "memory.events"
	}
	m, err := readKeyed(filepath.Join(g.memory, name))
	if err != nil {
		return 0
	}
	return m["oom_kill"]
}

// memoryLimitMessage is Mesos' message for an OOM: the limit, the peak usage
// and memory.stat.
func (g *cgroup) memoryLimitMessage() string {
	var b strings.Builder
	b.WriteString("Memory limit exceeded: ")
	limitFile, peakFiles := "memory.limit_in_bytes", []string{"memory.max_usage_in_bytes"}
	if g.version == 2 {
		limitFile, peakFiles = "memory.max", []string{"memory.peak", "memory.current"}
	}
	if limit, ok, err := readUint(filepath.Join(g.memory, limitFile)); err == nil && ok {
		fmt.Fprintf(&b, "Requested: %s ", formatBytes(limit))
	} else {
		b.WriteString("Requested: Unknown ")
	}
	peak := "Unknown"
	for _, f := range peakFiles {
		if v, ok, err := readUint(filepath.Join(g.memory, f)); err == nil && ok {
			peak = formatBytes(v)
			break
		}
	}
	fmt.Fprintf(&b, "Maximum Used: %s\n", peak)
	if stat, err := readCgroupFile(filepath.Join(g.memory, "memory.stat")); err == nil {
		b.WriteString("\nMEMORY STATISTICS: \n")
		b.Write(stat)
		b.WriteString("\n")
	}
	return b.String()
}

// formatBytes prints a byte count as Mesos (stout's Bytes) does: in the
// largest unit that loses nothing, e.g. 64MB, 65540KB, 1000B.
func formatBytes(n uint64) string {
	units := []string{"B", "KB", "MB", "GB"}
	i := 0
	for n != 0 && n%1024 == 0 && i < len(units) {
		n /= 1024
		i++
	}
	if i == len(units) {
		return strconv.FormatUint(n, 10) + "TB"
	}
	return strconv.FormatUint(n, 10) + units[i]
}

// freeze stops every process of the cgroup (v1 freezer, v2 cgroup.freeze)
// and waits a little for it to take effect. It reports false when the
// cgroup cannot be frozen.
func (g *cgroup) freeze() bool {
	if g.freezer == "" {
		return false
	}
	var err error
	if g.version == 2 {
		err = writeCgroupFile(filepath.Join(g.freezer, "cgroup.freeze"), "1")
	} else {
		err = writeCgroupFile(filepath.Join(g.freezer, "freezer.state"), "FROZEN")
	}
	if err != nil {
		return false
	}
	// A process in uninterruptible sleep delays freezing; killing it is
	// still right, so the wait is short.
	for i := 0; i < 50 && !g.frozen(); i++ {
		time.Sleep(time.Millisecond)
	}
	return true
}

func (g *cgroup) frozen() bool {
	if g.version == 2 {
		m, err := readKeyed(filepath.Join(g.freezer, "cgroup.events"))
		return err == nil && m["frozen"] == 1
	}
	b, err := readCgroupFile(filepath.Join(g.freezer, "freezer.state"))
	return err == nil && string(bytes.TrimSpace(b)) == "FROZEN"
}

func (g *cgroup) thaw() {
	if g.version == 2 {
		_ = writeCgroupFile(filepath.Join(g.freezer, "cgroup.freeze"), "0")
		return
	}
	_ = writeCgroupFile(filepath.Join(g.freezer, "freezer.state"), "THAWED")
}

// killAll sends SIGKILL to every process of the cgroup: on v2 with
// cgroup.kill (Linux 5.14+); otherwise frozen, so that none can fork while
// the list is walked, then thawed so that the kills take effect.
func (g *cgroup) killAll() error {
	if g.version == 2 {
		err := writeCgroupFile(filepath.Join(g.procs, "cgroup.kill"), "1")
		if err == nil || errors.Is(err, os.ErrNotExist) && !g.exists() {
			return nil
		}
	}
	frozen := g.freeze()
	pids, err := g.pids()
	for _, pid := range pids {
		if kerr := unix.Kill(pid, unix.SIGKILL); kerr != nil && !errors.Is(kerr, unix.ESRCH) && err == nil {
			err = fmt.Errorf("kill pid %d: %w", pid, kerr)
		}
	}
	if frozen {
		g.thaw()
	}
	return err
}

// remove kills whatever is left in the cgroup and removes its directories,
// retrying while they are busy (processes that are still exiting).
func (g *cgroup) remove() error {
	deadline := time.Now().Add(cgroupRemoveTimeout)
	wait := time.Millisecond
	for {
		pids, err := g.pids()
		if err == nil && len(pids) > 0 {
			err = g.killAll()
		}
		if err == nil && len(pids) == 0 {
			err = g.rmdirs()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%d processes left", len(pids))
			}
			return fmt.Errorf("remove cgroup %s: %w", g.procs, err)
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// rmdirs removes the container's directories; missing ones are fine.
func (g *cgroup) rmdirs() error {
	var errs []error
	for _, d := range g.dirs {
		if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// oomNotifier returns a file that becomes readable when the cgroup runs out
// of memory: on v1 an eventfd registered for memory.oom_control through
// cgroup.event_control; on v2 an inotify watch of memory.events. The file
// is non-blocking, so a goroutine reading it holds no thread.
func (g *cgroup) oomNotifier() (*os.File, error) {
	if g.version == 2 {
		fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("inotify: %w", err)
		}
		if _, err := unix.InotifyAddWatch(fd, filepath.Join(g.memory, "memory.events"), unix.IN_MODIFY); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("watch memory.events: %w", err)
		}
		return os.NewFile(uintptr(fd), "oom-inotify"), nil
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	cfd, err := unix.Open(filepath.Join(g.memory, "memory.oom_control"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(efd)
		return nil, fmt.Errorf("open memory.oom_control: %w", err)
	}
	defer unix.Close(cfd)
	if err := writeCgroupFile(filepath.Join(g.memory, "cgroup.event_control"), fmt.Sprintf("%d %d", efd, cfd)); err != nil {
		unix.Close(efd)
		return nil, err
	}
	return os.NewFile(uintptr(efd), "oom-eventfd"), nil
}

// cpuUsage fills the CPU fields of u from the cgroup (v1: cpuacct.stat in
// USER_HZ and cpu.stat; v2: cpu.stat in microseconds).
func (g *cgroup) cpuUsage(u *Usage) {
	if g.version == 2 {
		m, err := readKeyed(filepath.Join(g.procs, "cpu.stat"))
		if err != nil {
			return
		}
		u.CPUsUserTimeSecs = float64(m["user_usec"]) / 1e6
		u.CPUsSystemTimeSecs = float64(m["system_usec"]) / 1e6
		u.CPUsNrPeriods = m["nr_periods"]
		u.CPUsNrThrottled = m["nr_throttled"]
		u.CPUsThrottledTimeSecs = float64(m["throttled_usec"]) / 1e6
		return
	}
	if g.cpuacct != "" {
		if m, err := readKeyed(filepath.Join(g.cpuacct, "cpuacct.stat")); err == nil {
			u.CPUsUserTimeSecs = float64(m["user"]) / clockTicks
			u.CPUsSystemTimeSecs = float64(m["system"]) / clockTicks
		}
	}
	if g.cpu != "" {
		if m, err := readKeyed(filepath.Join(g.cpu, "cpu.stat")); err == nil {
			u.CPUsNrPeriods = m["nr_periods"]
			u.CPUsNrThrottled = m["nr_throttled"]
			u.CPUsThrottledTimeSecs = float64(m["throttled_time"]) / 1e9
		}
	}
}

// memoryUsage fills the memory fields of u from the memory controller (v1:
// usage_in_bytes and memory.stat's total_rss and total_cache; v2:
// memory.current and memory.stat's anon and file).
func (g *cgroup) memoryUsage(u *Usage) {
	if g.memory == "" {
		return
	}
	total, rss, cache := "memory.usage_in_bytes", "total_rss", "total_cache"
	if g.version == 2 {
		total, rss, cache = "memory.current", "anon", "file"
	}
	v, ok, err := readUint(filepath.Join(g.memory, total))
	if err != nil || !ok {
		return // no memory controller in this cgroup
	}
	u.MemTotalBytes = v
	if m, err := readKeyed(filepath.Join(g.memory, "memory.stat")); err == nil {
		u.MemRSSBytes = m[rss]
		u.MemCacheBytes = m[cache]
	}
}
