package agent

import (
	"reflect"
	"strings"
	"testing"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/mesos"
)

func TestDockerSpec(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       mesos.ContainerInfo
		want    *containerizer.DockerSpec
		wantErr string
	}{
		{name: "defaults", c: mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{Image: "busybox"}},
			want: &containerizer.DockerSpec{Image: "busybox", Network: "HOST"}},
		{name: "bridge", c: mesos.ContainerInfo{Type: "DOCKER", Hostname: "web-1",
			Volumes: []mesos.Volume{{HostPath: "/data", ContainerPath: "/mnt/data", Mode: "RO"}, {HostPath: "/tmp/x", ContainerPath: "/x", Mode: "RW"}},
			Docker: &mesos.DockerInfo{Image: "nginx:1", Network: "BRIDGE", Privileged: true, ForcePullImage: true,
				PortMappings: []mesos.PortMapping{{HostPort: 31000, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 31001, ContainerPort: 53, Protocol: "udp"}},
				Parameters:   []mesos.Parameter{{Key: "label", Value: "a=b"}, {Key: "env", Value: "X=1"}}}},
			want: &containerizer.DockerSpec{Image: "nginx:1", Network: "BRIDGE", Privileged: true, ForcePull: true, Hostname: "web-1",
				PortMappings: []containerizer.DockerPortMapping{{HostPort: 31000, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 31001, ContainerPort: 53, Protocol: "udp"}},
				Volumes:      []containerizer.DockerVolume{{HostPath: "/data", ContainerPath: "/mnt/data", ReadOnly: true}, {HostPath: "/tmp/x", ContainerPath: "/x"}},
				Parameters:   [][2]string{{"label", "a=b"}, {"env", "X=1"}}}},
		{name: "none", c: mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{Image: "i", Network: "NONE"}},
			want: &containerizer.DockerSpec{Image: "i", Network: "NONE"}},
		{name: "user network", c: mesos.ContainerInfo{Type: "DOCKER", NetworkInfos: []mesos.NetworkInfo{{Name: "overlay1"}},
			Docker: &mesos.DockerInfo{Image: "i", Network: "USER"}},
			want: &containerizer.DockerSpec{Image: "i", Network: "USER", UserNetwork: "overlay1"}},
		{name: "user network without name", c: mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{Image: "i", Network: "USER"}},
			wantErr: "network_infos"},
		{name: "no image", c: mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{}}, wantErr: "docker.image"},
		{name: "no docker", c: mesos.ContainerInfo{Type: "DOCKER"}, wantErr: "docker.image"},
		{name: "image volume", c: mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{Image: "i"},
			Volumes: []mesos.Volume{{ContainerPath: "/v", Image: &mesos.Image{Type: "DOCKER"}}}}, wantErr: "host_path"},
	} {
		got, err := dockerSpec(&tc.c)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want one about %s", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}
}

// A DOCKER task reaches the containerizer with its DockerSpec, the
// container name Mesos gives it, and Mesos' command semantics.
func TestDockerTaskSpec(t *testing.T) {
	fz := newFakeContainerizer()
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), func(c *Config) { c.Containerizer = fz })
	ta.waitRegistered()
	shell := false
	ti := mesos.TaskInfo{Name: "d", TaskID: mesos.TaskID{Value: "d"}, Resources: scalars(0.5, 64),
		Command: &mesos.CommandInfo{Shell: &shell, Arguments: []string{"-g", "daemon off;"}},
		Container: &mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{Image: "nginx", Network: "BRIDGE",
			PortMappings: []mesos.PortMapping{{HostPort: 31080, ContainerPort: 80}}}}}
	fm.send(runTaskEvent(testFramework("fw1"), ti))
	running := fm.waitState("d", mesos.TaskRunning)
	cid := running.Status.ContainerStatus.ContainerID.Value
	spec, err := fz.specFor(cid)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Docker == nil || spec.Docker.Image != "nginx" || spec.Docker.Network != "BRIDGE" ||
		len(spec.Docker.PortMappings) != 1 || spec.Name != "mesos-"+cid {
		t.Fatalf("spec = %+v, docker %+v", spec, spec.Docker)
	}
	// shell=false: no value, the arguments go to the image's entrypoint.
	if spec.Shell || spec.Value != "" || !reflect.DeepEqual(spec.Arguments, []string{"-g", "daemon off;"}) {
		t.Fatalf("command: shell %v value %q arguments %q", spec.Shell, spec.Value, spec.Arguments)
	}
}

// On an agent without the docker containerizer a DOCKER task fails and
// says how to enable it.
func TestDockerTaskWithoutDockerContainerizer(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), nil) // posix only
	ta.waitRegistered()
	ti := shellTask("docker", "true")
	ti.Container = &mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{Image: "busybox"}}
	fm.send(runTaskEvent(testFramework("fw1"), ti))
	failed := fm.waitState("docker", mesos.TaskFailed)
	if failed.Status.Reason != mesos.ReasonContainerLaunchFailed || failed.Status.Source != mesos.SourceAgent ||
		!strings.Contains(failed.Status.Message, "docker containerizer is not enabled on this agent") ||
		!strings.Contains(failed.Status.Message, "--containerizers=docker,mesos") {
		t.Fatalf("FAILED = %+v", failed.Status)
	}
}

// A container ended by a resource limit fails its task with the
// limitation's reason, the containerizer's message and the exceeded
// resource.
func TestLimitationMapping(t *testing.T) {
	fz := newFakeContainerizer()
	fm := newFakeMaster(t)
	ta := startAgent(t, fm, t.TempDir(), func(c *Config) { c.Containerizer = fz })
	ta.waitRegistered()
	fw := testFramework("fw1")
	for _, tc := range []struct {
		limitation, reason, resource, msg string
	}{
		{"memory", mesos.ReasonContainerLimitationMemory, "mem", "Memory limit exceeded: Requested: 48MB Maximum Used: 49MB"},
		{"disk", mesos.ReasonContainerLimitationDisk, "disk", "Disk usage (120MB) exceeds quota (100MB)"},
	} {
		ti := shellTask("lim-"+tc.limitation, "sleep 600")
		ti.Resources = append(ti.Resources, mesos.Resource{Name: "disk", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: 100}})
		fm.send(runTaskEvent(fw, ti))
		running := fm.waitState(ti.TaskID.Value, mesos.TaskRunning)
		fz.end(running.Status.ContainerStatus.ContainerID.Value, containerizer.Termination{ExitCode: 137, Signaled: true, Signal: 9,
			Limitation: tc.limitation, Message: tc.msg})
		failed := fm.waitState(ti.TaskID.Value, mesos.TaskFailed)
		st := failed.Status
		if st.Reason != tc.reason || st.Message != tc.msg || st.Limitation == nil || len(st.Limitation.Resources) != 1 ||
			st.Limitation.Resources[0].Name != tc.resource {
			t.Fatalf("%s: FAILED = %+v, limitation %+v", tc.limitation, st, st.Limitation)
		}
	}
}
