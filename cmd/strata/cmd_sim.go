package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/internal/simagent"
)

// newSimAgentsCmd runs many simulated agents in this process against a
// real master, for scale work (see internal/simagent).
func newSimAgentsCmd() *cobra.Command {
	var (
		o         simOptions
		logLevel  string
		interval  time.Duration
		hostIndex int
	)
	cmd := &cobra.Command{
		Use:   "sim-agents",
		Short: "Run N simulated agents in one process (fake tasks, real agent protocol) for scale tests",
		Long: `Runs --count lightweight simulated agents that register with the master (or follow the
leading master with --master zk://...), answer pings, run fake tasks (RUN_TASK -> TASK_STARTING,
TASK_RUNNING; KILL_TASK -> TASK_KILLED) and re-register with their tasks after a master failover.
Nothing is executed on this host. Progress is printed every --report_interval until Ctrl-C.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, _, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			cfg, err := o.config(log)
			if err != nil {
				return err
			}
			cfg.FirstIndex = hostIndex
			pool, err := simagent.New(cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			ctx := cmd.Context()
			done := make(chan error, 1)
			go func() { done <- pool.Run(ctx) }()
			fmt.Fprintf(out, "running %d simulated agents (%s each) against %s\n", cfg.Count, cfg.Resources, cfg.Master)
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case err := <-done:
					return err
				case <-tick.C:
					s := pool.Stats()
					fmt.Fprintf(out, "  connected %d/%d, registrations %d, re-registrations %d, tasks %d (running %d), updates unacknowledged %d, refused %d\n",
						s.Connected, s.Agents, s.Registrations, s.Reregistrations, s.Tasks, s.RunningTasks, s.PendingUpdates, s.Refused)
				}
			}
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.master, "master", "127.0.0.1:5050", "master host:port, or zk://host:2181/path to follow the leader")
	cmd.Flags().IntVar(&hostIndex, "first_index", 0, "number of the first agent's hostname (<hostname>-<n>), to run several processes")
	cmd.Flags().DurationVar(&interval, "report_interval", 5*time.Second, "how often to print progress")
	cmd.Flags().StringVar(&logLevel, "log_level", "warn", "debug, info, warn or error")
	return cmd
}

// simOptions are the simulated agents' flags, shared with strata bench.
type simOptions struct {
	master    string
	count     int
	resources string
	hostname  string
	backoff   time.Duration
	workers   int
}

func (o *simOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().IntVar(&o.count, "count", 1000, "number of simulated agents")
	cmd.Flags().StringVar(&o.resources, "resources", "cpus:4;mem:4096;disk:10000", "resources of every simulated agent")
	cmd.Flags().StringVar(&o.hostname, "hostname", "sim", "hostname prefix (<hostname>-00042)")
	durationFlag(cmd.Flags(), &o.backoff, "registration_backoff_factor", time.Second,
		"agents (re-)register after a random delay in [0, factor], doubling on failure (as real agents)")
	cmd.Flags().IntVar(&o.workers, "workers", 32, "concurrent calls to the master shared by all simulated agents")
}

func (o *simOptions) config(log *slog.Logger) (simagent.Config, error) {
	res, err := mesos.ParseResources(o.resources, "")
	if err != nil {
		return simagent.Config{}, fmt.Errorf("--resources: %w", err)
	}
	if o.count < 1 {
		return simagent.Config{}, fmt.Errorf("--count %d: need at least one agent", o.count)
	}
	return simagent.Config{Master: o.master, Count: o.count, Resources: res, Hostname: o.hostname,
		RegistrationBackoffFactor: o.backoff, Workers: o.workers, Version: version, Logger: log}, nil
}
