package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func addMasterFlags(fs *pflag.FlagSet, o *masterOptions) {
	fs.StringVar(&o.ip, "ip", "127.0.0.1", "IP address to listen on and advertise")
	fs.StringVar(&o.hostname, "hostname", "", "hostname to advertise (default: --ip)")
	fs.IntVar(&o.port, "port", 5050, "port to listen on")
	fs.StringVar(&o.workDir, "work_dir", "", "where the registry is stored (default: <state dir>/master)")
	fs.StringVar(&o.cluster, "cluster", "strata", "human-readable cluster name")
	fs.StringVar(&o.weights, "weights", "", "role weights, e.g. eng=2,ads=1.5 (deprecated in Mesos; the operator API's UPDATE_WEIGHTS wins)")
	fs.StringVar(&o.roles, "roles", "", "comma-separated role whitelist (empty: any role)")
	durationFlag(fs, &o.offerTimeout, "offer_timeout", 0, "rescind offers held longer than this (0: never)")
	durationFlag(fs, &o.agentPingTimeout, "agent_ping_timeout", 15*time.Second, "interval between agent pings; a missed pong counts as a timeout")
	fs.IntVar(&o.maxAgentPingTimeouts, "max_agent_ping_timeouts", 5, "missed pings after which an agent is unreachable")
	durationFlag(fs, &o.allocationInterval, "allocation_interval", time.Second, "interval between batch allocations")
	durationFlag(fs, &o.agentReregisterTimeout, "agent_reregister_timeout", 10*time.Minute,
		"after a failover, how long agents in the registry have to re-register before they are marked unreachable")
	durationFlag(fs, &o.registryMaxAgentAge, "registry_max_agent_age", 14*24*time.Hour, "unreachable agents older than this leave the registry")
	fs.IntVar(&o.registryMaxAgentCount, "registry_max_agent_count", 102400, "at most this many unreachable agents stay in the registry (oldest leave first)")
	durationFlag(fs, &o.registryGCInterval, "registry_gc_interval", 15*time.Minute, "how often unreachable agents are pruned from the registry")
	fs.StringVar(&o.zk, "zk", "", "ZooKeeper URL for replicated masters, zk://[user:pass@]host1:2181,host2:2181/path (default: embedded store in --work_dir)")
	durationFlag(fs, &o.zkSessionTimeout, "zk_session_timeout", 10*time.Second, "ZooKeeper session timeout")
	fs.IntVar(&o.quorum, "quorum", 0, "accepted for parity with Mesos (ZooKeeper provides the quorum)")
	fs.BoolVar(&o.profiling, "profiling", false, "serve Go's /debug/pprof/ profiles on the master's port")
}

func addAgentFlags(fs *pflag.FlagSet, o *agentOptions) {
	fs.StringVar(&o.master, "master", "", "master to register with, host:port")
	fs.StringVar(&o.ip, "ip", "127.0.0.1", "IP address to listen on and advertise")
	fs.StringVar(&o.hostname, "hostname", "", "hostname to advertise (default: --ip)")
	fs.IntVar(&o.port, "port", 5051, "port to listen on")
	fs.StringVar(&o.workDir, "work_dir", "", "sandboxes and checkpoints (default: <state dir>/agent)")
	fs.StringVar(&o.resources, "resources", "", "resources, e.g. 'cpus:4;mem:8192;disk:20000;ports:[31000-32000];cpus(ads):2' or a JSON array (default: what the machine has)")
	fs.StringVar(&o.attributes, "attributes", "", "attributes, e.g. 'rack:r1;zone:a'")
	fs.StringVar(&o.defaultRole, "default_role", "*", "role of resources given without one")
	fs.StringVar(&o.recover, "recover", "reconnect", "reconnect: re-attach to running tasks after a restart; cleanup: kill them")
	fs.StringVar(&o.containerizers, "containerizers", "mesos", "containerizers in order of preference: mesos, or docker,mesos to run container type DOCKER with the Docker engine")
	fs.StringVar(&o.isolation, "isolation", "", "isolators, e.g. cgroups/cpu,cgroups/mem,disk/du or posix/cpu,posix/mem (default: cgroups/cpu,cgroups/mem where the host allows, posix/cpu,posix/mem otherwise)")
	fs.BoolVar(&o.cgroupsEnableCFS, "cgroups_enable_cfs", false, "hard-limit each container's CPU to its cpus with a CFS quota (cgroups isolation)")
	fs.StringVar(&o.dockerSocket, "docker_socket", "/var/run/docker.sock", "the Docker engine's unix socket (docker containerizer)")
	fs.StringVar(&o.fetcherCacheDir, "fetcher_cache_dir", "", "where the fetcher caches URIs with cache=true (default: <work_dir>/fetch)")
	fs.StringVar(&o.fetcherCacheSize, "fetcher_cache_size", "2GB", "size of the fetcher cache, in bytes or e.g. 512MB, 2GB")
	durationFlag(fs, &o.gcDelay, "gc_delay", 7*24*time.Hour, "how long sandboxes of finished executors are kept")
	durationFlag(fs, &o.executorRegistrationTimeout, "executor_registration_timeout", time.Minute, "how long a custom executor has to subscribe")
	durationFlag(fs, &o.registrationBackoffFactor, "registration_backoff_factor", time.Second,
		"(re-)registration waits a random time up to this, doubling on failure (capped at 1 min); a new leader starts it over")
}

