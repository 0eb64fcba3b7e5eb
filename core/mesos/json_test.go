package mesos

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.json golden files")

// golden compares the indented JSON encoding of v with testdata/<name>.json
// (rewriting it with -update), then checks that the golden decodes into a
// fresh value of v's type that re-encodes to the same bytes. It returns the
// compact encoding decoded into a generic map for shape assertions.
func golden(t *testing.T, name string, v any) map[string]any {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("marshal %s: %v", name, err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -run %s -update to create it): %v", t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden %s:\n--- got\n%s--- want\n%s", name, path, got, want)
	}
	// The golden decodes and re-encodes to itself.
	fresh := reflect.New(reflect.TypeOf(v)).Interface()
	if err := json.Unmarshal(want, fresh); err != nil {
		t.Fatalf("decode golden %s: %v", path, err)
	}
	again, err := json.MarshalIndent(fresh, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(again, '\n'), want) {
		t.Errorf("golden %s does not survive decode/encode:\n%s", path, again)
	}
	var m map[string]any
	if err := json.Unmarshal(want, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// path walks a generic JSON value by object keys and array indexes.
func path(t *testing.T, v any, keys ...any) any {
	t.Helper()
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: not an object: %#v", k, v)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("missing key %q in %v", k, m)
			}
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at [%d]: not an array of that length: %#v", k, v)
			}
			v = a[k]
		}
	}
	return v
}

func expect(t *testing.T, v any, want any, keys ...any) {
	t.Helper()
	if got := path(t, v, keys...); !reflect.DeepEqual(got, want) {
		t.Errorf("%v = %#v, want %#v", keys, got, want)
	}
}

func absent(t *testing.T, v any, key string, keys ...any) {
	t.Helper()
	if m, ok := path(t, v, keys...).(map[string]any); !ok {
		t.Errorf("%v is not an object", keys)
	} else if _, has := m[key]; has {
		t.Errorf("%v has %q, want it omitted: %v", keys, key, m)
	}
}

func strPtr(s string) *string { return &s }

func uuid0to15() []byte {
	u := make([]byte, 16)
	for i := range u {
		u[i] = byte(i)
	}
	return u
}

func TestGoldenOffersEvent(t *testing.T) {
	res := rs(sc("cpus", 4), sc("mem", 7000), rg("ports", 31000, 32000)).Allocate("*").PreRefinement()
	ev := Event{Type: EventOffers, Offers: &EventOffersBody{Offers: []Offer{{
		ID:             OfferID{Value: "b5eac2c5-609b-4ca1-a352-61941702fc9e-O12"},
		FrameworkID:    FrameworkID{Value: "b5eac2c5-609b-4ca1-a352-61941702fc9e-0000"},
		AgentID:        AgentID{Value: "b5eac2c5-609b-4ca1-a352-61941702fc9e-S0"},
		Hostname:       "agent1.example",
		AllocationInfo: &AllocationInfo{Role: "*"},
		Resources:      res,
		Attributes:     []Attribute{{Name: "rack", Type: TEXT, Text: &Text{Value: "r1"}}},
	}}}}
	m := golden(t, "event_offers", ev)
	expect(t, m, "OFFERS", "type")
	// The payload is nested: "offers":{"offers":[...]}.
	offer := path(t, m, "offers", "offers", 0)
	expect(t, offer, map[string]any{"value": "b5eac2c5-609b-4ca1-a352-61941702fc9e-O12"}, "id")
	expect(t, offer, map[string]any{"value": "b5eac2c5-609b-4ca1-a352-61941702fc9e-0000"}, "framework_id")
	expect(t, offer, map[string]any{"value": "b5eac2c5-609b-4ca1-a352-61941702fc9e-S0"}, "agent_id")
	expect(t, offer, "SCALAR", "resources", 0, "type")
	expect(t, offer, 4.0, "resources", 0, "scalar", "value")
	expect(t, offer, "*", "resources", 0, "role")
	expect(t, offer, "*", "resources", 0, "allocation_info", "role")
	expect(t, offer, "RANGES", "resources", 2, "type")
	expect(t, offer, 31000.0, "resources", 2, "ranges", "range", 0, "begin")
	expect(t, offer, "TEXT", "attributes", 0, "type")
	expect(t, offer, "r1", "attributes", 0, "text", "value")
	absent(t, offer, "reservations", "resources", 0)
	absent(t, offer, "executor_ids")
	absent(t, m, "subscribed")
}

