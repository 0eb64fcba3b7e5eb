package master

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// opCluster is a test cluster whose clocks never fire on their own
// (allocation runs only when something asks for one; agents need not
// answer pings), so operator views are deterministic.
func opCluster(t *testing.T, mod func(*Config)) *testCluster {
	t.Helper()
	return newTestCluster(t, func(c *Config) {
		c.AllocationInterval = time.Hour
		c.AgentPingTimeout = time.Hour
		c.Hostname = "master.test"
		c.Port = 5050
		if mod != nil {
			mod(c)
		}
	})
}

// opDo sends one request and returns status, headers and body.
func (c *testCluster) opDo(method, path, contentType, accept string, body []byte) (int, http.Header, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.srv.URL+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// opGet GETs a JSON endpoint, expecting 200, and decodes it generically.
func (c *testCluster) opGet(path string) map[string]any {
	c.t.Helper()
	code, _, body := c.opDo(http.MethodGet, path, "", "", nil)
	if code != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		c.t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return out
}

// opCall POSTs an operator call to /api/v1.
func (c *testCluster) opCall(call any) (int, string) {
	c.t.Helper()
	b, _ := json.Marshal(call)
	code, _, body := c.opDo(http.MethodPost, "/api/v1", "application/json", "application/json", b)
	return code, body
}

// opQuery runs a GET_* call, expecting 200, and decodes the response.
func (c *testCluster) opQuery(typ string) (mesos.OperatorResponse, map[string]any) {
	c.t.Helper()
	code, body := c.opCall(map[string]string{"type": typ})
	if code != http.StatusOK {
		c.t.Fatalf("%s: %d %s", typ, code, body)
	}
	var resp mesos.OperatorResponse
	var raw map[string]any
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		c.t.Fatalf("%s: %v in %s", typ, err, body)
	}
	json.Unmarshal([]byte(body), &raw)
	if resp.Type != typ {
		c.t.Fatalf("%s: response type %q", typ, resp.Type)
	}
	return resp, raw
}

// dig walks decoded JSON by object keys and array indexes.
func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			obj, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("dig %v: %q on %T", path, k, v)
			}
			if v, ok = obj[k]; !ok {
				t.Fatalf("dig %v: no key %q in %v", path, k, obj)
			}
		case int:
			arr, ok := v.([]any)
			if !ok || k >= len(arr) {
				t.Fatalf("dig %v: index %d on %T (%v)", path, k, v, v)
			}
			v = arr[k]
		}
	}
	return v
}

// launchOne registers an agent, subscribes a framework and launches task
// t1 (cpus:1;mem:128) on it; the agent has seen RUN_TASK when it returns.
func launchOne(t *testing.T, c *testCluster, info mesos.FrameworkInfo) (*fakeAgent, *fakeScheduler) {
	t.Helper()
	a := c.registerAgent("", "cpus:4;mem:2048;disk:100;ports:[31000-31005]")
	s := c.subscribe(info)
	o := s.offers()[0]
	if code, body := s.call(launchCall(o, commandTask("t1", o, "cpus:1;mem:128", "sleep 100"))); code != http.StatusAccepted {
		t.Fatalf("accept: %d %s", code, body)
	}
	a.nextEvent(mesos.AgentEventRunTask)
	return a, s
}

