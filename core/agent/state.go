package agent

import (
	"net/http"
	"slices"
	"strings"

	"github.com/strata-sched/strata/core/mesos"
)

// The v0 agent state (/state, /slave(1)/state), in Mesos' JSON shape
// (src/slave/http.cpp, src/common/http.cpp model()).
type (
	stateJSON struct {
		Version             string                    `json:"version"`
		BuildDate           string                    `json:"build_date"`
		BuildTime           float64                   `json:"build_time"`
		BuildUser           string                    `json:"build_user"`
		StartTime           float64                   `json:"start_time"`
		ID                  string                    `json:"id"`
		PID                 string                    `json:"pid"`
		Hostname            string                    `json:"hostname"`
		Capabilities        []string                  `json:"capabilities"`
		Resources           map[string]any            `json:"resources"`
		ReservedResources   map[string]map[string]any `json:"reserved_resources"`
		UnreservedResources map[string]any            `json:"unreserved_resources"`
		Attributes          map[string]any            `json:"attributes"`
		MasterHostname      string                    `json:"master_hostname,omitempty"`
		Flags               map[string]string         `json:"flags"`
		Frameworks          []frameworkJSON           `json:"frameworks"`
		CompletedFrameworks []frameworkJSON           `json:"completed_frameworks"`
	}
	frameworkJSON struct {
		ID                 string         `json:"id"`
		Name               string         `json:"name"`
		User               string         `json:"user"`
		FailoverTimeout    mesos.Double   `json:"failover_timeout"`
		Checkpoint         bool           `json:"checkpoint"`
		Hostname           string         `json:"hostname"`
		Role               string         `json:"role"`
		Roles              []string       `json:"roles,omitempty"`
		Principal          string         `json:"principal,omitempty"`
		Capabilities       []string       `json:"capabilities"`
		Executors          []executorJSON `json:"executors"`
		CompletedExecutors []executorJSON `json:"completed_executors"`
		Labels             []mesos.Label  `json:"labels,omitempty"`
	}
	executorJSON struct {
		ID             string         `json:"id"`
		Name           string         `json:"name"`
		Source         string         `json:"source"`
		Container      string         `json:"container"`
		Directory      string         `json:"directory"`
		Resources      map[string]any `json:"resources"`
		Role           string         `json:"role,omitempty"`
		Type           string         `json:"type,omitempty"`
		Labels         []mesos.Label  `json:"labels,omitempty"`
		Tasks          []taskJSON     `json:"tasks"`
		QueuedTasks    []taskJSON     `json:"queued_tasks"`
		CompletedTasks []taskJSON     `json:"completed_tasks"`
	}
	taskJSON struct {
		ID          string               `json:"id"`
		Name        string               `json:"name"`
		FrameworkID string               `json:"framework_id"`
		ExecutorID  string               `json:"executor_id"`
		SlaveID     string               `json:"slave_id"`
		State       mesos.TaskState      `json:"state"`
		Resources   map[string]any       `json:"resources"`
		Role        string               `json:"role,omitempty"`
		Statuses    []statusJSON         `json:"statuses"`
		Labels      []mesos.Label        `json:"labels,omitempty"`
		Discovery   *mesos.DiscoveryInfo `json:"discovery,omitempty"`
		Container   *mesos.ContainerInfo `json:"container,omitempty"`
		HealthCheck *mesos.HealthCheck   `json:"health_check,omitempty"`
		User        string               `json:"user,omitempty"`
	}
	statusJSON struct {
		State           mesos.TaskState        `json:"state"`
		Timestamp       float64                `json:"timestamp"`
		Healthy         *bool                  `json:"healthy,omitempty"`
		Labels          []mesos.Label          `json:"labels,omitempty"`
		ContainerStatus *mesos.ContainerStatus `json:"container_status,omitempty"`
	}
)

func (a *Agent) serveState(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	s := a.stateLocked()
	a.mu.Unlock()
	writeJSON(w, s)
}

// stateLocked renders the v0 state. Called with a.mu held.
func (a *Agent) stateLocked() stateJSON {
	s := stateJSON{
		Version:             a.cfg.Version,
		StartTime:           unixSeconds(a.startTime),
		ID:                  a.id,
		PID:                 "slave(1)@" + a.endpoint,
		Hostname:            a.cfg.Hostname,
		Capabilities:        []string{"MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT", "TASK_NO_EXECUTOR_CONTAINER"},
		Resources:           a.total.V0(),
		ReservedResources:   map[string]map[string]any{},
		UnreservedResources: a.total.Filter(func(r *mesos.Resource) bool { return !r.IsReserved() }).V0(),
		Attributes:          attributesV0(a.cfg.Attributes),
		Flags:               a.cfg.Flags,
		Frameworks:          []frameworkJSON{},
		CompletedFrameworks: []frameworkJSON{},
	}
	for _, role := range reservationRoles(a.total) {
		s.ReservedResources[role] = a.total.Filter(func(r *mesos.Resource) bool { return r.ReservationRole() == role }).V0()
	}
	if a.masterInfo != nil {
		s.MasterHostname = a.masterInfo.Hostname
	}
	for _, fw := range sortedFrameworks(a.frameworks) {
		s.Frameworks = append(s.Frameworks, a.frameworkState(fw))
	}
	for _, fw := range a.completedFrameworks {
		s.CompletedFrameworks = append(s.CompletedFrameworks, a.frameworkState(fw))
	}
	return s
}

