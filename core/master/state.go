package master

import (
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// This file renders the master's state for operators: the v0 JSON
// endpoints (/master/state, /master/state-summary, /master/frameworks,
// /master/slaves, /master/tasks, /master/roles — Mesos' shapes from
// src/master/readonly_handler.cpp and src/common/http.cpp, with the v0
// names slave_id/slaves and resources as {"cpus":1,"mem":128} maps) and the
// v1 operator views shared by GET_STATE and the SUBSCRIBED event.
//
// Every builder runs with m.mu held. The v0 builders copy what they read
// into fresh values, so their result is encoded after unlocking; the v1
// builders return mesos types that share slices with the master's state, so
// callers marshal them before unlocking.

// Build information, set at link time with
// -ldflags "-X github.com/strata-sched/strata/core/master.buildDate=..."
// (never written at run time). buildDate is "2006-01-02 15:04:05" UTC.
var (
	buildDate string
	buildUser string
	gitSHA    string
)

// buildTime is buildDate in seconds since the epoch (0 when unknown).
func buildTime() float64 {
	t, err := time.Parse(time.DateTime, buildDate)
	if err != nil {
		return 0
	}
	return float64(t.Unix())
}

// secs renders a time as Mesos' v0 endpoints do: seconds as a float, 0 when unset.
func secs(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return timestamp(t)
}

func secsPtr(t time.Time) *float64 {
	if t.IsZero() {
		return nil
	}
	s := timestamp(t)
	return &s
}

// v0Resources is the v0 resource map ({"cpus":1,"mem":128,"ports":"[31000-31005]"}).
type v0Resources = map[string]any

func labelsV0(l *mesos.Labels) []mesos.Label {
	if l == nil {
		return nil
	}
	return l.Labels
}

// attributesV0 renders attributes as Mesos' v0 model does: name -> value,
// scalars as numbers, text as strings, ranges "[a-b]" and sets "{a,b}".
func attributesV0(attrs []mesos.Attribute) map[string]any {
	out := make(map[string]any, len(attrs))
	for i := range attrs {
		a := &attrs[i]
		if a.Type == mesos.SCALAR && a.Scalar != nil {
			out[a.Name] = a.Scalar.Value
			continue
		}
		out[a.Name] = a.ValueString()
	}
	return out
}

type v0Status struct {
	State           mesos.TaskState        `json:"state"`
	Timestamp       float64                `json:"timestamp"`
	Labels          []mesos.Label          `json:"labels,omitempty"`
	ContainerStatus *mesos.ContainerStatus `json:"container_status,omitempty"`
	Healthy         *bool                  `json:"healthy,omitempty"`
}

type v0Task struct {
	ID          string               `json:"id"`
	Name        string               `json:"name"`
	FrameworkID string               `json:"framework_id"`
	ExecutorID  string               `json:"executor_id"`
	SlaveID     string               `json:"slave_id"`
	State       mesos.TaskState      `json:"state"`
	Resources   v0Resources          `json:"resources"`
	Role        string               `json:"role,omitempty"`
	Statuses    []v0Status           `json:"statuses"`
	User        string               `json:"user,omitempty"`
	Labels      []mesos.Label        `json:"labels,omitempty"`
	Discovery   *mesos.DiscoveryInfo `json:"discovery,omitempty"`
	Container   *mesos.ContainerInfo `json:"container,omitempty"`
	HealthCheck *mesos.HealthCheck   `json:"health_check,omitempty"`
}

func taskV0(t *task) v0Task {
	out := v0Task{
		ID: t.TaskID.Value, Name: t.Name, FrameworkID: t.FrameworkID.Value, SlaveID: t.AgentID.Value,
		State: t.State, Resources: mesos.Resources(t.Resources).V0(), Role: t.role, User: t.User,
		Labels: labelsV0(t.Labels), Discovery: t.Discovery, Container: t.Container, HealthCheck: t.HealthCheck,
		Statuses: make([]v0Status, 0, len(t.Statuses)),
	}
	if t.ExecutorID != nil {
		out.ExecutorID = t.ExecutorID.Value
	}
	for _, s := range t.Statuses {
		out.Statuses = append(out.Statuses, v0Status{State: s.State, Timestamp: s.Timestamp,
			Labels: labelsV0(s.Labels), ContainerStatus: s.ContainerStatus, Healthy: s.Healthy})
	}
	return out
}

// startTime orders tasks in /master/tasks: the timestamp of the first status.
func startTime(t *task) (float64, bool) {
	if len(t.Statuses) == 0 {
		return 0, false
	}
	return t.Statuses[0].Timestamp, true
}

type v0Offer struct {
	ID             string                `json:"id"`
	FrameworkID    string                `json:"framework_id"`
	AllocationInfo *mesos.AllocationInfo `json:"allocation_info"`
	SlaveID        string                `json:"slave_id"`
	Resources      v0Resources           `json:"resources"`
}

type v0Executor struct {
	ExecutorID  string             `json:"executor_id"`
	Name        string             `json:"name"`
	FrameworkID string             `json:"framework_id"`
	Command     *mesos.CommandInfo `json:"command,omitempty"`
	Resources   v0Resources        `json:"resources"`
	Role        string             `json:"role,omitempty"`
	Labels      []mesos.Label      `json:"labels,omitempty"`
	Type        string             `json:"type,omitempty"`
	SlaveID     string             `json:"slave_id"`
}

func executorV0(e mesos.ExecutorInfo, agentID string) v0Executor {
	out := v0Executor{ExecutorID: e.ExecutorID.Value, Name: e.Name, Command: e.Command,
		Resources: mesos.Resources(e.Resources).V0(), Labels: labelsV0(e.Labels), Type: e.Type, SlaveID: agentID}
	if e.FrameworkID != nil {
		out.FrameworkID = e.FrameworkID.Value
	}
	if len(e.Resources) > 0 && e.Resources[0].AllocationInfo != nil {
		out.Role = e.Resources[0].AllocationInfo.Role
	}
	return out
}

// v0Counts are the per-state task counts of /master/state-summary.
type v0Counts struct {
	Staging     int `json:"TASK_STAGING"`
	Starting    int `json:"TASK_STARTING"`
	Running     int `json:"TASK_RUNNING"`
	Killing     int `json:"TASK_KILLING"`
	Finished    int `json:"TASK_FINISHED"`
	Killed      int `json:"TASK_KILLED"`
	Failed      int `json:"TASK_FAILED"`
	Lost        int `json:"TASK_LOST"`
	Error       int `json:"TASK_ERROR"`
	Unreachable int `json:"TASK_UNREACHABLE"`
}

func (c *v0Counts) count(s mesos.TaskState) {
	switch s {
	case mesos.TaskStaging:
		c.Staging++
	case mesos.TaskStarting:
		c.Starting++
	case mesos.TaskRunning:
		c.Running++
	case mesos.TaskKilling:
		c.Killing++
	case mesos.TaskFinished:
		c.Finished++
	case mesos.TaskKilled:
		c.Killed++
	case mesos.TaskFailed:
		c.Failed++
	case mesos.TaskLost:
		c.Lost++
	case mesos.TaskError:
		c.Error++
	case mesos.TaskUnreachable:
		c.Unreachable++
	}
}

type v0Slave struct {
	ID                  string                 `json:"id"`
	PID                 string                 `json:"pid"`
	Hostname            string                 `json:"hostname"`
	Port                int32                  `json:"port"`
	Attributes          map[string]any         `json:"attributes"`
	Domain              *mesos.DomainInfo      `json:"domain,omitempty"`
	RegisteredTime      float64                `json:"registered_time"`
	ReregisteredTime    *float64               `json:"reregistered_time,omitempty"`
	Resources           v0Resources            `json:"resources"`
	UsedResources       v0Resources            `json:"used_resources"`
	OfferedResources    v0Resources            `json:"offered_resources"`
	ReservedResources   map[string]v0Resources `json:"reserved_resources"`
	UnreservedResources v0Resources            `json:"unreserved_resources"`
	Active              bool                   `json:"active"`
	Deactivated         bool                   `json:"deactivated"`
	DrainInfo           *mesos.DrainInfo       `json:"drain_info,omitempty"`
	Version             string                 `json:"version"`
	Capabilities        []string               `json:"capabilities"`
}

// v0SlaveFull is a /master/slaves entry: the slave plus its resources in
// the v1 Resource form.
type v0SlaveFull struct {
	v0Slave
	ReservedResourcesFull   map[string][]mesos.Resource `json:"reserved_resources_full"`
	UnreservedResourcesFull []mesos.Resource            `json:"unreserved_resources_full"`
	UsedResourcesFull       []mesos.Resource            `json:"used_resources_full"`
	OfferedResourcesFull    []mesos.Resource            `json:"offered_resources_full"`
}

type v0SlaveSummary struct {
	v0Slave
	v0Counts
	FrameworkIDs []string `json:"framework_ids"`
}

type v0FrameworkSummary struct {
	ID               string      `json:"id"`
	Name             string      `json:"name"`
	UsedResources    v0Resources `json:"used_resources"`
	OfferedResources v0Resources `json:"offered_resources"`
	Capabilities     []string    `json:"capabilities"`
	Hostname         string      `json:"hostname"`
	WebuiURL         string      `json:"webui_url"`
	Active           bool        `json:"active"`
	Connected        bool        `json:"connected"`
	Recovered        bool        `json:"recovered"`
}

type v0Framework struct {
	v0FrameworkSummary
	User             string        `json:"user"`
	FailoverTimeout  mesos.Double  `json:"failover_timeout"`
	Checkpoint       bool          `json:"checkpoint"`
	RegisteredTime   float64       `json:"registered_time"`
	UnregisteredTime float64       `json:"unregistered_time"`
	ReregisteredTime *float64      `json:"reregistered_time,omitempty"`
	Principal        string        `json:"principal,omitempty"`
	Resources        v0Resources   `json:"resources"`
	Role             string        `json:"role,omitempty"`
	Roles            []string      `json:"roles"`
	Tasks            []v0Task      `json:"tasks"`
	UnreachableTasks []v0Task      `json:"unreachable_tasks"`
	CompletedTasks   []v0Task      `json:"completed_tasks"`
	Offers           []v0Offer     `json:"offers"`
	Executors        []v0Executor  `json:"executors"`
	Labels           []mesos.Label `json:"labels,omitempty"`
}

type v0FrameworkSummaryCounts struct {
	v0FrameworkSummary
	v0Counts
	SlaveIDs []string `json:"slave_ids"`
}

type v0State struct {
	Version                string            `json:"version"`
	GitSHA                 string            `json:"git_sha"`
	BuildDate              string            `json:"build_date"`
	BuildTime              float64           `json:"build_time"`
	BuildUser              string            `json:"build_user"`
	StartTime              float64           `json:"start_time"`
	ElectedTime            float64           `json:"elected_time"`
	Elected                bool              `json:"elected"`
	ID                     string            `json:"id"`
	PID                    string            `json:"pid"`
	Hostname               string            `json:"hostname"`
	ActivatedSlaves        int               `json:"activated_slaves"`
	DeactivatedSlaves      int               `json:"deactivated_slaves"`
	UnreachableSlaves      int               `json:"unreachable_slaves"`
	Leader                 string            `json:"leader"`
	LeaderInfo             mesos.MasterInfo  `json:"leader_info"`
	Cluster                string            `json:"cluster"`
	LogDir                 string            `json:"log_dir"`
	Flags                  map[string]string `json:"flags"`
	Slaves                 []v0Slave         `json:"slaves"`
	Frameworks             []v0Framework     `json:"frameworks"`
	CompletedFrameworks    []v0Framework     `json:"completed_frameworks"`
	OrphanTasks            []v0Task          `json:"orphan_tasks"`
	UnregisteredFrameworks []string          `json:"unregistered_frameworks"`
}

// view indexes what several renderers need, computed once per request
// with m.mu held.
type view struct {
	offered   map[string]mesos.Resources // agent id -> resources in outstanding offers
	executors map[string][]agentExecutor // framework id -> executors, by agent then id
	fwUsed    map[string]mesos.Resources // framework id -> frameworkUsed, computed once
}

type agentExecutor struct {
	agent string
	info  mesos.ExecutorInfo
}

func (m *Master) newView() *view {
	v := &view{offered: map[string]mesos.Resources{}, executors: map[string][]agentExecutor{}, fwUsed: map[string]mesos.Resources{}}
	for _, o := range m.offers {
		v.offered[o.agent] = append(v.offered[o.agent], o.resources...)
	}
	for _, a := range m.sortedAgents() {
		fws := make([]string, 0, len(a.executors))
		for fid := range a.executors {
			fws = append(fws, fid)
		}
		sort.Strings(fws)
		for _, fid := range fws {
			ids := make([]string, 0, len(a.executors[fid]))
			for eid := range a.executors[fid] {
				ids = append(ids, eid)
			}
			sort.Strings(ids)
			for _, eid := range ids {
				v.executors[fid] = append(v.executors[fid], agentExecutor{a.id, a.executors[fid][eid]})
			}
		}
	}
	return v
}

// agentUsed is what the agent's live tasks and executors use.
func agentUsed(a *agent) mesos.Resources {
	var used mesos.Resources
	for _, t := range a.tasks {
		if !t.State.IsTerminal() {
			used = used.Accumulate(t.Resources)
		}
	}
	for _, execs := range a.executors {
		for _, e := range execs {
			used = used.Accumulate(e.Resources)
		}
	}
	return used.Normalize()
}

func agentPID(a *agent) string {
	return "slave(1)@" + a.info.Hostname + ":" + strconv.Itoa(int(a.info.Port))
}

func (m *Master) slaveV0(a *agent, v *view) v0Slave {
	reserved := map[string]v0Resources{}
	for role, rs := range reservationsByRole(a.total) {
		reserved[role] = rs.V0()
	}
	return v0Slave{
		ID: a.id, PID: agentPID(a), Hostname: a.info.Hostname, Port: a.info.Port,
		Attributes: attributesV0(a.info.Attributes), Domain: a.info.Domain,
		RegisteredTime: secs(a.registered), ReregisteredTime: secsPtr(a.reregistered),
		Resources: a.total.V0(), UsedResources: agentUsed(a).V0(), OfferedResources: v.offered[a.id].V0(),
		ReservedResources: reserved, UnreservedResources: unreserved(a.total).V0(),
		Active: a.connected && a.active, Deactivated: !a.active, Version: a.version,
		Capabilities: []string{}, DrainInfo: m.maint.drains[a.id],
	}
}

func (m *Master) slaveFullV0(a *agent, v *view) v0SlaveFull {
	full := map[string][]mesos.Resource{}
	for role, rs := range reservationsByRole(a.total) {
		full[role] = rs
	}
	nonNil := func(rs mesos.Resources) []mesos.Resource {
		if rs == nil {
			return []mesos.Resource{}
		}
		return rs
	}
	return v0SlaveFull{
		v0Slave: m.slaveV0(a, v), ReservedResourcesFull: full,
		UnreservedResourcesFull: nonNil(unreserved(a.total)),
		UsedResourcesFull:       nonNil(agentUsed(a)),
		OfferedResourcesFull:    nonNil(v.offered[a.id].Normalize()),
	}
}

// reservationsByRole groups reserved resources by the role of their
// innermost reservation (Mesos' Resources::reservations()).
func reservationsByRole(rs mesos.Resources) map[string]mesos.Resources {
	out := map[string]mesos.Resources{}
	for _, r := range rs {
		if r.IsReserved() {
			role := r.ReservationRole()
			out[role] = append(out[role], r)
		}
	}
	return out
}

func unreserved(rs mesos.Resources) mesos.Resources {
	return rs.Filter(func(r *mesos.Resource) bool { return !r.IsReserved() })
}

func capabilityNames(fi *mesos.FrameworkInfo) []string {
	out := make([]string, 0, len(fi.Capabilities))
	for _, c := range fi.Capabilities {
		out = append(out, c.Type)
	}
	return out
}

// frameworkUsed is what a framework's live tasks and executors use.
func frameworkUsed(f *framework, v *view) mesos.Resources {
	if used, ok := v.fwUsed[f.id]; ok {
		return used
	}
	var used mesos.Resources
	for _, t := range f.tasks {
		if !t.State.IsTerminal() {
			used = used.Accumulate(t.Resources)
		}
	}
	for _, e := range v.executors[f.id] {
		used = used.Accumulate(e.info.Resources)
	}
	used = used.Normalize()
	v.fwUsed[f.id] = used
	return used
}

func frameworkOffered(f *framework) mesos.Resources {
	var offered mesos.Resources
	for _, o := range f.offers {
		offered = append(offered, o.resources...)
	}
	return offered.Normalize()
}

func frameworkSummaryV0(f *framework, v *view) v0FrameworkSummary {
	return v0FrameworkSummary{
		ID: f.id, Name: f.info.Name,
		UsedResources: frameworkUsed(f, v).V0(), OfferedResources: frameworkOffered(f).V0(),
		Capabilities: capabilityNames(&f.info), Hostname: f.info.Hostname, WebuiURL: f.info.WebuiURL,
		Active: f.active, Connected: f.connected, Recovered: f.recovered,
	}
}

// sortedTasks returns tasks ordered by task ID.
func sortedTasks(ts map[string]*task) []*task {
	out := make([]*task, 0, len(ts))
	for _, t := range ts {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TaskID.Value < out[j].TaskID.Value })
	return out
}

