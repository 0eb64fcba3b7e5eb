package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/strata-sched/strata/core/agent"
	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/fetcher"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// masterOptions are the master's flags.
type masterOptions struct {
	ip, hostname, workDir, cluster, weights, roles, logLevel string
	port                                                     int
	offerTimeout, agentPingTimeout, allocationInterval       time.Duration
	agentReregisterTimeout                                   time.Duration
	registryMaxAgentAge, registryGCInterval                  time.Duration
	registryMaxAgentCount                                    int
	maxAgentPingTimeouts                                     int
	flags                                                    map[string]string
	// profiling mounts /debug/pprof/ on the master's port (strata dev, or
	// strata master --profiling).
	profiling bool
	// zk is the ZooKeeper URL of a replicated master (--zk); empty for the embedded store.
	zk               string
	zkSessionTimeout time.Duration
	quorum           int
}

// agentOptions are an agent's flags.
type agentOptions struct {
	master, ip, hostname, workDir, resources, attributes, recover, defaultRole, logLevel string
	port                                                                                 int
	gcDelay, executorRegistrationTimeout, registrationBackoffFactor                      time.Duration
	killTasksOnStop                                                                      bool
	flags                                                                                map[string]string

	// Containerizers and isolation.
	containerizers, isolation, dockerSocket string
	cgroupsEnableCFS                        bool
	// cgroupsHierarchy is the agent's own cgroup under each hierarchy
	// ("" = the containerizer's default); agents sharing a host (strata
	// dev) need one each.
	cgroupsHierarchy string
	// Fetcher cache: dir ("" = <work_dir>/fetch) and size ("2GB").
	fetcherCacheDir, fetcherCacheSize string
}

// listen opens a TCP listener and names the flag to change on failure.
func listen(ip string, port int, flag string) (net.Listener, error) {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (%w); stop what uses the port or pass another %s", addr, err, flag)
	}
	return ln, nil
}

// serve runs an HTTP server on ln until ctx ends, then shuts it down.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = srv.Close()
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		log.Error("http server failed", "err", err)
		return err
	}
}

// startMaster opens the store, recovers the registry and starts serving.
// It returns when the master is listening; run blocks until ctx ends.
func startMaster(ctx context.Context, o masterOptions, log *slog.Logger, lv *slog.LevelVar) (addr string, run func() error, err error) {
	if err := os.MkdirAll(o.workDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("--work_dir %s: %w", o.workDir, err)
	}
	st, err := store.OpenEmbedded(o.workDir, log)
	if err != nil {
		return "", nil, err
	}
	m, err := newMaster(o, st, log, lv)
	if err != nil {
		st.Close()
		return "", nil, err
	}
	if err := m.Recover(ctx); err != nil {
		st.Close()
		return "", nil, err
	}
	ln, err := listen(o.ip, o.port, "--port")
	if err != nil {
		st.Close()
		return "", nil, err
	}
	log.Info("master listening", "addr", ln.Addr().String(), "work_dir", o.workDir, "id", m.Info().ID)
	h := m.Handler()
	if o.profiling {
		h = withProfiling(h)
	}
	run = func() error {
		defer st.Close()
		errc := make(chan error, 2)
		go func() { errc <- m.Run(ctx) }()
		go func() { errc <- serve(ctx, ln, h, log) }()
		err := <-errc
		<-errc
		return err
	}
	return ln.Addr().String(), run, nil
}

