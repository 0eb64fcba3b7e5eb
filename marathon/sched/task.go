package sched

import (
	"slices"
	"strings"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/marathon/app"
)

// TaskName is the Mesos task name Marathon uses: the app id's segments in
// reverse, joined with "." ("/product/web" -> "web.product").
func TaskName(appID string) string {
	segs := strings.Split(strings.Trim(appID, "/"), "/")
	slices.Reverse(segs)
	return strings.Join(segs, ".")
}

// BuildTask is the TaskInfo that launches l for a on offer: the command or
// container, the task environment (app.TaskEnv), fetch URIs, labels, the
// kill policy (taskKillGracePeriodSeconds), the agent-side health check
// (COMMAND and MESOS_* checks) and discovery info.
func BuildTask(a *app.App, offer *mesos.Offer, l Launch) mesos.TaskInfo {
	t := mesos.TaskInfo{
		Name:      TaskName(a.ID),
		TaskID:    mesos.TaskID{Value: l.TaskID},
		AgentID:   offer.AgentID,
		Resources: l.Resources,
	}
	env := app.TaskEnv(*a, offer.Hostname, l.HostPorts, l.TaskID)
	cmd := &mesos.CommandInfo{Environment: &mesos.Environment{}}
	for _, k := range sortedKeys(env) {
		cmd.Environment.Variables = append(cmd.Environment.Variables, mesos.EnvVariable{Name: k, Type: "VALUE", Value: env[k]})
	}
	for _, f := range a.Fetch {
		u := mesos.URI{Value: f.URI, Executable: ptr(f.Executable), Extract: ptr(f.Extract), Cache: ptr(f.Cache), OutputFile: f.DestPath}
		cmd.URIs = append(cmd.URIs, u)
	}
	if a.User != "" {
		cmd.User = ptr(a.User)
	}
	docker := a.Container != nil && a.Container.Type == app.EngineDocker
	switch {
	case a.Cmd != "":
		cmd.Shell, cmd.Value = ptr(true), ptr(a.Cmd)
	case len(a.Args) > 0 && docker:
		cmd.Shell, cmd.Arguments = ptr(false), slices.Clone(a.Args)
	case len(a.Args) > 0:
		cmd.Shell, cmd.Value, cmd.Arguments = ptr(false), ptr(a.Args[0]), slices.Clone(a.Args)
	default:
		cmd.Shell = ptr(false) // the image's entrypoint
	}
	t.Command = cmd
	if a.Container != nil {
		t.Container = containerInfo(a, l.HostPorts)
	}
	if len(a.Labels) > 0 {
		t.Labels = &mesos.Labels{}
		for _, k := range sortedKeys(a.Labels) {
			t.Labels.Labels = append(t.Labels.Labels, mesos.Label{Key: k, Value: a.Labels[k]})
		}
	}
	if a.TaskKillGracePeriod != nil {
		t.KillPolicy = KillPolicy(a)
	}
	if hc := MesosHealthCheck(a, l.HostPorts); hc != nil {
		t.HealthCheck = hc
	}
	t.Discovery = discovery(a, l.HostPorts)
	return t
}

// KillPolicy is the kill policy of a's tasks (nil without
// taskKillGracePeriodSeconds).
func KillPolicy(a *app.App) *mesos.KillPolicy {
	if a.TaskKillGracePeriod == nil {
		return nil
	}
	return &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(time.Duration(*a.TaskKillGracePeriod) * time.Second)}}
}

// IsMarathonCheck reports whether Marathon itself runs the check (HTTP,
// HTTPS, TCP); the others run on the agent.
func IsMarathonCheck(hc app.HealthCheck) bool {
	switch hc.Protocol {
	case app.ProtoHTTP, app.ProtoHTTPS, app.ProtoTCP, "":
		return true
	}
	return false
}

// CheckPort is the port a health check probes: its port, or the host port
// at portIndex (the container port for a bridge mapping without host port).
func CheckPort(a *app.App, hc app.HealthCheck, hostPorts []uint64) uint64 {
	if hc.Port != nil {
		return uint64(*hc.Port)
	}
	i := 0
	if hc.PortIndex != nil {
		i = *hc.PortIndex
	}
	if i < len(hostPorts) && hostPorts[i] != 0 {
		return hostPorts[i]
	}
	if a.UsesPortMappings() && i < len(a.Container.PortMappings) {
		return uint64(a.Container.PortMappings[i].ContainerPort)
	}
	return 0
}

