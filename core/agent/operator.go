package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/strata-sched/strata/core/mesos"
)

// The agent's v1 operator API, POST /api/v1 (Mesos' agent.proto Call and
// Response, JSON only): the read-only calls an operator or a tool needs.

// Agent operator call types served.
const (
	opGetHealth     = "GET_HEALTH"
	opGetFlags      = "GET_FLAGS"
	opGetVersion    = "GET_VERSION"
	opGetMetrics    = "GET_METRICS"
	opGetState      = "GET_STATE"
	opGetContainers = "GET_CONTAINERS"
	opGetFrameworks = "GET_FRAMEWORKS"
	opGetExecutors  = "GET_EXECUTORS"
	opGetTasks      = "GET_TASKS"
	opGetAgent      = "GET_AGENT"
)

// maxOperatorCallBytes bounds an operator call's body.
const maxOperatorCallBytes = 1 << 20

// agentCall is mesos.v1.agent.Call (the fields of the calls served).
type agentCall struct {
	Type       string `json:"type"`
	GetMetrics *struct {
		Timeout *mesos.DurationInfo `json:"timeout,omitempty"`
	} `json:"get_metrics,omitempty"`
	GetContainers *struct {
		ShowNested     bool `json:"show_nested,omitempty"`
		ShowStandalone bool `json:"show_standalone,omitempty"`
	} `json:"get_containers,omitempty"`
}

// agentResponse is mesos.v1.agent.Response; one payload is set.
type agentResponse struct {
	Type      string `json:"type"`
	GetHealth *struct {
		Healthy bool `json:"healthy"`
	} `json:"get_health,omitempty"`
	GetFlags      *mesos.GetFlags     `json:"get_flags,omitempty"`
	GetVersion    *mesos.GetVersion   `json:"get_version,omitempty"`
	GetMetrics    *mesos.GetMetrics   `json:"get_metrics,omitempty"`
	GetState      *agentGetState      `json:"get_state,omitempty"`
	GetContainers *agentGetContainers `json:"get_containers,omitempty"`
	GetFrameworks *agentGetFrameworks `json:"get_frameworks,omitempty"`
	GetExecutors  *agentGetExecutors  `json:"get_executors,omitempty"`
	GetTasks      *agentGetTasks      `json:"get_tasks,omitempty"`
	GetAgent      *agentGetAgent      `json:"get_agent,omitempty"`
}

type agentGetState struct {
	GetTasks      agentGetTasks      `json:"get_tasks"`
	GetExecutors  agentGetExecutors  `json:"get_executors"`
	GetFrameworks agentGetFrameworks `json:"get_frameworks"`
}

// agentGetTasks is the agent's GetTasks: pending (not launched yet),
// queued (waiting for their executor to subscribe), launched, terminated
// (terminal, update not yet acknowledged) and completed tasks.
type agentGetTasks struct {
	PendingTasks    []mesos.Task `json:"pending_tasks,omitempty"`
	QueuedTasks     []mesos.Task `json:"queued_tasks,omitempty"`
	LaunchedTasks   []mesos.Task `json:"launched_tasks,omitempty"`
	TerminatedTasks []mesos.Task `json:"terminated_tasks,omitempty"`
	CompletedTasks  []mesos.Task `json:"completed_tasks,omitempty"`
}

type agentExecutor struct {
	ExecutorInfo mesos.ExecutorInfo `json:"executor_info"`
}

type agentGetExecutors struct {
	Executors          []agentExecutor `json:"executors,omitempty"`
	CompletedExecutors []agentExecutor `json:"completed_executors,omitempty"`
}

type agentFramework struct {
	FrameworkInfo mesos.FrameworkInfo `json:"framework_info"`
}

type agentGetFrameworks struct {
	Frameworks          []agentFramework `json:"frameworks,omitempty"`
	CompletedFrameworks []agentFramework `json:"completed_frameworks,omitempty"`
}

