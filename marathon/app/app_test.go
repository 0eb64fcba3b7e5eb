package app

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestInvalidBodies pins the exact status and body (testdata/invalid_*.json)
// of every bad request case: clients match on these bodies.
func TestInvalidBodies(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
	}{
		// ids: Marathon's reader enforces the RAML PathId pattern first.
		{"id_uppercase", `{"id":"/Prod/web","cmd":"sleep 1"}`, 422},
		{"id_underscore", `{"id":"/bad_id","cmd":"sleep 1"}`, 422},
		{"id_reserved_restart", `{"id":"/a/restart","cmd":"sleep 1"}`, 422},
		{"id_reserved_tasks", `{"id":"/tasks","cmd":"sleep 1"}`, 422},
		{"id_reserved_versions", `{"id":"/a/b/versions","cmd":"sleep 1"}`, 422},
		{"id_root", `{"id":"/","cmd":"sleep 1"}`, 422},
		{"id_missing", `{"cmd":"sleep 1"}`, 422},
		{"id_number", `{"id":123}`, 422},
		// wrong JSON types and RAML facets
		{"instances_string", `{"id":"/a","cmd":"sleep 1","instances":"two"}`, 422},
		{"instances_fraction", `{"id":"/a","cmd":"sleep 1","instances":0.1}`, 422},
		{"instances_negative", `{"id":"/a","cmd":"sleep 1","instances":-1}`, 422},
		{"many_types", `{"id":"/a","cmd":["sleep"],"mem":"lots","labels":{"a":1},"env":{"X":2},"requirePorts":"yes","healthChecks":{}}`, 422},
		{"container_type_unknown", `{"id":"/a","container":{"type":"RKT","docker":{"image":"x"}}}`, 422},
		{"upgrade_strategy_range", `{"id":"/a","cmd":"sleep 1","upgradeStrategy":{"minimumHealthCapacity":1.2,"maximumOverCapacity":-0.5}}`, 422},
		{"backoff_factor", `{"id":"/a","cmd":"sleep 1","backoffFactor":0.5}`, 422},
		{"port_name_pattern", `{"id":"/a","cmd":"sleep 1","portDefinitions":[{"port":0,"name":"HTTP"}]}`, 422},
		{"docker_image_missing", `{"id":"/a","container":{"type":"DOCKER","docker":{}}}`, 422},
		// semantic validation
		{"cmd_and_args", `{"id":"/a","cmd":"sleep 1","args":["sleep","1"]}`, 422},
		{"no_cmd_args_container", `{"id":"/a"}`, 422},
		{"cmd_one_char", `{"id":"/a","cmd":"y"}`, 422},
		{"health_port_index", `{"id":"/a","cmd":"sleep 1","portDefinitions":[{"port":0}],"healthChecks":[{"protocol":"HTTP","portIndex":1}]}`, 422},
		{"constraint_operator", `{"id":"/a","cmd":"sleep 1","constraints":[["hostname","UNIQUE"],["rack","NEAR","a"],["zone"]]}`, 422},
		{"constraint_values", `{"id":"/a","cmd":"sleep 1","constraints":[["hostname","UNIQUE","x"],["rack","LIKE","a("],["rack","MAX_PER","two"],["rack","GROUP_BY","x"],["rack","LIKE"],["rack","IS","[1-2]"]]}`, 422},
		{"port_names_unique", `{"id":"/a","cmd":"sleep 1","portDefinitions":[{"port":1000,"name":"web"},{"port":1000,"name":"web"}]}`, 422},
		{"gpus", `{"id":"/a","cmd":"sleep 1","gpus":1}`, 422},
		{"secrets_no_store", `{"id":"/a","cmd":"sleep 1","env":{"PW":{"secret":"pw"},"DB":{"secret":"db"}},"secrets":{"pw":{"source":"/db/pw"}}}`, 422},
		{"residency", `{"id":"/a","cmd":"sleep 1","residency":{}}`, 422},
		{"persistent_and_external_volumes", `{"id":"/a","cmd":"sleep 1","container":{"type":"MESOS","volumes":[{"containerPath":"data","mode":"RW","persistent":{"size":10}},{"containerPath":"/ext","mode":"RW","external":{"name":"v","provider":"dvdi"}}]}}`, 422},
		{"docker_not_defined", `{"id":"/a","cmd":"sleep 1","container":{"type":"DOCKER"}}`, 422},
		{"port_mappings_two_apis", `{"id":"/a","networks":[{"mode":"container/bridge"}],"container":{"type":"DOCKER","docker":{"image":"x","portMappings":[{"containerPort":80}]},"portMappings":[{"containerPort":81}]}}`, 422},
		{"networks_and_docker_network", `{"id":"/a","networks":[{"mode":"host"}],"container":{"type":"DOCKER","docker":{"image":"x","network":"BRIDGE"}}}`, 422},
		{"networks_modes", `{"id":"/a","cmd":"sleep 1","networks":[{"mode":"host"},{"mode":"container/bridge"}]}`, 422},
		{"container_network_unnamed", `{"id":"/a","cmd":"sleep 1","networks":[{"mode":"container"}]}`, 422},
		{"uris_and_fetch", `{"id":"/a","cmd":"sleep 1","uris":["http://x/a"],"fetch":[{"uri":"http://x/b"}]}`, 422},
		{"ports_and_port_definitions", `{"id":"/a","cmd":"sleep 1","ports":[1000],"portDefinitions":[{"port":2000}]}`, 422},
		{"readiness", `{"id":"/a","cmd":"sleep 1","readinessChecks":[{"portName":"http","intervalSeconds":5,"timeoutSeconds":10}]}`, 422},
		{"single_instance", `{"id":"/a","cmd":"sleep 1","instances":2,"labels":{"MARATHON_SINGLE_INSTANCE_APP":"true"}}`, 422},
		{"unreachable", `{"id":"/a","cmd":"sleep 1","unreachableStrategy":{"inactiveAfterSeconds":600,"expungeAfterSeconds":60}}`, 422},
		{"accepted_roles", `{"id":"/a","cmd":"sleep 1","acceptedResourceRoles":["prod"]}`, 422},
		{"dependencies", `{"id":"/a","cmd":"sleep 1","dependencies":["../b/tasks"]}`, 422},
		// not JSON
		{"syntax", `{"id":"/a",`, 400},
		{"syntax_trailing", `{"id":"/a","cmd":"x y"} x`, 400},
		{"empty_body", ``, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Normalize([]byte(tc.body))
			status, body := errorBody(t, err)
			if status != tc.status {
				t.Errorf("status %d, want %d (%s)", status, tc.status, body)
			}
			golden(t, "invalid_"+tc.name+".json", append(body, '\n'))
		})
	}
}