// MesosHealthCheck converts the app's first agent-side health check
// (COMMAND, MESOS_HTTP, MESOS_HTTPS, MESOS_TCP) into TaskInfo.health_check.
func MesosHealthCheck(a *app.App, hostPorts []uint64) *mesos.HealthCheck {
	for _, hc := range a.HealthChecks {
		if IsMarathonCheck(hc) {
			continue
		}
		out := &mesos.HealthCheck{
			DelaySeconds:        dbl(float64(hc.DelaySeconds)),
			IntervalSeconds:     dbl(float64(hc.IntervalSeconds)),
			TimeoutSeconds:      dbl(float64(hc.TimeoutSeconds)),
			ConsecutiveFailures: ptr(uint32(hc.MaxConsecutiveFailures)),
			GracePeriodSeconds:  dbl(float64(hc.GracePeriodSeconds)),
		}
		port := uint32(CheckPort(a, hc, hostPorts))
		switch hc.Protocol {
		case app.ProtoCommand:
			out.Type = "COMMAND"
			v := ""
			if hc.Command != nil {
				v = hc.Command.Value
			}
			out.Command = &mesos.CommandInfo{Shell: ptr(true), Value: &v}
		case app.ProtoMesosHTTP, app.ProtoMesosHTTPS:
			out.Type = "HTTP"
			scheme := "http"
			if hc.Protocol == app.ProtoMesosHTTPS {
				scheme = "https"
			}
			out.HTTP = &mesos.HTTPCheckInfo{Scheme: scheme, Port: port, Path: hc.EffectivePath()}
		case app.ProtoMesosTCP:
			out.Type = "TCP"
			out.TCP = &mesos.TCPCheckInfo{Port: port}
		default:
			continue
		}
		return out
	}
	return nil
}

func containerInfo(a *app.App, hostPorts []uint64) *mesos.ContainerInfo {
	c := a.Container
	ci := &mesos.ContainerInfo{Type: c.Type}
	for _, v := range c.Volumes {
		if v.HostPath == "" {
			continue
		}
		ci.Volumes = append(ci.Volumes, mesos.Volume{ContainerPath: v.ContainerPath, HostPath: v.HostPath, Mode: v.Mode})
	}
	var names []string
	for _, n := range a.Networks {
		if n.Mode == app.NetworkContainer && n.Name != "" {
			names = append(names, n.Name)
		}
	}
	switch c.Type {
	case app.EngineDocker:
		d := &mesos.DockerInfo{Network: "HOST"}
		if c.Docker != nil {
			d.Image, d.Privileged, d.ForcePullImage = c.Docker.Image, c.Docker.Privileged, c.Docker.ForcePullImage
			for _, p := range c.Docker.Parameters {
				d.Parameters = append(d.Parameters, mesos.Parameter{Key: p.Key, Value: p.Value})
			}
		}
		switch {
		case a.HostNetworking():
		case len(a.Networks) > 0 && a.Networks[0].Mode == app.NetworkBridge:
			d.Network = "BRIDGE"
		default:
			d.Network = "USER"
		}
		if d.Network != "HOST" {
			for i, pm := range c.PortMappings {
				if i >= len(hostPorts) || hostPorts[i] == 0 {
					continue
				}
				cp := uint32(pm.ContainerPort)
				if cp == 0 {
					cp = uint32(hostPorts[i])
				}
				for _, proto := range strings.Split(pm.Protocol, ",") {
					if proto == "" {
						proto = "tcp"
					}
					d.PortMappings = append(d.PortMappings, mesos.PortMapping{HostPort: uint32(hostPorts[i]), ContainerPort: cp, Protocol: proto})
				}
			}
		}
		ci.Docker = d
	case app.EngineMesos:
		if img := a.DockerImage(); img != "" || (c.Docker != nil && c.Docker.Image != "") {
			name := img
			if name == "" {
				name = c.Docker.Image
			}
			ci.Mesos = &struct {
				Image *mesos.Image `json:"image,omitempty"`
			}{Image: &mesos.Image{Type: "DOCKER", Docker: &struct {
				Name string `json:"name"`
			}{Name: name}}}
		}
	}
	for _, n := range names {
		ci.NetworkInfos = append(ci.NetworkInfos, mesos.NetworkInfo{Name: n})
	}
	return ci
}

func discovery(a *app.App, hostPorts []uint64) *mesos.DiscoveryInfo {
	d := &mesos.DiscoveryInfo{Visibility: "FRAMEWORK", Name: TaskName(a.ID)}
	type port = struct {
		Number   uint32        `json:"number"`
		Name     string        `json:"name,omitempty"`
		Protocol string        `json:"protocol,omitempty"`
		Labels   *mesos.Labels `json:"labels,omitempty"`
	}
	var ports []port
	names := a.PortNames()
	protos := make([]string, len(names))
	if a.UsesPortMappings() {
		for i, pm := range a.Container.PortMappings {
			protos[i] = pm.Protocol
		}
	} else {
		for i, pd := range a.PortDefinitions {
			if i < len(protos) {
				protos[i] = pd.Protocol
			}
		}
	}
	for i, hp := range hostPorts {
		if hp == 0 || i >= len(names) {
			continue
		}
		for _, proto := range strings.Split(protos[i], ",") {
			if proto == "" {
				proto = "tcp"
			}
			ports = append(ports, port{Number: uint32(hp), Name: names[i], Protocol: proto})
		}
	}
	if len(ports) > 0 {
		d.Ports = &struct {
			Ports []struct {
				Number   uint32        `json:"number"`
				Name     string        `json:"name,omitempty"`
				Protocol string        `json:"protocol,omitempty"`
				Labels   *mesos.Labels `json:"labels,omitempty"`
			} `json:"ports,omitempty"`
		}{Ports: ports}
	}
	return d
}

func ptr[T any](v T) *T { return &v }

func dbl(f float64) *mesos.Double { d := mesos.Double(f); return &d }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
