package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-sched/strata/core/mesos"
)

// strata maintenance: Mesos' maintenance primitives and agent draining
// from the command line (the master's /master/maintenance/*, /machine/*
// endpoints and DRAIN_AGENT / REACTIVATE_AGENT).

func newMaintenanceCmd() *cobra.Command {
	var master string
	cmd := &cobra.Command{
		Use:   "maintenance",
		Short: "Schedule machine maintenance, take machines down and up, drain agents",
	}
	cmd.PersistentFlags().StringVar(&master, "master", "127.0.0.1:5050", "master host:port, or zk://host:2181,.../path to find the leader")
	leader := func(ctx context.Context) (string, error) {
		m, err := resolveMaster(ctx, master)
		if err != nil {
			return "", err
		}
		return baseURL(m), nil
	}

	var start, duration string
	schedule := &cobra.Command{
		Use:   "schedule MACHINE...",
		Short: "Add a maintenance window for machines (hostname, ip or hostname/ip); they go DRAINING",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := parseMachines(args)
			if err != nil {
				return err
			}
			at, err := parseStart(start, time.Now())
			if err != nil {
				return err
			}
			w := mesos.MaintenanceWindow{MachineIDs: ids, Unavailability: mesos.Unavailability{Start: mesos.TimeInfo{Nanoseconds: at.UnixNano()}}}
			if duration != "" {
				d, err := parseDuration(duration)
				if err != nil {
					return fmt.Errorf("--duration %q: %w (e.g. 1h or 2hrs)", duration, err)
				}
				w.Unavailability.Duration = &mesos.DurationInfo{Nanoseconds: int64(d)}
			}
			base, err := leader(cmd.Context())
			if err != nil {
				return err
			}
			var s mesos.MaintenanceSchedule
			if err := getJSON(cmd.Context(), base+"/master/maintenance/schedule", &s); err != nil {
				return err
			}
			s.Windows = append(s.Windows, w)
			if err := postJSON(cmd.Context(), base+"/master/maintenance/schedule", s); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "scheduled %d machine(s) from %s; they are DRAINING\n", len(ids), at.UTC().Format(time.RFC3339))
			return nil
		},
	}
	schedule.Flags().StringVar(&start, "start", "now", "when the window starts: now, +30m (from now) or an RFC 3339 time")
	schedule.Flags().StringVar(&duration, "duration", "1h", "how long the machines may be unavailable (empty: open-ended)")

	machines := func(use, short, path, done string) *cobra.Command {
		return &cobra.Command{
			Use: use + " MACHINE...", Short: short, Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ids, err := parseMachines(args)
				if err != nil {
					return err
				}
				base, err := leader(cmd.Context())
				if err != nil {
					return err
				}
				if err := postJSON(cmd.Context(), base+path, ids); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d machine(s) %s\n", len(ids), done)
				return nil
			},
		}
	}
	down := machines("down", "Start maintenance: the machines' agents kill their tasks and stop", "/master/machine/down", "DOWN")
	up := machines("up", "End maintenance: the machines leave the schedule and may run agents again", "/master/machine/up", "UP")

	status := &cobra.Command{
		Use:   "status",
		Short: "Show draining and down machines and the frameworks' answers to inverse offers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := leader(cmd.Context())
			if err != nil {
				return err
			}
			var st mesos.MaintenanceStatus
			if err := getJSON(cmd.Context(), base+"/master/maintenance/status", &st); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MACHINE\tMODE\tFRAMEWORK ANSWERS")
			for _, m := range st.DrainingMachines {
				var answers []string
				for _, s := range m.Statuses {
					answers = append(answers, s.FrameworkID.Value+"="+s.Status)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", machineName(m.ID), mesos.MachineDraining, strings.Join(answers, " "))
			}
			for _, id := range st.DownMachines {
				fmt.Fprintf(tw, "%s\t%s\t\n", machineName(id), mesos.MachineDown)
			}
			return tw.Flush()
		},
	}

	var maxGrace string
	var markGone bool
	drain := &cobra.Command{
		Use:   "drain AGENT_ID",
		Short: "Drain an agent: no more offers, its tasks killed; DRAINED once empty",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			call := map[string]any{"agent_id": map[string]string{"value": args[0]}, "mark_gone": markGone}
			if maxGrace != "" {
				d, err := parseDuration(maxGrace)
				if err != nil {
					return fmt.Errorf("--max_grace_period %q: %w (e.g. 30s)", maxGrace, err)
				}
				call["max_grace_period"] = map[string]int64{"nanoseconds": int64(d)}
			}
			base, err := leader(cmd.Context())
			if err != nil {
				return err
			}
			if err := postJSON(cmd.Context(), base+"/api/v1", map[string]any{"type": "DRAIN_AGENT", "drain_agent": call}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "agent %s DRAINING (see drain_info in `strata state slaves`)\n", args[0])
			return nil
		},
	}
	drain.Flags().StringVar(&maxGrace, "max_grace_period", "", "kill tasks within at most this long (default: each task's own kill policy)")
	drain.Flags().BoolVar(&markGone, "mark_gone", false, "mark the agent gone once drained (it can never come back)")
	reactivate := &cobra.Command{
		Use:   "reactivate AGENT_ID",
		Short: "End a drain or a deactivation: the agent gets offers again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			base, err := leader(cmd.Context())
			if err != nil {
				return err
			}
			if err := postJSON(cmd.Context(), base+"/api/v1", map[string]any{"type": "REACTIVATE_AGENT",
				"reactivate_agent": map[string]any{"agent_id": map[string]string{"value": args[0]}}}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "agent %s active\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(schedule, down, up, status, drain, reactivate)
	return cmd
}

// parseMachines reads "host", "10.0.0.7" or "host/10.0.0.7".
func parseMachines(args []string) ([]mesos.MachineID, error) {
	ids := make([]mesos.MachineID, 0, len(args))
	for _, a := range args {
		var id mesos.MachineID
		if host, ip, ok := strings.Cut(a, "/"); ok {
			id = mesos.MachineID{Hostname: host, IP: ip}
		} else if net.ParseIP(a) != nil {
			id.IP = a
		} else {
			id.Hostname = a
		}
		if err := id.Validate(); err != nil {
			return nil, fmt.Errorf("machine %q: %w (write hostname, ip or hostname/ip)", a, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func machineName(id mesos.MachineID) string {
	switch {
	case id.Hostname != "" && id.IP != "":
		return id.Hostname + "/" + id.IP
	case id.Hostname != "":
		return id.Hostname
	}
	return id.IP
}

// parseStart reads now, +duration or an RFC 3339 time.
func parseStart(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "" || s == "now":
		return now, nil
	case strings.HasPrefix(s, "+"):
		d, err := parseDuration(s[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("--start %q: %w", s, err)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start %q: want now, +30m or an RFC 3339 time like 2026-11-23T02:00:00Z", s)
	}
	return t, nil
}

// postJSON POSTs v and expects a 2xx; the master's error text is returned.
func postJSON(ctx context.Context, u string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := toolClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w (is the master running? pass --master host:port)", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