func TestOperatorV0State(t *testing.T) {
	c := opCluster(t, func(cfg *Config) {
		cfg.Flags = map[string]string{"port": "5050", "allocation_interval": "1hrs"}
		cfg.Cluster = "test-cluster"
	})
	a, s := launchOne(t, c, fw("ops"))

	for _, path := range []string{"/master/state", "/state", "/state.json", "/master/state.json"} {
		st := c.opGet(path)
		for _, key := range []string{"version", "git_sha", "build_date", "build_time", "build_user", "start_time",
			"elected_time", "id", "pid", "hostname", "activated_slaves", "deactivated_slaves", "unreachable_slaves",
			"leader", "leader_info", "cluster", "log_dir", "flags", "slaves", "frameworks", "completed_frameworks",
			"orphan_tasks", "unregistered_frameworks"} {
			dig(t, st, key)
		}
		if st["hostname"] != "master.test" || st["cluster"] != "test-cluster" || st["activated_slaves"] != 1.0 ||
			st["leader"] != st["pid"] || dig(t, st, "flags", "port") != "5050" || dig(t, st, "leader_info", "hostname") != "master.test" {
			t.Fatalf("%s top level: %v", path, st)
		}
	}
	st := c.opGet("/master/state")
	slave := dig(t, st, "slaves", 0).(map[string]any)
	if slave["id"] != a.id || !strings.HasPrefix(slave["hostname"].(string), "host-") || slave["port"] != 5051.0 || slave["active"] != true ||
		dig(t, slave, "resources", "cpus") != 4.0 || dig(t, slave, "resources", "ports") != "[31000-31005]" ||
		dig(t, slave, "used_resources", "cpus") != 1.0 || dig(t, slave, "attributes", "rack") != "r1" ||
		dig(t, slave, "unreserved_resources", "mem") != 2048.0 || slave["version"] != "test" {
		t.Fatalf("slave: %v", slave)
	}
	dig(t, slave, "reserved_resources")
	f := dig(t, st, "frameworks", 0).(map[string]any)
	if f["name"] != "ops" || f["id"] != s.id || f["active"] != true || f["connected"] != true || f["user"] != "root" ||
		f["failover_timeout"] != 60.0 || f["role"] != "*" || dig(t, f, "roles", 0) != "*" || dig(t, f, "used_resources", "cpus") != 1.0 {
		t.Fatalf("framework: %v", f)
	}
	task := dig(t, f, "tasks", 0).(map[string]any)
	if task["id"] != "t1" || task["slave_id"] != a.id || task["framework_id"] != s.id || task["state"] != "TASK_STAGING" ||
		task["executor_id"] != "" || task["role"] != "*" || dig(t, task, "resources", "cpus") != 1.0 ||
		dig(t, task, "statuses", 0, "state") != "TASK_STAGING" {
		t.Fatalf("task: %v", task)
	}
	if _, ok := task["agent_id"]; ok {
		t.Errorf("v0 tasks say slave_id, not agent_id: %v", task)
	}
	// The rest of the agent is on offer to the framework again? Either way
	// the offers list exists and uses slave_id.
	for _, o := range dig(t, f, "offers").([]any) {
		if dig(t, o, "slave_id") != a.id {
			t.Errorf("offer: %v", o)
		}
	}

	// /master/slaves, filtered.
	if got := c.opGet("/master/slaves?slave_id=" + a.id); len(dig(t, got, "slaves").([]any)) != 1 ||
		dig(t, got, "slaves", 0, "unreserved_resources_full", 0, "name") == nil {
		t.Fatalf("slaves: %v", got)
	}
	if got := c.opGet("/master/slaves?slave_id=nope"); len(dig(t, got, "slaves").([]any)) != 0 {
		t.Fatalf("slaves filter: %v", got)
	}
	dig(t, c.opGet("/master/slaves"), "recovered_slaves")

	// /master/frameworks and /master/tasks.
	if got := c.opGet("/master/frameworks?framework_id=" + s.id); dig(t, got, "frameworks", 0, "name") != "ops" {
		t.Fatalf("frameworks: %v", got)
	}
	dig(t, c.opGet("/master/frameworks"), "completed_frameworks")
	if got := c.opGet("/master/tasks?framework_id=" + s.id); dig(t, got, "tasks", 0, "slave_id") != a.id {
		t.Fatalf("tasks: %v", got)
	}
	if got := c.opGet("/master/tasks?limit=0"); len(dig(t, got, "tasks").([]any)) != 0 {
		t.Fatalf("tasks limit 0: %v", got)
	}
	if got := c.opGet("/master/tasks?task_id=nope"); len(dig(t, got, "tasks").([]any)) != 0 {
		t.Fatalf("tasks filter: %v", got)
	}

	// /master/state-summary counts tasks per agent and framework.
	sum := c.opGet("/master/state-summary")
	if dig(t, sum, "slaves", 0, "TASK_STAGING") != 1.0 || dig(t, sum, "slaves", 0, "framework_ids", 0) != s.id ||
		dig(t, sum, "frameworks", 0, "TASK_STAGING") != 1.0 || dig(t, sum, "frameworks", 0, "slave_ids", 0) != a.id ||
		dig(t, sum, "hostname") != "master.test" {
		t.Fatalf("state-summary: %v", sum)
	}

	// JSONP.
	code, hdr, body := c.opDo(http.MethodGet, "/master/state?jsonp=cb", "", "", nil)
	if code != http.StatusOK || !strings.HasPrefix(body, "cb({") || !strings.HasSuffix(body, ");") || hdr.Get("Content-Type") != "text/javascript" {
		t.Fatalf("jsonp: %d %s", code, body[:min(len(body), 40)])
	}
}

func TestOperatorTasksOrder(t *testing.T) {
	c := opCluster(t, nil)
	a := c.registerAgent("", "cpus:4;mem:2048")
	s := c.subscribe(fw("order"))
	o := s.offers()[0]
	// Launched one per ACCEPT so their first statuses have increasing timestamps.
	s.call(launchCall(o, commandTask("t1", o, "cpus:1;mem:64", "sleep 100")))
	a.nextEvent(mesos.AgentEventRunTask)
	c.m.mu.Lock()
	c.m.frameworks[s.id].tasks["t1"].Statuses[0].Timestamp -= 10
	c.m.mu.Unlock()
	s.call(mesos.Call{Type: mesos.CallRevive})
	o = s.offers()[0]
	s.call(launchCall(o, commandTask("t2", o, "cpus:1;mem:64", "sleep 100")))
	a.nextEvent(mesos.AgentEventRunTask)

	ids := func(q string) []string {
		var out []string
		for _, tk := range dig(t, c.opGet("/master/tasks"+q), "tasks").([]any) {
			out = append(out, dig(t, tk, "id").(string))
		}
		return out
	}
	for q, want := range map[string]string{"": "t2,t1", "?order=asc": "t1,t2", "?order=bogus": "t2,t1",
		"?limit=1": "t2", "?offset=1": "t1", "?limit=abc": "t2,t1", "?offset=5": ""} {
		if got := strings.Join(ids(q), ","); got != want {
			t.Errorf("/master/tasks%s: got %q, want %q", q, got, want)
		}
	}
}