func TestGoldenUpdateEvent(t *testing.T) {
	pid := uint32(4242)
	ev := Event{Type: EventUpdate, Update: &EventUpdateBody{Status: TaskStatus{
		TaskID:          TaskID{Value: "web.1a2b"},
		State:           TaskRunning,
		Source:          SourceExecutor,
		AgentID:         &AgentID{Value: "b5eac2c5-609b-4ca1-a352-61941702fc9e-S0"},
		ExecutorID:      &ExecutorID{Value: "web.1a2b"},
		Timestamp:       1700000000.512,
		UUID:            uuid0to15(),
		ContainerStatus: &ContainerStatus{ContainerID: &ContainerID{Value: "6f1c"}, ExecutorPID: &pid},
	}}}
	m := golden(t, "event_update", ev)
	expect(t, m, "UPDATE", "type")
	expect(t, m, "AAECAwQFBgcICQoLDA0ODw==", "update", "status", "uuid")
	expect(t, m, "TASK_RUNNING", "update", "status", "state")
	expect(t, m, "SOURCE_EXECUTOR", "update", "status", "source")
	expect(t, m, 1700000000.512, "update", "status", "timestamp")
	expect(t, m, 4242.0, "update", "status", "container_status", "executor_pid")

	// Without a uuid (master-generated updates) the field is omitted.
	b, _ := json.Marshal(TaskStatus{TaskID: TaskID{Value: "t"}, State: TaskLost})
	if strings.Contains(string(b), "uuid") {
		t.Errorf("status without uuid encodes one: %s", b)
	}
}

func TestGoldenSubscribedAndSmallEvents(t *testing.T) {
	m := golden(t, "event_subscribed", Event{Type: EventSubscribed, Subscribed: &EventSubscribedBody{
		FrameworkID:              FrameworkID{Value: "b5eac2c5-609b-4ca1-a352-61941702fc9e-0000"},
		HeartbeatIntervalSeconds: 15,
	}})
	expect(t, m, 15.0, "subscribed", "heartbeat_interval_seconds")
	expect(t, m, "b5eac2c5-609b-4ca1-a352-61941702fc9e-0000", "subscribed", "framework_id", "value")

	b, _ := json.Marshal(Event{Type: EventHeartbeat})
	if string(b) != `{"type":"HEARTBEAT"}` {
		t.Errorf("heartbeat = %s", b)
	}
	b, _ = json.Marshal(Event{Type: EventError, Error: &EventErrorBody{Message: "Framework has been removed"}})
	if string(b) != `{"type":"ERROR","error":{"message":"Framework has been removed"}}` {
		t.Errorf("error = %s", b)
	}
	b, _ = json.Marshal(Event{Type: EventRescind, Rescind: &EventRescindBody{OfferID: OfferID{Value: "o"}}})
	if string(b) != `{"type":"RESCIND","rescind":{"offer_id":{"value":"o"}}}` {
		t.Errorf("rescind = %s", b)
	}
}

func TestGoldenFrameworkInfoDefaults(t *testing.T) {
	m := golden(t, "framework_info_defaults", FrameworkInfo{User: "root", Name: "fw"})
	expect(t, m, 0.0, "failover_timeout")
	expect(t, m, false, "checkpoint")
	absent(t, m, "roles")
	absent(t, m, "id")
	absent(t, m, "offer_filters")
	b, _ := json.Marshal(FrameworkInfo{User: "u", Name: "n"})
	if string(b) != `{"user":"u","name":"n","failover_timeout":0,"checkpoint":false}` {
		t.Errorf("compact FrameworkInfo = %s", b)
	}
}

func TestGoldenCommandInfoDefaults(t *testing.T) {
	m := golden(t, "command_info_defaults", CommandInfo{
		Value: strPtr("python3 -m http.server $PORT0"),
		URIs:  []URI{{Value: "http://example.com/app.tgz"}, {Value: "http://example.com/run.sh", Extract: boolPtr(false), Executable: boolPtr(true)}},
	})
	expect(t, m, true, "shell")
	expect(t, m, true, "uris", 0, "extract")
	expect(t, m, false, "uris", 1, "extract")
	b, _ := json.Marshal(CommandInfo{Shell: boolPtr(false), Value: strPtr("/bin/true")})
	if string(b) != `{"shell":false,"value":"/bin/true"}` {
		t.Errorf("shell false = %s", b)
	}
	b, _ = json.Marshal(&CommandInfo{})
	if string(b) != `{"shell":true}` {
		t.Errorf("empty command = %s", b)
	}
	var c *CommandInfo
	if !c.IsShell() || c.GetValue() != "" {
		t.Errorf("nil CommandInfo accessors")
	}
	if (&URI{}).ShouldExtract() != true || (&URI{Extract: boolPtr(false)}).ShouldExtract() {
		t.Errorf("URI.ShouldExtract")
	}
}

