package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// The operator tools read the master's and agents' v0 JSON endpoints, as
// mesos-ps, mesos-cat, mesos-tail and mesos-state do.

func masterFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "master", "127.0.0.1:5050", "master host:port, or zk://host:2181,.../path to find the leader")
}

func baseURL(hostport string) string {
	if strings.HasPrefix(hostport, "http://") || strings.HasPrefix(hostport, "https://") {
		return strings.TrimSuffix(hostport, "/")
	}
	return "http://" + hostport
}

var toolClient = &http.Client{Timeout: 30 * time.Second}

func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := toolClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w (is the master running? pass --master host:port)", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: bad JSON: %w", u, err)
	}
	return nil
}

// v0 shapes the tools read.
type v0Task struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	FrameworkID string         `json:"framework_id"`
	ExecutorID  string         `json:"executor_id"`
	SlaveID     string         `json:"slave_id"`
	State       string         `json:"state"`
	Resources   map[string]any `json:"resources"`
}

type v0State struct {
	Slaves []struct {
		ID       string `json:"id"`
		PID      string `json:"pid"`
		Hostname string `json:"hostname"`
		Port     int    `json:"port"`
	} `json:"slaves"`
	Frameworks []struct {
		ID             string   `json:"id"`
		Name           string   `json:"name"`
		Tasks          []v0Task `json:"tasks"`
		CompletedTasks []v0Task `json:"completed_tasks"`
	} `json:"frameworks"`
	CompletedFrameworks []struct {
		ID             string   `json:"id"`
		Name           string   `json:"name"`
		CompletedTasks []v0Task `json:"completed_tasks"`
	} `json:"completed_frameworks"`
}

func newStateCmd() *cobra.Command {
	var master string
	cmd := &cobra.Command{
		Use:   "state [key.path]",
		Short: "Print the master's state as JSON, or one value of it (e.g. frameworks.0.name)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			master, err := resolveMaster(cmd.Context(), master)
			if err != nil {
				return err
			}
			var st any
			if err := getJSON(cmd.Context(), baseURL(master)+"/master/state", &st); err != nil {
				return err
			}
			if len(args) == 1 {
				for _, k := range strings.Split(args[0], ".") {
					switch v := st.(type) {
					case map[string]any:
						next, ok := v[k]
						if !ok {
							return fmt.Errorf("state has no key %q", k)
						}
						st = next
					case []any:
						i, err := strconv.Atoi(k)
						if err != nil || i < 0 || i >= len(v) {
							return fmt.Errorf("index %q out of range (0..%d)", k, len(v)-1)
						}
						st = v[i]
					default:
						return fmt.Errorf("cannot index %T with %q", st, k)
					}
				}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		},
	}
	masterFlag(cmd, &master)
	return cmd
}

func newPsCmd() *cobra.Command {
	var master string
	var all bool
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List tasks with state, host and resources (like mesos-ps)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			master, err := resolveMaster(cmd.Context(), master)
			if err != nil {
				return err
			}
			var st v0State
			if err := getJSON(cmd.Context(), baseURL(master)+"/master/state", &st); err != nil {
				return err
			}
			hosts := map[string]string{}
			for _, s := range st.Slaves {
				hosts[s.ID] = s.Hostname
			}
			type row struct {
				fw string
				t  v0Task
			}
			var rows []row
			for _, f := range st.Frameworks {
				for _, t := range f.Tasks {
					rows = append(rows, row{f.Name, t})
				}
				if all {
					for _, t := range f.CompletedTasks {
						rows = append(rows, row{f.Name, t})
					}
				}
			}
			if all {
				for _, f := range st.CompletedFrameworks {
					for _, t := range f.CompletedTasks {
						rows = append(rows, row{f.Name, t})
					}
				}
			}
			sort.SliceStable(rows, func(i, j int) bool { return rows[i].t.ID < rows[j].t.ID })
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TASK\tFRAMEWORK\tSTATE\tHOST\tCPUS\tMEM\tDISK\tNAME")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%v\t%v\t%s\n", r.t.ID, r.fw, strings.TrimPrefix(r.t.State, "TASK_"),
					hosts[r.t.SlaveID], r.t.Resources["cpus"], r.t.Resources["mem"], r.t.Resources["disk"], r.t.Name)
			}
			return tw.Flush()
		},
	}
	masterFlag(cmd, &master)
	cmd.Flags().BoolVarP(&all, "all", "a", false, "include completed tasks")
	return cmd
}