func reservationRoles(rs mesos.Resources) []string {
	var roles []string
	for i := range rs {
		if r := rs[i].ReservationRole(); r != "*" && !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	slices.Sort(roles)
	return roles
}

func sortedFrameworks(m map[string]*framework) []*framework {
	out := make([]*framework, 0, len(m))
	for _, fw := range m {
		out = append(out, fw)
	}
	slices.SortFunc(out, func(x, y *framework) int { return strings.Compare(x.id, y.id) })
	return out
}

func sortedExecutors(m map[string]*executor) []*executor {
	out := make([]*executor, 0, len(m))
	for _, ex := range m {
		out = append(out, ex)
	}
	slices.SortFunc(out, func(x, y *executor) int { return strings.Compare(x.id, y.id) })
	return out
}

// attributesV0 renders attributes as the v0 map: scalars as numbers,
// everything else as its text form.
func attributesV0(attrs []mesos.Attribute) map[string]any {
	m := make(map[string]any, len(attrs))
	for i := range attrs {
		at := &attrs[i]
		if at.Type == mesos.SCALAR && at.Scalar != nil {
			m[at.Name] = at.Scalar.Value
			continue
		}
		m[at.Name] = at.ValueString()
	}
	return m
}

func (a *Agent) frameworkState(fw *framework) frameworkJSON {
	role := fw.info.Role
	if role == "" {
		role = "*"
	}
	f := frameworkJSON{
		ID:                 fw.id,
		Name:               fw.info.Name,
		User:               fw.info.User,
		FailoverTimeout:    fw.info.FailoverTimeout,
		Checkpoint:         fw.info.Checkpoint,
		Hostname:           fw.info.Hostname,
		Role:               role,
		Roles:              fw.info.Roles,
		Principal:          fw.info.Principal,
		Capabilities:       []string{},
		Executors:          []executorJSON{},
		CompletedExecutors: []executorJSON{},
	}
	if fw.info.Labels != nil {
		f.Labels = fw.info.Labels.Labels
	}
	for _, c := range fw.info.Capabilities {
		f.Capabilities = append(f.Capabilities, c.Type)
	}
	for _, ex := range sortedExecutors(fw.executors) {
		f.Executors = append(f.Executors, a.executorState(ex))
	}
	for _, ex := range fw.completedExecutors {
		f.CompletedExecutors = append(f.CompletedExecutors, a.executorState(ex))
	}
	return f
}

func (a *Agent) executorState(ex *executor) executorJSON {
	e := executorJSON{
		ID:             ex.id,
		Name:           ex.info.Name,
		Source:         ex.info.Source,
		Container:      ex.containerID,
		Directory:      ex.sandbox,
		Resources:      ex.allResources().V0(),
		Type:           ex.info.Type,
		Tasks:          []taskJSON{},
		QueuedTasks:    []taskJSON{},
		CompletedTasks: []taskJSON{},
	}
	if ex.kind == kindCustom && e.Type == "" {
		e.Type = "CUSTOM"
	}
	if ex.info.Labels != nil {
		e.Labels = ex.info.Labels.Labels
	}
	for _, t := range sortedTasks(ex.tasks) {
		e.Tasks = append(e.Tasks, a.taskState(t))
	}
	for _, t := range ex.queued {
		e.QueuedTasks = append(e.QueuedTasks, a.taskState(t))
	}
	for _, t := range ex.completed {
		e.CompletedTasks = append(e.CompletedTasks, a.taskState(t))
	}
	return e
}

func (a *Agent) taskState(t *task) taskJSON {
	j := taskJSON{
		ID:          t.info.TaskID.Value,
		Name:        t.info.Name,
		FrameworkID: t.ex.fw.id,
		SlaveID:     a.id,
		State:       t.state,
		Resources:   mesos.Resources(t.info.Resources).V0(),
		Statuses:    make([]statusJSON, 0, len(t.statuses)),
		Discovery:   t.info.Discovery,
		Container:   t.info.Container,
		HealthCheck: t.info.HealthCheck,
		User:        t.user(),
	}
	if t.ex.kind != kindCommand {
		j.ExecutorID = t.ex.id
	}
	if len(t.info.Resources) > 0 {
		if role := t.info.Resources[0].AllocationRole(); role != "" {
			j.Role = role
		}
	}
	if t.info.Labels != nil {
		j.Labels = t.info.Labels.Labels
	}
	for _, st := range t.statuses {
		sj := statusJSON{State: st.State, Timestamp: st.Timestamp, Healthy: st.Healthy, ContainerStatus: st.ContainerStatus}
		if st.Labels != nil {
			sj.Labels = st.Labels.Labels
		}
		j.Statuses = append(j.Statuses, sj)
	}
	return j
}