func newMasterCmd() *cobra.Command {
	var o masterOptions
	var logLevel string
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run a master (Mesos-compatible v1 scheduler, agent and operator APIs)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd); err != nil {
				return err
			}
			log, lv, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			o.workDir = workDirFor(o.workDir, "master")
			o.flags = flagMap(cmd)
			start := startMaster
			if o.zk != "" {
				start = startMasterZK
			}
			_, run, err := start(cmd.Context(), o, log, lv)
			if err != nil {
				return err
			}
			return run()
		},
	}
	addMasterFlags(cmd.Flags(), &o)
	cmd.Flags().StringVar(&logLevel, "log_level", "info", "debug, info, warn or error")
	return cmd
}

func newAgentCmd() *cobra.Command {
	var o agentOptions
	var logLevel string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run an agent that offers this machine's resources and runs tasks",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd); err != nil {
				return err
			}
			log, _, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			o.workDir = workDirFor(o.workDir, "agent")
			o.flags = flagMap(cmd)
			run, err := startAgent(cmd.Context(), o, log)
			if err != nil {
				return err
			}
			return run()
		},
	}
	addAgentFlags(cmd.Flags(), &o)
	cmd.Flags().StringVar(&logLevel, "log_level", "info", "debug, info, warn or error")
	return cmd
}

// newDevCmd wires every role into one process on an embedded store: the one
// place where roles are put together for a laptop.
func newDevCmd() *cobra.Command {
	var (
		mo           masterOptions
		workDir      string
		agents       int
		resources    string
		logLevel     string
		marathonPort int
		// The agents' containerizers and isolation.
		containerizers, isolation, dockerSocket string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole system in one process: master on :5050 and agents on :5051+ (embedded store)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd); err != nil {
				return err
			}
			if agents < 1 || agents > 64 {
				return fmt.Errorf("--agents %d: expected 1 to 64", agents)
			}
			log, lv, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			if workDir == "" {
				workDir = filepath.Join(defaultStateDir(), "dev")
			}
			ctx := cmd.Context()
			mo.workDir = filepath.Join(workDir, "master")
			mo.flags = flagMap(cmd)
			mo.profiling = true
			maddr, runMaster, err := startMaster(ctx, mo, log.With("role", "master"), lv)
			if err != nil {
				return err
			}
			runs := []func() error{runMaster}
			for i := 0; i < agents; i++ {
				ao := agentOptions{
					master: maddr, ip: mo.ip, hostname: mo.hostname, port: mo.port + 1 + i,
					workDir:   filepath.Join(workDir, "agent-"+strconv.Itoa(i)),
					resources: resources, recover: "reconnect", defaultRole: "*", containerizers: containerizers,
					isolation: isolation, dockerSocket: dockerSocket, fetcherCacheSize: "2GB",
					cgroupsHierarchy: "strata/dev-agent-" + strconv.Itoa(i),
					gcDelay:          24 * time.Hour, executorRegistrationTimeout: time.Minute,
					killTasksOnStop: true, flags: map[string]string{"work_dir": filepath.Join(workDir, "agent-"+strconv.Itoa(i))},
				}
				run, err := startAgent(ctx, ao, log.With("role", "agent", "agent", i))
				if err != nil {
					return fmt.Errorf("agent %d: %w", i, err)
				}
				runs = append(runs, run)
			}
			mopts := devMarathonOptions(maddr, mo.ip, workDir)
			mopts.httpPort = marathonPort
			mopts.hostname = mo.hostname
			mopts.levelVar = lv // shared with the master: one process, one log level
			marathonAddr, runMarathon, err := startMarathon(ctx, mopts, log.With("role", "marathon"))
			if err != nil {
				return fmt.Errorf("marathon: %w", err)
			}
			runs = append(runs, runMarathon)
			fmt.Fprintf(cmd.OutOrStdout(), "strata dev: master http://%s  agents %d (ports %d-%d)  marathon http://%s  work dir %s\n",
				maddr, agents, mo.port+1, mo.port+agents, marathonAddr, workDir)
			errc := make(chan error, len(runs))
			for _, run := range runs {
				go func() { errc <- run() }()
			}
			var first error
			for range runs {
				if err := <-errc; err != nil && first == nil {
					first = err
				}
			}
			return first
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&mo.ip, "ip", "127.0.0.1", "IP address every role listens on")
	fs.StringVar(&mo.hostname, "hostname", "", "hostname to advertise (default: --ip)")
	fs.IntVar(&mo.port, "port", 5050, "master port; agents use the following ports")
	fs.StringVar(&workDir, "work_dir", "", "state of every role (default: <state dir>/dev); reused on restart")
	fs.IntVar(&agents, "agents", 1, "number of agents")
	fs.IntVar(&marathonPort, "marathon_port", 8080, "Marathon's HTTP port")
	fs.StringVar(&resources, "resources", "", "resources of each agent (default: what the machine has)")
	fs.StringVar(&containerizers, "containerizers", "mesos", "the agents' containerizers: mesos, or docker,mesos to run container type DOCKER with the Docker engine")
	fs.StringVar(&isolation, "isolation", "", "the agents' isolators (default: cgroups/cpu,cgroups/mem where the host allows, posix/cpu,posix/mem otherwise)")
	fs.StringVar(&dockerSocket, "docker_socket", "/var/run/docker.sock", "the Docker engine's unix socket (docker containerizer)")
	fs.StringVar(&logLevel, "log_level", "info", "debug, info, warn or error")
	durationFlag(fs, &mo.offerTimeout, "offer_timeout", 0, "rescind offers held longer than this (0: never)")
	durationFlag(fs, &mo.agentPingTimeout, "agent_ping_timeout", 15*time.Second, "interval between agent pings")
	fs.IntVar(&mo.maxAgentPingTimeouts, "max_agent_ping_timeouts", 5, "missed pings after which an agent is unreachable")
	durationFlag(fs, &mo.allocationInterval, "allocation_interval", time.Second, "interval between batch allocations")
	fs.StringVar(&mo.weights, "weights", "", "role weights, e.g. eng=2")
	return cmd
}