func TestGoldenAcceptCall(t *testing.T) {
	hc := &HealthCheck{Type: "HTTP", HTTP: &HTTPCheckInfo{Port: 31000, Path: "/"}, IntervalSeconds: doublePtr(3)}
	call := Call{
		FrameworkID: &FrameworkID{Value: "b5eac2c5-609b-4ca1-a352-61941702fc9e-0000"},
		Type:        CallAccept,
		Accept: &CallAcceptBody{
			OfferIDs: []OfferID{{Value: "b5eac2c5-609b-4ca1-a352-61941702fc9e-O12"}},
			Operations: []Operation{{Type: OpLaunch, Launch: &struct {
				TaskInfos []TaskInfo `json:"task_infos,omitempty"`
			}{TaskInfos: []TaskInfo{{
				Name:        "web.1",
				TaskID:      TaskID{Value: "web.1a2b"},
				AgentID:     AgentID{Value: "b5eac2c5-609b-4ca1-a352-61941702fc9e-S0"},
				Resources:   rs(sc("cpus", 0.5), sc("mem", 128), rg("ports", 31000, 31000)),
				Command:     &CommandInfo{Value: strPtr("python3 -m http.server $PORT0"), Environment: &Environment{Variables: []EnvVariable{{Name: "PORT0", Value: "31000"}}}},
				Container:   &ContainerInfo{Type: "DOCKER", Docker: &DockerInfo{Image: "python:3"}},
				HealthCheck: hc,
				Limits:      map[string]Scalar{"cpus": {Value: math.Inf(1)}, "mem": {Value: 256}},
			}}}}},
			Filters: &Filters{},
		},
	}
	m := golden(t, "call_accept", call)
	expect(t, m, 5.0, "accept", "filters", "refuse_seconds")
	task := path(t, m, "accept", "operations", 0, "launch", "task_infos", 0)
	expect(t, task, true, "command", "shell")
	expect(t, task, "Infinity", "limits", "cpus", "value")
	expect(t, task, 256.0, "limits", "mem", "value")
	expect(t, task, "HOST", "container", "docker", "network")
	expect(t, task, false, "container", "docker", "privileged")
	expect(t, task, 15.0, "health_check", "delay_seconds")
	expect(t, task, 3.0, "health_check", "interval_seconds")
	expect(t, task, 20.0, "health_check", "timeout_seconds")
	expect(t, task, 3.0, "health_check", "consecutive_failures")
	expect(t, task, 10.0, "health_check", "grace_period_seconds")
	if hc.Delay() != 15 || hc.Interval() != 3 || hc.Timeout() != 20 || hc.Failures() != 3 || hc.GracePeriod() != 10 {
		t.Errorf("health check accessors: %v %v %v %v %v", hc.Delay(), hc.Interval(), hc.Timeout(), hc.Failures(), hc.GracePeriod())
	}
	if hc.DelaySeconds != nil {
		t.Errorf("MarshalJSON modified the health check")
	}
}

