package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// App is Marathon's AppDefinition in its JSON form. Fields appear in the
// order Marathon 1.x writes them.
//
// Scalars whose default is not the zero value are pointers so that "absent"
// differs from "zero" in a request; [Config.Normalize] fills every one of
// them, so a normalized App has no nil pointer among them and encodes to the
// JSON GET /v2/apps returns. Slices use omitempty where Marathon omits empty
// arrays and omitzero where an empty array means something different from an
// absent one (portDefinitions: [] = no ports, absent = one default port).
//
// Deprecated request fields (Ports, Uris, IPAddress, Residency and, inside
// the container, Docker.Network and Docker.PortMappings) are only read;
// normalization converts them and clears them.
type App struct {
	ID                    string              `json:"id"`
	AcceptedResourceRoles []string            `json:"acceptedResourceRoles,omitempty"`
	Args                  []string            `json:"args,omitempty"`
	BackoffFactor         *float64            `json:"backoffFactor,omitempty"`
	BackoffSeconds        *int                `json:"backoffSeconds,omitempty"`
	Cmd                   string              `json:"cmd,omitempty"`
	Constraints           [][]string          `json:"constraints,omitempty"`
	Container             *Container          `json:"container,omitempty"`
	CPUs                  *float64            `json:"cpus,omitempty"`
	Dependencies          []string            `json:"dependencies,omitempty"`
	Disk                  *float64            `json:"disk,omitempty"`
	Env                   map[string]EnvValue `json:"env,omitempty"`
	Executor              *string             `json:"executor,omitempty"`
	ExecutorResources     *ExecutorResources  `json:"executorResources,omitempty"`
	Fetch                 []Artifact          `json:"fetch,omitempty"`
	HealthChecks          []HealthCheck       `json:"healthChecks,omitempty"`
	// Check is a Mesos check (1.6+). It is kept as given and returned, but
	// Strata does not run it.
	Check                 json.RawMessage   `json:"check,omitempty"`
	Instances             *int              `json:"instances,omitempty"`
	Labels                map[string]string `json:"labels,omitzero"`
	MaxLaunchDelaySeconds *int              `json:"maxLaunchDelaySeconds,omitempty"`
	Mem                   *float64          `json:"mem,omitempty"`
	GPUs                  *int              `json:"gpus,omitempty"`
	IPAddress             *IPAddress        `json:"ipAddress,omitempty"` // deprecated
	Networks              []Network         `json:"networks,omitzero"`
	Ports                 []int             `json:"ports,omitzero"` // deprecated
	PortDefinitions       []PortDefinition  `json:"portDefinitions,omitzero"`
	ReadinessChecks       []ReadinessCheck  `json:"readinessChecks,omitempty"`
	Residency             *Residency        `json:"residency,omitempty"` // deprecated; rejected
	ResourceLimits        *ResourceLimits   `json:"resourceLimits,omitempty"`
	RequirePorts          *bool             `json:"requirePorts,omitempty"`
	Secrets               map[string]Secret `json:"secrets,omitempty"`
	TaskKillGracePeriod   *int              `json:"taskKillGracePeriodSeconds,omitempty"`
	UpgradeStrategy       *UpgradeStrategy  `json:"upgradeStrategy,omitempty"`
	Uris                  []string          `json:"uris,omitzero"` // deprecated
	User                  string            `json:"user,omitempty"`
	// Version and VersionInfo are set by the framework; requests may only
	// use version for a rollback (see [RollbackVersion]).
	Version             string               `json:"version,omitempty"`
	VersionInfo         *VersionInfo         `json:"versionInfo,omitempty"`
	KillSelection       string               `json:"killSelection,omitempty"`
	UnreachableStrategy *UnreachableStrategy `json:"unreachableStrategy,omitempty"`
	TTY                 *bool                `json:"tty,omitempty"`
	// Role is the Mesos role the app's tasks run as. Normalization leaves
	// it empty for an app below a group when the request names none: the
	// default depends on the group tree (see [ResolveRoles]).
	Role string `json:"role,omitempty"`
}

