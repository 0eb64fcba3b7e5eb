package app

import "encoding/json"

// AppInfo is an app as GET /v2/apps and GET /v2/apps/{id} return it: the
// canonical App followed by the response-only fields of the requested
// embeds. Nil fields are omitted; the list and single GET always embed
// counts and deployments (so set them, Deployments to an empty slice when
// idle: go-marathon relies on the array), and the single GET also tasks and
// lastTaskFailure.
type AppInfo struct {
	App
	TasksStaged           *int                   `json:"tasksStaged,omitempty"`
	TasksRunning          *int                   `json:"tasksRunning,omitempty"`
	TasksHealthy          *int                   `json:"tasksHealthy,omitempty"`
	TasksUnhealthy        *int                   `json:"tasksUnhealthy,omitempty"`
	Deployments           []Identifiable         `json:"deployments,omitzero"`
	ReadinessCheckResults []ReadinessCheckResult `json:"readinessCheckResults,omitzero"`
	Tasks                 []Task                 `json:"tasks,omitzero"`
	LastTaskFailure       *TaskFailure           `json:"lastTaskFailure,omitempty"`
	TasksStats            *TasksStats            `json:"tasksStats,omitempty"`
}

// Counts are the task counters of the counts embed.
type Counts struct {
	Staged, Running, Healthy, Unhealthy int
}

// WithCounts sets the four tasks* counters.
func (ai *AppInfo) WithCounts(c Counts) {
	ai.TasksStaged, ai.TasksRunning, ai.TasksHealthy, ai.TasksUnhealthy = &c.Staged, &c.Running, &c.Healthy, &c.Unhealthy
}

// CountTasks computes the counts embed from tasks (TaskForStatistics):
// staged = TASK_STAGING (or no state yet), running = TASK_RUNNING,
// healthy = has health results and all alive, unhealthy = some result not
// alive; tasks without results count as neither.
func CountTasks(tasks []Task) Counts {
	var c Counts
	for _, t := range tasks {
		switch t.State {
		case "", "TASK_STAGING":
			c.Staged++
		case "TASK_RUNNING":
			c.Running++
		}
		if len(t.HealthCheckResults) == 0 {
			continue
		}
		alive := true
		for _, h := range t.HealthCheckResults {
			alive = alive && h.Alive
		}
		if alive {
			c.Healthy++
		} else {
			c.Unhealthy++
		}
	}
	return c
}

// Identifiable is {"id": ...}, as in deployments[].
type Identifiable struct {
	ID string `json:"id"`
}

// Task is a task in Marathon's JSON (GET /v2/apps/{id}/tasks, /v2/tasks,
// the tasks embed). Arrays are always written, empty when unset;
// ServicePorts is filled only by /v2/tasks.
type Task struct {
	AppID              string          `json:"appId"`
	HealthCheckResults []HealthResult  `json:"healthCheckResults"`
	CheckResult        json.RawMessage `json:"checkResult,omitempty"`
	Host               string          `json:"host"`
	ID                 string          `json:"id"`
	IPAddresses        []IPAddr        `json:"ipAddresses"`
	Ports              []uint64        `json:"ports"`
	ServicePorts       []uint64        `json:"servicePorts"`
	SlaveID            string          `json:"slaveId,omitempty"`
	State              string          `json:"state"`
	StagedAt           string          `json:"stagedAt,omitempty"`
	StartedAt          string          `json:"startedAt,omitempty"`
	Version            string          `json:"version,omitempty"`
	LocalVolumes       []LocalVolume   `json:"localVolumes"`
	Region             string          `json:"region,omitempty"`
	Zone               string          `json:"zone,omitempty"`
	Role               string          `json:"role"`
}

// MarshalJSON writes nil arrays as [].
func (t Task) MarshalJSON() ([]byte, error) {
	type plain Task
	p := plain(t)
	if p.HealthCheckResults == nil {
		p.HealthCheckResults = []HealthResult{}
	}
	if p.IPAddresses == nil {
		p.IPAddresses = []IPAddr{}
	}
	if p.Ports == nil {
		p.Ports = []uint64{}
	}
	if p.ServicePorts == nil {
		p.ServicePorts = []uint64{}
	}
	if p.LocalVolumes == nil {
		p.LocalVolumes = []LocalVolume{}
	}
	return json.Marshal(p)
}

// IPAddr is a task's container IP address.
type IPAddr struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"` // IPv4 | IPv6
}

// LocalVolume is a resident task's volume (always empty in Strata).
type LocalVolume struct {
	ContainerPath string `json:"containerPath"`
	PersistenceID string `json:"persistenceId"`
}

// HealthResult is one Marathon-level health check's state for a task.
// Timestamps are null until they happened.
type HealthResult struct {
	Alive               bool    `json:"alive"`
	ConsecutiveFailures int     `json:"consecutiveFailures"`
	FirstSuccess        *string `json:"firstSuccess"`
	LastSuccess         *string `json:"lastSuccess"`
	LastFailure         *string `json:"lastFailure"`
	LastFailureCause    *string `json:"lastFailureCause"`
	InstanceID          string  `json:"instanceId"`
}

// TaskFailure is lastTaskFailure.
type TaskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId"`
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
	SlaveID   string `json:"slaveId,omitempty"`
}

// ReadinessCheckResult is one readiness check's state for a task, as in
// readinessCheckResults and deployments' currentActions.
type ReadinessCheckResult struct {
	Name         string                 `json:"name"`
	TaskID       string                 `json:"taskId"`
	Ready        bool                   `json:"ready"`
	LastResponse *ReadinessHTTPResponse `json:"lastResponse,omitempty"`
}

// ReadinessHTTPResponse is the last response a readiness check saw.
type ReadinessHTTPResponse struct {
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	Body        string `json:"body"`
}

// TasksStats is the taskStats embed (the field is "tasksStats").
type TasksStats struct {
	StartedAfterLastScaling *Stats `json:"startedAfterLastScaling,omitempty"`
	WithLatestConfig        *Stats `json:"withLatestConfig,omitempty"`
	WithOutdatedConfig      *Stats `json:"withOutdatedConfig,omitempty"`
	TotalSummary            *Stats `json:"totalSummary,omitempty"`
}

// Stats wraps TaskStats.
type Stats struct {
	Stats TaskStats `json:"stats"`
}

// TaskStats are counts and lifetimes of a set of tasks.
type TaskStats struct {
	Counts   TaskCounts    `json:"counts"`
	LifeTime *TaskLifeTime `json:"lifeTime,omitempty"`
}

// TaskCounts are per-state task counts.
type TaskCounts struct {
	Staged    int `json:"staged"`
	Running   int `json:"running"`
	Healthy   int `json:"healthy"`
	Unhealthy int `json:"unhealthy"`
}

// TaskLifeTime are lifetimes in seconds.
type TaskLifeTime struct {
	AverageSeconds float64 `json:"averageSeconds"`
	MedianSeconds  float64 `json:"medianSeconds"`
}
