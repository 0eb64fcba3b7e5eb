package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/strata-sched/strata/marathon/app"
)

// appJSONCache keeps the JSON of app definitions by id and version: a
// definition never changes under one version, and encoding the app is
// most of the work of GET /v2/apps.
type appJSONCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *appJSONCache) get(a *app.App) ([]byte, error) {
	key := a.ID + "@" + a.Version
	c.mu.Lock()
	b, ok := c.m[key]
	c.mu.Unlock()
	if ok && a.Version != "" {
		return b, nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 20000 {
		c.m = map[string][]byte{}
	}
	c.m[key] = b
	c.mu.Unlock()
	return b, nil
}

// taskOut is app.Task without its MarshalJSON (which makes encoding/json
// re-compact every task); same fields, tags and order.
type taskOut struct {
	AppID              string             `json:"appId"`
	HealthCheckResults []app.HealthResult `json:"healthCheckResults"`
	CheckResult        json.RawMessage    `json:"checkResult,omitempty"`
	Host               string             `json:"host"`
	ID                 string             `json:"id"`
	IPAddresses        []app.IPAddr       `json:"ipAddresses"`
	Ports              []uint64           `json:"ports"`
	ServicePorts       []uint64           `json:"servicePorts"`
	SlaveID            string             `json:"slaveId,omitempty"`
	State              string             `json:"state"`
	StagedAt           string             `json:"stagedAt,omitempty"`
	StartedAt          string             `json:"startedAt,omitempty"`
	Version            string             `json:"version,omitempty"`
	LocalVolumes       []app.LocalVolume  `json:"localVolumes"`
	Region             string             `json:"region,omitempty"`
	Zone               string             `json:"zone,omitempty"`
	Role               string             `json:"role"`
}

func toTaskOut(t app.Task) taskOut {
	o := taskOut(t)
	if o.HealthCheckResults == nil {
		o.HealthCheckResults = []app.HealthResult{}
	}
	if o.IPAddresses == nil {
		o.IPAddresses = []app.IPAddr{}
	}
	if o.Ports == nil {
		o.Ports = []uint64{}
	}
	if o.ServicePorts == nil {
		o.ServicePorts = []uint64{}
	}
	if o.LocalVolumes == nil {
		o.LocalVolumes = []app.LocalVolume{}
	}
	return o
}

// appExtras are the fields AppInfo adds to App, in its order.
type appExtras struct {
	TasksStaged           *int                       `json:"tasksStaged,omitempty"`
	TasksRunning          *int                       `json:"tasksRunning,omitempty"`
	TasksHealthy          *int                       `json:"tasksHealthy,omitempty"`
	TasksUnhealthy        *int                       `json:"tasksUnhealthy,omitempty"`
	Deployments           []app.Identifiable         `json:"deployments,omitzero"`
	ReadinessCheckResults []app.ReadinessCheckResult `json:"readinessCheckResults,omitzero"`
	Tasks                 []taskOut                  `json:"tasks,omitzero"`
	LastTaskFailure       *app.TaskFailure           `json:"lastTaskFailure,omitempty"`
	TasksStats            *app.TasksStats            `json:"tasksStats,omitempty"`
}

// appendAppInfo appends the JSON of ai, as encoding/json would write it.
func (c *appJSONCache) appendAppInfo(buf *bytes.Buffer, ai *app.AppInfo) error {
	base, err := c.get(&ai.App)
	if err != nil {
		return err
	}
	ex := appExtras{TasksStaged: ai.TasksStaged, TasksRunning: ai.TasksRunning, TasksHealthy: ai.TasksHealthy,
		TasksUnhealthy: ai.TasksUnhealthy, Deployments: ai.Deployments, ReadinessCheckResults: ai.ReadinessCheckResults,
		LastTaskFailure: ai.LastTaskFailure, TasksStats: ai.TasksStats}
	if ai.Tasks != nil {
		ex.Tasks = make([]taskOut, len(ai.Tasks))
		for i, t := range ai.Tasks {
			ex.Tasks[i] = toTaskOut(t)
		}
	}
	extra, err := json.Marshal(ex)
	if err != nil {
		return err
	}
	if len(extra) <= 2 {
		buf.Write(base)
		return nil
	}
	buf.Write(base[:len(base)-1])
	if len(base) > 2 {
		buf.WriteByte(',')
	}
	buf.Write(extra[1:])
	return nil
}

// writeApps writes {"<key>": [AppInfo...]}.
func (s *server) writeApps(w http.ResponseWriter, key string, apps []app.AppInfo) {
	var buf bytes.Buffer
	buf.Grow(len(apps) * 1024)
	buf.WriteString(`{"`)
	buf.WriteString(key)
	buf.WriteString(`":[`)
	for i := range apps {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := s.cache.appendAppInfo(&buf, &apps[i]); err != nil {
			writeError(w, err)
			return
		}
	}
	buf.WriteString("]}")
	writeRaw(w, http.StatusOK, buf.Bytes())
}