// sandboxOf finds the agent URL and sandbox directory of a task given by ID
// or unique ID prefix.
func sandboxOf(ctx context.Context, master, taskID string) (agentURL, dir string, err error) {
	if master, err = resolveMaster(ctx, master); err != nil {
		return "", "", err
	}
	var st v0State
	if err := getJSON(ctx, baseURL(master)+"/master/state", &st); err != nil {
		return "", "", err
	}
	var matches []v0Task
	var all [][]v0Task
	for _, f := range st.Frameworks {
		all = append(all, append(append([]v0Task{}, f.Tasks...), f.CompletedTasks...))
	}
	for _, f := range st.CompletedFrameworks {
		all = append(all, f.CompletedTasks)
	}
	for _, tasks := range all {
		for _, t := range tasks {
			if t.ID == taskID {
				matches = []v0Task{t}
				goto found
			}
			if strings.HasPrefix(t.ID, taskID) {
				matches = append(matches, t)
			}
		}
	}
found:
	switch {
	case len(matches) == 0:
		return "", "", fmt.Errorf("no task %q; list tasks with `strata ps -a`", taskID)
	case len(matches) > 1:
		return "", "", fmt.Errorf("task %q is ambiguous (%d tasks match); give more of the ID", taskID, len(matches))
	}
	t := matches[0]
	for _, s := range st.Slaves {
		if s.ID == t.SlaveID {
			agentURL = "http://" + s.Hostname + ":" + strconv.Itoa(s.Port)
		}
	}
	if agentURL == "" {
		return "", "", fmt.Errorf("task %s is on agent %s which is not registered", t.ID, t.SlaveID)
	}
	var ast struct {
		Frameworks          []agentFramework `json:"frameworks"`
		CompletedFrameworks []agentFramework `json:"completed_frameworks"`
	}
	if err := getJSON(ctx, agentURL+"/state", &ast); err != nil {
		return "", "", err
	}
	execID := t.ExecutorID
	if execID == "" {
		execID = t.ID
	}
	for _, f := range append(ast.Frameworks, ast.CompletedFrameworks...) {
		if f.ID != t.FrameworkID {
			continue
		}
		for _, e := range append(f.Executors, f.CompletedExecutors...) {
			if e.ID == execID {
				return agentURL, e.Directory, nil
			}
		}
	}
	return "", "", fmt.Errorf("agent %s has no sandbox for task %s (it may have been garbage-collected)", agentURL, t.ID)
}

type agentFramework struct {
	ID                 string          `json:"id"`
	Executors          []agentExecutor `json:"executors"`
	CompletedExecutors []agentExecutor `json:"completed_executors"`
}

type agentExecutor struct {
	ID        string `json:"id"`
	Directory string `json:"directory"`
}

// readFile reads a sandbox file from offset; returns data and the new offset.
func readFile(ctx context.Context, agentURL, path string, offset int64) ([]byte, int64, error) {
	var out struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	u := fmt.Sprintf("%s/files/read?path=%s&offset=%d&length=%d", agentURL, url.QueryEscape(path), offset, 1<<20)
	if err := getJSON(ctx, u, &out); err != nil {
		return nil, offset, err
	}
	return []byte(out.Data), out.Offset + int64(len(out.Data)), nil
}

func newCatCmd() *cobra.Command {
	var master string
	cmd := &cobra.Command{
		Use:   "cat <task> [stdout|stderr]",
		Short: "Print a task's stdout or stderr (like mesos-cat)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := "stdout"
			if len(args) == 2 {
				file = args[1]
			}
			agentURL, dir, err := sandboxOf(cmd.Context(), master, args[0])
			if err != nil {
				return err
			}
			var off int64
			for {
				data, next, err := readFile(cmd.Context(), agentURL, dir+"/"+file, off)
				if err != nil {
					return err
				}
				if len(data) == 0 {
					return nil
				}
				if _, err := cmd.OutOrStdout().Write(data); err != nil {
					return err
				}
				off = next
			}
		},
	}
	masterFlag(cmd, &master)
	return cmd
}

func newTailCmd() *cobra.Command {
	var master string
	var follow bool
	var lines int
	cmd := &cobra.Command{
		Use:   "tail [-f] <task> [stdout|stderr]",
		Short: "Print the end of a task's stdout or stderr, optionally following it (like mesos-tail)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := "stdout"
			if len(args) == 2 {
				file = args[1]
			}
			ctx := cmd.Context()
			agentURL, dir, err := sandboxOf(ctx, master, args[0])
			if err != nil {
				return err
			}
			path := dir + "/" + file
			var size struct {
				Offset int64 `json:"offset"`
			}
			if err := getJSON(ctx, fmt.Sprintf("%s/files/read?path=%s&offset=-1", agentURL, url.QueryEscape(path)), &size); err != nil {
				return err
			}
			// Read the last 64 KiB and keep the last N lines.
			off := max(size.Offset-64<<10, 0)
			data, next, err := readFile(ctx, agentURL, path, off)
			if err != nil {
				return err
			}
			all := strings.SplitAfter(string(data), "\n")
			if n := len(all); n > 0 && all[n-1] == "" {
				all = all[:n-1]
			}
			if len(all) > lines {
				all = all[len(all)-lines:]
			}
			out := cmd.OutOrStdout()
			io.WriteString(out, strings.Join(all, ""))
			for follow {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(500 * time.Millisecond):
				}
				data, n2, err := readFile(ctx, agentURL, path, next)
				if err != nil {
					fmt.Fprintln(os.Stderr, "strata tail:", err)
					continue
				}
				out.Write(data)
				next = n2
			}
			return nil
		},
	}
	masterFlag(cmd, &master)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing what the task writes")
	cmd.Flags().IntVarP(&lines, "lines", "n", 10, "number of lines to print")
	return cmd
}
