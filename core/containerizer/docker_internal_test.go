package containerizer

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testCreateOpts = dockerCreateOptions{mountPoint: "/mnt/mesos/sandbox", owner: "agent-1"}

func baseDockerSpec() Spec {
	return Spec{
		ContainerID: "c1",
		Sandbox:     "/var/lib/strata/sandbox",
		RunDir:      "/var/lib/strata/run",
		Shell:       true,
		Value:       "echo hi",
		Env:         []string{"PATH=/bin", "FOO=1"},
		Docker:      &DockerSpec{Image: "busybox:1"},
	}
}

func TestBuildDockerCreateDefaults(t *testing.T) {
	name, b, err := buildDockerCreate(baseDockerSpec(), testCreateOpts)
	if err != nil {
		t.Fatal(err)
	}
	if name != "mesos-c1" {
		t.Errorf("name = %q", name)
	}
	want := &dockerCreateBody{
		Image:      "busybox:1",
		WorkingDir: "/mnt/mesos/sandbox",
		Entrypoint: []string{"/bin/sh"},
		Cmd:        []string{"-c", "echo hi"},
		Env:        []string{"PATH=/bin", "FOO=1", "MESOS_SANDBOX=/mnt/mesos/sandbox", "MESOS_CONTAINER_NAME=mesos-c1"},
		Labels: map[string]string{
			DockerLabelContainerizer: "docker", DockerLabelContainerID: "c1", DockerLabelOwner: "agent-1",
		},
		HostConfig: dockerHostConfig{
			Binds:       []string{"/var/lib/strata/sandbox:/mnt/mesos/sandbox"},
			NetworkMode: "host",
			Init:        ptr(true),
		},
	}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("body =\n%+v\nwant\n%+v", b, want)
	}
	_, b, _ = buildDockerCreate(baseDockerSpec(), dockerCreateOptions{mountPoint: "/sb", noInit: true})
	if b.HostConfig.Init != nil {
		t.Errorf("Init = %v with noInit", *b.HostConfig.Init)
	}
}