// Engine types of container.type.
const (
	EngineDocker = "DOCKER"
	EngineMesos  = "MESOS"
)

// Network modes of networks[].mode.
const (
	NetworkHost      = "host"
	NetworkContainer = "container"
	NetworkBridge    = "container/bridge"
)

// Kill selections.
const (
	KillYoungestFirst = "YOUNGEST_FIRST"
	KillOldestFirst   = "OLDEST_FIRST"
)

// Container is app.container.
type Container struct {
	Type   string  `json:"type,omitempty"`
	Docker *Docker `json:"docker,omitempty"`
	// LinuxInfo (seccomp, ipc, shared memory) is kept as given; Strata does
	// not apply it.
	LinuxInfo    json.RawMessage `json:"linuxInfo,omitempty"`
	Volumes      []Volume        `json:"volumes,omitzero"`
	PortMappings []PortMapping   `json:"portMappings,omitzero"`
}

// Docker is container.docker: the image for DOCKER containers, or the image
// a MESOS container runs.
type Docker struct {
	Credential     *DockerCredential `json:"credential,omitempty"` // deprecated, must be empty
	PullConfig     *PullConfig       `json:"pullConfig,omitempty"`
	ForcePullImage bool              `json:"forcePullImage"`
	Image          string            `json:"image"`
	Network        string            `json:"network,omitempty"` // deprecated
	Parameters     []DockerParameter `json:"parameters"`
	PortMappings   []PortMapping     `json:"portMappings,omitzero"` // deprecated
	Privileged     bool              `json:"privileged"`
}

// DockerCredential is the removed container.docker.credential.
type DockerCredential struct {
	Principal string `json:"principal"`
	Secret    string `json:"secret,omitempty"`
}

// PullConfig names the secret that holds a Docker config.json.
type PullConfig struct {
	Secret string `json:"secret"`
}

// DockerParameter is one docker CLI option.
type DockerParameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// PortMapping is container.portMappings[] (and the deprecated
// container.docker.portMappings[]). HostPort nil means "no host port" on a
// container network; bridge networking defaults it to 0 (any).
type PortMapping struct {
	ContainerPort int               `json:"containerPort"`
	HostPort      *int              `json:"hostPort,omitempty"`
	Labels        map[string]string `json:"labels,omitzero"`
	Name          string            `json:"name,omitempty"`
	Protocol      string            `json:"protocol"`
	ServicePort   int               `json:"servicePort"`
	NetworkNames  []string          `json:"networkNames,omitempty"`
}

// PortDefinition is portDefinitions[] for host networking; Port is the
// service port (and the host port too when requirePorts is set).
type PortDefinition struct {
	Port     int               `json:"port"`
	Labels   map[string]string `json:"labels,omitempty"`
	Name     string            `json:"name,omitempty"`
	Protocol string            `json:"protocol"`
}

