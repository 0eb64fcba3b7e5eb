package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "End-to-end benchmarks against a running cluster (e.g. strata dev)"}
	cmd.AddCommand(newBenchLaunchCmd(), newBenchFailoverCmd(), newBenchStateCmd())
	return cmd
}

// newBenchLaunchCmd measures the time from the first ACCEPT to every task
// RUNNING for N sleep tasks, and the master+agent process memory per task.
func newBenchLaunchCmd() *cobra.Command {
	var (
		master  string
		tasks   int
		cpus    float64
		mem     float64
		command string
	)
	cmd := &cobra.Command{
		Use:   "launch",
		Short: "Launch N sleep tasks through the scheduler API; report time to all RUNNING and memory per task",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tasks < 1 {
				return fmt.Errorf("--tasks must be at least 1")
			}
			out := cmd.OutOrStdout()
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Minute)
			defer cancel()
			rssBefore, rssErr := processRSS(ctx, master)

			var (
				mu          sync.Mutex
				launched    int
				running     = map[string]bool{}
				failed      []string
				firstAccept time.Time
				allRunning  = make(chan time.Duration, 1)
			)
			h := scheduler.HandlerFuncs{
				OffersFunc: func(ctx context.Context, c *scheduler.Client, offers []mesos.Offer) {
					for _, o := range offers {
						mu.Lock()
						left := tasks - launched
						mu.Unlock()
						var batch []mesos.TaskInfo
						rest := mesos.Resources(o.Resources)
						for len(batch) < left {
							taken, remaining, ok := scheduler.Take(rest, map[string]float64{"cpus": cpus, "mem": mem})
							if !ok {
								break
							}
							rest = remaining
							mu.Lock()
							id := fmt.Sprintf("bench-%d", launched+len(batch))
							mu.Unlock()
							batch = append(batch, scheduler.CommandTask(id, id, o, taken, command))
						}
						if len(batch) == 0 {
							_ = c.Decline(ctx, []mesos.OfferID{o.ID}, scheduler.RefuseSeconds(1))
							continue
						}
						mu.Lock()
						if firstAccept.IsZero() {
							firstAccept = time.Now()
						}
						launched += len(batch)
						mu.Unlock()
						if err := c.Launch(ctx, o.ID, batch, scheduler.RefuseSeconds(0.1)); err != nil {
							fmt.Fprintln(out, "launch failed:", err)
						}
					}
				},
				UpdateFunc: func(ctx context.Context, c *scheduler.Client, st mesos.TaskStatus) {
					mu.Lock()
					defer mu.Unlock()
					switch {
					case st.State == mesos.TaskRunning:
						running[st.TaskID.Value] = true
						if len(running) == tasks {
							select {
							case allRunning <- time.Since(firstAccept):
							default:
							}
						}
					case st.State.IsTerminal():
						failed = append(failed, st.TaskID.Value+": "+string(st.State)+" "+st.Message)
					}
				},
			}
			c, err := scheduler.New(scheduler.Config{
				Master: master, AutoAck: true, Handler: h, Logger: slog.New(slog.DiscardHandler),
				Framework: mesos.FrameworkInfo{User: currentUser(), Name: "strata-bench", FailoverTimeout: 0},
			})
			if err != nil {
				return err
			}
			runErr := make(chan error, 1)
			go func() { runErr <- c.Run(ctx) }()
			fmt.Fprintf(out, "launching %d tasks (%s, cpus %.3g, mem %.3g) on %s\n", tasks, command, cpus, mem, master)
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			var took time.Duration
		wait:
			for {
				select {
				case took = <-allRunning:
					break wait
				case err := <-runErr:
					return fmt.Errorf("scheduler stopped: %v", err)
				case <-ctx.Done():
					return fmt.Errorf("timed out: %w", ctx.Err())
				case <-tick.C:
					mu.Lock()
					fmt.Fprintf(out, "  launched %d/%d, running %d, failed %d\n", launched, tasks, len(running), len(failed))
					if len(failed) > 0 {
						fmt.Fprintln(out, "  first failure:", failed[0])
					}
					mu.Unlock()
				}
			}
			fmt.Fprintf(out, "all %d tasks RUNNING %.3fs after the first ACCEPT (%.0f tasks/s)\n", tasks, took.Seconds(), float64(tasks)/took.Seconds())
			if rssErr == nil {
				if rssAfter, err := processRSS(ctx, master); err == nil {
					fmt.Fprintf(out, "master+agent process RSS: %.1f MiB before, %.1f MiB with %d tasks: %.1f KiB per task\n",
						float64(rssBefore)/(1<<20), float64(rssAfter)/(1<<20), tasks, float64(rssAfter-rssBefore)/1024/float64(tasks))
				}
			}
			fmt.Fprintln(out, "tearing down")
			return c.Teardown(ctx)
		},
	}
	cmd.Flags().StringVar(&master, "master", "127.0.0.1:5050", "master host:port")
	cmd.Flags().IntVar(&tasks, "tasks", 1000, "number of tasks")
	cmd.Flags().Float64Var(&cpus, "cpus", 0.001, "cpus per task")
	cmd.Flags().Float64Var(&mem, "mem", 1, "mem (MB) per task")
	cmd.Flags().StringVar(&command, "command", "sleep 600", "task command")
	return cmd
}

// processRSS reads process_resident_memory_bytes from the master's /metrics
// (in strata dev the master and agents share one process).
func processRSS(ctx context.Context, master string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL(master)+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := toolClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, fmt.Errorf("no process_resident_memory_bytes in %s/metrics", master)
}