func TestBuildDockerCreateCommand(t *testing.T) {
	for _, tc := range []struct {
		name       string
		shell      bool
		value      string
		args       []string
		entrypoint []string
		cmd        []string
		err        string
	}{
		{name: "shell", shell: true, value: "a && b", entrypoint: []string{"/bin/sh"}, cmd: []string{"-c", "a && b"}},
		// Mesos ignores arguments with shell.
		{name: "shell ignores arguments", shell: true, value: "x", args: []string{"y"}, entrypoint: []string{"/bin/sh"}, cmd: []string{"-c", "x"}},
		{name: "shell without value", shell: true, err: "no command value"},
		{name: "image CMD"},
		{name: "value and arguments", value: "run", args: []string{"--port", "80"}, cmd: []string{"run", "--port", "80"}},
		{name: "arguments only", args: []string{"a", "b"}, cmd: []string{"a", "b"}},
	} {
		spec := baseDockerSpec()
		spec.Shell, spec.Value, spec.Arguments = tc.shell, tc.value, tc.args
		_, b, err := buildDockerCreate(spec, testCreateOpts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(b.Entrypoint, tc.entrypoint) || !reflect.DeepEqual(b.Cmd, tc.cmd) {
			t.Errorf("%s: entrypoint %q cmd %q, want %q %q", tc.name, b.Entrypoint, b.Cmd, tc.entrypoint, tc.cmd)
		}
	}
}

func TestBuildDockerCreateResources(t *testing.T) {
	for _, tc := range []struct {
		cpus, cpuLimit, mem, memLimit float64
		shares, quota, memory, resv   int64
	}{
		{cpus: 0.5, shares: 512},
		{cpus: 0.001, shares: 2},
		{cpus: 2, cpuLimit: 1.5, shares: 2048, quota: 150000},
		{cpuLimit: 0.001, quota: 1000},
		{mem: 16, memory: 32 << 20},
		{mem: 128, memory: 128 << 20},
		{mem: 64, memLimit: 256, memory: 256 << 20, resv: 64 << 20},
		{mem: 8, memLimit: 16, memory: 32 << 20, resv: 32 << 20},
		{},
	} {
		spec := baseDockerSpec()
		spec.CPUs, spec.CPULimit, spec.MemMB, spec.MemLimitMB = tc.cpus, tc.cpuLimit, tc.mem, tc.memLimit
		_, b, err := buildDockerCreate(spec, testCreateOpts)
		if err != nil {
			t.Fatal(err)
		}
		h := b.HostConfig
		if h.CPUShares != tc.shares || h.CPUQuota != tc.quota || h.Memory != tc.memory || h.MemoryReservation != tc.resv {
			t.Errorf("%+v: shares %d quota %d memory %d reservation %d", tc, h.CPUShares, h.CPUQuota, h.Memory, h.MemoryReservation)
		}
	}
	spec := baseDockerSpec()
	soft, hard := uint64(100), uint64(200)
	spec.Rlimits = []Rlimit{{Type: "NOFILE", Soft: &soft, Hard: &hard}, {Type: "CORE"}}
	_, b, _ := buildDockerCreate(spec, testCreateOpts)
	if want := []dockerUlimit{{"nofile", 100, 200}, {"core", -1, -1}}; !reflect.DeepEqual(b.HostConfig.Ulimits, want) {
		t.Errorf("ulimits = %+v, want %+v", b.HostConfig.Ulimits, want)
	}
}

func TestBuildDockerCreateNetworkAndVolumes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*DockerSpec)
		check  func(*dockerCreateBody) bool
		err    string
	}{
		{"bridge ports", func(d *DockerSpec) {
			d.Network = "BRIDGE"
			d.PortMappings = []DockerPortMapping{{HostPort: 31000, ContainerPort: 80}, {HostPort: 31001, ContainerPort: 53, Protocol: "UDP"}}
		}, func(b *dockerCreateBody) bool {
			return b.HostConfig.NetworkMode == "bridge" &&
				reflect.DeepEqual(b.HostConfig.PortBindings, map[string][]dockerPortBinding{
					"80/tcp": {{HostPort: "31000"}}, "53/udp": {{HostPort: "31001"}},
				}) && len(b.ExposedPorts) == 2
		}, ""},
		{"user network with ports", func(d *DockerSpec) {
			d.Network, d.UserNetwork = "USER", "overlay-1"
			d.PortMappings = []DockerPortMapping{{HostPort: 31000, ContainerPort: 80}}
		}, func(b *dockerCreateBody) bool { return b.HostConfig.NetworkMode == "overlay-1" }, ""},
		{"none", func(d *DockerSpec) { d.Network = "NONE" }, func(b *dockerCreateBody) bool { return b.HostConfig.NetworkMode == "none" }, ""},
		{"host ports", func(d *DockerSpec) { d.PortMappings = []DockerPortMapping{{HostPort: 1, ContainerPort: 1}} }, nil, "port mappings are only supported"},
		{"none ports", func(d *DockerSpec) {
			d.Network = "NONE"
			d.PortMappings = []DockerPortMapping{{HostPort: 1, ContainerPort: 1}}
		}, nil, "port mappings are only supported"},
		{"host hostname", func(d *DockerSpec) { d.Hostname = "h" }, nil, "hostname with host network"},
		{"bridge hostname", func(d *DockerSpec) { d.Network, d.Hostname = "BRIDGE", "h" }, func(b *dockerCreateBody) bool { return b.Hostname == "h" }, ""},
		{"user without name", func(d *DockerSpec) { d.Network = "USER" }, nil, "USER needs"},
		{"bad network", func(d *DockerSpec) { d.Network = "MACVLAN" }, nil, "unsupported network mode"},
		{"bad protocol", func(d *DockerSpec) {
			d.Network = "BRIDGE"
			d.PortMappings = []DockerPortMapping{{HostPort: 1, ContainerPort: 1, Protocol: "icmp"}}
		}, nil, "unsupported protocol"},
		{"volumes", func(d *DockerSpec) {
			d.Volumes = []DockerVolume{
				{HostPath: "/data", ContainerPath: "/data"},
				{HostPath: "/etc/x", ContainerPath: "/x", ReadOnly: true},
				{HostPath: "cache", ContainerPath: "/cache"},
				{HostPath: "/h", ContainerPath: "rel"},
				{ContainerPath: "/anon"},
			}
		}, func(b *dockerCreateBody) bool {
			return reflect.DeepEqual(b.HostConfig.Binds, []string{
				"/data:/data:rw", "/etc/x:/x:ro", "/var/lib/strata/sandbox/cache:/cache:rw",
				"/h:/mnt/mesos/sandbox/rel:rw", "/var/lib/strata/sandbox:/mnt/mesos/sandbox",
			}) && reflect.DeepEqual(b.Volumes, map[string]struct{}{"/anon": {}})
		}, ""},
		{"both relative", func(d *DockerSpec) { d.Volumes = []DockerVolume{{HostPath: "a", ContainerPath: "b"}} }, nil, "are relative"},
		{"privileged", func(d *DockerSpec) { d.Privileged = true }, func(b *dockerCreateBody) bool { return b.HostConfig.Privileged }, ""},
		{"no image", func(d *DockerSpec) { d.Image = "" }, nil, "without an image"},
	} {
		spec := baseDockerSpec()
		tc.modify(spec.Docker)
		_, b, err := buildDockerCreate(spec, testCreateOpts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		} else if !tc.check(b) {
			t.Errorf("%s: body %+v", tc.name, b)
		}
	}
}