func TestScalarJSON(t *testing.T) {
	decode := []struct {
		in   string
		want float64
	}{
		{`{"value":2}`, 2},
		{`{"value":"2"}`, 2},
		{`{"value":" 2.5 "}`, 2.5},
		{`{"value":"Infinity"}`, math.Inf(1)},
		{`{"value":"-Infinity"}`, math.Inf(-1)},
		{`{"value":"inf"}`, math.Inf(1)},
		{`{"value":1e400}`, math.Inf(1)},
		{`{"value":1e-400}`, 0},
		{`{"value":null}`, 0},
		{`2`, 2},
		{`"2"`, 2},
		{`"Infinity"`, math.Inf(1)},
		{`512.0`, 512},
	}
	for _, tc := range decode {
		var s Scalar
		if err := json.Unmarshal([]byte(tc.in), &s); err != nil {
			t.Errorf("decode %s: %v", tc.in, err)
			continue
		}
		if s.Value != tc.want {
			t.Errorf("decode %s = %v, want %v", tc.in, s.Value, tc.want)
		}
	}
	for _, in := range []string{`{}`, `{"value":"abc"}`, `{"value":"NaN"}`, `{"value":true}`, `{"value":{}}`, `[]`, `"x"`, `true`} {
		var s Scalar
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("decode %s = %v, want error", in, s.Value)
		}
	}
	var s = Scalar{Value: 7}
	if err := json.Unmarshal([]byte(`null`), &s); err != nil || s.Value != 7 {
		t.Errorf("null should leave the scalar unchanged: %v %v", s.Value, err)
	}

	encode := []struct {
		v    float64
		want string
	}{
		{2, `{"value":2}`},
		{0.5, `{"value":0.5}`},
		{0, `{"value":0}`},
		{math.Inf(1), `{"value":"Infinity"}`},
		{math.Inf(-1), `{"value":"-Infinity"}`},
		{1e21, `{"value":1000000000000000000000}`},
	}
	for _, tc := range encode {
		b, err := json.Marshal(Scalar{Value: tc.v})
		if err != nil || string(b) != tc.want {
			t.Errorf("encode %v = %s, %v; want %s", tc.v, b, err, tc.want)
		}
	}

	// Limits as the proto shape, and the docs' shorthand.
	for _, in := range []string{
		`{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"limits":{"cpus":{"value":"Infinity"},"mem":{"value":2048}}}`,
		`{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"limits":{"cpus":"Infinity","mem":2048.0}}`,
	} {
		var ti TaskInfo
		if err := json.Unmarshal([]byte(in), &ti); err != nil {
			t.Fatalf("decode %s: %v", in, err)
		}
		if !math.IsInf(ti.Limits["cpus"].Value, 1) || ti.Limits["mem"].Value != 2048 {
			t.Errorf("limits = %v", ti.Limits)
		}
		b, _ := json.Marshal(ti.Limits)
		if string(b) != `{"cpus":{"value":"Infinity"},"mem":{"value":2048}}` {
			t.Errorf("limits encode = %s", b)
		}
	}
}

func TestDoubleJSON(t *testing.T) {
	var fi FrameworkInfo
	if err := json.Unmarshal([]byte(`{"user":"u","name":"n","failover_timeout":"604800"}`), &fi); err != nil || fi.FailoverTimeout != 604800 {
		t.Errorf("numeric string failover_timeout: %v %v", fi.FailoverTimeout, err)
	}
	if err := json.Unmarshal([]byte(`{"user":"u","name":"n","failover_timeout":"Infinity"}`), &fi); err != nil || !math.IsInf(float64(fi.FailoverTimeout), 1) {
		t.Errorf("Infinity failover_timeout: %v %v", fi.FailoverTimeout, err)
	}
	b, _ := json.Marshal(fi)
	if !strings.Contains(string(b), `"failover_timeout":"Infinity"`) {
		t.Errorf("encode infinite failover_timeout: %s", b)
	}
	if err := json.Unmarshal([]byte(`{"failover_timeout":"soon"}`), &fi); err == nil {
		t.Errorf("bad failover_timeout accepted")
	}
	for in, want := range map[string]float64{`5`: 5, `"5"`: 5, `null`: 0, `-1.5`: -1.5, `"+Infinity"`: math.Inf(1)} {
		v, err := ParseDouble([]byte(in))
		if err != nil || v != want {
			t.Errorf("ParseDouble(%s) = %v, %v; want %v", in, v, err, want)
		}
	}
	for _, in := range []string{`"NaN"`, `nan`, `""`, `"1,5"`, `[1]`} {
		if v, err := ParseDouble([]byte(in)); err == nil {
			t.Errorf("ParseDouble(%s) = %v, want error", in, v)
		}
	}
}

