package containerizer

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Labels on every container the docker containerizer creates. Recovery and
// orphan cleanup find Strata's containers by them, never by name alone.
const (
	// DockerLabelContainerizer marks a container as Strata's; its value is
	// "docker".
	DockerLabelContainerizer = "org.strata-sched.containerizer"
	// DockerLabelContainerID holds the Strata container ID.
	DockerLabelContainerID = "org.strata-sched.container-id"
	// DockerLabelOwner holds DockerConfig.Owner, so that agents sharing an
	// engine only clean up their own orphans.
	DockerLabelOwner = "org.strata-sched.owner"
)

// Mesos' resource rules for Docker containers (src/docker/docker.cpp).
const (
	dockerCPUSharesPerCPU = 1024
	dockerMinCPUShares    = 2
	dockerCFSPeriodUs     = 100000 // 100 ms
	dockerMinCFSQuotaUs   = 1000   // 1 ms
	dockerMinMemoryBytes  = 32 << 20
	mib                   = 1 << 20
)

// dockerCreateBody is the body of POST /containers/create: the container
// config with HostConfig and NetworkingConfig embedded, as the API wants.
type dockerCreateBody struct {
	Hostname         string                  `json:",omitempty"`
	Domainname       string                  `json:",omitempty"`
	User             string                  `json:",omitempty"`
	Env              []string                `json:",omitempty"`
	Cmd              []string                `json:",omitempty"`
	Entrypoint       []string                `json:",omitempty"`
	Image            string                  `json:",omitempty"`
	WorkingDir       string                  `json:",omitempty"`
	Labels           map[string]string       `json:",omitempty"`
	ExposedPorts     map[string]struct{}     `json:",omitempty"`
	Volumes          map[string]struct{}     `json:",omitempty"`
	StopSignal       string                  `json:",omitempty"`
	StopTimeout      *int                    `json:",omitempty"`
	HostConfig       dockerHostConfig        `json:"HostConfig"`
	NetworkingConfig *dockerNetworkingConfig `json:",omitempty"`
}

type dockerHostConfig struct {
	Binds             []string                       `json:",omitempty"`
	NetworkMode       string                         `json:",omitempty"`
	PortBindings      map[string][]dockerPortBinding `json:",omitempty"`
	PublishAllPorts   bool                           `json:",omitempty"`
	Privileged        bool                           `json:",omitempty"`
	ReadonlyRootfs    bool                           `json:",omitempty"`
	Init              *bool                          `json:",omitempty"`
	CapAdd            []string                       `json:",omitempty"`
	CapDrop           []string                       `json:",omitempty"`
	DNS               []string                       `json:"Dns,omitempty"`
	DNSOptions        []string                       `json:"DnsOptions,omitempty"`
	DNSSearch         []string                       `json:"DnsSearch,omitempty"`
	ExtraHosts        []string                       `json:",omitempty"`
	GroupAdd          []string                       `json:",omitempty"`
	IpcMode           string                         `json:",omitempty"`
	PidMode           string                         `json:",omitempty"`
	UTSMode           string                         `json:",omitempty"`
	UsernsMode        string                         `json:",omitempty"`
	CgroupParent      string                         `json:",omitempty"`
	Runtime           string                         `json:",omitempty"`
	VolumeDriver      string                         `json:",omitempty"`
	VolumesFrom       []string                       `json:",omitempty"`
	Links             []string                       `json:",omitempty"`
	SecurityOpt       []string                       `json:",omitempty"`
	Tmpfs             map[string]string              `json:",omitempty"`
	Sysctls           map[string]string              `json:",omitempty"`
	StorageOpt        map[string]string              `json:",omitempty"`
	ShmSize           int64                          `json:",omitempty"`
	LogConfig         *dockerLogConfig               `json:",omitempty"`
	OomScoreAdj       int                            `json:",omitempty"`
	OomKillDisable    *bool                          `json:",omitempty"`
	PidsLimit         *int64                         `json:",omitempty"`
	CPUShares         int64                          `json:"CpuShares,omitempty"`
	CPUPeriod         int64                          `json:"CpuPeriod,omitempty"`
	CPUQuota          int64                          `json:"CpuQuota,omitempty"`
	NanoCPUs          int64                          `json:"NanoCpus,omitempty"`
	CpusetCpus        string                         `json:",omitempty"`
	CpusetMems        string                         `json:",omitempty"`
	BlkioWeight       uint16                         `json:",omitempty"`
	Memory            int64                          `json:",omitempty"`
	MemoryReservation int64                          `json:",omitempty"`
	MemorySwap        int64                          `json:",omitempty"`
	MemorySwappiness  *int64                         `json:",omitempty"`
	Ulimits           []dockerUlimit                 `json:",omitempty"`
	Devices           []dockerDevice                 `json:",omitempty"`
}