// Network is networks[].
type Network struct {
	Name   string            `json:"name,omitempty"`
	Mode   string            `json:"mode"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Volume is container.volumes[]: a host volume (HostPath and Mode), a secret
// volume (Secret), or a persistent or external volume, which are kept raw
// only to be rejected.
type Volume struct {
	ContainerPath string          `json:"containerPath"`
	HostPath      string          `json:"hostPath,omitempty"`
	Mode          string          `json:"mode,omitempty"`
	Secret        string          `json:"secret,omitempty"`
	Persistent    json.RawMessage `json:"persistent,omitempty"`
	External      json.RawMessage `json:"external,omitempty"`
}

// Artifact is fetch[].
type Artifact struct {
	URI        string `json:"uri"`
	Extract    bool   `json:"extract"`
	Executable bool   `json:"executable"`
	Cache      bool   `json:"cache"`
	DestPath   string `json:"destPath,omitempty"`
}

// Health-check protocols.
const (
	ProtoHTTP       = "HTTP"
	ProtoHTTPS      = "HTTPS"
	ProtoTCP        = "TCP"
	ProtoCommand    = "COMMAND"
	ProtoMesosHTTP  = "MESOS_HTTP"
	ProtoMesosHTTPS = "MESOS_HTTPS"
	ProtoMesosTCP   = "MESOS_TCP"
)

// HealthCheck is healthChecks[]. Reading a request fills the numeric
// defaults (grace 300, interval 60, timeout 20, failures 3, delay 15),
// protocol HTTP and ipProtocol IPv4; Path stays empty when not given (probes
// use "/", see [HealthCheck.EffectivePath]), as Marathon returns it.
type HealthCheck struct {
	Command                *CommandCheck `json:"command,omitempty"`
	GracePeriodSeconds     int           `json:"gracePeriodSeconds"`
	IgnoreHTTP1xx          *bool         `json:"ignoreHttp1xx,omitempty"`
	IntervalSeconds        int           `json:"intervalSeconds"`
	MaxConsecutiveFailures int           `json:"maxConsecutiveFailures"`
	Path                   string        `json:"path,omitempty"`
	Port                   *int          `json:"port,omitempty"`
	PortIndex              *int          `json:"portIndex,omitempty"`
	Protocol               string        `json:"protocol"`
	IPProtocol             string        `json:"ipProtocol"`
	TimeoutSeconds         int           `json:"timeoutSeconds"`
	DelaySeconds           int           `json:"delaySeconds"`
}

// EffectivePath is the HTTP path a probe requests.
func (h HealthCheck) EffectivePath() string {
	if h.Path == "" {
		return "/"
	}
	return h.Path
}

// CommandCheck is healthChecks[].command.
type CommandCheck struct {
	Value string `json:"value"`
}

// ReadinessCheck is readinessChecks[] (at most one per app).
type ReadinessCheck struct {
	Name                    string `json:"name"`
	Protocol                string `json:"protocol"`
	Path                    string `json:"path"`
	PortName                string `json:"portName"`
	IntervalSeconds         int    `json:"intervalSeconds"`
	TimeoutSeconds          int    `json:"timeoutSeconds"`
	HTTPStatusCodesForReady []int  `json:"httpStatusCodesForReady"`
	PreserveLastResponse    bool   `json:"preserveLastResponse"`
}

// UpgradeStrategy is upgradeStrategy; both fields are in [0, 1].
type UpgradeStrategy struct {
	MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
}

// UnreachableStrategy is either the string "disabled" or
// {inactiveAfterSeconds, expungeAfterSeconds}.
type UnreachableStrategy struct {
	Disabled             bool
	InactiveAfterSeconds int64
	ExpungeAfterSeconds  int64
}

// MarshalJSON writes "disabled" or the object form.
func (u UnreachableStrategy) MarshalJSON() ([]byte, error) {
	if u.Disabled {
		return []byte(`"disabled"`), nil
	}
	return fmt.Appendf(nil, `{"inactiveAfterSeconds":%d,"expungeAfterSeconds":%d}`, u.InactiveAfterSeconds, u.ExpungeAfterSeconds), nil
}

// UnmarshalJSON reads either form; a missing member is 0.
func (u *UnreachableStrategy) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if s != "disabled" {
			return fmt.Errorf("unreachableStrategy: unknown value %q", s)
		}
		*u = UnreachableStrategy{Disabled: true}
		return nil
	}
	var o struct {
		Inactive int64 `json:"inactiveAfterSeconds"`
		Expunge  int64 `json:"expungeAfterSeconds"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("unreachableStrategy: %w", err)
	}
	*u = UnreachableStrategy{InactiveAfterSeconds: o.Inactive, ExpungeAfterSeconds: o.Expunge}
	return nil
}

// EnvValue is one env entry: a plain string or a reference {"secret":"name"}
// to an entry of App.Secrets.
type EnvValue struct {
	Value  string
	secret *string
}

