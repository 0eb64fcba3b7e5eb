package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/mesos"
)

// Executor allowance added to a command task's resources (Mesos'
// DEFAULT_EXECUTOR_CPUS and DEFAULT_EXECUTOR_MEM).
const (
	commandExecutorCPUs  = 0.1
	commandExecutorMemMB = 32
)

// errDockerNotEnabled is the launch failure of a DOCKER container that no
// enabled containerizer runs.
var errDockerNotEnabled = errors.New("the docker containerizer is not enabled on this agent " +
	"(start it with --containerizers=docker,mesos); this task asks for container type DOCKER")

// errDockerTaskGroup is the launch failure of a task group whose executor
// asks for a DOCKER container.
var errDockerTaskGroup = errors.New("task groups run under the default executor, " +
	"which runs MESOS containers only; this executor asks for container type DOCKER")

// isDocker reports whether c asks for a Docker container.
func isDocker(c *mesos.ContainerInfo) bool { return c != nil && c.Type == "DOCKER" }

// dockerSpec is the containerizer's DockerSpec of a DOCKER ContainerInfo
// (Mesos' ContainerInfo.DockerInfo and the container's volumes, hostname
// and network).
func dockerSpec(c *mesos.ContainerInfo) (*containerizer.DockerSpec, error) {
	d := c.Docker
	if d == nil || d.Image == "" {
		return nil, errors.New("container type DOCKER without docker.image")
	}
	ds := &containerizer.DockerSpec{
		Image:      d.Image,
		Network:    d.Network,
		Privileged: d.Privileged,
		ForcePull:  d.ForcePullImage,
		Hostname:   c.Hostname,
	}
	switch ds.Network {
	case "":
		ds.Network = "HOST"
	case "HOST", "BRIDGE", "NONE":
	case "USER":
		if len(c.NetworkInfos) == 0 || c.NetworkInfos[0].Name == "" {
			return nil, errors.New("docker network USER needs container.network_infos[0].name")
		}
		ds.UserNetwork = c.NetworkInfos[0].Name
	default:
		return nil, fmt.Errorf("unknown docker network %q", ds.Network)
	}
	for _, pm := range d.PortMappings {
		ds.PortMappings = append(ds.PortMappings, containerizer.DockerPortMapping{
			HostPort: pm.HostPort, ContainerPort: pm.ContainerPort, Protocol: pm.Protocol})
	}
	if ds.Network == "USER" {
		for _, pm := range c.NetworkInfos[0].PortMappings {
			ds.PortMappings = append(ds.PortMappings, containerizer.DockerPortMapping{
				HostPort: pm.HostPort, ContainerPort: pm.ContainerPort, Protocol: pm.Protocol})
		}
	}
	for _, v := range c.Volumes {
		if v.HostPath == "" {
			return nil, fmt.Errorf("volume %s: only host_path volumes are supported by the docker containerizer", v.ContainerPath)
		}
		ds.Volumes = append(ds.Volumes, containerizer.DockerVolume{
			HostPath: v.HostPath, ContainerPath: v.ContainerPath, ReadOnly: v.Mode == "RO"})
	}
	for _, p := range d.Parameters {
		ds.Parameters = append(ds.Parameters, [2]string{p.Key, p.Value})
	}
	return ds, nil
}

// commandSpec fills spec's command from cmd (Mesos' CommandInfo rules).
// A Docker container may have no command value: the image's runs.
func commandSpec(spec *containerizer.Spec, cmd *mesos.CommandInfo, what string) error {
	spec.Shell = cmd.IsShell()
	spec.Value = cmd.GetValue()
	if cmd != nil {
		spec.Arguments = cmd.Arguments
	}
	if spec.Docker != nil {
		// value and every argument go to the image's entrypoint.
		if spec.Shell && spec.Value == "" {
			spec.Shell = false
		}
		return nil
	}
	if spec.Value == "" {
		return errors.New(what + " has no command")
	}
	if !spec.Shell && len(spec.Arguments) == 0 {
		spec.Arguments = []string{spec.Value}
	}
	return nil
}

// defaultPath is the PATH of tasks when neither the task nor the agent has one.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// commandExecutorName is Mesos' name for the command executor of a task.
func commandExecutorName(ti *mesos.TaskInfo) string {
	name := "(Task: " + ti.TaskID.Value + ") "
	if ti.Command.IsShell() {
		v := ti.Command.GetValue()
		if len(v) > 15 {
			v = v[:12] + "..."
		}
		name += "(Command: sh -c '" + v + "')"
	} else {
		name += "(Command: [" + strings.Join(append([]string{ti.Command.GetValue()}, ti.Command.Arguments...), ", ") + "])"
	}
	return "Command Executor " + name
}