type dockerPortBinding struct {
	HostIP   string `json:"HostIp,omitempty"`
	HostPort string `json:"HostPort"`
}

type dockerLogConfig struct {
	Type   string            `json:",omitempty"`
	Config map[string]string `json:",omitempty"`
}

type dockerUlimit struct {
	Name string
	Soft int64
	Hard int64
}

type dockerDevice struct {
	PathOnHost        string
	PathInContainer   string
	CgroupPermissions string
}

type dockerNetworkingConfig struct {
	EndpointsConfig map[string]*dockerEndpoint `json:",omitempty"`
}

type dockerEndpoint struct {
	Aliases    []string            `json:",omitempty"`
	IPAMConfig *dockerEndpointIPAM `json:",omitempty"`
}

type dockerEndpointIPAM struct {
	IPv4Address string `json:",omitempty"`
	IPv6Address string `json:",omitempty"`
}

// dockerCreateOptions are the agent-wide inputs of buildDockerCreate.
type dockerCreateOptions struct {
	mountPoint string // sandbox path inside the container
	noInit     bool
	owner      string
}

// buildDockerCreate turns a Spec into the name and body of a container
// create call, following what Mesos' `docker run` would do (docker.cpp
// RunOptions::create), with DockerSpec.Parameters applied last as Mesos
// appends them as --key=value after its own flags (so, as with the CLI, a
// later single-valued option wins and list options accumulate). It is pure.
func buildDockerCreate(spec Spec, o dockerCreateOptions) (name string, body *dockerCreateBody, err error) {
	d := spec.Docker
	if d == nil {
		return "", nil, errors.New("no docker spec")
	}
	if d.Image == "" {
		return "", nil, errors.New("docker spec without an image")
	}
	if !filepath.IsAbs(spec.Sandbox) {
		return "", nil, fmt.Errorf("sandbox %q is not an absolute path", spec.Sandbox)
	}
	name = spec.Name
	if name == "" {
		name = "mesos-" + spec.ContainerID
	}
	b := &dockerCreateBody{
		Image:      d.Image,
		WorkingDir: o.mountPoint,
		Hostname:   d.Hostname,
	}

	// Command (Mesos: shell overrides the entrypoint with /bin/sh -c value;
	// otherwise value, if any, then every argument go to the entrypoint).
	if spec.Shell {
		if spec.Value == "" {
			return "", nil, errors.New("shell specified but no command value provided")
		}
		b.Entrypoint = []string{"/bin/sh"}
		b.Cmd = []string{"-c", spec.Value}
	} else {
		if spec.Value != "" {
			b.Cmd = append(b.Cmd, spec.Value)
		}
		b.Cmd = append(b.Cmd, spec.Arguments...)
	}

	// Environment: the spec's, then the two variables Mesos always sets.
	env := newEnvList(spec.Env)
	env.set("MESOS_SANDBOX", o.mountPoint)
	env.set("MESOS_CONTAINER_NAME", name)

	// Resources.
	h := &b.HostConfig
	if spec.CPUs > 0 {
		h.CPUShares = max(int64(dockerCPUSharesPerCPU*spec.CPUs), dockerMinCPUShares)
	}
	if spec.CPULimit > 0 {
		h.CPUQuota = max(int64(dockerCFSPeriodUs*spec.CPULimit), dockerMinCFSQuotaUs)
	}
	if spec.MemLimitMB > 0 {
		h.Memory = max(int64(spec.MemLimitMB*mib), dockerMinMemoryBytes)
		if spec.MemMB > 0 {
			h.MemoryReservation = max(int64(spec.MemMB*mib), dockerMinMemoryBytes)
		}
	} else if spec.MemMB > 0 {
		h.Memory = max(int64(spec.MemMB*mib), dockerMinMemoryBytes)
	}
	for _, rl := range spec.Rlimits {
		u := dockerUlimit{Name: strings.ToLower(rl.Type), Soft: -1, Hard: -1}
		if rl.Soft != nil {
			u.Soft = int64(*rl.Soft)
		}
		if rl.Hard != nil {
			u.Hard = int64(*rl.Hard)
		}
		h.Ulimits = append(h.Ulimits, u)
	}
	h.Privileged = d.Privileged
	if !o.noInit {
		h.Init = ptr(true)
	}

	// Volumes, then the sandbox (Mesos adds it last).
	for _, v := range d.Volumes {
		bind, anon, err := dockerBind(v, spec.Sandbox, o.mountPoint)
		if err != nil {
			return "", nil, err
		}
		if anon != "" {
			if b.Volumes == nil {
				b.Volumes = map[string]struct{}{}
			}
			b.Volumes[anon] = struct{}{}
			continue
		}
		h.Binds = append(h.Binds, bind)
	}
	h.Binds = append(h.Binds, spec.Sandbox+":"+o.mountPoint)

	// Network.
	switch strings.ToUpper(d.Network) {
	case "", "HOST":
		h.NetworkMode = "host"
	case "BRIDGE":
		h.NetworkMode = "bridge"
	case "NONE":
		h.NetworkMode = "none"
	case "USER":
		if d.UserNetwork == "" {
			return "", nil, errors.New("network USER needs the name of a user network")
		}
		h.NetworkMode = d.UserNetwork
	default:
		return "", nil, fmt.Errorf("unsupported network mode %q (want HOST, BRIDGE, NONE or USER)", d.Network)
	}
	if d.Hostname != "" && h.NetworkMode == "host" {
		return "", nil, errors.New("unable to set hostname with host network mode")
	}
	if len(d.PortMappings) > 0 && (h.NetworkMode == "host" || h.NetworkMode == "none") {
		return "", nil, errors.New("port mappings are only supported for bridge and user-defined networks")
	}
	for _, pm := range d.PortMappings {
		proto := strings.ToLower(pm.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return "", nil, fmt.Errorf("port mapping %d:%d: unsupported protocol %q", pm.HostPort, pm.ContainerPort, pm.Protocol)
		}
		if pm.ContainerPort == 0 || pm.ContainerPort > 65535 || pm.HostPort > 65535 {
			return "", nil, fmt.Errorf("port mapping %d:%d: invalid port", pm.HostPort, pm.ContainerPort)
		}
		key := strconv.FormatUint(uint64(pm.ContainerPort), 10) + "/" + proto
		addPortBinding(b, key, &dockerPortBinding{HostPort: strconv.FormatUint(uint64(pm.HostPort), 10)})
	}

	// Parameters, in order.
	for _, p := range d.Parameters {
		if err := applyDockerParameter(b, env, p[0], p[1]); err != nil {
			return "", nil, err
		}
	}

	finishEndpoints(b)
	b.Env = env.list()
	// Strata's labels last: no parameter can disown the container.
	if b.Labels == nil {
		b.Labels = map[string]string{}
	}
	b.Labels[DockerLabelContainerizer] = DockerKind
	b.Labels[DockerLabelContainerID] = spec.ContainerID
	b.Labels[DockerLabelOwner] = o.owner
	return name, b, nil
}