func TestIntegersAcceptNumericStrings(t *testing.T) {
	var r Resource
	in := `{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":"31000","end":31005},{"begin":1,"end":" 2 "},null]}}`
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Ranges.Range, []Range{{31000, 31005}, {1, 2}, {0, 0}}) {
		t.Errorf("ranges = %v", r.Ranges.Range)
	}
	for _, bad := range []string{`{"begin":-1,"end":2}`, `{"begin":1.5,"end":2}`, `{"begin":"x","end":2}`, `{"begin":1,"end":true}`, `[1,2]`, `{"begin":18446744073709551616}`} {
		var x Range
		if err := json.Unmarshal([]byte(bad), &x); err == nil {
			t.Errorf("range %s decoded to %v, want error", bad, x)
		}
	}
	var kp KillPolicy
	if err := json.Unmarshal([]byte(`{"grace_period":{"nanoseconds":"5000000000"}}`), &kp); err != nil || kp.GracePeriod.Nanoseconds != 5e9 {
		t.Errorf("kill policy = %+v, %v", kp.GracePeriod, err)
	}
	var st TaskStatus
	if err := json.Unmarshal([]byte(`{"task_id":{"value":"t"},"state":"TASK_UNREACHABLE","unreachable_time":{"nanoseconds":-5}}`), &st); err != nil || st.UnreachableTime.Nanoseconds != -5 {
		t.Errorf("unreachable_time = %+v, %v", st.UnreachableTime, err)
	}
	d := DurationInfo{Nanoseconds: 7}
	if err := json.Unmarshal([]byte(`null`), &d); err != nil || d.Nanoseconds != 7 {
		t.Errorf("null duration changed the value: %v %v", d, err)
	}
	if err := json.Unmarshal([]byte(`{"nanoseconds":"1e9"}`), &d); err == nil {
		t.Errorf("non-integer nanoseconds accepted")
	}
	b, _ := json.Marshal(Range{Begin: 1, End: math.MaxUint64})
	if string(b) != `{"begin":1,"end":18446744073709551615}` {
		t.Errorf("range encode = %s", b)
	}
}

func TestFiltersRefuse(t *testing.T) {
	d := func(v float64) *Double { return doublePtr(v) }
	tests := []struct {
		f    *Filters
		want float64
	}{
		{nil, 5},
		{&Filters{}, 5},
		{&Filters{RefuseSeconds: d(0)}, 0},
		{&Filters{RefuseSeconds: d(1.5)}, 1.5},
		{&Filters{RefuseSeconds: d(-1)}, 5},
		{&Filters{RefuseSeconds: d(math.Inf(-1))}, 5},
		{&Filters{RefuseSeconds: d(math.NaN())}, 5},
		{&Filters{RefuseSeconds: d(31536000)}, 31536000},
		{&Filters{RefuseSeconds: d(1e12)}, 31536000},
		{&Filters{RefuseSeconds: d(math.Inf(1))}, 31536000},
	}
	for _, tc := range tests {
		if got := tc.f.Refuse(); got != tc.want {
			t.Errorf("Refuse(%v) = %v, want %v", tc.f, got, tc.want)
		}
	}
	for in, want := range map[string]float64{
		`{}`: 5, `{"refuse_seconds":null}`: 5, `{"refuse_seconds":-3}`: 5, `{"refuse_seconds":"1e12"}`: 31536000,
		`{"refuse_seconds":"Infinity"}`: 31536000, `{"refuse_seconds":60}`: 60,
	} {
		var f Filters
		if err := json.Unmarshal([]byte(in), &f); err != nil {
			t.Errorf("decode %s: %v", in, err)
			continue
		}
		if got := f.Refuse(); got != want {
			t.Errorf("Refuse(%s) = %v, want %v", in, got, want)
		}
	}
	b, _ := json.Marshal(Filters{})
	if string(b) != `{"refuse_seconds":5}` {
		t.Errorf("empty filters encode = %s", b)
	}
}