// commandExecutorResources is the allowance of a command executor.
func commandExecutorResources() mesos.Resources {
	return mesos.Resources{
		{Name: "cpus", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: commandExecutorCPUs}},
		{Name: "mem", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: commandExecutorMemMB}},
	}
}

// resolveUser decides whom a container runs as: the requested user (the
// CommandInfo's, else the FrameworkInfo's) when the agent runs as root and
// the user exists; "" (the agent's user) when the agent is not root or the
// request is empty or the agent's own user.
func resolveUser(requested, agentUser string, isRoot bool, exists func(string) error) (string, error) {
	if !isRoot || requested == "" || requested == agentUser {
		return "", nil
	}
	if err := exists(requested); err != nil {
		return "", fmt.Errorf("failed to launch as user '%s': the user does not exist on this agent (%v)", requested, err)
	}
	return requested, nil
}

// requestedUser is CommandInfo.user if set, else FrameworkInfo.user.
func requestedUser(cmd *mesos.CommandInfo, fw *mesos.FrameworkInfo) string {
	if cmd != nil && cmd.User != nil {
		return *cmd.User
	}
	return fw.User
}

// buildEnv merges base with the command's environment (the command's
// variables win) and returns sorted KEY=VALUE pairs. PATH falls back to
// agentPath, then defaultPath.
func buildEnv(base map[string]string, cmd *mesos.CommandInfo, agentPath string) ([]string, error) {
	env := make(map[string]string, len(base)+8)
	for k, v := range base {
		env[k] = v
	}
	if cmd != nil && cmd.Environment != nil {
		for _, v := range cmd.Environment.Variables {
			if v.Type != "" && v.Type != "VALUE" {
				return nil, fmt.Errorf("environment variable %q: type %s is not supported on this agent", v.Name, v.Type)
			}
			if v.Name == "" {
				return nil, errors.New("environment variable without a name")
			}
			env[v.Name] = v.Value
		}
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = agentPath
		if agentPath == "" {
			env["PATH"] = defaultPath
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}

// rlimits converts ContainerInfo.rlimit_info ("RLMT_NOFILE" -> "NOFILE").
func rlimits(c *mesos.ContainerInfo) ([]containerizer.Rlimit, error) {
	if c == nil || c.RlimitInfo == nil {
		return nil, nil
	}
	var out []containerizer.Rlimit
	for _, r := range c.RlimitInfo.Rlimits {
		name := strings.TrimPrefix(r.Type, "RLMT_")
		if name == "" || name == "UNKNOWN" {
			return nil, fmt.Errorf("rlimit with unknown type %q", r.Type)
		}
		if (r.Soft == nil) != (r.Hard == nil) {
			return nil, fmt.Errorf("rlimit %s: set both soft and hard, or neither for unlimited", r.Type)
		}
		if r.Soft != nil && *r.Soft > *r.Hard {
			return nil, fmt.Errorf("rlimit %s: soft limit %d is above hard limit %d", r.Type, *r.Soft, *r.Hard)
		}
		out = append(out, containerizer.Rlimit{Type: name, Soft: r.Soft, Hard: r.Hard})
	}
	return out, nil
}

// mesosDuration formats d as Mesos' flags print durations ("5secs", "15mins").
func mesosDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0 && d >= time.Hour:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "hrs"
	case d%time.Minute == 0 && d >= time.Minute:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "mins"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "secs"
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

// launchInfo is what a launch goroutine needs, copied under the agent's
// lock so that the goroutine reads nothing shared.
type launchInfo struct {
	agentID   string
	framework mesos.FrameworkInfo
	fwID      string
	exID      string
	// For custom executors: the resources of the tasks that came with it.
	taskResources mesos.Resources
}

// taskSpec is the container of a command task or of a task of a group.
func (a *Agent) taskSpec(t *task, in launchInfo) (containerizer.Spec, error) {
	ti := &t.info
	res := mesos.Resources(ti.Resources)
	metaDir := t.metaDir
	if t.ex.kind == kindCommand {
		res = res.Plus(commandExecutorResources())
		metaDir = t.ex.metaDir
	}
	return a.containerSpec(containerParts{
		what: "task", cmd: ti.Command, container: ti.Container, framework: &in.framework,
		env: map[string]string{
			"MESOS_SANDBOX":        t.sandbox,
			"MESOS_DIRECTORY":      t.sandbox,
			"MESOS_FRAMEWORK_ID":   in.fwID,
			"MESOS_EXECUTOR_ID":    in.exID,
			"MESOS_TASK_ID":        ti.TaskID.Value,
			"MESOS_AGENT_ENDPOINT": a.endpoint,
			"HOST":                 a.cfg.Hostname,
		},
		res: res, containerID: t.containerID, sandbox: t.sandbox, metaDir: metaDir,
		dockerName: "mesos-" + t.containerID,
	})
}

// containerParts are what differs between a task's and an executor's container.
type containerParts struct {
	what                          string // "task" or "executor", for errors
	cmd                           *mesos.CommandInfo
	container                     *mesos.ContainerInfo
	framework                     *mesos.FrameworkInfo
	env                           map[string]string // the MESOS_* variables
	res                           mesos.Resources
	containerID, sandbox, metaDir string
	dockerName                    string
}

// containerSpec builds a container's spec: user, environment, rlimits,
// resources, Docker settings and command.
func (a *Agent) containerSpec(p containerParts) (containerizer.Spec, error) {
	docker := isDocker(p.container)
	if p.cmd == nil && !docker {
		return containerizer.Spec{}, errors.New(p.what + " has no command")
	}
	user, err := resolveUser(requestedUser(p.cmd, p.framework), a.agentUser, a.isRoot, lookupUser)
	if err != nil {
		return containerizer.Spec{}, err
	}
	env, err := buildEnv(p.env, p.cmd, os.Getenv("PATH"))
	if err != nil {
		return containerizer.Spec{}, err
	}
	rl, err := rlimits(p.container)
	if err != nil {
		return containerizer.Spec{}, err
	}
	spec := containerizer.Spec{
		ContainerID: p.containerID,
		Sandbox:     p.sandbox,
		RunDir:      filepath.Join(p.metaDir, dirContainerizer),
		Env:         env,
		User:        user,
		CPUs:        p.res.Scalar("cpus"),
		MemMB:       p.res.Scalar("mem"),
		DiskMB:      p.res.Scalar("disk"),
		Rlimits:     rl,
	}
	if docker {
		if spec.Docker, err = dockerSpec(p.container); err != nil {
			return containerizer.Spec{}, err
		}
		spec.Name = p.dockerName
	}
	if err := commandSpec(&spec, p.cmd, p.what); err != nil {
		return containerizer.Spec{}, err
	}
	return spec, nil
}

// executorShutdownGrace is the executor's shutdown_grace_period, else the agent's.
func (a *Agent) executorShutdownGrace(info *mesos.ExecutorInfo) time.Duration {
	if info.ShutdownGracePeriod != nil && info.ShutdownGracePeriod.Nanoseconds > 0 {
		return time.Duration(info.ShutdownGracePeriod.Nanoseconds)
	}
	return a.cfg.ExecutorShutdownGracePeriod
}

// executorSpec is the container of a custom executor.
func (a *Agent) executorSpec(ex *executor, in launchInfo) (containerizer.Spec, error) {
	info := &ex.info
	return a.containerSpec(containerParts{
		what: "executor", cmd: info.Command, container: info.Container, framework: &in.framework,
		env: map[string]string{
			"MESOS_FRAMEWORK_ID":                   in.fwID,
			"MESOS_EXECUTOR_ID":                    ex.id,
			"MESOS_DIRECTORY":                      ex.sandbox,
			"MESOS_SANDBOX":                        ex.sandbox,
			"MESOS_AGENT_ENDPOINT":                 a.endpoint,
			"MESOS_CHECKPOINT":                     "1",
			"MESOS_RECOVERY_TIMEOUT":               "15mins",
			"MESOS_SUBSCRIPTION_BACKOFF_MAX":       "2secs",
			"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": mesosDuration(a.executorShutdownGrace(info)),
			"MESOS_HTTP_COMMAND_EXECUTOR":          "0",
			"HOST":                                 a.cfg.Hostname,
		},
		res: mesos.Resources(info.Resources).Plus(in.taskResources), containerID: ex.containerID,
		sandbox: ex.sandbox, metaDir: ex.metaDir, dockerName: "mesos-" + ex.containerID + ".executor",
	})
}