func tasksV0(ts []*task) []v0Task {
	out := make([]v0Task, 0, len(ts))
	for _, t := range ts {
		out = append(out, taskV0(t))
	}
	return out
}

func (m *Master) frameworkV0(f *framework, v *view) v0Framework {
	out := v0Framework{
		v0FrameworkSummary: frameworkSummaryV0(f, v),
		User:               f.info.User, FailoverTimeout: f.info.FailoverTimeout, Checkpoint: f.info.Checkpoint,
		RegisteredTime: secs(f.registered), UnregisteredTime: secs(f.unregistered),
		ReregisteredTime: secsPtr(f.reregistered), Principal: f.info.Principal,
		Resources:        frameworkUsed(f, v).Plus(frameworkOffered(f)).V0(),
		Roles:            f.info.EffectiveRoles(),
		Tasks:            tasksV0(sortedTasks(f.tasks)),
		UnreachableTasks: tasksV0(sortedTasks(f.unreachable)),
		CompletedTasks:   tasksV0(f.completed),
		Offers:           []v0Offer{},
		Executors:        []v0Executor{},
		Labels:           labelsV0(f.info.Labels),
	}
	if !f.info.HasCapability(mesos.CapMultiRole) {
		out.Role = out.Roles[0]
	}
	ids := make([]string, 0, len(f.offers))
	for id := range f.offers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		o := f.offers[id]
		out.Offers = append(out.Offers, v0Offer{ID: o.id, FrameworkID: o.fw, SlaveID: o.agent,
			AllocationInfo: &mesos.AllocationInfo{Role: o.role}, Resources: o.resources.V0()})
	}
	for _, e := range v.executors[f.id] {
		out.Executors = append(out.Executors, executorV0(e.info, e.agent))
	}
	return out
}