// EnvString is a plain environment value.
func EnvString(v string) EnvValue { return EnvValue{Value: v} }

// EnvSecret is a reference to the secret declared as name in App.Secrets.
func EnvSecret(name string) EnvValue { return EnvValue{secret: &name} }

// Secret reports the referenced secret name, if the value is a reference.
func (e EnvValue) Secret() (string, bool) {
	if e.secret == nil {
		return "", false
	}
	return *e.secret, true
}

// MarshalJSON writes a string or {"secret":"name"}.
func (e EnvValue) MarshalJSON() ([]byte, error) {
	if e.secret != nil {
		return json.Marshal(struct {
			Secret string `json:"secret"`
		}{*e.secret})
	}
	return json.Marshal(e.Value)
}

// UnmarshalJSON reads a string or {"secret":"name"}.
func (e *EnvValue) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*e = EnvString(s)
		return nil
	}
	var o struct {
		Secret *string `json:"secret"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("env value: %w", err)
	}
	if o.Secret == nil {
		return errors.New(`env value: object without "secret"`)
	}
	*e = EnvSecret(*o.Secret)
	return nil
}

// Secret is one secrets entry: the secret store path it comes from.
type Secret struct {
	Source string `json:"source"`
}

// IPAddress is the deprecated ipAddress (IP-per-task) request field.
type IPAddress struct {
	Discovery   *IPDiscovery      `json:"discovery,omitempty"`
	Groups      []string          `json:"groups,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	NetworkName string            `json:"networkName,omitempty"`
}

// IPDiscovery is ipAddress.discovery.
type IPDiscovery struct {
	Ports []IPDiscoveryPort `json:"ports,omitempty"`
}

// IPDiscoveryPort is ipAddress.discovery.ports[].
type IPDiscoveryPort struct {
	Number   int               `json:"number"`
	Name     string            `json:"name"`
	Protocol string            `json:"protocol"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// Residency is the deprecated residency field (resident apps).
type Residency struct {
	RelaunchEscalationTimeoutSeconds int64  `json:"relaunchEscalationTimeoutSeconds"`
	TaskLostBehavior                 string `json:"taskLostBehavior"`
}

// ExecutorResources is executorResources.
type ExecutorResources struct {
	CPUs float64 `json:"cpus"`
	Mem  float64 `json:"mem"`
	Disk float64 `json:"disk"`
}

// ResourceLimits is resourceLimits (1.10+): per-resource limits above the
// request, a number or "unlimited".
type ResourceLimits struct {
	CPUs *ResourceLimit `json:"cpus,omitempty"`
	Mem  *ResourceLimit `json:"mem,omitempty"`
}

// ResourceLimit is a number, or Unlimited for the string "unlimited". Raw
// keeps any other string so that validation can name it.
type ResourceLimit struct {
	Value     float64
	Unlimited bool
	Raw       string
}

// MarshalJSON writes a number or "unlimited".
func (r ResourceLimit) MarshalJSON() ([]byte, error) {
	if r.Unlimited || r.Raw != "" {
		s := r.Raw
		if r.Unlimited {
			s = "unlimited"
		}
		return json.Marshal(s)
	}
	return []byte(strconv.FormatFloat(r.Value, 'g', -1, 64)), nil
}

// UnmarshalJSON reads a number or a string.
func (r *ResourceLimit) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = ResourceLimit{Unlimited: s == "unlimited", Raw: s}
		if r.Unlimited {
			r.Raw = ""
		}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("resource limit: %w", err)
	}
	*r = ResourceLimit{Value: f}
	return nil
}

// VersionInfo is versionInfo (response only): a config change sets both
// timestamps, a scale only lastScalingAt, a restart only lastConfigChangeAt.
type VersionInfo struct {
	LastScalingAt      string `json:"lastScalingAt"`
	LastConfigChangeAt string `json:"lastConfigChangeAt"`
}
