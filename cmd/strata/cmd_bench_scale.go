package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/internal/simagent"
)

// scaleOptions configure the master-at-scale benchmarks: master processes
// (this binary re-executed as `strata master --zk`) on a ZooKeeper the user
// runs, simulated agents and a loader framework in this process.
type scaleOptions struct {
	sim              simOptions
	zk               string
	masters          int
	tasksPerAgent    int
	sessionTimeout   time.Duration
	agentPingTimeout time.Duration
	logDir           string
	timeout          time.Duration
	// profile: seconds of CPU profile to take from the new leader right
	// after its election (failover; 0: none), saved in logDir.
	profile int
}

func (o *scaleOptions) addFlags(cmd *cobra.Command, masters int) {
	o.sim.addFlags(cmd)
	cmd.Flags().StringVar(&o.zk, "zk", "", "ZooKeeper URL zk://host:2181[,host:2181]/path (required); each run uses a fresh /bench-<time> node below path")
	cmd.Flags().IntVar(&o.masters, "masters", masters, "master processes to start")
	cmd.Flags().IntVar(&o.tasksPerAgent, "tasks_per_agent", 10, "tasks the loader framework runs on every agent")
	durationFlag(cmd.Flags(), &o.sessionTimeout, "zk_session_timeout", 5*time.Second, "the masters' --zk_session_timeout")
	durationFlag(cmd.Flags(), &o.agentPingTimeout, "agent_ping_timeout", 15*time.Second, "the masters' --agent_ping_timeout")
	cmd.Flags().StringVar(&o.logDir, "log_dir", "", "where the masters' logs and work dirs go (default: a new temporary directory)")
	durationFlag(cmd.Flags(), &o.timeout, "timeout", 30*time.Minute, "give up after this long")
	cmd.Flags().IntVar(&o.profile, "profile_seconds", 0, "failover: take this many seconds of CPU profile from the new leader once elected (leader-cpu.pprof in --log_dir)")
}