// stateV0 builds /master/state.
func (m *Master) stateV0() v0State {
	v := m.newView()
	st := v0State{
		Version: m.cfg.Version, GitSHA: gitSHA, BuildDate: buildDate, BuildTime: buildTime(), BuildUser: buildUser,
		StartTime: secs(m.startTime), ElectedTime: secs(m.electedAt), Elected: true,
		ID: m.info.ID, PID: m.info.PID, Hostname: m.info.Hostname,
		UnreachableSlaves: len(m.unreachable),
		Leader:            m.info.PID, LeaderInfo: m.info, Cluster: m.cfg.Cluster,
		Flags:               map[string]string{},
		Slaves:              []v0Slave{},
		Frameworks:          []v0Framework{},
		CompletedFrameworks: []v0Framework{},
		OrphanTasks:         []v0Task{}, UnregisteredFrameworks: []string{},
	}
	for k, val := range m.cfg.Flags {
		st.Flags[k] = val
	}
	for _, a := range m.sortedAgents() {
		if a.connected && a.active {
			st.ActivatedSlaves++
		} else {
			st.DeactivatedSlaves++
		}
		st.Slaves = append(st.Slaves, m.slaveV0(a, v))
	}
	for _, f := range m.sortedFrameworks() {
		st.Frameworks = append(st.Frameworks, m.frameworkV0(f, v))
	}
	for _, f := range m.completed {
		st.CompletedFrameworks = append(st.CompletedFrameworks, m.frameworkV0(f, v))
	}
	return st
}