// startAgent builds an agent and starts serving; run blocks until ctx ends.
func startAgent(ctx context.Context, o agentOptions, log *slog.Logger) (run func() error, err error) {
	if o.master == "" {
		return nil, errors.New("--master is required (host:port of the master, e.g. --master 127.0.0.1:5050, or zk://host:2181/path to follow the leader)")
	}
	if err := os.MkdirAll(o.workDir, 0o755); err != nil {
		return nil, fmt.Errorf("--work_dir %s: %w", o.workDir, err)
	}
	res, err := mesos.ParseResources(o.resources, o.defaultRole)
	if err != nil {
		return nil, fmt.Errorf("--resources: %w", err)
	}
	res = withMachineDefaults(res, o.workDir)
	attrs, err := mesos.ParseAttributes(o.attributes)
	if err != nil {
		return nil, fmt.Errorf("--attributes: %w", err)
	}
	if o.recover != "reconnect" && o.recover != "cleanup" {
		return nil, fmt.Errorf("--recover: %q; expected reconnect or cleanup", o.recover)
	}
	fetchCfg, err := fetcherConfig(o, log)
	if err != nil {
		return nil, err
	}
	fetch, err := fetcher.New(fetchCfg)
	if err != nil {
		return nil, fmt.Errorf("--fetcher_cache_dir: %w", err)
	}
	cz, closeCz, err := buildContainerizer(o, log)
	if err != nil {
		return nil, err
	}
	hostname := o.hostname
	if hostname == "" {
		hostname = o.ip
	}
	var (
		detect        func(context.Context) (string, error)
		masterChanged func() <-chan struct{}
		follower      *zkLeaderFollower
	)
	if strings.HasPrefix(o.master, "zk://") {
		if _, err := store.ParseZKURL(o.master); err != nil {
			return nil, fmt.Errorf("--master: %w", err)
		}
		follower = newZKLeaderFollower(o.master, log)
		detect, masterChanged = follower.Detect, follower.Changed
	}
	a, err := agent.New(agent.Config{
		Master: o.master, DetectMaster: detect, MasterChanged: masterChanged,
		WorkDir: o.workDir, Hostname: hostname, IP: o.ip, Port: o.port,
		Resources: res, Attributes: attrs, Recover: o.recover, GCDelay: o.gcDelay,
		ExecutorRegistrationTimeout: o.executorRegistrationTimeout,
		RegistrationBackoffFactor:   o.registrationBackoffFactor,
		Containerizer:               cz, Fetcher: fetch, Logger: log, Version: version, Flags: o.flags,
		KillTasksOnStop: o.killTasksOnStop,
	})
	if err != nil {
		closeCz()
		return nil, err
	}
	ln, err := listen(o.ip, o.port, "--port")
	if err != nil {
		closeCz()
		return nil, err
	}
	log.Info("agent listening", "addr", ln.Addr().String(), "work_dir", o.workDir, "resources", res.String(),
		"containerizers", o.flags["containerizers"], "isolation", o.flags["isolation"])
	return func() error {
		defer closeCz()
		if follower != nil {
			fctx, stopFollower := context.WithCancel(ctx)
			followerDone := make(chan struct{})
			go func() { defer close(followerDone); follower.run(fctx) }()
			defer func() { stopFollower(); <-followerDone }()
		}
		errc := make(chan error, 2)
		go func() { errc <- a.Run(ctx) }()
		go func() { errc <- serve(ctx, ln, a.Handler(), log) }()
		err := <-errc
		<-errc
		return err
	}, nil
}