type agentContainer struct {
	FrameworkID        *mesos.FrameworkID     `json:"framework_id,omitempty"`
	ExecutorID         *mesos.ExecutorID      `json:"executor_id,omitempty"`
	ExecutorName       string                 `json:"executor_name,omitempty"`
	ContainerID        mesos.ContainerID      `json:"container_id"`
	ContainerStatus    *mesos.ContainerStatus `json:"container_status,omitempty"`
	ResourceStatistics *resourceStatistics    `json:"resource_statistics,omitempty"`
}

type agentGetContainers struct {
	Containers []agentContainer `json:"containers,omitempty"`
}

type agentGetAgent struct {
	AgentInfo mesos.AgentInfo `json:"agent_info"`
}

// serveOperatorAPI is POST /api/v1.
func (a *Agent) serveOperatorAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("Expecting a 'POST' request, received '%s'", r.Method))
		return
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("Expecting 'Content-Type' of application/json; protobuf is not supported by this agent, received '%s'", ct))
		return
	}
	if acc := r.Header.Get("Accept"); acc != "" && !acceptsJSON(acc) {
		writeError(w, http.StatusNotAcceptable, fmt.Sprintf("Expecting 'Accept' to allow application/json, received '%s'", acc))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOperatorCallBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Failed to read the request body: "+err.Error())
		return
	}
	var call agentCall
	if err := json.Unmarshal(body, &call); err != nil {
		writeError(w, http.StatusBadRequest, "Failed to parse body into Call: "+err.Error())
		return
	}
	resp, err := a.operatorCall(r, &call)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, resp)
}

func acceptsJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "application/json" || mt == "*/*" || mt == "application/*") {
			return true
		}
	}
	return false
}

