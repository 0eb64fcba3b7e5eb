package mesos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// IDs are objects with a single "value" field.
type (
	FrameworkID struct {
		Value string `json:"value"`
	}
	AgentID struct {
		Value string `json:"value"`
	}
	OfferID struct {
		Value string `json:"value"`
	}
	TaskID struct {
		Value string `json:"value"`
	}
	ExecutorID struct {
		Value string `json:"value"`
	}
	ContainerID struct {
		Value  string       `json:"value"`
		Parent *ContainerID `json:"parent,omitempty"`
	}
	OperationID struct {
		Value string `json:"value"`
	}
)

// ValueType is Value.Type.
type ValueType string

const (
	SCALAR ValueType = "SCALAR"
	RANGES ValueType = "RANGES"
	SET    ValueType = "SET"
	TEXT   ValueType = "TEXT"
)

// Scalar is Value.Scalar. It encodes +Inf as "Infinity" and decodes numbers,
// numeric strings and "Infinity"/"-Infinity".
type Scalar struct {
	Value float64
}

func (s Scalar) MarshalJSON() ([]byte, error) {
	return []byte(`{"value":` + formatDouble(s.Value) + `}`), nil
}

// UnmarshalJSON accepts the proto shape {"value": v} and, leniently, a bare
// v (the shorthand some Mesos docs use, e.g. "limits":{"cpus":"Infinity"}),
// where v is a number, a numeric string or "Infinity". JSON null leaves s
// unchanged (null means unset).
func (s *Scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if isNull(b) {
		return nil
	}
	val := json.RawMessage(b)
	if len(b) > 0 && b[0] == '{' {
		var raw struct {
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		if raw.Value == nil {
			return fmt.Errorf("scalar: missing 'value'")
		}
		val = raw.Value
	}
	v, err := ParseDouble(val)
	if err != nil {
		return fmt.Errorf("scalar: %w", err)
	}
	s.Value = v
	return nil
}

// isNull reports whether a JSON value is null (which means unset).
func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

// Double is a proto double that decodes leniently (numbers, numeric strings,
// "Infinity") and encodes infinities as strings.
type Double float64

func (d Double) MarshalJSON() ([]byte, error) { return []byte(formatDouble(float64(d))), nil }

func (d *Double) UnmarshalJSON(b []byte) error {
	v, err := ParseDouble(b)
	if err != nil {
		return err
	}
	*d = Double(v)
	return nil
}

func formatDouble(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return `"Infinity"`
	case math.IsInf(v, -1):
		return `"-Infinity"`
	case math.IsNaN(v):
		return `"NaN"`
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// ParseDouble decodes a JSON number, numeric string or "Infinity".
func ParseDouble(raw []byte) (float64, error) {
	s := strings.TrimSpace(string(raw))
	if s == "null" {
		return 0, nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal([]byte(s), &str); err != nil {
			return 0, err
		}
		s = strings.TrimSpace(str)
	}
	switch s {
	case "Infinity", "inf", "+Infinity":
		return math.Inf(1), nil
	case "-Infinity", "-inf":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		// Out-of-range values keep strtod's result (±Inf, or 0 on
		// underflow) as Mesos' JSON parser does; anything else is an error.
		return 0, fmt.Errorf("not a number: %q", s)
	}
	if math.IsNaN(v) {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return v, nil
}

// Range is Value.Range (inclusive).
type Range struct {
	Begin uint64 `json:"begin"`
	End   uint64 `json:"end"`
}

// UnmarshalJSON accepts begin and end as numbers or numeric strings (the
// proto3 JSON mapping writes 64-bit integers as strings).
func (r *Range) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	var raw struct {
		Begin json.RawMessage `json:"begin"`
		End   json.RawMessage `json:"end"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var out Range
	if err := parseIntJSON(raw.Begin, &out.Begin); err != nil {
		return fmt.Errorf("range begin: %w", err)
	}
	if err := parseIntJSON(raw.End, &out.End); err != nil {
		return fmt.Errorf("range end: %w", err)
	}
	*r = out
	return nil
}

// parseIntJSON decodes an absent value, null, a JSON integer or a string
// holding one into *dst (uint64 or int64).
func parseIntJSON[T uint64 | int64](raw json.RawMessage, dst *T) error {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal([]byte(s), &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	}
	var v T
	switch p := any(&v).(type) {
	case *uint64:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not a non-negative integer: %q", s)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		*p = n
	}
	*dst = v
	return nil
}

type Ranges struct {
	Range []Range `json:"range,omitempty"`
}

type Set struct {
	Item []string `json:"item,omitempty"`
}

type Text struct {
	Value string `json:"value"`
}

// AllocationInfo says which role a resource is allocated to.
type AllocationInfo struct {
	Role string `json:"role,omitempty"`
}

// ReservationInfo is one level of a reservation stack.
type ReservationInfo struct {
	Type      string  `json:"type,omitempty"` // STATIC or DYNAMIC
	Role      string  `json:"role,omitempty"`
	Principal string  `json:"principal,omitempty"`
	Labels    *Labels `json:"labels,omitempty"`
}

// DiskInfo is Resource.DiskInfo (persistent volumes; carried through, not managed yet).
type DiskInfo struct {
	Persistence *struct {
		ID        string `json:"id"`
		Principal string `json:"principal,omitempty"`
	} `json:"persistence,omitempty"`
	Volume *Volume          `json:"volume,omitempty"`
	Source *json.RawMessage `json:"source,omitempty"`
}

// Resource is one named resource.
type Resource struct {
	Name           string            `json:"name"`
	Type           ValueType         `json:"type"`
	Scalar         *Scalar           `json:"scalar,omitempty"`
	Ranges         *Ranges           `json:"ranges,omitempty"`
	Set            *Set              `json:"set,omitempty"`
	Role           string            `json:"role,omitempty"` // deprecated pre-refinement format
	AllocationInfo *AllocationInfo   `json:"allocation_info,omitempty"`
	Reservation    *ReservationInfo  `json:"reservation,omitempty"` // deprecated
	Reservations   []ReservationInfo `json:"reservations,omitempty"`
	Disk           *DiskInfo         `json:"disk,omitempty"`
	Revocable      *struct{}         `json:"revocable,omitempty"`
	Shared         *struct{}         `json:"shared,omitempty"`
	ProviderID     *struct {
		Value string `json:"value"`
	} `json:"provider_id,omitempty"`
}

// Attribute is an agent attribute.
type Attribute struct {
	Name   string    `json:"name"`
	Type   ValueType `json:"type"`
	Scalar *Scalar   `json:"scalar,omitempty"`
	Ranges *Ranges   `json:"ranges,omitempty"`
	Set    *Set      `json:"set,omitempty"`
	Text   *Text     `json:"text,omitempty"`
}

type Label struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

type Labels struct {
	Labels []Label `json:"labels,omitempty"`
}

// DurationInfo is a duration in nanoseconds.
type DurationInfo struct {
	Nanoseconds int64 `json:"nanoseconds"`
}

// UnmarshalJSON accepts nanoseconds as a number or a numeric string.
func (d *DurationInfo) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	n, err := unmarshalNanos(b)
	if err == nil {
		d.Nanoseconds = n
	}
	return err
}

// TimeInfo is a point in time in nanoseconds since the epoch.
type TimeInfo struct {
	Nanoseconds int64 `json:"nanoseconds"`
}

// UnmarshalJSON accepts nanoseconds as a number or a numeric string.
func (t *TimeInfo) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	n, err := unmarshalNanos(b)
	if err == nil {
		t.Nanoseconds = n
	}
	return err
}

func unmarshalNanos(b []byte) (int64, error) {
	var raw struct {
		Nanoseconds json.RawMessage `json:"nanoseconds"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return 0, err
	}
	var n int64
	if err := parseIntJSON(raw.Nanoseconds, &n); err != nil {
		return 0, fmt.Errorf("nanoseconds: %w", err)
	}
	return n, nil
}

type Address struct {
	Hostname string `json:"hostname,omitempty"`
	IP       string `json:"ip,omitempty"`
	Port     int32  `json:"port"`
}

type DomainInfo struct {
	FaultDomain *struct {
		Region struct {
			Name string `json:"name"`
		} `json:"region"`
		Zone struct {
			Name string `json:"name"`
		} `json:"zone"`
	} `json:"fault_domain,omitempty"`
}

// MasterInfo describes a master.
type MasterInfo struct {
	ID           string      `json:"id"`
	IP           uint32      `json:"ip"`
	Port         uint32      `json:"port"`
	PID          string      `json:"pid,omitempty"`
	Hostname     string      `json:"hostname,omitempty"`
	Version      string      `json:"version,omitempty"`
	Address      *Address    `json:"address,omitempty"`
	Domain       *DomainInfo `json:"domain,omitempty"`
	Capabilities []struct {
		Type string `json:"type"`
	} `json:"capabilities,omitempty"`
}

// AgentInfo describes an agent.
type AgentInfo struct {
	Hostname   string      `json:"hostname"`
	Port       int32       `json:"port,omitempty"`
	Resources  Resources   `json:"resources,omitempty"`
	Attributes []Attribute `json:"attributes,omitempty"`
	ID         *AgentID    `json:"id,omitempty"`
	Domain     *DomainInfo `json:"domain,omitempty"`
}

// Framework capabilities.
const (
	CapRevocableResources    = "REVOCABLE_RESOURCES"
	CapTaskKillingState      = "TASK_KILLING_STATE"
	CapGPUResources          = "GPU_RESOURCES"
	CapSharedResources       = "SHARED_RESOURCES"
	CapPartitionAware        = "PARTITION_AWARE"
	CapMultiRole             = "MULTI_ROLE"
	CapReservationRefinement = "RESERVATION_REFINEMENT"
	CapRegionAware           = "REGION_AWARE"
)

type Capability struct {
	Type string `json:"type"`
}

// OfferFilters is FrameworkInfo.OfferFilters per role.
type OfferFilters struct {
	MinAllocatableResources *struct {
		Quantities []struct {
			Quantities map[string]Scalar `json:"quantities,omitempty"`
		} `json:"quantities,omitempty"`
	} `json:"min_allocatable_resources,omitempty"`
}

// FrameworkInfo describes a framework.
type FrameworkInfo struct {
	User            string                  `json:"user"`
	Name            string                  `json:"name"`
	ID              *FrameworkID            `json:"id,omitempty"`
	FailoverTimeout Double                  `json:"failover_timeout"`
	Checkpoint      bool                    `json:"checkpoint"`
	Role            string                  `json:"role,omitempty"`
	Roles           []string                `json:"roles,omitempty"`
	Hostname        string                  `json:"hostname,omitempty"`
	Principal       string                  `json:"principal,omitempty"`
	WebuiURL        string                  `json:"webui_url,omitempty"`
	Capabilities    []Capability            `json:"capabilities,omitempty"`
	Labels          *Labels                 `json:"labels,omitempty"`
	OfferFilters    map[string]OfferFilters `json:"offer_filters,omitempty"`
}

// HasCapability reports whether the framework declared capability c.
func (f *FrameworkInfo) HasCapability(c string) bool {
	for _, x := range f.Capabilities {
		if x.Type == c {
			return true
		}
	}
	return false
}

// EffectiveRoles returns Roles for MULTI_ROLE frameworks, else [Role or "*"].
func (f *FrameworkInfo) EffectiveRoles() []string {
	if f.HasCapability(CapMultiRole) || len(f.Roles) > 0 {
		if len(f.Roles) == 0 {
			return []string{"*"}
		}
		return f.Roles
	}
	if f.Role == "" {
		return []string{"*"}
	}
	return []string{f.Role}
}

// URI is CommandInfo.URI.
type URI struct {
	Value      string `json:"value"`
	Executable *bool  `json:"executable,omitempty"`
	Extract    *bool  `json:"extract,omitempty"`
	Cache      *bool  `json:"cache,omitempty"`
	OutputFile string `json:"output_file,omitempty"`
}

// ShouldExtract returns extract with its proto default (true).
func (u *URI) ShouldExtract() bool { return u.Extract == nil || *u.Extract }

// MarshalJSON emits extract with its default (true), as stout does.
func (u URI) MarshalJSON() ([]byte, error) {
	type plain URI
	p := plain(u)
	if p.Extract == nil {
		p.Extract = boolPtr(true)
	}
	return json.Marshal(p)
}

func boolPtr(b bool) *bool        { return &b }
func doublePtr(v float64) *Double { d := Double(v); return &d }
func uint32Ptr(v uint32) *uint32  { return &v }

type EnvVariable struct {
	Name   string          `json:"name"`
	Type   string          `json:"type,omitempty"` // VALUE or SECRET
	Value  string          `json:"value,omitempty"`
	Secret json.RawMessage `json:"secret,omitempty"`
}

type Environment struct {
	Variables []EnvVariable `json:"variables,omitempty"`
}

// CommandInfo is a command to run. Shell defaults to true.
type CommandInfo struct {
	URIs        []URI        `json:"uris,omitempty"`
	Environment *Environment `json:"environment,omitempty"`
	Shell       *bool        `json:"shell,omitempty"`
	Value       *string      `json:"value,omitempty"`
	Arguments   []string     `json:"arguments,omitempty"`
	User        *string      `json:"user,omitempty"`
}

// IsShell returns the shell flag with its proto default (true).
func (c *CommandInfo) IsShell() bool { return c == nil || c.Shell == nil || *c.Shell }

// GetValue returns Value or "".
func (c *CommandInfo) GetValue() string {
	if c == nil || c.Value == nil {
		return ""
	}
	return *c.Value
}

// MarshalJSON emits shell with its default, as stout does.
func (c CommandInfo) MarshalJSON() ([]byte, error) {
	type plain CommandInfo
	p := plain(c)
	if p.Shell == nil {
		p.Shell = boolPtr(true)
	}
	return json.Marshal(p)
}

type Parameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type PortMapping struct {
	HostPort      uint32 `json:"host_port"`
	ContainerPort uint32 `json:"container_port"`
	Protocol      string `json:"protocol,omitempty"`
}

type DockerInfo struct {
	Image          string        `json:"image"`
	Network        string        `json:"network,omitempty"` // HOST, BRIDGE, NONE, USER
	PortMappings   []PortMapping `json:"port_mappings,omitempty"`
	Privileged     bool          `json:"privileged,omitempty"`
	Parameters     []Parameter   `json:"parameters,omitempty"`
	ForcePullImage bool          `json:"force_pull_image,omitempty"`
	VolumeDriver   string        `json:"volume_driver,omitempty"`
}

// MarshalJSON emits network (default HOST) and privileged (default false)
// even when unset, as stout does.
func (d DockerInfo) MarshalJSON() ([]byte, error) {
	type plain DockerInfo
	var out struct {
		plain
		Network    string `json:"network"`
		Privileged bool   `json:"privileged"`
	}
	out.plain = plain(d)
	out.Network, out.Privileged = d.Network, d.Privileged
	if out.Network == "" {
		out.Network = "HOST"
	}
	return json.Marshal(out)
}

type Image struct {
	Type   string `json:"type"`
	Docker *struct {
		Name string `json:"name"`
	} `json:"docker,omitempty"`
	Cached *bool `json:"cached,omitempty"`
}

type Volume struct {
	Mode          string          `json:"mode,omitempty"` // RW or RO
	ContainerPath string          `json:"container_path"`
	HostPath      string          `json:"host_path,omitempty"`
	Image         *Image          `json:"image,omitempty"`
	Source        json.RawMessage `json:"source,omitempty"`
}

type NetworkInfo struct {
	IPAddresses []struct {
		Protocol  string `json:"protocol,omitempty"`
		IPAddress string `json:"ip_address,omitempty"`
	} `json:"ip_addresses,omitempty"`
	Name         string        `json:"name,omitempty"`
	Groups       []string      `json:"groups,omitempty"`
	Labels       *Labels       `json:"labels,omitempty"`
	PortMappings []PortMapping `json:"port_mappings,omitempty"`
}

type RLimitInfo struct {
	Rlimits []RLimit `json:"rlimits,omitempty"`
}

type RLimit struct {
	Type string  `json:"type"`
	Hard *uint64 `json:"hard,omitempty"`
	Soft *uint64 `json:"soft,omitempty"`
}

type ContainerInfo struct {
	Type     string      `json:"type"` // DOCKER or MESOS
	Volumes  []Volume    `json:"volumes,omitempty"`
	Hostname string      `json:"hostname,omitempty"`
	Docker   *DockerInfo `json:"docker,omitempty"`
	Mesos    *struct {
		Image *Image `json:"image,omitempty"`
	} `json:"mesos,omitempty"`
	NetworkInfos []NetworkInfo   `json:"network_infos,omitempty"`
	LinuxInfo    json.RawMessage `json:"linux_info,omitempty"`
	RlimitInfo   *RLimitInfo     `json:"rlimit_info,omitempty"`
	TTYInfo      json.RawMessage `json:"tty_info,omitempty"`
}

type HTTPCheckInfo struct {
	Protocol string   `json:"protocol,omitempty"`
	Scheme   string   `json:"scheme,omitempty"`
	Port     uint32   `json:"port"`
	Path     string   `json:"path,omitempty"`
	Statuses []uint32 `json:"statuses,omitempty"`
}

type TCPCheckInfo struct {
	Protocol string `json:"protocol,omitempty"`
	Port     uint32 `json:"port"`
}

// HealthCheck is TaskInfo.health_check. Timing fields default as in Mesos.
type HealthCheck struct {
	Type                string         `json:"type,omitempty"` // COMMAND, HTTP, TCP
	DelaySeconds        *Double        `json:"delay_seconds,omitempty"`
	IntervalSeconds     *Double        `json:"interval_seconds,omitempty"`
	TimeoutSeconds      *Double        `json:"timeout_seconds,omitempty"`
	ConsecutiveFailures *uint32        `json:"consecutive_failures,omitempty"`
	GracePeriodSeconds  *Double        `json:"grace_period_seconds,omitempty"`
	Command             *CommandInfo   `json:"command,omitempty"`
	HTTP                *HTTPCheckInfo `json:"http,omitempty"`
	TCP                 *TCPCheckInfo  `json:"tcp,omitempty"`
}

// Health check defaults (mesos.proto HealthCheck).
const (
	DefaultHealthDelaySeconds       = 15.0
	DefaultHealthIntervalSeconds    = 10.0
	DefaultHealthTimeoutSeconds     = 20.0
	DefaultHealthConsecutiveFailure = 3
	DefaultHealthGracePeriodSeconds = 10.0
)

func doubleOr(d *Double, def float64) float64 {
	if d == nil {
		return def
	}
	return float64(*d)
}

// Delay, Interval, Timeout, Failures and GracePeriod return the timing
// fields with their proto defaults.
func (h *HealthCheck) Delay() float64 { return doubleOr(h.DelaySeconds, DefaultHealthDelaySeconds) }
func (h *HealthCheck) Interval() float64 {
	return doubleOr(h.IntervalSeconds, DefaultHealthIntervalSeconds)
}
func (h *HealthCheck) Timeout() float64 {
	return doubleOr(h.TimeoutSeconds, DefaultHealthTimeoutSeconds)
}
func (h *HealthCheck) GracePeriod() float64 {
	return doubleOr(h.GracePeriodSeconds, DefaultHealthGracePeriodSeconds)
}
func (h *HealthCheck) Failures() uint32 {
	if h.ConsecutiveFailures == nil {
		return DefaultHealthConsecutiveFailure
	}
	return *h.ConsecutiveFailures
}

// MarshalJSON emits the timing fields with their defaults, as stout does.
func (h HealthCheck) MarshalJSON() ([]byte, error) {
	type plain HealthCheck
	p := plain(h)
	if p.DelaySeconds == nil {
		p.DelaySeconds = doublePtr(DefaultHealthDelaySeconds)
	}
	if p.IntervalSeconds == nil {
		p.IntervalSeconds = doublePtr(DefaultHealthIntervalSeconds)
	}
	if p.TimeoutSeconds == nil {
		p.TimeoutSeconds = doublePtr(DefaultHealthTimeoutSeconds)
	}
	if p.ConsecutiveFailures == nil {
		p.ConsecutiveFailures = uint32Ptr(DefaultHealthConsecutiveFailure)
	}
	if p.GracePeriodSeconds == nil {
		p.GracePeriodSeconds = doublePtr(DefaultHealthGracePeriodSeconds)
	}
	return json.Marshal(p)
}

// CheckInfo is TaskInfo.check (general checks).
type CheckInfo struct {
	Type    string `json:"type,omitempty"`
	Command *struct {
		Command *CommandInfo `json:"command,omitempty"`
	} `json:"command,omitempty"`
	HTTP *struct {
		Port uint32 `json:"port"`
		Path string `json:"path,omitempty"`
	} `json:"http,omitempty"`
	TCP *struct {
		Port uint32 `json:"port"`
	} `json:"tcp,omitempty"`
	DelaySeconds    *Double `json:"delay_seconds,omitempty"`
	IntervalSeconds *Double `json:"interval_seconds,omitempty"`
	TimeoutSeconds  *Double `json:"timeout_seconds,omitempty"`
}

// MarshalJSON emits the timing fields with their defaults (15, 10, 20 s).
func (c CheckInfo) MarshalJSON() ([]byte, error) {
	type plain CheckInfo
	p := plain(c)
	if p.DelaySeconds == nil {
		p.DelaySeconds = doublePtr(15)
	}
	if p.IntervalSeconds == nil {
		p.IntervalSeconds = doublePtr(10)
	}
	if p.TimeoutSeconds == nil {
		p.TimeoutSeconds = doublePtr(20)
	}
	return json.Marshal(p)
}

// CheckStatusInfo is TaskStatus.check_status.
type CheckStatusInfo struct {
	Type    string `json:"type,omitempty"`
	Command *struct {
		ExitCode *int32 `json:"exit_code,omitempty"`
	} `json:"command,omitempty"`
	HTTP *struct {
		StatusCode *uint32 `json:"status_code,omitempty"`
	} `json:"http,omitempty"`
	TCP *struct {
		Succeeded *bool `json:"succeeded,omitempty"`
	} `json:"tcp,omitempty"`
}

type KillPolicy struct {
	GracePeriod *DurationInfo `json:"grace_period,omitempty"`
}

type DiscoveryInfo struct {
	Visibility  string `json:"visibility"`
	Name        string `json:"name,omitempty"`
	Environment string `json:"environment,omitempty"`
	Location    string `json:"location,omitempty"`
	Version     string `json:"version,omitempty"`
	Ports       *struct {
		Ports []struct {
			Number   uint32  `json:"number"`
			Name     string  `json:"name,omitempty"`
			Protocol string  `json:"protocol,omitempty"`
			Labels   *Labels `json:"labels,omitempty"`
		} `json:"ports,omitempty"`
	} `json:"ports,omitempty"`
	Labels *Labels `json:"labels,omitempty"`
}

// ExecutorInfo describes an executor.
type ExecutorInfo struct {
	Type                string         `json:"type,omitempty"` // DEFAULT or CUSTOM
	ExecutorID          ExecutorID     `json:"executor_id"`
	FrameworkID         *FrameworkID   `json:"framework_id,omitempty"`
	Command             *CommandInfo   `json:"command,omitempty"`
	Container           *ContainerInfo `json:"container,omitempty"`
	Resources           Resources      `json:"resources,omitempty"`
	Name                string         `json:"name,omitempty"`
	Source              string         `json:"source,omitempty"`
	Data                []byte         `json:"data,omitempty"`
	Discovery           *DiscoveryInfo `json:"discovery,omitempty"`
	ShutdownGracePeriod *DurationInfo  `json:"shutdown_grace_period,omitempty"`
	Labels              *Labels        `json:"labels,omitempty"`
}

// TaskInfo describes a task.
type TaskInfo struct {
	Name              string            `json:"name"`
	TaskID            TaskID            `json:"task_id"`
	AgentID           AgentID           `json:"agent_id"`
	Resources         Resources         `json:"resources,omitempty"`
	Executor          *ExecutorInfo     `json:"executor,omitempty"`
	Command           *CommandInfo      `json:"command,omitempty"`
	Container         *ContainerInfo    `json:"container,omitempty"`
	HealthCheck       *HealthCheck      `json:"health_check,omitempty"`
	Check             *CheckInfo        `json:"check,omitempty"`
	KillPolicy        *KillPolicy       `json:"kill_policy,omitempty"`
	Data              []byte            `json:"data,omitempty"`
	Labels            *Labels           `json:"labels,omitempty"`
	Discovery         *DiscoveryInfo    `json:"discovery,omitempty"`
	MaxCompletionTime *DurationInfo     `json:"max_completion_time,omitempty"`
	Limits            map[string]Scalar `json:"limits,omitempty"`
}

type TaskGroupInfo struct {
	Tasks []TaskInfo `json:"tasks,omitempty"`
}

// TaskState is the state of a task.
type TaskState string

const (
	TaskStaging        TaskState = "TASK_STAGING"
	TaskStarting       TaskState = "TASK_STARTING"
	TaskRunning        TaskState = "TASK_RUNNING"
	TaskKilling        TaskState = "TASK_KILLING"
	TaskFinished       TaskState = "TASK_FINISHED"
	TaskFailed         TaskState = "TASK_FAILED"
	TaskKilled         TaskState = "TASK_KILLED"
	TaskError          TaskState = "TASK_ERROR"
	TaskLost           TaskState = "TASK_LOST"
	TaskDropped        TaskState = "TASK_DROPPED"
	TaskUnreachable    TaskState = "TASK_UNREACHABLE"
	TaskGone           TaskState = "TASK_GONE"
	TaskGoneByOperator TaskState = "TASK_GONE_BY_OPERATOR"
	TaskUnknown        TaskState = "TASK_UNKNOWN"
)

// AllTaskStates lists every state in Mesos' enum order of declaration.
var AllTaskStates = []TaskState{TaskStaging, TaskStarting, TaskRunning, TaskKilling, TaskFinished,
	TaskFailed, TaskKilled, TaskError, TaskLost, TaskDropped, TaskUnreachable, TaskGone,
	TaskGoneByOperator, TaskUnknown}

// IsTerminal mirrors Mesos' isTerminalState.
func (s TaskState) IsTerminal() bool {
	switch s {
	case TaskFinished, TaskFailed, TaskKilled, TaskLost, TaskError, TaskDropped, TaskGone, TaskGoneByOperator:
		return true
	}
	return false
}

// Valid reports whether s is a known task state.
func (s TaskState) Valid() bool {
	for _, x := range AllTaskStates {
		if x == s {
			return true
		}
	}
	return false
}

// Status update sources.
const (
	SourceMaster   = "SOURCE_MASTER"
	SourceAgent    = "SOURCE_AGENT"
	SourceExecutor = "SOURCE_EXECUTOR"
)

// Status update reasons used by Strata (a subset of Mesos' enum, same names).
const (
	ReasonCommandExecutorFailed         = "REASON_COMMAND_EXECUTOR_FAILED"
	ReasonContainerLaunchFailed         = "REASON_CONTAINER_LAUNCH_FAILED"
	ReasonContainerLimitationDisk       = "REASON_CONTAINER_LIMITATION_DISK"
	ReasonContainerLimitationMemory     = "REASON_CONTAINER_LIMITATION_MEMORY"
	ReasonContainerPreparationFailed    = "REASON_CONTAINER_PREPARATION_FAILED"
	ReasonExecutorRegistrationTimeout   = "REASON_EXECUTOR_REGISTRATION_TIMEOUT"
	ReasonExecutorReregistrationTimeout = "REASON_EXECUTOR_REREGISTRATION_TIMEOUT"
	ReasonExecutorTerminated            = "REASON_EXECUTOR_TERMINATED"
	ReasonFrameworkRemoved              = "REASON_FRAMEWORK_REMOVED"
	ReasonGCError                       = "REASON_GC_ERROR"
	ReasonInvalidOffers                 = "REASON_INVALID_OFFERS"
	ReasonAgentDisconnected             = "REASON_SLAVE_DISCONNECTED"
	ReasonAgentRemoved                  = "REASON_SLAVE_REMOVED"
	ReasonAgentRestarted                = "REASON_SLAVE_RESTARTED"
	ReasonAgentUnknown                  = "REASON_SLAVE_UNKNOWN"
	ReasonAgentReregistered             = "REASON_AGENT_REREGISTERED"
	ReasonReconciliation                = "REASON_RECONCILIATION"
	ReasonResourcesUnknown              = "REASON_RESOURCES_UNKNOWN"
	ReasonTaskCheckStatusUpdated        = "REASON_TASK_CHECK_STATUS_UPDATED"
	ReasonTaskHealthCheckStatusUpdated  = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED"
	ReasonTaskGroupInvalid              = "REASON_TASK_GROUP_INVALID"
	ReasonTaskGroupUnauthorized         = "REASON_TASK_GROUP_UNAUTHORIZED"
	ReasonTaskInvalid                   = "REASON_TASK_INVALID"
	ReasonTaskKilledDuringLaunch        = "REASON_TASK_KILLED_DURING_LAUNCH"
	ReasonTaskUnauthorized              = "REASON_TASK_UNAUTHORIZED"
	ReasonTaskUnknown                   = "REASON_TASK_UNKNOWN"
	ReasonMaxCompletionTimeReached      = "REASON_MAX_COMPLETION_TIME_REACHED"
)

type ContainerStatus struct {
	ContainerID  *ContainerID  `json:"container_id,omitempty"`
	NetworkInfos []NetworkInfo `json:"network_infos,omitempty"`
	ExecutorPID  *uint32       `json:"executor_pid,omitempty"`
}

type TaskResourceLimitation struct {
	Resources Resources `json:"resources,omitempty"`
}

// TaskStatus is a task status update.
type TaskStatus struct {
	TaskID          TaskID                  `json:"task_id"`
	State           TaskState               `json:"state"`
	Message         string                  `json:"message,omitempty"`
	Source          string                  `json:"source,omitempty"`
	Reason          string                  `json:"reason,omitempty"`
	Data            []byte                  `json:"data,omitempty"`
	AgentID         *AgentID                `json:"agent_id,omitempty"`
	ExecutorID      *ExecutorID             `json:"executor_id,omitempty"`
	Timestamp       float64                 `json:"timestamp,omitempty"`
	UUID            []byte                  `json:"uuid,omitempty"`
	Healthy         *bool                   `json:"healthy,omitempty"`
	CheckStatus     *CheckStatusInfo        `json:"check_status,omitempty"`
	Labels          *Labels                 `json:"labels,omitempty"`
	ContainerStatus *ContainerStatus        `json:"container_status,omitempty"`
	UnreachableTime *TimeInfo               `json:"unreachable_time,omitempty"`
	Limitation      *TaskResourceLimitation `json:"limitation,omitempty"`
}

// Filters are offer filters. RefuseSeconds defaults to 5.
type Filters struct {
	RefuseSeconds *Double `json:"refuse_seconds,omitempty"`
}

// DefaultRefuseSeconds and MaxRefuseSeconds bound Filters.refuse_seconds.
const (
	DefaultRefuseSeconds = 5.0
	MaxRefuseSeconds     = 31536000.0 // 365 days
)

// MarshalJSON emits refuse_seconds with its default (5), as stout does.
func (f Filters) MarshalJSON() ([]byte, error) {
	type plain Filters
	p := plain(f)
	if p.RefuseSeconds == nil {
		p.RefuseSeconds = doublePtr(DefaultRefuseSeconds)
	}
	return json.Marshal(p)
}

// Refuse returns refuse_seconds with Mesos' default (5 s), negative → default,
// capped at 365 days.
func (f *Filters) Refuse() float64 {
	const def, max = DefaultRefuseSeconds, MaxRefuseSeconds
	if f == nil || f.RefuseSeconds == nil {
		return def
	}
	v := float64(*f.RefuseSeconds)
	if v < 0 || math.IsNaN(v) {
		return def
	}
	if v > max {
		return max
	}
	return v
}

// Offer is a resource offer.
type Offer struct {
	ID             OfferID         `json:"id"`
	FrameworkID    FrameworkID     `json:"framework_id"`
	AgentID        AgentID         `json:"agent_id"`
	Hostname       string          `json:"hostname"`
	URL            *URL            `json:"url,omitempty"`
	Domain         *DomainInfo     `json:"domain,omitempty"`
	Resources      Resources       `json:"resources,omitempty"`
	Attributes     []Attribute     `json:"attributes,omitempty"`
	ExecutorIDs    []ExecutorID    `json:"executor_ids,omitempty"`
	AllocationInfo *AllocationInfo `json:"allocation_info,omitempty"`
	// Unavailability is set on offers from machines scheduled for maintenance.
	Unavailability *Unavailability `json:"unavailability,omitempty"`
}

type URL struct {
	Scheme  string  `json:"scheme"`
	Address Address `json:"address"`
	Path    string  `json:"path,omitempty"`
}

// Offer operation types.
const (
	OpLaunch      = "LAUNCH"
	OpLaunchGroup = "LAUNCH_GROUP"
	OpReserve     = "RESERVE"
	OpUnreserve   = "UNRESERVE"
	OpCreate      = "CREATE"
	OpDestroy     = "DESTROY"
)

// Operation is Offer.Operation.
type Operation struct {
	Type   string       `json:"type"`
	ID     *OperationID `json:"id,omitempty"`
	Launch *struct {
		TaskInfos []TaskInfo `json:"task_infos,omitempty"`
	} `json:"launch,omitempty"`
	LaunchGroup *struct {
		Executor  ExecutorInfo  `json:"executor"`
		TaskGroup TaskGroupInfo `json:"task_group"`
	} `json:"launch_group,omitempty"`
	Reserve *struct {
		Resources Resources  `json:"resources,omitempty"`
		Source    []Resource `json:"source,omitempty"`
	} `json:"reserve,omitempty"`
	Unreserve *struct {
		Resources Resources `json:"resources,omitempty"`
	} `json:"unreserve,omitempty"`
	Create *struct {
		Volumes []Resource `json:"volumes,omitempty"`
	} `json:"create,omitempty"`
	Destroy *struct {
		Volumes []Resource `json:"volumes,omitempty"`
	} `json:"destroy,omitempty"`
}