// buildContainerizer builds what --containerizers asks for, in order of
// preference ("docker,mesos": a DOCKER container goes to docker, anything
// else to mesos), and records the effective containerizers and isolation
// in o.flags (the agent's /flags and /state report them). "mesos" is the
// cgroups containerizer when the isolation has cgroups isolators, else the
// posix one; without --isolation the isolation is cgroups/cpu,cgroups/mem
// where the host lets the agent create cgroups and posix/cpu,posix/mem
// otherwise. closeFn releases the docker containerizer's goroutines.
func buildContainerizer(o agentOptions, log *slog.Logger) (cz containerizer.Containerizer, closeFn func(), err error) {
	var names []string
	for _, n := range strings.Split(o.containerizers, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
		case n != "mesos" && n != "docker":
			return nil, nil, fmt.Errorf("--containerizers: unknown containerizer %q; valid: mesos, docker (e.g. --containerizers=docker,mesos)", n)
		case slices.Contains(names, n):
			return nil, nil, fmt.Errorf("--containerizers: %q is listed twice", n)
		default:
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, nil, errors.New("--containerizers: empty; valid: mesos, docker (e.g. --containerizers=docker,mesos)")
	}
	isolation, explicit, err := agentIsolation(o.isolation)
	if err != nil {
		return nil, nil, err
	}
	var cs []containerizer.Containerizer
	var docker *containerizer.Docker
	closeFn = func() {
		if docker != nil {
			_ = docker.Close()
		}
	}
	for _, n := range names {
		switch n {
		case "mesos":
			var c containerizer.Containerizer
			if c, isolation, err = mesosContainerizer(o, isolation, explicit, log); err != nil {
				closeFn()
				return nil, nil, err
			}
			cs = append(cs, c)
		case "docker":
			cfg := containerizer.DefaultDockerConfig()
			cfg.Socket = o.dockerSocket
			// Orphan cleanup only touches this agent's containers.
			cfg.Owner = o.workDir
			if docker, err = containerizer.NewDocker(cfg, log); err != nil {
				return nil, nil, fmt.Errorf("--containerizers=%s: the docker containerizer cannot reach the engine at --docker_socket %s: %w",
					o.containerizers, o.dockerSocket, err)
			}
			cs = append(cs, docker)
		}
	}
	if o.flags != nil {
		o.flags["containerizers"] = strings.Join(names, ",")
		o.flags["isolation"] = strings.Join(isolation, ",")
	}
	if len(cs) == 1 {
		return cs[0], closeFn, nil
	}
	return containerizer.NewComposite(cs...), closeFn, nil
}

// agentIsolation parses --isolation; an empty one is the host's default
// (explicit false).
func agentIsolation(flag string) (isolation []string, explicit bool, err error) {
	isolation, err = containerizer.ParseIsolation(flag)
	if err != nil {
		return nil, false, fmt.Errorf("--isolation: %w", err)
	}
	if len(isolation) > 0 {
		return isolation, true, nil
	}
	info, err := containerizer.DetectCgroups(containerizer.DefaultCgroupsRoot)
	if err != nil {
		return containerizer.DefaultIsolation(containerizer.CgroupsInfo{}), false, nil
	}
	return containerizer.DefaultIsolation(info), false, nil
}

// mesosContainerizer is the "mesos" containerizer for isolation: cgroups
// when it needs cgroups, else posix. A default cgroups isolation that the
// host refuses after all falls back to posix; an explicit one is an error.
func mesosContainerizer(o agentOptions, isolation []string, explicit bool, log *slog.Logger) (containerizer.Containerizer, []string, error) {
	if !containerizer.IsolationNeedsCgroups(isolation) {
		return containerizer.NewPosix(log), isolation, nil
	}
	cg, err := containerizer.NewCgroups(containerizer.CgroupsConfig{
		Hierarchy:        o.cgroupsHierarchy,
		Isolation:        isolation,
		EnableCFS:        o.cgroupsEnableCFS,
		EnforceDiskQuota: slices.Contains(isolation, containerizer.IsolatorDiskDu),
	}, log)
	if err == nil {
		return cg, isolation, nil
	}
	if explicit {
		return nil, nil, fmt.Errorf("--isolation=%s: %w", strings.Join(isolation, ","), err)
	}
	log.Warn("cgroups isolation unavailable; using posix isolation", "err", err)
	posix := containerizer.DefaultIsolation(containerizer.CgroupsInfo{})
	return containerizer.NewPosix(log), posix, nil
}

// fetcherConfig is the fetcher's configuration from the agent's flags.
func fetcherConfig(o agentOptions, log *slog.Logger) (fetcher.Config, error) {
	size, err := parseBytes(o.fetcherCacheSize)
	if err != nil {
		return fetcher.Config{}, fmt.Errorf("--fetcher_cache_size: %w", err)
	}
	dir := o.fetcherCacheDir
	if dir == "" {
		dir = filepath.Join(o.workDir, "fetch")
	}
	if o.flags != nil {
		o.flags["fetcher_cache_dir"] = dir
	}
	return fetcher.Config{CacheDir: dir, CacheSizeBytes: size, Logger: log}, nil
}