func TestOperatorMiscV0Endpoints(t *testing.T) {
	c := opCluster(t, func(cfg *Config) { cfg.Flags = map[string]string{"quorum": "1"}; cfg.Version = "9.9.9" })
	for _, p := range []string{"/master/health", "/health"} {
		if code, _, body := c.opDo(http.MethodGet, p, "", "", nil); code != http.StatusOK || body != "" {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
	v := c.opGet("/version")
	for _, k := range []string{"version", "build_date", "build_time", "build_user", "git_sha"} {
		dig(t, v, k)
	}
	if v["version"] != "9.9.9" {
		t.Errorf("version: %v", v)
	}
	if got := c.opGet("/master/flags"); dig(t, got, "flags", "quorum") != "1" {
		t.Errorf("flags: %v", got)
	}
	code, hdr, _ := c.opDo(http.MethodGet, "/master/redirect", "", "", nil)
	if code != http.StatusTemporaryRedirect || hdr.Get("Location") != "//master.test:5050/" {
		t.Errorf("redirect: %d %q", code, hdr.Get("Location"))
	}
	if code, _, _ := c.opDo(http.MethodPost, "/master/state", "", "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /master/state: %d", code)
	}
	c.subscribe(fw("roles"))
	roles := c.opGet("/master/roles")
	if dig(t, roles, "roles", 0, "name") != "*" || dig(t, roles, "roles", 0, "weight") != 1.0 ||
		len(dig(t, roles, "roles", 0, "frameworks").([]any)) != 1 {
		t.Errorf("roles: %v", roles)
	}
	dig(t, roles, "roles", 0, "quota", "consumed")
}

func TestOperatorMetrics(t *testing.T) {
	c := opCluster(t, nil)
	launchOne(t, c, fw("metrics"))
	snap := c.opGet("/metrics/snapshot")
	for name, want := range map[string]float64{
		"master/elected": 1, "master/slaves_active": 1, "master/slaves_inactive": 0, "master/slaves_connected": 1,
		"master/slaves_unreachable": 0, "master/frameworks_active": 1, "master/frameworks_connected": 1,
		"master/cpus_total": 4, "master/cpus_used": 1, "master/cpus_percent": 0.25, "master/mem_total": 2048,
		"master/mem_used": 128, "master/gpus_total": 0, "master/tasks_staging": 1, "master/tasks_running": 0,
		"master/slave_registrations": 1, "master/tasks_finished": 0, "registrar/log/recovered": 1,
		"allocator/mesos/resources/cpus/total": 4,
	} {
		if got, ok := snap[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"master/uptime_secs", "master/outstanding_offers", "master/disk_percent",
		"master/tasks_killing", "master/tasks_unreachable", "master/frameworks_disconnected",
		"allocator/mesos/allocation_runs", "allocator/mesos/allocation_run_ms/count",
		"allocator/mesos/allocation_run_ms/p50", "allocator/mesos/allocation_run_ms/p99",
		"allocator/mesos/allocation_run_ms/min", "allocator/mesos/allocation_run_ms/max",
		"allocator/mesos/resources/mem/offered_or_allocated", "system/cpus_total"} {
		if _, ok := snap[name]; !ok {
			t.Errorf("missing %s", name)
		}
	}
	if snap["allocator/mesos/allocation_runs"].(float64) < 1 || snap["system/cpus_total"].(float64) < 1 {
		t.Errorf("allocation runs %v, cpus %v", snap["allocator/mesos/allocation_runs"], snap["system/cpus_total"])
	}

	code, hdr, body := c.opDo(http.MethodGet, "/metrics", "", "", nil)
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", code, hdr.Get("Content-Type"))
	}
	for _, want := range []string{
		"strata_master_slaves_active 1\n",
		"# TYPE strata_master_slaves_active gauge",
		"# TYPE strata_master_slave_registrations counter",
		"strata_master_cpus_total 4\n",
		"strata_allocator_mesos_allocation_run_ms_p50 ",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	resp, _ := c.opQuery("GET_METRICS")
	found := false
	for _, mt := range resp.GetMetrics.Metrics {
		if mt.Name == "master/slaves_active" && mt.Value == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("GET_METRICS lacks master/slaves_active=1: %v", resp.GetMetrics.Metrics)
	}
	if got := promName("allocator/mesos/roles/a-b.c/shares/dominant"); got != "strata_allocator_mesos_roles_a_b_c_shares_dominant" {
		t.Errorf("promName: %q", got)
	}
}

func TestOperatorWeights(t *testing.T) {
	c := opCluster(t, func(cfg *Config) { cfg.Weights = map[string]float64{"flag": 3} })
	put := func(body string) (int, string) {
		code, _, b := c.opDo(http.MethodPut, "/master/weights", "application/json", "", []byte(body))
		return code, b
	}
	if code, body := put(`[{"role":"r1","weight":2.5},{"role":"r2","weight":0.5}]`); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, body)
	}
	code, _, body := c.opDo(http.MethodGet, "/master/weights", "", "", nil)
	var infos []mesos.WeightInfo
	if code != http.StatusOK || json.Unmarshal([]byte(body), &infos) != nil || len(infos) != 3 ||
		infos[0] != (mesos.WeightInfo{Role: "flag", Weight: 3}) || infos[1] != (mesos.WeightInfo{Role: "r1", Weight: 2.5}) {
		t.Fatalf("GET: %d %s", code, body)
	}
	stored := func() map[string]float64 {
		kv, err := c.store.Get(context.Background(), keyWeights)
		if err != nil {
			t.Fatal(err)
		}
		var w map[string]float64
		if err := json.Unmarshal(kv.Value, &w); err != nil {
			t.Fatal(err)
		}
		return w
	}
	if w := stored(); w["r1"] != 2.5 || w["r2"] != 0.5 || w["flag"] != 3 {
		t.Fatalf("stored: %v", w)
	}

	// Bad input changes nothing, even the valid part of the batch.
	for _, bad := range []string{`[{"role":"r1","weight":-1}]`, `[{"role":"r1","weight":0}]`,
		`[{"role":"r3","weight":1},{"role":"-bad","weight":1}]`, `[{"role":"","weight":1}]`, `{`, `[{"role":"r1","weight":"x"}]`} {
		if code, body := put(bad); code != http.StatusBadRequest {
			t.Errorf("PUT %s: %d %s", bad, code, body)
		}
	}
	if w := stored(); len(w) != 3 || w["r1"] != 2.5 {
		t.Fatalf("bad input changed the registry: %v", w)
	}
	c.m.mu.Lock()
	if len(c.m.weights) != 3 || c.m.weights["r1"] != 2.5 {
		t.Errorf("bad input changed the master: %v", c.m.weights)
	}
	c.m.mu.Unlock()

	// The v1 calls.
	if code, body := c.opCall(map[string]any{"type": "UPDATE_WEIGHTS", "update_weights": map[string]any{
		"weight_infos": []map[string]any{{"role": "r1", "weight": 4}}}}); code != http.StatusOK {
		t.Fatalf("UPDATE_WEIGHTS: %d %s", code, body)
	}
	if code, _ := c.opCall(map[string]any{"type": "UPDATE_WEIGHTS", "update_weights": map[string]any{
		"weight_infos": []map[string]any{{"role": "r1", "weight": -4}}}}); code != http.StatusBadRequest {
		t.Fatalf("UPDATE_WEIGHTS bad: %d", code)
	}
	if code, _ := c.opCall(map[string]any{"type": "UPDATE_WEIGHTS"}); code != http.StatusBadRequest {
		t.Fatalf("UPDATE_WEIGHTS without payload: %d", code)
	}
	resp, raw := c.opQuery("GET_WEIGHTS")
	if len(resp.GetWeights.WeightInfos) != 3 || resp.GetWeights.WeightInfos[1] != (mesos.WeightInfo{Role: "r1", Weight: 4}) {
		t.Fatalf("GET_WEIGHTS: %v", raw)
	}
	if w := stored(); w["r1"] != 4 {
		t.Fatalf("UPDATE_WEIGHTS not stored: %v", w)
	}
	// A new master on the same registry recovers them.
	m2, err := New(Config{Store: c.store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m2.weights["r1"] != 4 || m2.weights["r2"] != 0.5 {
		t.Fatalf("recovered weights: %v", m2.weights)
	}
}

func TestOperatorWeightsWhitelist(t *testing.T) {
	c := opCluster(t, func(cfg *Config) { cfg.Roles = []string{"dev"} })
	if code, body := c.opCall(map[string]any{"type": "UPDATE_WEIGHTS", "update_weights": map[string]any{
		"weight_infos": []map[string]any{{"role": "prod", "weight": 2}}}}); code != http.StatusBadRequest || !strings.Contains(body, "whitelist") {
		t.Fatalf("role outside whitelist: %d %s", code, body)
	}
}

func quotaCall(force bool, configs ...map[string]any) map[string]any {
	return map[string]any{"type": "UPDATE_QUOTA", "update_quota": map[string]any{"force": force, "quota_configs": configs}}
}

func TestOperatorQuota(t *testing.T) {
	c := opCluster(t, nil)
	a := c.registerAgent("", "cpus:4;mem:2048;ports:[31000-31005]")
	ok := func(call map[string]any, more ...map[string]any) {
		t.Helper()
		if len(more) > 0 {
			configs := call["update_quota"].(map[string]any)["quota_configs"].([]map[string]any)
			call["update_quota"].(map[string]any)["quota_configs"] = append(configs, more...)
		}
		if code, body := c.opCall(call); code != http.StatusOK {
			t.Fatalf("UPDATE_QUOTA: %d %s", code, body)
		}
	}
	ok(quotaCall(false, map[string]any{"role": "dev",
		"guarantees": map[string]any{"cpus": map[string]any{"value": 1}},
		"limits":     map[string]any{"cpus": map[string]any{"value": 2}, "mem": map[string]any{"value": 1024}}}))

	resp, raw := c.opQuery("GET_QUOTA")
	cfgs := resp.GetQuota.Status.Configs
	if len(cfgs) != 1 || cfgs[0].Role != "dev" || cfgs[0].Guarantees["cpus"].Value != 1 || cfgs[0].Limits["mem"].Value != 1024 {
		t.Fatalf("GET_QUOTA: %v", raw)
	}
	dig(t, raw, "get_quota", "status", "configs", 0, "limits", "cpus", "value")
	if got := c.opGet("/master/quota"); dig(t, got, "configs", 0, "role") != "dev" {
		t.Fatalf("/master/quota: %v", got)
	}
	kv, err := c.store.Get(context.Background(), keyQuotas)
	if err != nil || !strings.Contains(string(kv.Value), `"dev"`) {
		t.Fatalf("stored quota: %v %s", err, kv.Value)
	}
	roles := c.opGet("/master/roles")
	var dev any
	for _, r := range dig(t, roles, "roles").([]any) {
		if dig(t, r, "name") == "dev" {
			dev = r
		}
	}
	if dev == nil || dig(t, dev, "quota", "limit", "cpus") != 2.0 || dig(t, dev, "quota", "guarantee", "cpus") != 1.0 {
		t.Fatalf("/master/roles: %v", roles)
	}
	gr, _ := c.opQuery("GET_ROLES")
	if len(gr.GetRoles.Roles) == 0 {
		t.Fatalf("GET_ROLES: %+v", gr.GetRoles)
	}

	before := string(kv.Value)
	for _, tc := range []struct {
		name string
		call map[string]any
		msg  string
	}{
		{"guarantee above limit", quotaCall(false, map[string]any{"role": "x",
			"guarantees": map[string]any{"cpus": map[string]any{"value": 3}}, "limits": map[string]any{"cpus": map[string]any{"value": 2}}}), "not contained"},
		{"negative", quotaCall(false, map[string]any{"role": "x", "limits": map[string]any{"cpus": map[string]any{"value": -1}}}), "Negative"},
		{"infinite", quotaCall(false, map[string]any{"role": "x", "limits": map[string]any{"cpus": map[string]any{"value": "Infinity"}}}), "Infinite"},
		{"nested role", quotaCall(false, map[string]any{"role": "a/b", "limits": map[string]any{"cpus": map[string]any{"value": 1}}}), "nested"},
		{"bad role", quotaCall(false, map[string]any{"role": "-x", "limits": map[string]any{"cpus": map[string]any{"value": 1}}}), "role"},
		{"no role", quotaCall(false, map[string]any{"limits": map[string]any{"cpus": map[string]any{"value": 1}}}), "role"},
		{"ports", quotaCall(false, map[string]any{"role": "x", "limits": map[string]any{"ports": map[string]any{"value": 1}}}), "scalar"},
		{"overcommit", quotaCall(false, map[string]any{"role": "x", "guarantees": map[string]any{"cpus": map[string]any{"value": 100}}}), "cluster capacity"},
		{"all or nothing", quotaCall(false,
			map[string]any{"role": "y", "limits": map[string]any{"cpus": map[string]any{"value": 1}}},
			map[string]any{"role": "z", "limits": map[string]any{"cpus": map[string]any{"value": -1}}}), "Negative"},
		{"no payload", map[string]any{"type": "UPDATE_QUOTA"}, "update_quota"},
	} {
		code, body := c.opCall(tc.call)
		if code != http.StatusBadRequest || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d %q, want 400 containing %q", tc.name, code, body, tc.msg)
		}
	}
	if kv, _ := c.store.Get(context.Background(), keyQuotas); string(kv.Value) != before {
		t.Fatalf("rejected updates changed the registry: %s", kv.Value)
	}
	// force skips the capacity check.
	ok(quotaCall(true, map[string]any{"role": "big", "guarantees": map[string]any{"cpus": map[string]any{"value": 100}}}))
	// An empty config removes a role's quota.
	ok(quotaCall(false, map[string]any{"role": "big"}), map[string]any{"role": "dev"})
	c.m.mu.Lock()
	if len(c.m.quotas) != 0 {
		t.Errorf("quotas not removed: %+v", c.m.quotas)
	}
	c.m.mu.Unlock()

	// A role consuming more than a new limit needs force.
	s := c.subscribe(mesos.FrameworkInfo{User: "root", Name: "dev-fw", Roles: []string{"dev"}, FailoverTimeout: 60,
		Capabilities: []mesos.Capability{{Type: mesos.CapMultiRole}}})
	o := s.offers()[0]
	s.call(launchCall(o, commandTask("d1", o, "cpus:1.5;mem:64", "sleep 100")))
	a.nextEvent(mesos.AgentEventRunTask)
	s.call(mesos.Call{Type: mesos.CallRevive})
	s.offers() // dev now also holds an offer for the rest
	tight := map[string]any{"role": "dev", "limits": map[string]any{"cpus": map[string]any{"value": 1}}}
	if code, body := c.opCall(quotaCall(false, tight)); code != http.StatusBadRequest || !strings.Contains(body, "already consuming 'cpus:1.5") {
		t.Fatalf("limit below consumption: %d %s", code, body)
	}
	ok(quotaCall(true, tight))
	// Its outstanding offer is rescinded: it already holds more than its limit.
	s.nextEvent(mesos.EventRescind)
	c.m.mu.Lock()
	if q := c.m.quotas["dev"]; q.Limits["cpus"] != 1 || len(q.Guarantees) != 0 {
		t.Errorf("quota not applied: %+v", q)
	}
	// (A new offer may follow, without cpus: mem is not limited.)
	for _, o := range c.m.offers {
		if o.role == "dev" && o.resources.Scalar("cpus") > 0 {
			t.Errorf("offer %s to dev has cpus beyond its limit: %s", o.id, o.resources)
		}
	}
	c.m.mu.Unlock()
	m2, _ := New(Config{Store: c.store})
	if err := m2.Recover(context.Background()); err != nil || m2.quotas["dev"].Limits["cpus"] != 1 || len(m2.quotas) != 1 {
		t.Fatalf("recovered quotas: %v %+v", err, m2.quotas)
	}
}

func TestOperatorV1Views(t *testing.T) {
	c := opCluster(t, func(cfg *Config) { cfg.Flags = map[string]string{"b": "2", "a": "1"} })
	a, s := launchOne(t, c, fw("views"))

	resp, raw := c.opQuery("GET_STATE")
	st := resp.GetState
	if len(st.GetAgents.Agents) != 1 || st.GetAgents.Agents[0].AgentInfo.ID.Value != a.id ||
		len(st.GetFrameworks.Frameworks) != 1 || st.GetFrameworks.Frameworks[0].FrameworkInfo.Name != "views" ||
		len(st.GetTasks.Tasks) != 1 || st.GetTasks.Tasks[0].AgentID.Value != a.id {
		t.Fatalf("GET_STATE: %v", raw)
	}
	dig(t, raw, "get_state", "get_agents", "agents", 0, "agent_info", "hostname")
	dig(t, raw, "get_state", "get_tasks", "tasks", 0, "agent_id", "value")
	dig(t, raw, "get_state", "get_frameworks", "frameworks", 0, "framework_info", "id", "value")

	ag, raw := c.opQuery("GET_AGENTS")
	if len(ag.GetAgents.Agents) != 1 || !ag.GetAgents.Agents[0].Active || mesos.Resources(ag.GetAgents.Agents[0].TotalResources).Scalar("cpus") != 4 ||
		mesos.Resources(ag.GetAgents.Agents[0].AllocatedResources).Scalar("cpus") != 1 {
		t.Fatalf("GET_AGENTS: %v", raw)
	}
	fr, raw := c.opQuery("GET_FRAMEWORKS")
	if len(fr.GetFrameworks.Frameworks) != 1 || fr.GetFrameworks.Frameworks[0].FrameworkInfo.ID.Value != s.id ||
		!fr.GetFrameworks.Frameworks[0].Connected {
		t.Fatalf("GET_FRAMEWORKS: %v", raw)
	}
	tk, raw := c.opQuery("GET_TASKS")
	if len(tk.GetTasks.Tasks) != 1 || tk.GetTasks.Tasks[0].TaskID.Value != "t1" || tk.GetTasks.Tasks[0].State != mesos.TaskStaging {
		t.Fatalf("GET_TASKS: %v", raw)
	}
	c.opQuery("GET_EXECUTORS")
	ms, raw := c.opQuery("GET_MASTER")
	if ms.GetMaster.MasterInfo.Hostname != "master.test" || ms.GetMaster.StartTime <= 0 {
		t.Fatalf("GET_MASTER: %v", raw)
	}
	h, _ := c.opQuery("GET_HEALTH")
	if !h.GetHealth.Healthy {
		t.Fatal("GET_HEALTH")
	}
	fl, _ := c.opQuery("GET_FLAGS")
	if len(fl.GetFlags.Flags) != 2 || fl.GetFlags.Flags[0] != (mesos.Flag{Name: "a", Value: "1"}) {
		t.Fatalf("GET_FLAGS: %+v", fl.GetFlags)
	}
	v, _ := c.opQuery("GET_VERSION")
	if v.GetVersion.VersionInfo.Version == "" {
		t.Fatal("GET_VERSION")
	}

	// The task finishes and is acknowledged: it moves to completed_tasks.
	uuid := mesos.NewUUID()
	a.update(s.id, "t1", mesos.TaskFinished, uuid)
	upd := s.nextUpdate()
	s.call(mesos.Call{Type: mesos.CallAcknowledge, Acknowledge: &mesos.CallAcknowledgeBody{AgentID: *upd.AgentID, TaskID: upd.TaskID, UUID: upd.UUID}})
	a.nextEvent(mesos.AgentEventAcknowledge)
	tk, raw = c.opQuery("GET_TASKS")
	if len(tk.GetTasks.Tasks) != 0 || len(tk.GetTasks.CompletedTasks) != 1 || tk.GetTasks.CompletedTasks[0].State != mesos.TaskFinished {
		t.Fatalf("GET_TASKS after finish: %v", raw)
	}
	if got := c.opGet("/master/state"); dig(t, got, "frameworks", 0, "completed_tasks", 0, "state") != "TASK_FINISHED" {
		t.Fatalf("state completed tasks: %v", dig(t, got, "frameworks", 0))
	}
}

func TestOperatorLoggingLevel(t *testing.T) {
	lv := new(slog.LevelVar)
	c := opCluster(t, func(cfg *Config) { cfg.LevelVar = lv })
	level := func() uint32 {
		t.Helper()
		r, _ := c.opQuery("GET_LOGGING_LEVEL")
		return r.GetLoggingLevel.Level
	}
	if level() != 0 {
		t.Fatal("initial level")
	}
	set := func(level int, d time.Duration) int {
		code, _ := c.opCall(map[string]any{"type": "SET_LOGGING_LEVEL",
			"set_logging_level": map[string]any{"level": level, "duration": map[string]any{"nanoseconds": d.Nanoseconds()}}})
		return code
	}
	if code := set(1, time.Hour); code != http.StatusOK || lv.Level() != slog.LevelDebug || level() != 1 {
		t.Fatalf("SET 1: %d, level %v", code, lv.Level())
	}
	if code := set(2, 0); code != http.StatusBadRequest {
		t.Fatalf("SET without duration: %d", code)
	}
	// A newer override restarts the clock; the level reverts to the original.
	if code := set(3, 20*time.Millisecond); code != http.StatusOK {
		t.Fatalf("SET 3: %d", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for lv.Level() != slog.LevelInfo {
		if time.Now().After(deadline) {
			t.Fatalf("level did not revert: %v", lv.Level())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOperatorSubscribe(t *testing.T) {
	c := opCluster(t, func(cfg *Config) { cfg.HeartbeatInterval = 2 * time.Second })
	c.registerAgent("", "cpus:1;mem:256")
	es, resp := c.openStream("/api/v1", map[string]string{"type": "SUBSCRIBE"})
	if es == nil {
		t.Fatalf("SUBSCRIBE: %d", resp.StatusCode)
	}
	var ev mesos.OperatorEvent
	if err := json.Unmarshal(es.next("SUBSCRIBED"), &ev); err != nil || ev.Subscribed == nil ||
		len(ev.Subscribed.GetState.GetAgents.Agents) != 1 || ev.Subscribed.HeartbeatIntervalSeconds != 2 {
		t.Fatalf("SUBSCRIBED: %v %+v", err, ev)
	}
	a2 := c.registerAgent("", "cpus:2;mem:512")
	ev = mesos.OperatorEvent{}
	json.Unmarshal(es.next("AGENT_ADDED"), &ev)
	if ev.AgentAdded == nil || ev.AgentAdded.Agent.AgentInfo.ID.Value != a2.id || !strings.HasPrefix(ev.AgentAdded.Agent.AgentInfo.Hostname, "host-") {
		t.Fatalf("AGENT_ADDED: %+v", ev)
	}
	s := c.subscribe(fw("watched"))
	ev = mesos.OperatorEvent{}
	json.Unmarshal(es.next("FRAMEWORK_ADDED"), &ev)
	if ev.FrameworkAdded == nil || ev.FrameworkAdded.Framework.FrameworkInfo.ID.Value != s.id {
		t.Fatalf("FRAMEWORK_ADDED: %+v", ev)
	}

	// The subscriber is dropped when it goes away.
	es.close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.m.mu.Lock()
		n := len(c.m.opSubs)
		c.m.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers left", n)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// At most maxOperatorSubscribers.
	c.m.mu.Lock()
	var fillers []*stream
	for range maxOperatorSubscribers {
		f := newStream("filler")
		fillers = append(fillers, f)
		c.m.opSubs[f] = true
	}
	c.m.mu.Unlock()
	if code, body := c.opCall(map[string]string{"type": "SUBSCRIBE"}); code != http.StatusServiceUnavailable {
		t.Fatalf("subscriber limit: %d %s", code, body)
	}
	c.m.mu.Lock()
	for _, f := range fillers {
		delete(c.m.opSubs, f)
	}
	c.m.mu.Unlock()
}

func TestOperatorAPIErrors(t *testing.T) {
	c := opCluster(t, nil)
	for _, tc := range []struct {
		name, method, ct, accept, body string
		code                           int
		msg                            string
	}{
		{"GET", "GET", "", "", "", 405, "POST"},
		{"no content type", "POST", "", "", `{"type":"GET_HEALTH"}`, 415, "Content-Type"},
		{"protobuf", "POST", "application/x-protobuf", "", `{"type":"GET_HEALTH"}`, 415, "application/json"},
		{"bad accept", "POST", "application/json", "application/x-protobuf", `{"type":"GET_HEALTH"}`, 406, "Accept"},
		{"malformed", "POST", "application/json", "", "{", 400, "Failed to parse"},
		{"no type", "POST", "application/json", "", `{}`, 400, "type"},
		{"unknown type", "POST", "application/json", "", `{"type":"FLY"}`, 400, "unknown call type"},
		{"unsupported", "POST", "application/json", "", `{"type":"LIST_FILES","list_files":{"path":"/"}}`, 501, "not supported"},
		{"teardown unknown", "POST", "application/json", "", `{"type":"TEARDOWN","teardown":{"framework_id":{"value":"nope"}}}`, 400, "No framework found with specified ID"},
		{"teardown without id", "POST", "application/json", "", `{"type":"TEARDOWN"}`, 400, "teardown.framework_id"},
		{"ok", "POST", "application/json; charset=utf-8", "*/*", `{"type":"GET_HEALTH"}`, 200, `"healthy":true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := c.opDo(tc.method, "/api/v1", tc.ct, tc.accept, []byte(tc.body))
			if code != tc.code || !strings.Contains(body, tc.msg) {
				t.Fatalf("got %d %q, want %d containing %q", code, body, tc.code, tc.msg)
			}
		})
	}
}

func TestOperatorTeardown(t *testing.T) {
	c := opCluster(t, nil)
	s1 := c.subscribe(fw("one"))
	s2 := c.subscribe(fw("two"))
	if code, body := c.opCall(map[string]any{"type": "TEARDOWN", "teardown": map[string]any{"framework_id": map[string]string{"value": s1.id}}}); code != http.StatusOK {
		t.Fatalf("TEARDOWN: %d %s", code, body)
	}
	if ev := s1.nextEvent(mesos.EventError); !strings.Contains(ev.Error.Message, "removed") {
		t.Fatalf("framework told: %+v", ev.Error)
	}
	form := func(body string) (int, string) {
		code, _, b := c.opDo(http.MethodPost, "/master/teardown", "application/x-www-form-urlencoded", "", []byte(body))
		return code, b
	}
	if code, body := form("frameworkId=nope"); code != http.StatusBadRequest || body != "No framework found with specified ID" {
		t.Fatalf("v0 teardown unknown: %d %q", code, body)
	}
	if code, _ := form(""); code != http.StatusBadRequest {
		t.Fatalf("v0 teardown without id: %d", code)
	}
	if code, body := form("frameworkId=" + url.QueryEscape(s2.id)); code != http.StatusOK {
		t.Fatalf("v0 teardown: %d %s", code, body)
	}
	fr, raw := c.opQuery("GET_FRAMEWORKS")
	if len(fr.GetFrameworks.Frameworks) != 0 || len(fr.GetFrameworks.CompletedFrameworks) != 2 {
		t.Fatalf("GET_FRAMEWORKS after teardown: %v", raw)
	}
	if got := c.opGet("/master/state"); len(dig(t, got, "completed_frameworks").([]any)) != 2 {
		t.Fatalf("completed_frameworks: %v", got)
	}
}

func reservedCPU(role string, cpus float64) map[string]any {
	return map[string]any{"name": "cpus", "type": "SCALAR", "scalar": map[string]any{"value": cpus},
		"reservations": []map[string]any{{"type": "DYNAMIC", "role": role, "principal": "ops"}}}
}

func TestOperatorReserveUnreserve(t *testing.T) {
	c := opCluster(t, nil)
	a := c.registerAgent("", "cpus:4;mem:2048")
	s := c.subscribe(fw("holder"))
	s.offers() // the whole agent is on offer
	reserve := func(agentID string, res ...map[string]any) (int, string) {
		return c.opCall(map[string]any{"type": "RESERVE_RESOURCES", "reserve_resources": map[string]any{
			"agent_id": map[string]string{"value": agentID}, "resources": res}})
	}
	unreserve := func(agentID string, res ...map[string]any) (int, string) {
		return c.opCall(map[string]any{"type": "UNRESERVE_RESOURCES", "unreserve_resources": map[string]any{
			"agent_id": map[string]string{"value": agentID}, "resources": res}})
	}
	if code, body := reserve(a.id, reservedCPU("dev", 1)); code != http.StatusAccepted {
		t.Fatalf("RESERVE: %d %s", code, body)
	}
	s.nextEvent(mesos.EventRescind) // the offer held the resources
	ev := a.nextEvent(mesos.AgentEventCheckpointRes)
	if ev.CheckpointResources.Resources.Scalar("cpus") != 4 || len(reservationsByRole(ev.CheckpointResources.Resources)["dev"]) != 1 {
		t.Fatalf("checkpointed: %v", ev.CheckpointResources.Resources)
	}
	sl := c.opGet("/master/slaves")
	if dig(t, sl, "slaves", 0, "reserved_resources", "dev", "cpus") != 1.0 || dig(t, sl, "slaves", 0, "unreserved_resources", "cpus") != 3.0 ||
		dig(t, sl, "slaves", 0, "reserved_resources_full", "dev", 0, "reservations", 0, "principal") != "ops" {
		t.Fatalf("slaves after reserve: %v", dig(t, sl, "slaves", 0))
	}

	for _, tc := range []struct {
		name string
		code int
		got  func() (int, string)
	}{
		{"too much", http.StatusConflict, func() (int, string) { return reserve(a.id, reservedCPU("dev", 10)) }},
		{"unknown agent", http.StatusBadRequest, func() (int, string) { return reserve("nope", reservedCPU("dev", 1)) }},
		{"not reserved", http.StatusBadRequest, func() (int, string) {
			return reserve(a.id, map[string]any{"name": "cpus", "type": "SCALAR", "scalar": map[string]any{"value": 1}})
		}},
		{"static", http.StatusBadRequest, func() (int, string) {
			r := reservedCPU("dev", 1)
			r["reservations"] = []map[string]any{{"type": "STATIC", "role": "dev"}}
			return reserve(a.id, r)
		}},
		{"no resources", http.StatusBadRequest, func() (int, string) { return reserve(a.id) }},
		{"unreserve more than reserved", http.StatusConflict, func() (int, string) { return unreserve(a.id, reservedCPU("dev", 2)) }},
		{"unreserve other role", http.StatusConflict, func() (int, string) { return unreserve(a.id, reservedCPU("prod", 1)) }},
	} {
		if code, body := tc.got(); code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.code)
		}
	}

	if code, body := unreserve(a.id, reservedCPU("dev", 1)); code != http.StatusAccepted {
		t.Fatalf("UNRESERVE: %d %s", code, body)
	}
	c.m.mu.Lock()
	ag := c.m.agents[a.id]
	if len(reservationsByRole(ag.total)) != 0 || ag.total.Scalar("cpus") != 4 {
		t.Errorf("total after unreserve: %s", ag.total)
	}
	if used := agentUsed(ag); len(used) != 0 {
		t.Errorf("used: %s", used)
	}
	c.m.mu.Unlock()
}

func TestOperatorDeactivateReactivate(t *testing.T) {
	c := opCluster(t, nil)
	a := c.registerAgent("", "cpus:2;mem:512")
	s := c.subscribe(fw("watcher"))
	s.offers()
	call := func(typ, field, id string) (int, string) {
		return c.opCall(map[string]any{"type": typ, field: map[string]any{"agent_id": map[string]string{"value": id}}})
	}
	if code, body := call("DEACTIVATE_AGENT", "deactivate_agent", a.id); code != http.StatusOK {
		t.Fatalf("DEACTIVATE_AGENT: %d %s", code, body)
	}
	s.nextEvent(mesos.EventRescind)
	sl := c.opGet("/master/slaves")
	if dig(t, sl, "slaves", 0, "active") != false || dig(t, sl, "slaves", 0, "deactivated") != true {
		t.Fatalf("deactivated slave: %v", dig(t, sl, "slaves", 0))
	}
	if snap := c.opGet("/metrics/snapshot"); snap["master/slaves_active"] != 0.0 || snap["master/slaves_inactive"] != 1.0 {
		t.Fatalf("metrics: active %v inactive %v", snap["master/slaves_active"], snap["master/slaves_inactive"])
	}
	if code, _ := call("DEACTIVATE_AGENT", "deactivate_agent", "nope"); code != http.StatusBadRequest {
		t.Fatalf("unknown agent: %d", code)
	}
	if code, body := call("REACTIVATE_AGENT", "reactivate_agent", a.id); code != http.StatusOK {
		t.Fatalf("REACTIVATE_AGENT: %d %s", code, body)
	}
	if code, body := call("REACTIVATE_AGENT", "reactivate_agent", a.id); code != http.StatusBadRequest || !strings.Contains(body, "not deactivated") {
		t.Fatalf("reactivate an active agent: %d %s", code, body)
	}
	if code, _ := c.opCall(map[string]string{"type": "DEACTIVATE_AGENT"}); code != http.StatusBadRequest {
		t.Fatalf("no payload: %d", code)
	}
	// Reactivated, it is offered again.
	if len(s.offers()) != 1 {
		t.Fatal("no offer after reactivation")
	}
}

func TestOperatorMarkAgentGone(t *testing.T) {
	c := opCluster(t, nil)
	a, s := launchOne(t, c, fw("pa", mesos.CapPartitionAware))
	gone := func(id string) (int, string) {
		return c.opCall(map[string]any{"type": "MARK_AGENT_GONE", "mark_agent_gone": map[string]any{"agent_id": map[string]string{"value": id}}})
	}
	if code, body := gone("nope"); code != http.StatusNotFound {
		t.Fatalf("unknown agent: %d %s", code, body)
	}
	if code, body := gone(a.id); code != http.StatusOK {
		t.Fatalf("MARK_AGENT_GONE: %d %s", code, body)
	}
	for {
		st := s.nextUpdate()
		if st.TaskID.Value != "t1" {
			t.Fatalf("update for %s", st.TaskID.Value)
		}
		if st.State == mesos.TaskGoneByOperator {
			break
		}
		if st.State != mesos.TaskUnreachable {
			t.Fatalf("unexpected %s", st.State)
		}
	}
	if _, err := c.store.Get(context.Background(), keyGone+a.id); err != nil {
		t.Fatalf("gone mark not in the registry: %v", err)
	}
	if _, err := c.store.Get(context.Background(), keyUnreachable+a.id); err == nil {
		t.Errorf("a gone agent should not stay marked unreachable")
	}
	tk, raw := c.opQuery("GET_TASKS")
	if len(tk.GetTasks.Tasks)+len(tk.GetTasks.UnreachableTasks) != 0 || len(tk.GetTasks.CompletedTasks) != 1 ||
		tk.GetTasks.CompletedTasks[0].State != mesos.TaskGoneByOperator {
		t.Fatalf("GET_TASKS: %v", raw)
	}
	if snap := c.opGet("/metrics/snapshot"); snap["master/slaves_active"] != 0.0 || snap["master/tasks_gone_by_operator"] != 1.0 ||
		snap["master/slaves_unreachable"] != 0.0 {
		t.Fatalf("metrics: %v %v %v", snap["master/slaves_active"], snap["master/tasks_gone_by_operator"], snap["master/slaves_unreachable"])
	}
	// Idempotent, and the agent cannot come back.
	if code, _ := gone(a.id); code != http.StatusOK {
		t.Fatalf("second MARK_AGENT_GONE: %d", code)
	}
	info := mesos.AgentInfo{Hostname: "host-", Port: 5051, ID: &mesos.AgentID{Value: a.id},
		Resources: []mesos.Resource{{Name: "cpus", Type: mesos.SCALAR, Scalar: &mesos.Scalar{Value: 1}}}}
	es, _ := c.openStream("/api/v1/agent", mesos.AgentCall{Type: mesos.AgentCallRegister, Register: &mesos.AgentRegister{AgentInfo: info}})
	var ev mesos.AgentEvent
	json.Unmarshal(es.next(mesos.AgentEventRegistered, mesos.AgentEventError), &ev)
	if ev.Type != mesos.AgentEventError {
		t.Fatalf("gone agent re-registered: %+v", ev)
	}
}