// saveProfile fetches seconds of CPU profile from the master at addr.
func saveProfile(ctx context.Context, addr string, seconds int, path string, out io.Writer) {
	u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(out, "profile: %v\n", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(out, "profile: %v\n", err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		fmt.Fprintf(out, "profile: %v\n", err)
		return
	}
	fmt.Fprintf(out, "CPU profile of the new leader (%ds) in %s\n", seconds, path)
}

// scaleCluster is what a scale benchmark runs against.
type scaleCluster struct {
	zkURL   string
	zk      *store.ZK
	masters []*masterProc
	pool    *simagent.Pool
	loader  *simagent.Loader
	total   int // tasks
	stop    func()
}

type masterProc struct {
	port int
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func (m *masterProc) addr() string { return "127.0.0.1:" + strconv.Itoa(m.port) }

// kill sends SIGKILL and waits for the process to exit.
func (m *masterProc) kill() {
	_ = m.cmd.Process.Kill()
	<-m.done
}

// startScaleCluster starts the masters, waits for a leader, starts the
// simulated agents and waits for all of them, then lets the loader
// framework launch tasks_per_agent tasks on each and waits until all run.
func startScaleCluster(ctx context.Context, o *scaleOptions, out io.Writer) (_ *scaleCluster, err error) {
	if !strings.HasPrefix(o.zk, "zk://") {
		return nil, errors.New("--zk is required: zk://host:2181/path of a running ZooKeeper (see docs/benchmarks.md for starting one)")
	}
	if o.masters < 1 {
		return nil, fmt.Errorf("--masters %d: need at least one", o.masters)
	}
	if o.tasksPerAgent < 0 {
		return nil, fmt.Errorf("--tasks_per_agent %d: must not be negative", o.tasksPerAgent)
	}
	raiseFileLimit()
	c := &scaleCluster{zkURL: strings.TrimSuffix(o.zk, "/") + "/bench-" + strconv.FormatInt(time.Now().Unix(), 10)}
	if _, err := store.ParseZKURL(c.zkURL); err != nil {
		return nil, fmt.Errorf("--zk: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var stops []func()
	c.stop = func() {
		cancel()
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	if o.logDir == "" {
		if o.logDir, err = os.MkdirTemp("", "strata-bench-"); err != nil {
			return nil, err
		}
	}
	zctx, zcancel := context.WithTimeout(ctx, 30*time.Second)
	c.zk, err = store.OpenZK(zctx, c.zkURL, store.ZKOptions{}, slog.New(slog.DiscardHandler))
	zcancel()
	if err != nil {
		return nil, fmt.Errorf("--zk: %w", err)
	}
	stops = append(stops, func() { c.zk.Close() })
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary to start masters: %w", err)
	}
	for i := range o.masters {
		m, err := startMasterProc(exe, c.zkURL, i, o)
		if err != nil {
			return nil, err
		}
		c.masters = append(c.masters, m)
		stops = append(stops, m.kill)
	}
	fmt.Fprintf(out, "started %d masters on %s (logs in %s)\n", o.masters, c.zkURL, o.logDir)
	if _, err := c.leader(ctx, "", time.Minute); err != nil {
		return nil, err
	}

	o.sim.master = c.zkURL
	// The agents' connection errors (debug level) explain stragglers.
	agentsLog, err := os.Create(filepath.Join(o.logDir, "agents.log"))
	if err != nil {
		return nil, err
	}
	stops = append(stops, func() { agentsLog.Close() })
	cfg, err := o.sim.config(slog.New(slog.NewTextHandler(agentsLog, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		return nil, err
	}
	if c.pool, err = simagent.New(cfg); err != nil {
		return nil, err
	}
	poolDone := make(chan struct{})
	go func() { defer close(poolDone); _ = c.pool.Run(ctx) }()
	stops = append(stops, func() { <-poolDone })
	start := time.Now()
	if err := progress(ctx, out, o.timeout, func() (bool, string) {
		s := c.pool.Stats()
		return s.Connected == cfg.Count, fmt.Sprintf("agents registered %d/%d", s.Connected, cfg.Count)
	}); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "all %d agents registered in %.2fs\n", cfg.Count, time.Since(start).Seconds())

	c.total = cfg.Count * o.tasksPerAgent
	if c.total == 0 {
		return c, nil
	}
	c.loader, err = simagent.NewLoader(simagent.LoaderConfig{Master: c.zkURL, TasksPerAgent: o.tasksPerAgent,
		CPUs: 0.01, Mem: 1, Name: "strata-bench-scale", User: currentUser()})
	if err != nil {
		return nil, err
	}
	loaderDone := make(chan struct{})
	go func() { defer close(loaderDone); _ = c.loader.Run(ctx) }()
	stops = append(stops, func() { <-loaderDone })
	start = time.Now()
	if err := progress(ctx, out, o.timeout, func() (bool, string) {
		ls, ps := c.loader.Stats(), c.pool.Stats()
		return ls.Running == c.total && ps.RunningTasks == c.total,
			fmt.Sprintf("tasks launched %d/%d, RUNNING at the framework %d, at the agents %d", ls.Launched, c.total, ls.Running, ps.RunningTasks)
	}); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "all %d tasks RUNNING in %.2fs\n", c.total, time.Since(start).Seconds())
	return c, nil
}

func startMasterProc(exe, zkURL string, i int, o *scaleOptions) (*masterProc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := filepath.Join(o.logDir, "master-"+strconv.Itoa(i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	m := &masterProc{port: port, log: filepath.Join(dir, "master.log"), done: make(chan struct{})}
	f, err := os.Create(m.log)
	if err != nil {
		return nil, err
	}
	m.cmd = exec.Command(exe, "master", "--zk", zkURL, "--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--work_dir", dir, "--zk_session_timeout", o.sessionTimeout.String(),
		"--agent_ping_timeout", o.agentPingTimeout.String(), "--log_level", "info", "--profiling")
	m.cmd.Stdout, m.cmd.Stderr = f, f
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting master %d: %w", i, err)
	}
	go func() { _ = m.cmd.Wait(); f.Close(); close(m.done) }()
	return m, nil
}

// leader waits until a master other than notID leads and returns its index.
func (c *scaleCluster) leader(ctx context.Context, notID string, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		if i, info, err := c.currentLeader(ctx); err == nil && info.ID != notID {
			return i, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no new leading master after %v", timeout)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *scaleCluster) currentLeader(ctx context.Context) (int, mesos.MasterInfo, error) {
	b, err := c.zk.Elector("").Leader(ctx)
	if err != nil {
		return 0, mesos.MasterInfo{}, err
	}
	info, err := mesos.ParseMasterInfo(b)
	if err != nil {
		return 0, info, err
	}
	for i, m := range c.masters {
		if int(info.Port) == m.port {
			return i, info, nil
		}
	}
	return 0, info, fmt.Errorf("leader port %d is none of ours", info.Port)
}

// progress polls check every 100ms and prints its line every second until
// it reports done.
func progress(ctx context.Context, out io.Writer, timeout time.Duration, check func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	last := time.Now()
	for {
		done, line := check()
		if done {
			return nil
		}
		if time.Since(last) >= time.Second {
			fmt.Fprintln(out, "  "+line)
			last = time.Now()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out: %s", line)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// raiseFileLimit lifts the soft open-files limit to the hard one: every
// simulated agent holds a connection, and so does the master for each.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// metricsSnapshot reads a master's /metrics/snapshot.
func metricsSnapshot(ctx context.Context, addr string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics/snapshot", nil)
	if err != nil {
		return nil, err
	}
	resp, err := toolClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var v map[string]float64
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, fmt.Errorf("%s/metrics/snapshot: %w", addr, err)
	}
	return v, nil
}

// selfRSS is this process's resident memory (the simulated agents and the
// loader framework).
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// newBenchFailoverCmd measures master failover with simulated agents.
func newBenchFailoverCmd() *cobra.Command {
	var o scaleOptions
	cmd := &cobra.Command{
		Use:   "failover",
		Short: "Kill -9 the leading master under N simulated agents with tasks; time election and re-registration",
		Long: `Starts --masters master processes on the ZooKeeper at --zk, --count simulated agents and a
framework that runs --tasks_per_agent tasks on each, then kills the leading master with SIGKILL and
reports the time from the kill to a new leader elected, and from election to every agent
re-registered with all its tasks on the new leader; tasks lost must be 0.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			c, err := startScaleCluster(ctx, &o, out)
			if err != nil {
				return err
			}
			defer c.stop()
			old, oldInfo, err := c.currentLeader(ctx)
			if err != nil {
				return err
			}
			before := c.pool.Stats()
			fmt.Fprintf(out, "killing the leading master %s (%s) with SIGKILL\n", oldInfo.ID, c.masters[old].addr())
			killed := time.Now()
			c.masters[old].kill()
			idx, err := c.leader(ctx, oldInfo.ID, time.Minute)
			if err != nil {
				return err
			}
			elected := time.Now()
			_, info, err := c.currentLeader(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "new leader %s (%s) elected %.2fs after the kill\n", info.ID, c.masters[idx].addr(), elected.Sub(killed).Seconds())
			if o.profile > 0 {
				go saveProfile(ctx, c.masters[idx].addr(), o.profile, filepath.Join(o.logDir, "leader-cpu.pprof"), out)
			}
			n := o.sim.count
			var last time.Time
			if err := progress(ctx, out, o.timeout, func() (bool, string) {
				var got int
				got, last = c.pool.Registered(info.ID)
				return got == n, fmt.Sprintf("agents re-registered with the new leader %d/%d", got, n)
			}); err != nil {
				return err
			}
			// The master's own view: every agent and every task back.
			var snap map[string]float64
			if err := progress(ctx, out, 2*time.Minute, func() (bool, string) {
				snap, err = metricsSnapshot(ctx, c.masters[idx].addr())
				if err != nil {
					return false, err.Error()
				}
				return int(snap["master/slaves_connected"]) == n && int(snap["master/tasks_running"]) == c.total,
					fmt.Sprintf("new leader: %v agents connected, %v tasks running", snap["master/slaves_connected"], snap["master/tasks_running"])
			}); err != nil {
				return err
			}
			after := c.pool.Stats()
			lost := c.total - after.RunningTasks
			if c.loader != nil {
				ls := c.loader.Stats()
				for _, v := range ls.Terminal {
					lost += v
				}
				fmt.Fprintf(out, "framework: %d tasks RUNNING, terminal updates %v, relaunched %d, subscriptions %d\n",
					ls.Running, ls.Terminal, ls.Relaunched, ls.Subscriptions)
			}
			fmt.Fprintf(out, "RESULT agents=%d tasks=%d masters=%d registration_backoff_factor=%s zk_session_timeout=%s\n",
				n, c.total, o.masters, o.sim.backoff, o.sessionTimeout)
			fmt.Fprintf(out, "  kill -> new leader elected:          %.2fs\n", elected.Sub(killed).Seconds())
			fmt.Fprintf(out, "  elected -> all agents re-registered: %.2fs\n", last.Sub(elected).Seconds())
			fmt.Fprintf(out, "  kill -> all agents re-registered:    %.2fs\n", last.Sub(killed).Seconds())
			fmt.Fprintf(out, "  re-registrations %d, tasks running on the new leader %d, tasks lost %d, duplicate launches %d\n",
				after.Reregistrations-before.Reregistrations, int(snap["master/tasks_running"]), lost, after.Duplicates)
			if lost != 0 || after.Duplicates != 0 {
				return fmt.Errorf("%d tasks lost and %d duplicated during the failover", lost, after.Duplicates)
			}
			return nil
		},
	}
	o.addFlags(cmd, 3)
	return cmd
}

// newBenchStateCmd measures /master/state and the master's memory with N
// simulated agents and their tasks.
func newBenchStateCmd() *cobra.Command {
	var (
		o        scaleOptions
		requests int
	)
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Time /master/state and read the master's RSS with N simulated agents running tasks",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if requests < 1 {
				return fmt.Errorf("--requests %d: need at least one", requests)
			}
			out := cmd.OutOrStdout()
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			c, err := startScaleCluster(ctx, &o, out)
			if err != nil {
				return err
			}
			defer c.stop()
			idx, _, err := c.currentLeader(ctx)
			if err != nil {
				return err
			}
			addr := c.masters[idx].addr()
			rss, _ := processRSS(ctx, addr)
			var lat []time.Duration
			var size int64
			for i := range requests {
				start := time.Now()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/master/state", nil)
				if err != nil {
					return err
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return fmt.Errorf("GET /master/state: %w", err)
				}
				size, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					return fmt.Errorf("GET /master/state: %s %v", resp.Status, err)
				}
				lat = append(lat, time.Since(start))
				fmt.Fprintf(out, "  /master/state %d/%d: %.0f ms, %.1f MiB\n", i+1, requests, float64(lat[i].Microseconds())/1000, mib(size))
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			rssAfter, _ := processRSS(ctx, addr)
			fmt.Fprintf(out, "RESULT agents=%d tasks=%d\n", o.sim.count, c.total)
			fmt.Fprintf(out, "  /master/state: %.1f MiB, p50 %.0f ms, p99 %.0f ms, max %.0f ms over %d requests\n",
				mib(size), pct(0.5), pct(0.99), pct(1), requests)
			fmt.Fprintf(out, "  master RSS: %.0f MiB (%.0f MiB after the requests)\n", mib(rss), mib(rssAfter))
			fmt.Fprintf(out, "  simulated agents + framework process RSS: %.0f MiB\n", mib(selfRSS()))
			return nil
		},
	}
	o.addFlags(cmd, 1)
	cmd.Flags().IntVar(&requests, "requests", 20, "GET /master/state requests to time")
	return cmd
}