// parseBytes parses a size as Mesos' Bytes flags do: a number of bytes, or
// a number with B, KB, MB, GB or TB (powers of 1024; "2GB", "512MB",
// "1.5GB").
func parseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	units := []struct {
		suffix string
		mult   float64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || v*mult > math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: expected bytes or e.g. 512MB, 2GB", s)
	}
	return int64(v * mult), nil
}

// withMachineDefaults fills cpus, mem, disk and ports the user did not give
// with what the machine has, as Mesos does: cpus = #CPUs, mem = total - 1 GB
// (half when under 2 GB), disk = work_dir filesystem - 5 GB (half when under
// 10 GB), ports [31000-32000].
func withMachineDefaults(res mesos.Resources, workDir string) mesos.Resources {
	has := map[string]bool{}
	for _, r := range res {
		has[r.Name] = true
	}
	var add mesos.Resources
	scalar := func(name string, v float64) {
		if !has[name] && v > 0 {
			add = append(add, mesos.Resource{Name: name, Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: v}})
		}
	}
	scalar("cpus", float64(runtime.NumCPU()))
	if memMB := memTotalMB(); memMB > 0 {
		if memMB >= 2048 {
			scalar("mem", memMB-1024)
		} else {
			scalar("mem", memMB/2)
		}
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(workDir, &fs); err == nil {
		diskMB := float64(fs.Blocks) * float64(fs.Bsize) / (1 << 20)
		if diskMB >= 10240 {
			scalar("disk", diskMB-5120)
		} else {
			scalar("disk", diskMB/2)
		}
	}
	if !has["ports"] {
		add = append(add, mesos.Resource{Name: "ports", Type: mesos.RANGES, Ranges: &mesos.Ranges{Range: []mesos.Range{{Begin: 31000, End: 32000}}}})
	}
	return res.Plus(add).Normalize()
}

func memTotalMB() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return float64(int(kb / 1024))
			}
		}
	}
	return 0
}

func workDirFor(flagValue, role string) string {
	if flagValue != "" {
		return flagValue
	}
	return filepath.Join(defaultStateDir(), role)
}

// withProfiling serves the process's Go profiles under /debug/pprof/ and h
// for everything else. Only strata dev mounts it (on the master's port;
// master and agents share the process): go tool pprof
// http://127.0.0.1:5050/debug/pprof/profile?seconds=10, .../heap, .../block,
// .../mutex, .../goroutine, and .../trace?seconds=5 for go tool trace.
// Written against runtime/pprof rather than net/http/pprof, whose init
// registers handlers on http.DefaultServeMux.
func withProfiling(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	seconds := func(r *http.Request) time.Duration {
		n, err := strconv.Atoi(r.URL.Query().Get("seconds"))
		if err != nil || n <= 0 {
			n = 10
		}
		return time.Duration(min(n, 300)) * time.Second
	}
	sleep := func(r *http.Request, d time.Duration) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
	}
	mux.HandleFunc("GET /debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := pprof.StartCPUProfile(w); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		sleep(r, seconds(r))
		pprof.StopCPUProfile()
	})
	mux.HandleFunc("GET /debug/pprof/trace", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := trace.Start(w); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		sleep(r, seconds(r))
		trace.Stop()
	})
	mux.HandleFunc("GET /debug/pprof/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		switch name {
		case "block":
			runtime.SetBlockProfileRate(int(time.Millisecond / 10))
		case "mutex":
			runtime.SetMutexProfileFraction(10)
		}
		p := pprof.Lookup(name)
		if p == nil {
			http.Error(w, "unknown profile "+name, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_ = p.WriteTo(w, 0)
	})
	return mux
}