func TestDockerParameters(t *testing.T) {
	for _, tc := range []struct {
		params [][2]string
		check  func(*dockerCreateBody) bool
		err    string
	}{
		{[][2]string{{"env", "FOO=2"}, {"env", "NEW=a=b"}}, func(b *dockerCreateBody) bool {
			return reflect.DeepEqual(b.Env, []string{"PATH=/bin", "FOO=2", "MESOS_SANDBOX=/mnt/mesos/sandbox", "MESOS_CONTAINER_NAME=mesos-c1", "NEW=a=b"})
		}, ""},
		{[][2]string{{"label", "a=b"}, {"label", DockerLabelOwner + "=thief"}}, func(b *dockerCreateBody) bool {
			return b.Labels["a"] == "b" && b.Labels[DockerLabelOwner] == "agent-1"
		}, ""},
		{[][2]string{{"hostname", "h"}, {"user", "nobody"}, {"workdir", "/w"}, {"entrypoint", "/run.sh"}}, func(b *dockerCreateBody) bool {
			return b.Hostname == "h" && b.User == "nobody" && b.WorkingDir == "/w" && reflect.DeepEqual(b.Entrypoint, []string{"/run.sh"})
		}, ""},
		{[][2]string{{"cap-add", "NET_ADMIN"}, {"cap-add", "SYS_TIME"}, {"cap-drop", "ALL"}, {"security-opt", "no-new-privileges"}}, func(b *dockerCreateBody) bool {
			h := b.HostConfig
			return reflect.DeepEqual(h.CapAdd, []string{"NET_ADMIN", "SYS_TIME"}) && reflect.DeepEqual(h.CapDrop, []string{"ALL"}) && len(h.SecurityOpt) == 1
		}, ""},
		{[][2]string{{"memory-swap", "1g"}, {"memory", "512m"}, {"shm-size", "64MiB"}, {"memory-reservation", "100"}}, func(b *dockerCreateBody) bool {
			h := b.HostConfig
			return h.MemorySwap == 1<<30 && h.Memory == 512<<20 && h.ShmSize == 64<<20 && h.MemoryReservation == 100
		}, ""},
		{[][2]string{{"memory-swap", "-1"}}, func(b *dockerCreateBody) bool { return b.HostConfig.MemorySwap == -1 }, ""},
		{[][2]string{{"ulimit", "nofile=1024:2048"}, {"ulimit", "nproc=10"}, {"ulimit", "nofile=10:20"}}, func(b *dockerCreateBody) bool {
			return reflect.DeepEqual(b.HostConfig.Ulimits, []dockerUlimit{{"nproc", 10, 10}, {"nofile", 10, 20}})
		}, ""},
		{[][2]string{{"volume", "/a:/b:ro"}, {"add-host", "db:10.0.0.1"}, {"dns", "1.1.1.1"}, {"dns-search", "x"}, {"dns-opt", "ndots:2"}}, func(b *dockerCreateBody) bool {
			h := b.HostConfig
			return h.Binds[len(h.Binds)-1] == "/a:/b:ro" && h.ExtraHosts[0] == "db:10.0.0.1" && h.DNS[0] == "1.1.1.1" && h.DNSSearch[0] == "x" && h.DNSOptions[0] == "ndots:2"
		}, ""},
		{[][2]string{{"device", "/dev/fuse"}, {"device", "/dev/sda:/dev/xvda:r"}, {"device", "/dev/nvidia0:rw"}}, func(b *dockerCreateBody) bool {
			return reflect.DeepEqual(b.HostConfig.Devices, []dockerDevice{
				{"/dev/fuse", "/dev/fuse", "rwm"}, {"/dev/sda", "/dev/xvda", "r"}, {"/dev/nvidia0", "/dev/nvidia0", "rw"},
			})
		}, ""},
		{[][2]string{{"log-driver", "json-file"}, {"log-opt", "max-size=10m"}}, func(b *dockerCreateBody) bool {
			return b.HostConfig.LogConfig.Type == "json-file" && b.HostConfig.LogConfig.Config["max-size"] == "10m"
		}, ""},
		{[][2]string{{"publish", "8080:80/udp"}, {"publish", "127.0.0.1:9090:90"}, {"publish", "70"}, {"expose", "60"}}, func(b *dockerCreateBody) bool {
			return reflect.DeepEqual(b.HostConfig.PortBindings, map[string][]dockerPortBinding{
				"80/udp": {{HostPort: "8080"}}, "90/tcp": {{HostIP: "127.0.0.1", HostPort: "9090"}}, "70/tcp": {{}},
			}) && len(b.ExposedPorts) == 4
		}, ""},
		{[][2]string{{"init", "false"}, {"privileged", ""}, {"read-only", "true"}, {"oom-kill-disable", ""}, {"pids-limit", "100"}}, func(b *dockerCreateBody) bool {
			h := b.HostConfig
			return !*h.Init && h.Privileged && h.ReadonlyRootfs && *h.OomKillDisable && *h.PidsLimit == 100
		}, ""},
		{[][2]string{{"cpus", "1.5"}, {"cpu-shares", "100"}, {"cpuset-cpus", "0-1"}, {"cpu-period", "50000"}}, func(b *dockerCreateBody) bool {
			h := b.HostConfig
			return h.NanoCPUs == 1.5e9 && h.CPUShares == 100 && h.CpusetCpus == "0-1" && h.CPUPeriod == 50000
		}, ""},
		{[][2]string{{"net", "my-net"}, {"network-alias", "web"}, {"ip", "10.1.0.5"}}, func(b *dockerCreateBody) bool {
			ep := b.NetworkingConfig.EndpointsConfig["my-net"]
			return b.HostConfig.NetworkMode == "my-net" && ep != nil && ep.Aliases[0] == "web" && ep.IPAMConfig.IPv4Address == "10.1.0.5"
		}, ""},
		{[][2]string{{"sysctl", "net.core.somaxconn=1024"}, {"tmpfs", "/run:rw,size=64m"}, {"stop-signal", "SIGINT"}, {"--ipc", "host"}}, func(b *dockerCreateBody) bool {
			h := b.HostConfig
			return h.Sysctls["net.core.somaxconn"] == "1024" && h.Tmpfs["/run"] == "rw,size=64m" && b.StopSignal == "SIGINT" && h.IpcMode == "host"
		}, ""},
		{[][2]string{{"restart", "always"}}, nil, `unsupported docker parameter "restart"`},
		{[][2]string{{"tty", "true"}}, nil, `unsupported docker parameter "tty"`},
		{[][2]string{{"memory", "lots"}}, nil, `docker parameter "memory"="lots"`},
		{[][2]string{{"ulimit", "nofile=20:10"}}, nil, "above hard limit"},
		{[][2]string{{"env", "NOVALUE"}}, nil, "NAME=VALUE"},
		{[][2]string{{"publish", "1000-2000:80"}}, nil, "ranges"},
		{[][2]string{{"privileged", "maybe"}}, nil, `"privileged"`},
		{[][2]string{{"device", "dev/sda"}}, nil, "absolute"},
	} {
		spec := baseDockerSpec()
		spec.Docker.Parameters = tc.params
		_, b, err := buildDockerCreate(spec, testCreateOpts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: err = %v, want %q", tc.params, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.params, err)
		} else if !tc.check(b) {
			t.Errorf("%v: body %+v", tc.params, b)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1024": 1024, "1k": 1024, "1K": 1024, "512m": 512 << 20, "512MB": 512 << 20, "64MiB": 64 << 20,
		"1.5g": 3 << 29, "2t": 2 << 40, "10b": 10, "1 g": 1 << 30,
	} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "-1", "1x", "1e3", "0x10", "1.2.3", "ten"} {
		if got, err := parseByteSize(in); err == nil {
			t.Errorf("parseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestSplitImageRef(t *testing.T) {
	for in, want := range map[string][2]string{
		"busybox":                   {"busybox", "latest"},
		"busybox:1.36":              {"busybox", "1.36"},
		"registry:5000/team/app":    {"registry:5000/team/app", "latest"},
		"registry:5000/team/app:v2": {"registry:5000/team/app", "v2"},
		"app@sha256:abc":            {"app", "sha256:abc"},
	} {
		if n, tag := splitImageRef(in); n != want[0] || tag != want[1] {
			t.Errorf("splitImageRef(%q) = %q, %q; want %q", in, n, tag, want)
		}
	}
}

func TestAPIVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{{"1.9", "1.41", true}, {"1.41", "1.9", false}, {"1.41", "1.41", false}, {"1.47", "2.0", true}} {
		if got := apiVersionLess(tc.a, tc.b); got != tc.less {
			t.Errorf("apiVersionLess(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestDockerTermination(t *testing.T) {
	var info dockerInspect
	info.State.ExitCode = 137
	if got, want := dockerTermination(info), (Termination{ExitCode: 137, Signaled: true, Signal: 9, Message: "Container exited with status 137"}); got != want {
		t.Errorf("137: %+v, want %+v", got, want)
	}
	info.State.OOMKilled = true
	if got := dockerTermination(info); got.Limitation != "memory" || !strings.HasPrefix(got.Message, "Memory limit exceeded") {
		t.Errorf("OOM: %+v", got)
	}
	info = dockerInspect{}
	info.State.ExitCode = 1
	if got, want := dockerTermination(info), (Termination{ExitCode: 1, Message: "Container exited with status 1"}); got != want {
		t.Errorf("1: %+v, want %+v", got, want)
	}
}

// frame builds one multiplexed log frame.
func frame(stream byte, ts time.Time, msg string) []byte {
	payload := ts.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") + " " + msg
	var hdr [8]byte
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	return append(hdr[:], payload...)
}

func TestLogPumpCopyDeduplicates(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Unix(1700000000, 0)
	t1, t2 := t0.Add(time.Millisecond), t0.Add(2*time.Millisecond)
	var stream bytes.Buffer
	for _, f := range [][]byte{
		frame(1, t0, "a\n"),
		frame(2, t0, "e1\n"),
		frame(1, t1, "b-part1"), // a long line: its parts share a timestamp
		frame(1, t1, "b-part2\n"),
		frame(1, t2, "c\n"),
		frame(2, t2, "e2\n"),
	} {
		stream.Write(f)
	}
	// The first copy had written a, b-part1 (stdout) and e1 (stderr), and
	// saved that position; the files hold exactly that.
	pos := logPosition{
		Seen:   t1.UnixNano(),
		Stdout: logStreamPos{Size: int64(len("a\nb-part1")), TS: t1.UnixNano(), N: 1},
		Stderr: logStreamPos{Size: int64(len("e1\n")), TS: t0.UnixNano(), N: 1},
	}
	out, _ := os.Create(filepath.Join(dir, "stdout"))
	errf, _ := os.Create(filepath.Join(dir, "stderr"))
	out.WriteString("a\nb-part1")
	errf.WriteString("e1\n")
	p := &logPump{runDir: dir, sandbox: dir, pos: pos, saved: time.Now(), logger: slog.New(slog.DiscardHandler)}
	if err := p.copy(bytes.NewReader(stream.Bytes()), [2]*os.File{out, errf}); err != nil {
		t.Fatal(err)
	}
	out.Close()
	errf.Close()
	for name, want := range map[string]string{"stdout": "a\nb-part1b-part2\nc\n", "stderr": "e1\ne2\n"} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if string(b) != want {
			t.Errorf("%s = %q, want %q", name, b, want)
		}
	}
	if p.pos.Stdout.TS != t2.UnixNano() || p.pos.Stdout.N != 1 || p.pos.Stdout.Size != int64(len("a\nb-part1b-part2\nc\n")) || p.pos.Seen != t2.UnixNano() {
		t.Errorf("position = %+v", p.pos)
	}
	if got, want := p.pos.since(), "1700000000.002000000"; got == "" || got >= want {
		t.Errorf("since = %q, want before %s", got, want)
	}
}

func TestOpenLogFileTruncatesToPosition(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stdout")
	if err := os.WriteFile(path, []byte("kept|written again"), 0o644); err != nil {
		t.Fatal(err)
	}
	size := int64(len("kept|"))
	f, err := openLogFile(path, &size)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new")
	f.Close()
	if b, _ := os.ReadFile(path); string(b) != "kept|new" {
		t.Errorf("file = %q", b)
	}
	// A file shorter than the position (truncated by someone else) is
	// appended to.
	size = 100
	f, err = openLogFile(path, &size)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if size != int64(len("kept|new")) {
		t.Errorf("size = %d", size)
	}
}