// Reference examples, copied verbatim from reference/mesos.md §2.7.
const (
	refSubscribe = `{"type":"SUBSCRIBE",
 "subscribe":{"framework_info":{"user":"root","name":"marathon-like","roles":["*"],
   "failover_timeout":604800,"checkpoint":true,"principal":"marathon",
   "capabilities":[{"type":"MULTI_ROLE"},{"type":"PARTITION_AWARE"},{"type":"TASK_KILLING_STATE"}]}}}`

	refAccept = `{"framework_id":{"value":"b5ea…-0000"},"type":"ACCEPT",
 "accept":{"offer_ids":[{"value":"b5ea…-O12"}],
  "operations":[{"type":"LAUNCH","launch":{"task_infos":[{
     "name":"web.1","task_id":{"value":"web.1a2b"},"agent_id":{"value":"b5ea…-S0"},
     "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}},
                  {"name":"mem","type":"SCALAR","scalar":{"value":128}},
                  {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31000}]}}],
     "command":{"shell":true,"value":"python3 -m http.server $PORT0",
                "environment":{"variables":[{"name":"PORT0","value":"31000"}]}}}]}}],
  "filters":{"refuse_seconds":5.0}}}`

	refAcknowledge = `{"framework_id":{"value":"b5ea…-0000"},"type":"ACKNOWLEDGE",
 "acknowledge":{"agent_id":{"value":"b5ea…-S0"},"task_id":{"value":"web.1a2b"},"uuid":"AAECAwQFBgcICQoLDA0ODw=="}}`

	refOffers = `{"type":"OFFERS","offers":{"offers":[{
  "id":{"value":"b5ea…-O12"},"framework_id":{"value":"b5ea…-0000"},"agent_id":{"value":"b5ea…-S0"},
  "hostname":"agent1.example","allocation_info":{"role":"*"},
  "resources":[
    {"name":"cpus","type":"SCALAR","scalar":{"value":4.0},"role":"*","allocation_info":{"role":"*"}},
    {"name":"mem","type":"SCALAR","scalar":{"value":7000.0},"role":"*","allocation_info":{"role":"*"}},
    {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]},"role":"*","allocation_info":{"role":"*"}}],
  "attributes":[{"name":"rack","type":"TEXT","text":{"value":"r1"}}]}]}}`

	refUpdate = `{"type":"UPDATE","update":{"status":{"task_id":{"value":"web.1a2b"},"state":"TASK_RUNNING",
  "source":"SOURCE_EXECUTOR","agent_id":{"value":"b5ea…-S0"},"executor_id":{"value":"web.1a2b"},
  "timestamp":1700000000.512,"uuid":"AAECAwQFBgcICQoLDA0ODw==",
  "container_status":{"container_id":{"value":"6f1c…"},"executor_pid":4242}}}}`

	refSubscribed = `{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"b5eac2c5-609b-4ca1-a352-61941702fc9e-0000"},"heartbeat_interval_seconds":15.0}}`
)

// mesos-go v0.0.11 requests as logged in reference/mesos.md §9.2. The
// ACCEPT's elided second resource ("…") is filled in with a mem resource of
// the same shape so that the text is JSON.
const (
	mgSubscribe   = `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"compat-test","failover_timeout":604800,"roles":["*"],"capabilities":[{"type":"MULTI_ROLE"}],"offer_filters":null}}}`
	mgAccept      = `{"framework_id":{"value":"fw-1"},"type":"ACCEPT","accept":{"offer_ids":[{"value":"o-1"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t-1","task_id":{"value":"t-1"},"agent_id":{"value":"a-1"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":2},"role":"*","allocation_info":{"role":"*"},"reservations":null},{"name":"mem","type":"SCALAR","scalar":{"value":128},"role":"*","allocation_info":{"role":"*"},"reservations":null}],"command":{"uris":null,"value":"sleep 10"},"limits":null}]}}],"filters":{"refuse_seconds":5}}}`
	mgAcknowledge = `{"framework_id":{"value":"fw-1"},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a-1"},"task_id":{"value":"t-1"},"uuid":"AAECAwQFBgcICQoLDA0ODw=="}}`
	mgReconcile   = `{"framework_id":{"value":"fw-1"},"type":"RECONCILE","reconcile":{"tasks":null}}`
)

func decodeCall(t *testing.T, in string) Call {
	t.Helper()
	var c Call
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatalf("decode %s: %v", in, err)
	}
	checkCallRoundTrip(t, c)
	return c
}

func TestDecodeReferenceSubscribe(t *testing.T) {
	c := decodeCall(t, refSubscribe)
	if c.Type != CallSubscribe || c.FrameworkID != nil || c.Subscribe == nil || c.Subscribe.FrameworkInfo == nil {
		t.Fatalf("call = %+v", c)
	}
	fi := c.Subscribe.FrameworkInfo
	if fi.User != "root" || fi.Name != "marathon-like" || !reflect.DeepEqual(fi.Roles, []string{"*"}) ||
		fi.FailoverTimeout != 604800 || !fi.Checkpoint || fi.Principal != "marathon" {
		t.Errorf("framework info = %+v", fi)
	}
	for _, cp := range []string{CapMultiRole, CapPartitionAware, CapTaskKillingState} {
		if !fi.HasCapability(cp) {
			t.Errorf("missing capability %s", cp)
		}
	}
	if fi.HasCapability(CapGPUResources) {
		t.Errorf("unexpected GPU capability")
	}
	if !reflect.DeepEqual(fi.EffectiveRoles(), []string{"*"}) {
		t.Errorf("effective roles = %v", fi.EffectiveRoles())
	}
}

