package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/marathon"
)

// marathonOptions are the flags of `strata marathon`.
type marathonOptions struct {
	master, zk, hostname, ip, workDir, frameworkName, role, user, logLevel string
	httpPort                                                               int
	failoverTimeout, killDrain                                             time.Duration
	disableMaintenanceMode                                                 bool
	drainingSeconds                                                        int
	localPortMin, localPortMax                                             int
	// levelVar is the level switch of the logger Marathon is given; POST
	// /logging changes it (nil: the level is fixed).
	levelVar *slog.LevelVar
}

func addMarathonFlags(cmd *cobra.Command, o *marathonOptions) {
	fs := cmd.Flags()
	fs.StringVar(&o.master, "master", "", "master to subscribe to, host:port (or a comma-separated list)")
	fs.StringVar(&o.zk, "zk", "", "ZooKeeper URL for state and leader election, zk://host1:2181,host2:2181/marathon (default: an embedded store in --work_dir, single instance)")
	fs.IntVar(&o.httpPort, "http_port", 8080, "port of the Marathon REST API")
	fs.StringVar(&o.ip, "ip", "127.0.0.1", "IP address to listen on")
	fs.StringVar(&o.hostname, "hostname", "", "hostname advertised to other Marathon instances and the master (default: --ip)")
	fs.StringVar(&o.workDir, "work_dir", "", "state directory of the embedded store when --zk is not given (default: <state dir>/marathon)")
	fs.StringVar(&o.frameworkName, "framework_name", "marathon", "framework name registered with the master")
	fs.StringVar(&o.role, "mesos_role", "*", "Mesos role of the framework and default role of apps")
	fs.StringVar(&o.user, "mesos_user", "", "user tasks run as when the app names none (default: the current user)")
	durationFlag(fs, &o.failoverTimeout, "failover_timeout", 7*24*time.Hour, "how long the master keeps tasks while Marathon is away")
	fs.BoolVar(&o.disableMaintenanceMode, "disable_maintenance_mode", false, "use offers from agents in a maintenance window (by default they are declined)")
	fs.IntVar(&o.drainingSeconds, "draining_seconds", 0, "also decline offers from agents whose maintenance window starts within this many seconds")
	durationFlag(fs, &o.killDrain, "kill_drain", 0, "show tasks as TASK_KILLING this long before killing them, so load balancers drain them (Strata extension)")
	fs.IntVar(&o.localPortMin, "local_port_min", 10000, "lowest service port")
	fs.IntVar(&o.localPortMax, "local_port_max", 20000, "highest service port")
	fs.StringVar(&o.logLevel, "log_level", "info", "debug, info, warn or error")
}

func newMarathonCmd() *cobra.Command {
	var o marathonOptions
	cmd := &cobra.Command{
		Use:   "marathon",
		Short: "Run Marathon: long-running services through Marathon's v2 REST API",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd); err != nil {
				return err
			}
			log, lv, err := newLogger(o.logLevel)
			if err != nil {
				return err
			}
			o.levelVar = lv
			addr, run, err := startMarathon(cmd.Context(), o, log)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "strata marathon: http://%s\n", addr)
			return run()
		},
	}
	addMarathonFlags(cmd, &o)
	return cmd
}

// startMarathon opens Marathon's store, builds it and starts listening. It
// returns the address it listens on and run, which serves and schedules
// until ctx ends. strata dev calls it with its own options.
func startMarathon(ctx context.Context, o marathonOptions, log *slog.Logger) (addr string, run func() error, err error) {
	if o.master == "" {
		return "", nil, errors.New("--master is required (host:port of the master, e.g. --master 127.0.0.1:5050)")
	}
	if o.frameworkName == "" {
		o.frameworkName = "marathon"
	}
	if o.user == "" {
		o.user = currentUser()
	}
	if o.ip == "" {
		o.ip = "127.0.0.1"
	}
	var st store.Store
	var el store.Elector
	if o.zk != "" {
		zk, err := store.OpenZK(ctx, o.zk, store.ZKOptions{}, log)
		if err != nil {
			return "", nil, fmt.Errorf("--zk: %w", err)
		}
		st, el = zk, zk.Elector(o.frameworkName)
	} else {
		dir := workDirFor(o.workDir, "marathon")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("--work_dir %s: %w", dir, err)
		}
		emb, err := store.OpenEmbedded(dir, log)
		if err != nil {
			return "", nil, fmt.Errorf("--work_dir %s: %w", dir, err)
		}
		st, el = emb, emb.Elector()
	}
	ln, err := listen(o.ip, o.httpPort, "--http_port")
	if err != nil {
		st.Close()
		return "", nil, err
	}
	host := o.hostname
	if host == "" {
		host = o.ip
	}
	advertised := net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	m, err := marathon.New(marathon.Config{
		Master: o.master, Store: st, Elector: el, HTTPAddr: advertised, Hostname: host, Logger: log, LevelVar: o.levelVar,
		FrameworkName: o.frameworkName, User: o.user, Role: o.role, FailoverTimeout: o.failoverTimeout,
		ZK: o.zk, ServicePortMin: o.localPortMin, ServicePortMax: o.localPortMax, KillDrain: o.killDrain,
		DisableMaintenanceMode: o.disableMaintenanceMode, DrainingTime: time.Duration(o.drainingSeconds) * time.Second,
	})
	if err != nil {
		ln.Close()
		st.Close()
		return "", nil, err
	}
	log.Info("marathon listening", "addr", ln.Addr().String(), "advertised", advertised, "master", o.master)
	return ln.Addr().String(), func() error {
		defer st.Close()
		errc := make(chan error, 2)
		go func() { errc <- m.Run(ctx) }()
		go func() { errc <- serve(ctx, ln, m.Handler(), log) }()
		err := <-errc
		<-errc
		return err
	}, nil
}

// devMarathonOptions are the options `strata dev` runs Marathon with: the
// REST API on ip:8080 next to the master at master, its state in
// <workDir>/marathon, framework "marathon" in role "*".
func devMarathonOptions(master, ip, workDir string) marathonOptions {
	return marathonOptions{
		master: master, ip: ip, httpPort: 8080, workDir: filepath.Join(workDir, "marathon"),
		frameworkName: "marathon", role: "*", failoverTimeout: 7 * 24 * time.Hour,
		localPortMin: 10000, localPortMax: 20000,
	}
}
