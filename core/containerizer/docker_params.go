package containerizer

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// applyDockerParameter maps one `docker run` option, named as Mesos users
// pass it in DockerInfo.parameters (the long option name without dashes),
// onto the create body. Options the docker CLI handles itself (--rm,
// --detach, --tty, --interactive, --env-file, --name…) and options that
// would break the containerizer are not supported: an unknown or
// unsupported key is an error naming it.
func applyDockerParameter(b *dockerCreateBody, env *envList, key, value string) error {
	h := &b.HostConfig
	k := strings.TrimLeft(key, "-")
	var err error
	switch k {
	// Process and identity.
	case "env":
		name, val, ok := strings.Cut(value, "=")
		if !ok || name == "" {
			return paramErr(key, value, errors.New("want NAME=VALUE"))
		}
		env.set(name, val)
	case "label":
		name, val, _ := strings.Cut(value, "=")
		if name == "" {
			return paramErr(key, value, errors.New("want KEY=VALUE"))
		}
		if b.Labels == nil {
			b.Labels = map[string]string{}
		}
		b.Labels[name] = val
	case "hostname":
		b.Hostname = value
	case "domainname":
		b.Domainname = value
	case "user":
		b.User = value
	case "workdir":
		b.WorkingDir = value
	case "entrypoint":
		b.Entrypoint = []string{value}
	case "stop-signal":
		b.StopSignal = value
	case "stop-timeout":
		var n int
		if n, err = strconv.Atoi(value); err == nil {
			b.StopTimeout = &n
		}
	case "init":
		var v bool
		if v, err = parseFlagBool(value); err == nil {
			h.Init = &v
		}
	case "privileged":
		h.Privileged, err = parseFlagBool(value)
	case "read-only":
		h.ReadonlyRootfs, err = parseFlagBool(value)
	case "cap-add":
		h.CapAdd = append(h.CapAdd, value)
	case "cap-drop":
		h.CapDrop = append(h.CapDrop, value)
	case "security-opt":
		h.SecurityOpt = append(h.SecurityOpt, value)
	case "group-add":
		h.GroupAdd = append(h.GroupAdd, value)
	case "ipc":
		h.IpcMode = value
	case "pid":
		h.PidMode = value
	case "uts":
		h.UTSMode = value
	case "userns":
		h.UsernsMode = value
	case "cgroup-parent":
		h.CgroupParent = value
	case "runtime":
		h.Runtime = value
	case "sysctl":
		name, val, ok := strings.Cut(value, "=")
		if !ok || name == "" {
			return paramErr(key, value, errors.New("want KEY=VALUE"))
		}
		if h.Sysctls == nil {
			h.Sysctls = map[string]string{}
		}
		h.Sysctls[name] = val
	case "ulimit":
		var u dockerUlimit
		if u, err = parseUlimit(value); err == nil {
			h.Ulimits = slices.DeleteFunc(h.Ulimits, func(x dockerUlimit) bool { return x.Name == u.Name })
			h.Ulimits = append(h.Ulimits, u)
		}
	case "device":
		var dev dockerDevice
		if dev, err = parseDevice(value); err == nil {
			h.Devices = append(h.Devices, dev)
		}

	// Resources.
	case "cpu-shares":
		h.CPUShares, err = strconv.ParseInt(value, 10, 64)
	case "cpu-period":
		h.CPUPeriod, err = strconv.ParseInt(value, 10, 64)
	case "cpu-quota":
		h.CPUQuota, err = strconv.ParseInt(value, 10, 64)
	case "cpus":
		var f float64
		if f, err = strconv.ParseFloat(value, 64); err == nil {
			h.NanoCPUs = int64(f * 1e9)
		}
	case "cpuset-cpus":
		h.CpusetCpus = value
	case "cpuset-mems":
		h.CpusetMems = value
	case "blkio-weight":
		var n uint64
		if n, err = strconv.ParseUint(value, 10, 16); err == nil {
			h.BlkioWeight = uint16(n)
		}
	case "memory":
		h.Memory, err = parseByteSize(value)
	case "memory-reservation":
		h.MemoryReservation, err = parseByteSize(value)
	case "memory-swap":
		if value == "-1" {
			h.MemorySwap = -1
		} else {
			h.MemorySwap, err = parseByteSize(value)
		}
	case "memory-swappiness":
		var n int64
		if n, err = strconv.ParseInt(value, 10, 64); err == nil {
			h.MemorySwappiness = &n
		}
	case "shm-size":
		h.ShmSize, err = parseByteSize(value)
	case "oom-score-adj":
		h.OomScoreAdj, err = strconv.Atoi(value)
	case "oom-kill-disable":
		var v bool
		if v, err = parseFlagBool(value); err == nil {
			h.OomKillDisable = &v
		}
	case "pids-limit":
		var n int64
		if n, err = strconv.ParseInt(value, 10, 64); err == nil {
			h.PidsLimit = &n
		}

	// Storage.
	case "volume":
		h.Binds = append(h.Binds, value)
	case "volumes-from":
		h.VolumesFrom = append(h.VolumesFrom, value)
	case "volume-driver":
		h.VolumeDriver = value
	case "tmpfs":
		p, opts, _ := strings.Cut(value, ":")
		if h.Tmpfs == nil {
			h.Tmpfs = map[string]string{}
		}
		h.Tmpfs[p] = opts
	case "storage-opt":
		name, val, ok := strings.Cut(value, "=")
		if !ok {
			return paramErr(key, value, errors.New("want KEY=VALUE"))
		}
		if h.StorageOpt == nil {
			h.StorageOpt = map[string]string{}
		}
		h.StorageOpt[name] = val

	// Logging: the containerizer reads the logs back through the API, so a
	// driver that cannot be read (e.g. none, syslog) leaves the sandbox's
	// stdout and stderr empty.
	case "log-driver":
		if h.LogConfig == nil {
			h.LogConfig = &dockerLogConfig{}
		}
		h.LogConfig.Type = value
	case "log-opt":
		name, val, ok := strings.Cut(value, "=")
		if !ok {
			return paramErr(key, value, errors.New("want KEY=VALUE"))
		}
		if h.LogConfig == nil {
			h.LogConfig = &dockerLogConfig{}
		}
		if h.LogConfig.Config == nil {
			h.LogConfig.Config = map[string]string{}
		}
		h.LogConfig.Config[name] = val

	// Network.
	case "network", "net":
		h.NetworkMode = value
	case "network-alias", "net-alias":
		ep := endpoint(b)
		ep.Aliases = append(ep.Aliases, value)
	case "ip":
		ep := endpoint(b)
		if ep.IPAMConfig == nil {
			ep.IPAMConfig = &dockerEndpointIPAM{}
		}
		ep.IPAMConfig.IPv4Address = value
	case "ip6":
		ep := endpoint(b)
		if ep.IPAMConfig == nil {
			ep.IPAMConfig = &dockerEndpointIPAM{}
		}
		ep.IPAMConfig.IPv6Address = value
	case "dns":
		h.DNS = append(h.DNS, value)
	case "dns-search":
		h.DNSSearch = append(h.DNSSearch, value)
	case "dns-option", "dns-opt":
		h.DNSOptions = append(h.DNSOptions, value)
	case "add-host":
		h.ExtraHosts = append(h.ExtraHosts, value)
	case "link":
		h.Links = append(h.Links, value)
	case "expose":
		p := value
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		addPortBinding(b, p, nil)
	case "publish":
		var pk string
		var pb dockerPortBinding
		if pk, pb, err = parsePublish(value); err == nil {
			addPortBinding(b, pk, &pb)
		}
	case "publish-all":
		h.PublishAllPorts, err = parseFlagBool(value)

	default:
		return fmt.Errorf("unsupported docker parameter %q (value %q)", key, value)
	}
	if err != nil {
		return paramErr(key, value, err)
	}
	return nil
}

