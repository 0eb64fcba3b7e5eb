package app

import (
	"regexp"
	"strconv"
	"strings"
)

const (
	maxEnvLength      = 512
	labelEnvPrefix    = "MARATHON_APP_LABEL_"
	maxLabelKeyLength = maxEnvLength - len(labelEnvPrefix)
)

var labelEnvEscape = regexp.MustCompile(`[^a-zA-Z0-9_]+`)

// TaskEnv is the environment Marathon gives a task of app
// (docs/docs/task-environment-vars.md; TaskBuilder, EnvironmentHelper):
//
//   - MESOS_TASK_ID, MARATHON_APP_ID, MARATHON_APP_VERSION,
//     MARATHON_APP_DOCKER_IMAGE (DOCKER containers only),
//     MARATHON_APP_RESOURCE_CPUS/MEM/DISK (Java double text, "1.0") and
//     GPUS, MARATHON_APP_LABELS (escaped label names, space separated) and
//     MARATHON_APP_LABEL_<NAME> for labels whose key and value fit in 512
//     characters;
//   - HOST, PORT0..PORTn-1 (the task's host ports), PORT (the first),
//     PORTS (all, comma separated), PORT_<requested port> for non-zero
//     declared ports (container ports with port mappings), PORT_<host port>
//     for dynamic ones, and PORT_<NAME> for named ports;
//   - finally the app's own string env values, which override all of the
//     above (secret references are not resolved here).
//
// hostPorts lists the host port of each declared port in order; 0 stands
// for "no host port" (a container-network mapping without one), which
// yields the container port when it is fixed and nothing otherwise
// (Marathon would invent a random port; this function stays
// deterministic).
func TaskEnv(app App, host string, hostPorts []uint64, taskID string) map[string]string {
	env := map[string]string{
		"MESOS_TASK_ID":              taskID,
		"MARATHON_APP_ID":            app.ID,
		"MARATHON_APP_VERSION":       app.Version,
		"MARATHON_APP_RESOURCE_CPUS": javaDouble(deref(app.CPUs, DefaultCPUs)),
		"MARATHON_APP_RESOURCE_MEM":  javaDouble(deref(app.Mem, DefaultMem)),
		"MARATHON_APP_RESOURCE_DISK": javaDouble(deref(app.Disk, DefaultDisk)),
		"MARATHON_APP_RESOURCE_GPUS": strconv.Itoa(deref(app.GPUs, DefaultGPUs)),
	}
	if img := app.DockerImage(); img != "" {
		env["MARATHON_APP_DOCKER_IMAGE"] = img
	}
	var names []string
	for _, k := range sortedKeys(app.Labels) {
		v := app.Labels[k]
		if len(k) >= maxLabelKeyLength || len(v) >= maxEnvLength {
			continue
		}
		name := strings.ToUpper(labelEnvEscape.ReplaceAllString(k, "_"))
		names = append(names, name)
		env[labelEnvPrefix+name] = v
	}
	env["MARATHON_APP_LABELS"] = strings.Join(names, " ")

	for k, v := range portsEnv(app, hostPorts) {
		env[k] = v
	}
	if host != "" {
		env["HOST"] = host
	}
	for k, v := range app.Env {
		if _, isSecret := v.Secret(); !isSecret {
			env[k] = v.Value
		}
	}
	return env
}

type portRequest struct {
	name string
	port int
}

// portsEnv is EnvironmentHelper.portsEnv without random container ports.
func portsEnv(app App, hostPorts []uint64) map[string]string {
	env := map[string]string{}
	if len(hostPorts) == 0 {
		return env
	}
	var declared []portRequest
	if app.UsesPortMappings() {
		for _, pm := range app.Container.PortMappings {
			declared = append(declared, portRequest{pm.Name, pm.ContainerPort})
		}
	} else {
		for _, pd := range app.PortDefinitions {
			declared = append(declared, portRequest{pd.Name, pd.Port})
		}
	}
	var all []string
	effective := make([]int, len(hostPorts))
	for i, hp := range hostPorts {
		switch {
		case hp != 0:
			effective[i] = int(hp)
		case i < len(declared) && declared[i].port != 0:
			effective[i] = declared[i].port
		default:
			continue
		}
		v := strconv.Itoa(effective[i])
		env["PORT"+strconv.Itoa(i)] = v
		if hp != 0 {
			all = append(all, v) // Marathon's PORTS lists assigned host ports only
		}
	}
	for i, req := range declared {
		if i >= len(effective) || effective[i] == 0 {
			continue
		}
		v := strconv.Itoa(effective[i])
		if req.port != 0 {
			env["PORT_"+strconv.Itoa(req.port)] = v
		} else {
			env["PORT_"+v] = v
		}
		if req.name != "" {
			env["PORT_"+strings.ToUpper(req.name)] = v
		}
	}
	if len(all) > 0 {
		env["PORT"] = all[0]
	}
	env["PORTS"] = strings.Join(all, ",")
	return env
}