func TestErrorBodyShapes(t *testing.T) {
	_, err := Normalize([]byte(`{"id":"/a","cmd":"x"}`))
	var ve *ValidationError
	if !errorsAs(err, &ve) || ve.Message != MsgNotValid {
		t.Fatalf("want a %q ValidationError, got %v", MsgNotValid, err)
	}
	if _, _, ok := ErrorBody(http.ErrBodyNotAllowed); ok {
		t.Error("ErrorBody claims a foreign error")
	}
	prefixed := ve.WithPrefix("/apps(3)")
	if got := prefixed.Violations[0].Path; got != "/apps(3)" {
		t.Errorf("object-level path under prefix = %q, want /apps(3)", got)
	}
	if !strings.Contains(err.Error(), "must not be an empty string") {
		t.Errorf("Error() = %q lacks the message", err.Error())
	}
}

// TestNormalizeGolden pins the canonical JSON of deprecated and modern
// request forms (testdata/canonical_*.json).
func TestNormalizeGolden(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		body string
	}{
		{"minimal", Config{}, `{"id":"minimal","cmd":"sleep 100"}`},
		{"deprecated_ports_uris", Config{}, `{"id":"/prod/legacy","cmd":"./run $PORT0","ports":[8080,0],"requirePorts":true,
			"uris":["https://example.com/app.tar.gz","https://example.com/config.json"],
			"healthChecks":[{"protocol":"HTTP","path":"/health"},{"protocol":"COMMAND","command":{"value":"true"}}]}`},
		{"deprecated_docker_bridge", Config{}, `{"id":"/web","instances":3,"cpus":0.5,"mem":256,
			"container":{"type":"docker","docker":{"image":"nginx:1.25","network":"BRIDGE","forcePullImage":true,
			"portMappings":[{"containerPort":80,"servicePort":0,"name":"http"},{"containerPort":443,"hostPort":8443,"protocol":"tcp"}]}},
			"healthChecks":[{"protocol":"MESOS_HTTP","portIndex":0,"path":"/"}],"labels":{"HAPROXY_GROUP":"external"}}`},
		{"deprecated_docker_host", Config{}, `{"id":"/h","cmd":"x y","container":{"type":"DOCKER","docker":{"image":"busybox","network":"HOST"}}}`},
		{"deprecated_ip_address", Config{DefaultNetworkName: "dcos"}, `{"id":"/ipt","cmd":"serve","ipAddress":{"networkName":"overlay","labels":{"a":"b"},
			"discovery":{"ports":[{"number":8080,"name":"http","protocol":"tcp"}]}}}`},
		{"container_network_default_name", Config{DefaultNetworkName: "dcos"}, `{"id":"/cn","cmd":"serve","networks":[{"mode":"container"}]}`},
		{"full", Config{Features: []string{FeatureSecrets}}, `{"id":"/full/app","args":["/bin/server","--port","8080"],
			"user":"nobody","env":{"PLAIN":"v","PW":{"secret":"pw"}},"secrets":{"pw":{"source":"/vault/pw"}},
			"instances":0,"cpus":0.25,"mem":64,"disk":10,"backoffSeconds":2,"backoffFactor":2,"maxLaunchDelaySeconds":3600,
			"constraints":[["hostname","unique"],["rack","GROUP_BY","3"]],"acceptedResourceRoles":["*"],
			"fetch":[{"uri":"https://example.com/bin","executable":true,"extract":false}],
			"portDefinitions":[{"port":10005,"name":"http","labels":{"VIP_0":"/full:80"}}],
			"readinessChecks":[{"portName":"http"}],"dependencies":["../db"],
			"upgradeStrategy":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0},
			"unreachableStrategy":"disabled","killSelection":"OLDEST_FIRST","taskKillGracePeriodSeconds":30,
			"container":{"type":"MESOS","docker":{"image":"alpine"},"volumes":[{"containerPath":"/data","hostPath":"/srv/data","mode":"RW"}]},
			"unknownField":"ignored"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.cfg.Normalize([]byte(tc.body))
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			goldenJSON(t, "canonical_"+tc.name+".json", a)
			// Canonical JSON is a fixed point: reading it back changes nothing.
			b, _ := json.Marshal(a)
			again, err := tc.cfg.Normalize(b)
			if err != nil {
				t.Fatalf("re-normalize canonical form: %v", err)
			}
			b2, _ := json.Marshal(again)
			if string(b) != string(b2) {
				t.Errorf("canonical form is not stable:\n%s\n%s", b, b2)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	a, err := Normalize([]byte(`{"id":"/d","cmd":"sleep 1","healthChecks":[{}],"readinessChecks":[{"portName":"default"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"instances", *a.Instances, 1},
		{"cpus", *a.CPUs, 1.0},
		{"mem", *a.Mem, 128.0},
		{"disk", *a.Disk, 0.0},
		{"gpus", *a.GPUs, 0},
		{"backoffSeconds", *a.BackoffSeconds, 1},
		{"backoffFactor", *a.BackoffFactor, 1.15},
		{"maxLaunchDelaySeconds", *a.MaxLaunchDelaySeconds, 300},
		{"executor", *a.Executor, ""},
		{"requirePorts", *a.RequirePorts, false},
		{"killSelection", a.KillSelection, "YOUNGEST_FIRST"},
		{"upgradeStrategy", *a.UpgradeStrategy, UpgradeStrategy{MaximumOverCapacity: 1, MinimumHealthCapacity: 1}},
		{"unreachableStrategy", *a.UnreachableStrategy, UnreachableStrategy{}},
		{"role", a.Role, "*"},
		{"labels", a.Labels, map[string]string{}},
		{"networks", a.Networks, []Network{{Mode: NetworkHost}}},
		{"portDefinitions", a.PortDefinitions, []PortDefinition{{Port: 0, Name: "default", Protocol: "tcp"}}},
		{"taskKillGracePeriod", a.TaskKillGracePeriod, (*int)(nil)},
		{"healthCheck", a.HealthChecks[0], HealthCheck{
			GracePeriodSeconds: 300, IgnoreHTTP1xx: ptr(false), IntervalSeconds: 60, MaxConsecutiveFailures: 3,
			PortIndex: ptr(0), Protocol: "HTTP", IPProtocol: "IPv4", TimeoutSeconds: 20, DelaySeconds: 15,
		}},
		{"healthCheck path", a.HealthChecks[0].EffectivePath(), "/"},
		{"readinessCheck", a.ReadinessChecks[0], ReadinessCheck{
			Name: "readinessCheck", Protocol: "HTTP", Path: "/", PortName: "default", IntervalSeconds: 30,
			TimeoutSeconds: 10, HTTPStatusCodesForReady: []int{200},
		}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if r := a.Resources(); r != (Resources{CPUs: 1, Mem: 128}) {
		t.Errorf("Resources() = %+v", r)
	}
}

func TestNormalizeRelativeIDs(t *testing.T) {
	tests := []struct{ id, base, want string }{
		{"x", "/", "/x"},
		{"x", "/prod", "/prod/x"},
		{"../x", "/prod/web", "/prod/x"},
		{"./x/", "/prod", "/prod/x"},
		{"/abs/./y", "/prod", "/abs/y"},
		{"../../../x", "/a", "/x"},
		{"a//b", "/", "/a/b"},
	}
	for _, tc := range tests {
		if got := CanonicalID(tc.id, tc.base); got != tc.want {
			t.Errorf("CanonicalID(%q, %q) = %q, want %q", tc.id, tc.base, got, tc.want)
		}
		a, err := Config{}.NormalizeApp(App{ID: tc.id, Cmd: "sleep 1", Dependencies: []string{"../db"}}, tc.base)
		if err != nil {
			t.Fatalf("NormalizeApp(%q in %q): %v", tc.id, tc.base, err)
		}
		if a.ID != tc.want {
			t.Errorf("NormalizeApp id = %q, want %q", a.ID, tc.want)
		}
		if want := CanonicalID("../db", tc.base); a.Dependencies[0] != want {
			t.Errorf("dependency = %q, want %q", a.Dependencies[0], want)
		}
	}
}

func TestIDViolations(t *testing.T) {
	valid := []string{"/app", "/hy-phenated", "/9numbered", "/dot.ted", "/deep/ly/nes/ted", "/all.to-9gether/now-huh12/nest/nest", "/trailing/"}
	for _, id := range valid {
		if v := IDViolations(id); len(v) != 0 {
			t.Errorf("IDViolations(%q) = %v, want none", id, v)
		}
	}
	invalid := map[string]string{
		"/.../asd":   msgIDPattern,
		"/app!":      msgIDPattern,
		"/asd asd":   msgIDPattern,
		"/app-":      msgIDPattern,
		"/nest./ted": msgIDPattern,
		"/nest/-ted": msgIDPattern,
		"/Upper":     msgIDPattern,
		"/under_s":   msgIDPattern,
		"/x/restart": msgIDReserved,
		"/test/.":    msgIDReserved,
		"relative":   msgIDNotAbsolute,
		"/":          msgIDEmpty,
	}
	for id, want := range invalid {
		v := IDViolations(id)
		if len(v) == 0 || v[0] != want {
			t.Errorf("IDViolations(%q) = %v, want %q first", id, v, want)
		}
	}
}

func TestNormalizeDoesNotModifyInput(t *testing.T) {
	in := App{ID: "x", Cmd: "sleep 1", Ports: []int{0}, Labels: map[string]string{"a": "b"},
		HealthChecks: []HealthCheck{{Protocol: ProtoHTTP}}}
	before, _ := json.Marshal(in)
	if _, err := (Config{}).NormalizeApp(in, "/"); err != nil {
		t.Fatal(err)
	}
	after, _ := json.Marshal(in)
	if string(before) != string(after) {
		t.Errorf("input changed:\n%s\n%s", before, after)
	}
}

func TestJavaDouble(t *testing.T) {
	tests := map[float64]string{
		1: "1.0", -3: "-3.0", 0: "0.0", 1.2: "1.2", 0.001: "0.001", 0.0001: "1.0E-4",
		128: "128.0", 1e7: "1.0E7", 12345678: "1.2345678E7", 0.5: "0.5",
	}
	for f, want := range tests {
		if got := javaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestAppInfoJSON(t *testing.T) {
	a, err := Normalize([]byte(`{"id":"/info","cmd":"sleep 1"}`))
	if err != nil {
		t.Fatal(err)
	}
	a.Version = "2015-09-25T15:13:48.343Z"
	a.VersionInfo = &VersionInfo{LastScalingAt: a.Version, LastConfigChangeAt: a.Version}
	tasks := []Task{
		{ID: "info.5dd78972-6771-11e5-94e1-be5b2935a987", AppID: "/info", Host: "agent1", State: "TASK_RUNNING",
			Ports: []uint64{31001}, StagedAt: "2015-09-25T15:13:49.000Z", StartedAt: "2015-09-25T15:13:50.000Z",
			Version: a.Version, Role: "*", HealthCheckResults: []HealthResult{{Alive: true, InstanceID: "info.marathon-5dd78972-6771-11e5-94e1-be5b2935a987"}}},
		{ID: "info.6dd78972-6771-11e5-94e1-be5b2935a987", AppID: "/info", Host: "agent2", State: "TASK_STAGING", Role: "*"},
	}
	info := AppInfo{App: a, Deployments: []Identifiable{}, Tasks: tasks}
	info.WithCounts(CountTasks(tasks))
	goldenJSON(t, "appinfo.json", info)
	if c := CountTasks(tasks); c != (Counts{Staged: 1, Running: 1, Healthy: 1}) {
		t.Errorf("CountTasks = %+v", c)
	}
}

func errorsAs(err error, target **ValidationError) bool { return errors.As(err, target) }

func TestHostNetworkingDropsPortMappings(t *testing.T) {
	// Marathon drops container.portMappings for host networking (old
	// Docker HOST apps carried them) instead of rejecting them.
	a := mustNormalize(t, `{"id":"/h","container":{"type":"DOCKER","docker":{"image":"x"},"portMappings":[{"containerPort":80}]}}`)
	if a.Container.PortMappings != nil || len(a.PortDefinitions) != 1 || !a.HostNetworking() {
		t.Errorf("got %s", js(a))
	}
}

func TestCanonicalStorageRoundTrip(t *testing.T) {
	a := mustNormalize(t, `{"id":"/rt","cmd":"x y","env":{"A":"b"},"portDefinitions":[],
		"container":{"type":"MESOS","docker":{"image":"i"}},"unreachableStrategy":"disabled",
		"resourceLimits":{"cpus":2,"mem":"unlimited"},"healthChecks":[{"protocol":"COMMAND","command":{"value":"true"}}]}`)
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back App
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, back) {
		t.Errorf("encoding/json round trip differs:\n%s\n%s", js(a), js(back))
	}
	if back.PortDefinitions == nil || len(back.PortDefinitions) != 0 {
		t.Errorf("portDefinitions [] (no ports) must survive storage: %v", back.PortDefinitions)
	}
}

func TestPathHelpers(t *testing.T) {
	if !IsChildOf("/a/b/c", "/a") || IsChildOf("/a", "/a") || IsChildOf("/ab/c", "/a") || !IsChildOf("/x", "/") {
		t.Error("IsChildOf")
	}
	if ParentID("/a/b") != "/a" || ParentID("/a") != "/" || ParentID("/") != "/" {
		t.Error("ParentID")
	}
	if SafeID("/a/b/c") != "a_b_c" {
		t.Error("SafeID")
	}
}

func BenchmarkNormalize(b *testing.B) {
	body := []byte(`{"id":"/prod/web","cmd":"serve","instances":3,"ports":[0,0],"healthChecks":[{"protocol":"HTTP"}],
		"constraints":[["hostname","UNIQUE"]],"labels":{"HAPROXY_GROUP":"external"}}`)
	for b.Loop() {
		if _, err := Normalize(body); err != nil {
			b.Fatal(err)
		}
	}
}