func paramErr(key, value string, err error) error {
	return fmt.Errorf("docker parameter %q=%q: %w", key, value, err)
}

// endpoint returns the endpoint config of the container's network mode.
func endpoint(b *dockerCreateBody) *dockerEndpoint {
	if b.NetworkingConfig == nil {
		b.NetworkingConfig = &dockerNetworkingConfig{EndpointsConfig: map[string]*dockerEndpoint{}}
	}
	// The network is resolved when the body is final (see finishEndpoints);
	// until then the single endpoint is kept under "".
	ep := b.NetworkingConfig.EndpointsConfig[""]
	if ep == nil {
		ep = &dockerEndpoint{}
		b.NetworkingConfig.EndpointsConfig[""] = ep
	}
	return ep
}

// finishEndpoints files the endpoint settings under the container's network.
func finishEndpoints(b *dockerCreateBody) {
	if b.NetworkingConfig == nil {
		return
	}
	if ep, ok := b.NetworkingConfig.EndpointsConfig[""]; ok {
		delete(b.NetworkingConfig.EndpointsConfig, "")
		b.NetworkingConfig.EndpointsConfig[b.HostConfig.NetworkMode] = ep
	}
}

// parseFlagBool parses the value of a boolean flag; "" means true, as a
// bare --flag does.
func parseFlagBool(v string) (bool, error) {
	if v == "" {
		return true, nil
	}
	return strconv.ParseBool(v)
}