// operatorCall answers one call; an error is a 400.
func (a *Agent) operatorCall(r *http.Request, c *agentCall) (*agentResponse, error) {
	resp := &agentResponse{Type: c.Type}
	switch c.Type {
	case "":
		return nil, fmt.Errorf("Expecting 'type' to be present")
	case opGetHealth:
		resp.GetHealth = &struct {
			Healthy bool `json:"healthy"`
		}{true}
	case opGetFlags:
		resp.GetFlags = &mesos.GetFlags{Flags: []mesos.Flag{}}
		for _, name := range sortedKeys(a.cfg.Flags) {
			resp.GetFlags.Flags = append(resp.GetFlags.Flags, mesos.Flag{Name: name, Value: a.cfg.Flags[name]})
		}
	case opGetVersion:
		resp.GetVersion = &mesos.GetVersion{}
		resp.GetVersion.VersionInfo.Version = a.cfg.Version
	case opGetMetrics:
		snap := a.metricsSnapshot()
		resp.GetMetrics = &mesos.GetMetrics{}
		for _, name := range sortedKeys(snap) {
			resp.GetMetrics.Metrics = append(resp.GetMetrics.Metrics, mesos.Metric{Name: name, Value: snap[name]})
		}
	case opGetState:
		a.mu.Lock()
		resp.GetState = &agentGetState{GetTasks: a.getTasks(), GetExecutors: a.getExecutors(), GetFrameworks: a.getFrameworks()}
		a.mu.Unlock()
	case opGetTasks:
		a.mu.Lock()
		tasks := a.getTasks()
		a.mu.Unlock()
		resp.GetTasks = &tasks
	case opGetExecutors:
		a.mu.Lock()
		exs := a.getExecutors()
		a.mu.Unlock()
		resp.GetExecutors = &exs
	case opGetFrameworks:
		a.mu.Lock()
		fws := a.getFrameworks()
		a.mu.Unlock()
		resp.GetFrameworks = &fws
	case opGetContainers:
		nested := c.GetContainers != nil && c.GetContainers.ShowNested
		resp.GetContainers = a.getContainers(r, nested)
	case opGetAgent:
		a.mu.Lock()
		resp.GetAgent = &agentGetAgent{AgentInfo: a.agentInfo()}
		a.mu.Unlock()
	default:
		return nil, fmt.Errorf("Unsupported call type '%s' (this agent serves %s)", c.Type, strings.Join([]string{
			opGetHealth, opGetFlags, opGetVersion, opGetMetrics, opGetState, opGetContainers,
			opGetFrameworks, opGetExecutors, opGetTasks, opGetAgent}, ", "))
	}
	return resp, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// getTasks sorts the agent's tasks as the agent API does. Called with a.mu
// held.
func (a *Agent) getTasks() agentGetTasks {
	var out agentGetTasks
	for _, fw := range sortedFrameworks(a.frameworks) {
		for _, ex := range sortedExecutors(fw.executors) {
			for _, t := range sortedTasks(ex.tasks) {
				mt := t.mesosTask(a.id)
				switch {
				case t.state.IsTerminal():
					out.TerminatedTasks = append(out.TerminatedTasks, mt)
				case ex.kind != kindCustom && t.phase < phaseRunning && t.state == mesos.TaskStaging:
					out.PendingTasks = append(out.PendingTasks, mt)
				default:
					out.LaunchedTasks = append(out.LaunchedTasks, mt)
				}
			}
			for _, t := range ex.queued {
				out.QueuedTasks = append(out.QueuedTasks, t.mesosTask(a.id))
			}
			for _, t := range ex.completed {
				out.CompletedTasks = append(out.CompletedTasks, t.mesosTask(a.id))
			}
		}
		for _, ex := range fw.completedExecutors {
			for _, t := range ex.completed {
				out.CompletedTasks = append(out.CompletedTasks, t.mesosTask(a.id))
			}
		}
	}
	return out
}

// getExecutors lists the live and completed executors. Called with a.mu held.
func (a *Agent) getExecutors() agentGetExecutors {
	var out agentGetExecutors
	info := func(ex *executor) agentExecutor {
		ei := ex.info
		ei.FrameworkID = &mesos.FrameworkID{Value: ex.fw.id}
		return agentExecutor{ExecutorInfo: ei}
	}
	for _, fw := range sortedFrameworks(a.frameworks) {
		for _, ex := range sortedExecutors(fw.executors) {
			out.Executors = append(out.Executors, info(ex))
		}
		for _, ex := range fw.completedExecutors {
			out.CompletedExecutors = append(out.CompletedExecutors, info(ex))
		}
	}
	return out
}

// getFrameworks lists the live and completed frameworks. Called with a.mu held.
func (a *Agent) getFrameworks() agentGetFrameworks {
	var out agentGetFrameworks
	info := func(fw *framework) agentFramework {
		fi := fw.info
		fi.ID = &mesos.FrameworkID{Value: fw.id}
		return agentFramework{FrameworkInfo: fi}
	}
	for _, fw := range sortedFrameworks(a.frameworks) {
		out.Frameworks = append(out.Frameworks, info(fw))
	}
	for _, fw := range a.completedFrameworks {
		out.CompletedFrameworks = append(out.CompletedFrameworks, info(fw))
	}
	return out
}

// getContainers lists the live runs' containers with their usage and
// limits (with nested, a task group's task containers too).
func (a *Agent) getContainers(r *http.Request, nested bool) *agentGetContainers {
	a.mu.Lock()
	samples := a.runSamples(nested)
	a.mu.Unlock()
	out := &agentGetContainers{}
	for _, s := range samples {
		c := agentContainer{
			FrameworkID:  &mesos.FrameworkID{Value: s.fwID},
			ExecutorID:   &mesos.ExecutorID{Value: s.exID},
			ExecutorName: s.exName,
			ContainerID:  mesos.ContainerID{Value: s.containerID},
		}
		if s.parentID != "" {
			c.ContainerID.Parent = &mesos.ContainerID{Value: s.parentID}
		}
		cs := &mesos.ContainerStatus{ContainerID: &c.ContainerID}
		if s.pid > 0 {
			pid := uint32(s.pid)
			cs.ExecutorPID = &pid
		}
		c.ContainerStatus = cs
		if st, ok := a.sample(r.Context(), s); ok {
			c.ResourceStatistics = &st
		}
		out.Containers = append(out.Containers, c)
	}
	return out
}