// stateSummaryV0 builds /master/state-summary.
func (m *Master) stateSummaryV0() map[string]any {
	v := m.newView()
	agentCounts := map[string]*v0Counts{}
	fwCounts := map[string]*v0Counts{}
	agentFws := map[string]map[string]bool{}
	fwAgents := map[string]map[string]bool{}
	note := func(t *task) {
		aid, fid := t.AgentID.Value, t.FrameworkID.Value
		if agentCounts[aid] == nil {
			agentCounts[aid], agentFws[aid] = &v0Counts{}, map[string]bool{}
		}
		if fwCounts[fid] == nil {
			fwCounts[fid], fwAgents[fid] = &v0Counts{}, map[string]bool{}
		}
		agentCounts[aid].count(t.State)
		fwCounts[fid].count(t.State)
		agentFws[aid][fid] = true
		fwAgents[fid][aid] = true
	}
	fws := m.sortedFrameworks()
	for _, f := range fws {
		for _, t := range f.tasks {
			note(t)
		}
		for _, t := range f.unreachable {
			note(t)
		}
		for _, t := range f.completed {
			note(t)
		}
	}
	keys := func(s map[string]bool) []string {
		out := make([]string, 0, len(s))
		for k := range s {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	slaves := []v0SlaveSummary{}
	for _, a := range m.sortedAgents() {
		s := v0SlaveSummary{v0Slave: m.slaveV0(a, v), FrameworkIDs: keys(agentFws[a.id])}
		if c := agentCounts[a.id]; c != nil {
			s.v0Counts = *c
		}
		slaves = append(slaves, s)
	}
	frameworks := []v0FrameworkSummaryCounts{}
	for _, f := range fws {
		s := v0FrameworkSummaryCounts{v0FrameworkSummary: frameworkSummaryV0(f, v), SlaveIDs: keys(fwAgents[f.id])}
		if c := fwCounts[f.id]; c != nil {
			s.v0Counts = *c
		}
		frameworks = append(frameworks, s)
	}
	return map[string]any{"hostname": m.info.Hostname, "cluster": m.cfg.Cluster, "slaves": slaves, "frameworks": frameworks}
}

// frameworksV0 builds /master/frameworks (id "" selects all).
func (m *Master) frameworksV0(id string) map[string]any {
	v := m.newView()
	active, completed := []v0Framework{}, []v0Framework{}
	for _, f := range m.sortedFrameworks() {
		if id == "" || f.id == id {
			active = append(active, m.frameworkV0(f, v))
		}
	}
	for _, f := range m.completed {
		if id == "" || f.id == id {
			completed = append(completed, m.frameworkV0(f, v))
		}
	}
	return map[string]any{"frameworks": active, "completed_frameworks": completed, "unregistered_frameworks": []string{}}
}

// slavesV0 builds /master/slaves (id "" selects all).
func (m *Master) slavesV0(id string) map[string]any {
	v := m.newView()
	slaves := []v0SlaveFull{}
	for _, a := range m.sortedAgents() {
		if id == "" || a.id == id {
			slaves = append(slaves, m.slaveFullV0(a, v))
		}
	}
	return map[string]any{"slaves": slaves, "recovered_slaves": []any{}}
}

// tasksQuery is the parsed query of /master/tasks.
type tasksQuery struct {
	framework, task string
	limit, offset   int
	asc             bool
}

// parseTasksQuery reads /master/tasks parameters as Mesos does: numbers
// that do not parse fall back to the defaults (limit 100, offset 0) and any
// order other than "asc" is descending.
func parseTasksQuery(r *http.Request) tasksQuery {
	q := r.URL.Query()
	tq := tasksQuery{framework: q.Get("framework_id"), task: q.Get("task_id"), limit: 100, asc: q.Get("order") == "asc"}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n >= 0 {
		tq.limit = n
	}
	if n, err := strconv.Atoi(q.Get("offset")); err == nil && n >= 0 {
		tq.offset = n
	}
	return tq
}

// tasksV0Query builds /master/tasks: active, unreachable and completed
// tasks of active and completed frameworks, ordered by the timestamp of
// their first status (tasks without one sort last when descending).
func (m *Master) tasksV0Query(q tasksQuery) map[string]any {
	var all []*task
	add := func(f *framework) {
		if q.framework != "" && f.id != q.framework {
			return
		}
		for _, ts := range [][]*task{sortedTasks(f.tasks), sortedTasks(f.unreachable), f.completed} {
			for _, t := range ts {
				if q.task == "" || t.TaskID.Value == q.task {
					all = append(all, t)
				}
			}
		}
	}
	for _, f := range m.sortedFrameworks() {
		add(f)
	}
	for _, f := range m.completed {
		add(f)
	}
	sort.SliceStable(all, func(i, j int) bool {
		ti, iok := startTime(all[i])
		tj, jok := startTime(all[j])
		switch {
		case !iok && !jok:
			return false
		case q.asc && !iok, !q.asc && !jok:
			return true
		case q.asc && !jok, !q.asc && !iok:
			return false
		case q.asc:
			return ti < tj
		default:
			return ti > tj
		}
	})
	out := []v0Task{}
	for i := q.offset; i < len(all) && len(out) < q.limit; i++ {
		out = append(out, taskV0(all[i]))
	}
	return map[string]any{"tasks": out}
}

// ---- roles ----

// roleUsage is what one role (exactly, not its sub-roles) holds, as
// non-revocable scalar quantities.
type roleUsage struct {
	allocated           map[string]float64 // live tasks and executors
	allocatedUnreserved map[string]float64 // the unreserved part of allocated
	offered             map[string]float64 // outstanding offers
	reserved            map[string]float64 // reserved on agents, used or not
}

func addQuantities(dst map[string]float64, rs mesos.Resources, keep func(*mesos.Resource) bool) {
	for i := range rs {
		r := &rs[i]
		if r.Type != mesos.SCALAR || r.Scalar == nil || r.Revocable != nil || (keep != nil && !keep(r)) {
			continue
		}
		dst[r.Name] += r.Scalar.Value
	}
}

func isUnreserved(r *mesos.Resource) bool { return !r.IsReserved() }

// roleUsages computes every role's usage in one pass over the state.
func (m *Master) roleUsages() map[string]*roleUsage {
	out := map[string]*roleUsage{}
	get := func(role string) *roleUsage {
		u := out[role]
		if u == nil {
			u = &roleUsage{allocated: map[string]float64{}, allocatedUnreserved: map[string]float64{},
				offered: map[string]float64{}, reserved: map[string]float64{}}
			out[role] = u
		}
		return u
	}
	for _, a := range m.agents {
		for role, rs := range reservationsByRole(a.total) {
			addQuantities(get(role).reserved, rs, nil)
		}
		for _, t := range a.tasks {
			if t.State.IsTerminal() {
				continue
			}
			u := get(t.role)
			addQuantities(u.allocated, t.Resources, nil)
			addQuantities(u.allocatedUnreserved, t.Resources, isUnreserved)
		}
		for _, execs := range a.executors {
			for _, e := range execs {
				role := "*"
				if len(e.Resources) > 0 && e.Resources[0].AllocationInfo != nil {
					role = e.Resources[0].AllocationInfo.Role
				}
				u := get(role)
				addQuantities(u.allocated, e.Resources, nil)
				addQuantities(u.allocatedUnreserved, e.Resources, isUnreserved)
			}
		}
	}
	for _, o := range m.offers {
		addQuantities(get(o.role).offered, o.resources, nil)
	}
	return out
}

// inSubtree reports whether role r is role or one of its descendants.
func inSubtree(r, role string) bool {
	return r == role || (role != "*" && strings.HasPrefix(r, role+"/"))
}

// subtreeSum sums one field of the usages of role and its descendants.
func subtreeSum(usages map[string]*roleUsage, role string, field func(*roleUsage) map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for r, u := range usages {
		if inSubtree(r, role) {
			for name, v := range field(u) {
				out[name] += v
			}
		}
	}
	for name, v := range out {
		out[name] = roundQuantity(v)
	}
	return out
}

// roundQuantity keeps three decimals, like Mesos' fixed-point scalars.
func roundQuantity(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	return math.Round(v*1000) / 1000
}

// consumedQuota is what counts against a role's quota: its reservations
// (used or not) plus its unreserved allocations; offers are not charged.
func consumedQuota(usages map[string]*roleUsage, role string) map[string]float64 {
	out := subtreeSum(usages, role, func(u *roleUsage) map[string]float64 { return u.reserved })
	for name, v := range subtreeSum(usages, role, func(u *roleUsage) map[string]float64 { return u.allocatedUnreserved }) {
		out[name] = roundQuantity(out[name] + v)
	}
	return out
}

// knownRoles are the roles of registered frameworks, weights, quota,
// reservations and the --roles whitelist, sorted.
func (m *Master) knownRoles(usages map[string]*roleUsage) []string {
	set := map[string]bool{}
	for _, f := range m.frameworks {
		for _, r := range f.info.EffectiveRoles() {
			set[r] = true
		}
	}
	for r := range m.weights {
		set[r] = true
	}
	for r := range m.quotas {
		set[r] = true
	}
	for r, u := range usages {
		if len(u.reserved) > 0 || len(u.allocated) > 0 || len(u.offered) > 0 {
			set[r] = true
		}
	}
	for _, r := range m.cfg.Roles {
		set[r] = true
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

func (m *Master) roleWeight(role string) float64 {
	if w, ok := m.weights[role]; ok {
		return w
	}
	return 1
}

func (m *Master) roleFrameworks(role string) []string {
	out := []string{}
	for _, f := range m.sortedFrameworks() {
		for _, r := range f.info.EffectiveRoles() {
			if r == role {
				out = append(out, f.id)
				break
			}
		}
	}
	return out
}

func nonNilQuantities(q map[string]float64) map[string]float64 {
	if q == nil {
		return map[string]float64{}
	}
	return q
}

func sumQuantities(a, b map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range a {
		out[k] += v
	}
	for k, v := range b {
		out[k] = roundQuantity(out[k] + v)
	}
	return out
}

// rolesV0 builds /master/roles.
func (m *Master) rolesV0() map[string]any {
	usages := m.roleUsages()
	roles := []map[string]any{}
	for _, name := range m.knownRoles(usages) {
		allocated := subtreeSum(usages, name, func(u *roleUsage) map[string]float64 { return u.allocated })
		offered := subtreeSum(usages, name, func(u *roleUsage) map[string]float64 { return u.offered })
		q := m.quotas[name]
		roles = append(roles, map[string]any{
			"name":       name,
			"weight":     m.roleWeight(name),
			"frameworks": m.roleFrameworks(name),
			"resources":  sumQuantities(allocated, offered),
			"allocated":  allocated,
			"offered":    offered,
			"reserved":   subtreeSum(usages, name, func(u *roleUsage) map[string]float64 { return u.reserved }),
			"quota": map[string]any{
				"role": name, "guarantee": nonNilQuantities(q.Guarantees), "limit": nonNilQuantities(q.Limits),
				"consumed": consumedQuota(usages, name),
			},
		})
	}
	return map[string]any{"roles": roles}
}

// quantitiesResources renders quantities as unreserved scalar resources (v1 views).
func quantitiesResources(q map[string]float64) []mesos.Resource {
	names := make([]string, 0, len(q))
	for n := range q {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]mesos.Resource, 0, len(names))
	for _, n := range names {
		out = append(out, mesos.Resource{Name: n, Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: q[n]}})
	}
	return out
}

func scalarMap(q map[string]float64) map[string]mesos.Scalar {
	if len(q) == 0 {
		return nil
	}
	out := make(map[string]mesos.Scalar, len(q))
	for k, v := range q {
		out[k] = mesos.Scalar{Value: v}
	}
	return out
}

// getRoles is GET_ROLES.
func (m *Master) getRoles() mesos.GetRoles {
	usages := m.roleUsages()
	var out mesos.GetRoles
	for _, name := range m.knownRoles(usages) {
		allocated := subtreeSum(usages, name, func(u *roleUsage) map[string]float64 { return u.allocated })
		offered := subtreeSum(usages, name, func(u *roleUsage) map[string]float64 { return u.offered })
		role := mesos.Role{
			Name: name, Weight: m.roleWeight(name),
			Resources: quantitiesResources(sumQuantities(allocated, offered)),
			Allocated: quantitiesResources(allocated), Offered: quantitiesResources(offered),
			Reserved: quantitiesResources(subtreeSum(usages, name, func(u *roleUsage) map[string]float64 { return u.reserved })),
		}
		for _, id := range m.roleFrameworks(name) {
			role.Frameworks = append(role.Frameworks, mesos.FrameworkID{Value: id})
		}
		if q, ok := m.quotas[name]; ok {
			role.Quota = &mesos.QuotaConfig{Role: name, Guarantees: scalarMap(q.Guarantees), Limits: scalarMap(q.Limits)}
		}
		out.Roles = append(out.Roles, role)
	}
	return out
}

// ---- v1 views (GET_STATE and its parts, SUBSCRIBED) ----

// getAgents is GET_AGENTS.
func (m *Master) getAgents() mesos.GetAgents {
	var out mesos.GetAgents
	for _, a := range m.sortedAgents() {
		out.Agents = append(out.Agents, m.agentState(a))
	}
	return out
}

// getFrameworks is GET_FRAMEWORKS.
func (m *Master) getFrameworks() mesos.GetFrameworks {
	var out mesos.GetFrameworks
	for _, f := range m.sortedFrameworks() {
		out.Frameworks = append(out.Frameworks, m.frameworkState(f))
	}
	for _, f := range m.completed {
		out.CompletedFrameworks = append(out.CompletedFrameworks, m.frameworkState(f))
	}
	return out
}

// getExecutors is GET_EXECUTORS.
func (m *Master) getExecutors() mesos.GetExecutors {
	var out mesos.GetExecutors
	for _, a := range m.sortedAgents() {
		fws := make([]string, 0, len(a.executors))
		for fid := range a.executors {
			fws = append(fws, fid)
		}
		sort.Strings(fws)
		for _, fid := range fws {
			ids := make([]string, 0, len(a.executors[fid]))
			for eid := range a.executors[fid] {
				ids = append(ids, eid)
			}
			sort.Strings(ids)
			for _, eid := range ids {
				out.Executors = append(out.Executors, mesos.ExecutorState{ExecutorInfo: a.executors[fid][eid], AgentID: mesos.AgentID{Value: a.id}})
			}
		}
	}
	return out
}

// getTasks is GET_TASKS: the tasks, unreachable tasks and completed tasks
// of active and completed frameworks.
func (m *Master) getTasks() mesos.GetTasks {
	var out mesos.GetTasks
	add := func(f *framework) {
		for _, t := range sortedTasks(f.tasks) {
			out.Tasks = append(out.Tasks, t.Task)
		}
		for _, t := range sortedTasks(f.unreachable) {
			out.UnreachableTasks = append(out.UnreachableTasks, t.Task)
		}
		for _, t := range f.completed {
			out.CompletedTasks = append(out.CompletedTasks, t.Task)
		}
	}
	for _, f := range m.sortedFrameworks() {
		add(f)
	}
	for _, f := range m.completed {
		add(f)
	}
	return out
}

// getState is GET_STATE, also the payload of the operator SUBSCRIBED event.
func (m *Master) getState() mesos.GetState {
	return mesos.GetState{GetTasks: m.getTasks(), GetExecutors: m.getExecutors(),
		GetFrameworks: m.getFrameworks(), GetAgents: m.getAgents()}
}

// ---- v0 read handlers ----

// serveV0 builds a v0 document under m.mu and encodes it after unlocking,
// honouring Mesos' ?jsonp=callback.
func (m *Master) serveV0(build func() any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		v := build()
		m.mu.Unlock()
		writeV0(w, r, v)
	}
}

func writeV0(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		textError(w, http.StatusInternalServerError, "Failed to encode response: "+err.Error())
		return
	}
	if cb := r.URL.Query().Get("jsonp"); cb != "" {
		if !validCallback(cb) {
			textError(w, http.StatusBadRequest, "Invalid 'jsonp' callback name")
			return
		}
		w.Header().Set("Content-Type", "text/javascript")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(cb + "("))
		w.Write(b)
		w.Write([]byte(");"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

func validCallback(cb string) bool {
	for _, c := range cb {
		if !(c == '_' || c == '$' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return len(cb) <= 128
}