func TestDecodeReferenceAccept(t *testing.T) {
	c := decodeCall(t, refAccept)
	if c.Type != CallAccept || c.FrameworkID == nil || c.FrameworkID.Value != "b5ea…-0000" || c.Accept == nil {
		t.Fatalf("call = %+v", c)
	}
	a := c.Accept
	if len(a.OfferIDs) != 1 || a.OfferIDs[0].Value != "b5ea…-O12" || a.Filters.Refuse() != 5 {
		t.Errorf("accept = %+v", a)
	}
	if len(a.Operations) != 1 || a.Operations[0].Type != OpLaunch || a.Operations[0].Launch == nil || len(a.Operations[0].Launch.TaskInfos) != 1 {
		t.Fatalf("operations = %+v", a.Operations)
	}
	ti := a.Operations[0].Launch.TaskInfos[0]
	if ti.Name != "web.1" || ti.TaskID.Value != "web.1a2b" || ti.AgentID.Value != "b5ea…-S0" {
		t.Errorf("task = %+v", ti)
	}
	res := Resources(ti.Resources)
	if err := res.Validate(); err != nil {
		t.Errorf("resources invalid: %v", err)
	}
	if res.Scalar("cpus") != 0.5 || res.Scalar("mem") != 128 || !reflect.DeepEqual(res.Ranges("ports"), []Range{{31000, 31000}}) {
		t.Errorf("resources = %v", res)
	}
	if !ti.Command.IsShell() || ti.Command.GetValue() != "python3 -m http.server $PORT0" ||
		ti.Command.Environment == nil || len(ti.Command.Environment.Variables) != 1 || !reflect.DeepEqual(ti.Command.Environment.Variables[0], EnvVariable{Name: "PORT0", Value: "31000"}) {
		t.Errorf("command = %+v", ti.Command)
	}
}

func TestDecodeReferenceAcknowledge(t *testing.T) {
	for _, in := range []string{refAcknowledge, mgAcknowledge} {
		c := decodeCall(t, in)
		if c.Type != CallAcknowledge || c.Acknowledge == nil || !bytes.Equal(c.Acknowledge.UUID, uuid0to15()) ||
			c.Acknowledge.TaskID.Value == "" || c.Acknowledge.AgentID.Value == "" || c.FrameworkID == nil {
			t.Errorf("call = %+v", c)
		}
	}
}