// parseByteSize parses a size as the docker CLI does (go-units RAMInBytes):
// a number, then optionally a binary unit k, m, g, t or p, optionally
// followed by "b" or "ib" ("512m", "1.5g", "64MiB", "1024").
func parseByteSize(s string) (int64, error) {
	num := strings.TrimRight(strings.ToLower(s), "bi ")
	unit := 1.0
	if n := len(num); n > 0 {
		if i := strings.IndexByte("kmgtp", num[n-1]); i >= 0 {
			unit = float64(int64(1) << (10 * (i + 1)))
			num = strings.TrimSpace(num[:n-1])
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || num == "" || strings.ContainsAny(num, "eE+-xXpP_") {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return int64(f * unit), nil
}

// parseUlimit parses name=soft[:hard].
func parseUlimit(s string) (dockerUlimit, error) {
	name, lim, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return dockerUlimit{}, errors.New("want NAME=SOFT[:HARD]")
	}
	softS, hardS, hasHard := strings.Cut(lim, ":")
	soft, err := strconv.ParseInt(softS, 10, 64)
	if err != nil {
		return dockerUlimit{}, err
	}
	hard := soft
	if hasHard {
		if hard, err = strconv.ParseInt(hardS, 10, 64); err != nil {
			return dockerUlimit{}, err
		}
	}
	if soft > hard && hard != -1 {
		return dockerUlimit{}, fmt.Errorf("soft limit %d is above hard limit %d", soft, hard)
	}
	return dockerUlimit{Name: name, Soft: soft, Hard: hard}, nil
}

// parseDevice parses host[:container][:permissions].
func parseDevice(s string) (dockerDevice, error) {
	parts := strings.Split(s, ":")
	d := dockerDevice{PathOnHost: parts[0], CgroupPermissions: "rwm"}
	switch len(parts) {
	case 1:
		d.PathInContainer = parts[0]
	case 2:
		if isDevicePermissions(parts[1]) {
			d.PathInContainer, d.CgroupPermissions = parts[0], parts[1]
		} else {
			d.PathInContainer = parts[1]
		}
	case 3:
		if !isDevicePermissions(parts[2]) {
			return dockerDevice{}, fmt.Errorf("invalid device permissions %q", parts[2])
		}
		d.PathInContainer, d.CgroupPermissions = parts[1], parts[2]
	default:
		return dockerDevice{}, errors.New("want HOST[:CONTAINER][:PERMISSIONS]")
	}
	if !path.IsAbs(d.PathOnHost) || !path.IsAbs(d.PathInContainer) {
		return dockerDevice{}, errors.New("device paths must be absolute")
	}
	return d, nil
}

func isDevicePermissions(s string) bool {
	return s != "" && strings.Trim(s, "rwm") == ""
}

// parsePublish parses [[ip:]hostPort:]containerPort[/proto] (no ranges).
func parsePublish(s string) (key string, pb dockerPortBinding, err error) {
	spec, proto, _ := strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	var ip, hostPort, containerPort string
	if i := strings.LastIndexByte(spec, ':'); i >= 0 {
		containerPort = spec[i+1:]
		rest := spec[:i]
		if j := strings.LastIndexByte(rest, ':'); j >= 0 {
			ip, hostPort = strings.Trim(rest[:j], "[]"), rest[j+1:]
		} else {
			hostPort = rest
		}
	} else {
		containerPort = spec
	}
	for _, p := range []string{hostPort, containerPort} {
		if p == "" {
			continue
		}
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return "", pb, fmt.Errorf("invalid port %q (port ranges are not supported)", p)
		}
	}
	if containerPort == "" {
		return "", pb, errors.New("no container port")
	}
	// An empty host port publishes on a random one, as -p 80 does.
	return containerPort + "/" + proto, dockerPortBinding{HostIP: ip, HostPort: hostPort}, nil
}