func ptr[T any](v T) *T { return &v }

// addPortBinding exposes a container port ("80/tcp") and, when pb is not
// nil, publishes it on the host.
func addPortBinding(b *dockerCreateBody, key string, pb *dockerPortBinding) {
	if b.ExposedPorts == nil {
		b.ExposedPorts = map[string]struct{}{}
	}
	b.ExposedPorts[key] = struct{}{}
	if pb == nil {
		return
	}
	h := &b.HostConfig
	if h.PortBindings == nil {
		h.PortBindings = map[string][]dockerPortBinding{}
	}
	h.PortBindings[key] = append(h.PortBindings[key], *pb)
}

// dockerBind maps a volume as Mesos does: a relative container path is under
// the sandbox mount point, a relative host path under the sandbox; both
// relative is an error. An empty host path is an anonymous volume (returned
// as anon).
func dockerBind(v DockerVolume, sandbox, mountPoint string) (bind, anon string, err error) {
	if v.ContainerPath == "" {
		return "", "", fmt.Errorf("volume %q has no container path", v.HostPath)
	}
	cp := v.ContainerPath
	if !path.IsAbs(cp) {
		if v.HostPath != "" && !filepath.IsAbs(v.HostPath) {
			return "", "", fmt.Errorf("both host_path %q and container_path %q of a volume are relative", v.HostPath, v.ContainerPath)
		}
		cp = path.Join(mountPoint, cp)
	}
	if v.HostPath == "" {
		return "", cp, nil
	}
	hp := v.HostPath
	if !filepath.IsAbs(hp) {
		hp = filepath.Join(sandbox, hp)
	}
	mode := "rw"
	if v.ReadOnly {
		mode = "ro"
	}
	return hp + ":" + cp + ":" + mode, "", nil
}

// envList is an ordered environment in which a later KEY=VALUE replaces an
// earlier one.
type envList struct {
	keys []string
	vals map[string]string
}

func newEnvList(kvs []string) *envList {
	e := &envList{vals: map[string]string{}}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		e.set(k, v)
	}
	return e
}

func (e *envList) set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *envList) list() []string {
	out := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}