func TestDecodeReferenceEvents(t *testing.T) {
	var ev Event
	if err := json.Unmarshal([]byte(refOffers), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != EventOffers || ev.Offers == nil || len(ev.Offers.Offers) != 1 {
		t.Fatalf("offers event = %+v", ev)
	}
	o := ev.Offers.Offers[0]
	res := Resources(o.Resources)
	if o.Hostname != "agent1.example" || res.Scalar("cpus") != 4 || res.Scalar("mem") != 7000 ||
		len(o.Attributes) != 1 || o.Attributes[0].ValueString() != "r1" {
		t.Errorf("offer = %+v", o)
	}
	// The pre-refinement offer resources normalize to unreserved, allocated to "*".
	norm := res.Normalize()
	if norm.String() != "cpus(allocated: *)(*):4; mem(allocated: *)(*):7000; ports(allocated: *)(*):[31000-32000]" {
		t.Errorf("normalized = %s", norm)
	}
	if !reflect.DeepEqual(norm.PreRefinement(), res) {
		t.Errorf("PreRefinement(Normalize(offer)) != offer")
	}

	ev = Event{}
	if err := json.Unmarshal([]byte(refUpdate), &ev); err != nil {
		t.Fatal(err)
	}
	st := ev.Update.Status
	if st.State != TaskRunning || !bytes.Equal(st.UUID, uuid0to15()) || st.Timestamp != 1700000000.512 ||
		st.ContainerStatus == nil || *st.ContainerStatus.ExecutorPID != 4242 || st.ExecutorID.Value != "web.1a2b" {
		t.Errorf("update = %+v", st)
	}

	ev = Event{}
	if err := json.Unmarshal([]byte(refSubscribed), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Subscribed == nil || ev.Subscribed.HeartbeatIntervalSeconds != 15 || ev.Subscribed.FrameworkID.Value != "b5eac2c5-609b-4ca1-a352-61941702fc9e-0000" {
		t.Errorf("subscribed = %+v", ev.Subscribed)
	}
}

// TestReferenceExamplesReencodeIdentically decodes each reference example
// and checks that encoding it again gives the same JSON document (the same
// tree of objects, arrays, strings and numbers; 4.0 and 4 are equal).
func TestReferenceExamplesReencodeIdentically(t *testing.T) {
	sameDoc := func(t *testing.T, name, in string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(in), v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s re-encodes differently:\n in  %s\n out %s", name, in, out)
		}
	}
	sameDoc(t, "SUBSCRIBE", refSubscribe, &Call{})
	sameDoc(t, "ACCEPT", refAccept, &Call{})
	sameDoc(t, "ACKNOWLEDGE", refAcknowledge, &Call{})
	sameDoc(t, "mesos-go ACKNOWLEDGE", mgAcknowledge, &Call{})
	sameDoc(t, "OFFERS", refOffers, &Event{})
	sameDoc(t, "UPDATE", refUpdate, &Event{})
	sameDoc(t, "SUBSCRIBED", refSubscribed, &Event{})
	sameDoc(t, "HEARTBEAT", `{"type":"HEARTBEAT"}`, &Event{})
}

func TestDecodeMesosGoNulls(t *testing.T) {
	c := decodeCall(t, mgSubscribe)
	fi := c.Subscribe.FrameworkInfo
	if fi.OfferFilters != nil || fi.Name != "compat-test" || fi.FailoverTimeout != 604800 || fi.Checkpoint {
		t.Errorf("subscribe = %+v", fi)
	}

	c = decodeCall(t, mgAccept)
	ti := c.Accept.Operations[0].Launch.TaskInfos[0]
	if ti.Limits != nil || ti.Command.URIs != nil || ti.Command.GetValue() != "sleep 10" || !ti.Command.IsShell() {
		t.Errorf("task = %+v / %+v", ti, ti.Command)
	}
	for _, r := range ti.Resources {
		if r.Reservations != nil || r.Role != "*" || r.AllocationRole() != "*" {
			t.Errorf("resource = %+v", r)
		}
	}
	if got := Resources(ti.Resources).Normalize().String(); got != "cpus(allocated: *)(*):2; mem(allocated: *)(*):128" {
		t.Errorf("resources = %s", got)
	}

	c = decodeCall(t, mgReconcile)
	if c.Type != CallReconcile || c.Reconcile == nil || c.Reconcile.Tasks != nil {
		t.Errorf("reconcile = %+v", c)
	}

	// Nulls everywhere else are unset too.
	c = decodeCall(t, `{"framework_id":null,"type":"DECLINE","decline":{"offer_ids":null,"filters":null},"accept":null}`)
	if c.FrameworkID != nil || c.Decline == nil || c.Decline.OfferIDs != nil || c.Decline.Filters.Refuse() != 5 || c.Accept != nil {
		t.Errorf("decline = %+v", c)
	}
}

func TestEncodedCallOmitsEmptyRepeated(t *testing.T) {
	b, _ := json.Marshal(Call{Type: CallRevive, Revive: &CallRolesBody{}})
	if string(b) != `{"type":"REVIVE","revive":{}}` {
		t.Errorf("revive = %s", b)
	}
	b, _ = json.Marshal(Call{Type: CallDecline, Decline: &CallDeclineBody{}})
	if string(b) != `{"type":"DECLINE","decline":{}}` {
		t.Errorf("decline = %s", b)
	}
}

// checkCallRoundTrip checks that a decoded call re-encodes and decodes to an
// equal value (see checkRoundTrip).
func checkCallRoundTrip(t testing.TB, c Call) {
	t.Helper()
	c2 := checkRoundTrip(t, c)
	if c2.Type != c.Type || (c.FrameworkID == nil) != (c2.FrameworkID == nil) {
		t.Fatalf("round trip changed the call: %+v -> %+v", c, c2)
	}
}

// checkRoundTrip checks that a decoded value re-encodes and decodes to an
// equal value. Encoding fills proto defaults (shell, refuse_seconds, ...)
// and drops empty values, so the first re-encoding is the canonical form:
// it must decode to a value that encodes to the same bytes and is deeply
// equal to the next decode. It returns the first re-decoded value.
func checkRoundTrip[T any](t testing.TB, v T) T {
	t.Helper()
	b1, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encode %+v: %v", v, err)
	}
	var v2 T
	if err := json.Unmarshal(b1, &v2); err != nil {
		t.Fatalf("decode of re-encoded %s: %v", b1, err)
	}
	b2, err := json.Marshal(v2)
	if err != nil {
		t.Fatalf("encode %s: %v", b1, err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("encoding not stable:\n%s\n%s", b1, b2)
	}
	var v3 T
	if err := json.Unmarshal(b2, &v3); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v2, v3) {
		t.Fatalf("decode not stable for %s:\n%+v\n%+v", b2, v2, v3)
	}
	return v2
}
