package api_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/marathon/api"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/engine"
	"github.com/strata-sched/strata/marathon/events"
	"github.com/strata-sched/strata/marathon/state"
)

var update = flag.Bool("update", false, "rewrite the testdata golden files")

type fakeLeader struct{}

func (fakeLeader) IsLeader() bool                         { return true }
func (fakeLeader) Leader(context.Context) (string, error) { return "127.0.0.1:8080", nil }
func (fakeLeader) Abdicate(context.Context) error         { return nil }

// server runs the real router on an engine with a real (embedded) store
// and no master: deployments are accepted and stored but never progress,
// which keeps them running for conflict tests.
type server struct {
	t     *testing.T
	srv   *httptest.Server
	store store.Store
	e     *engine.Engine
}

func newServer(t *testing.T) *server {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bus := events.NewBus(0, nil)
	e, err := engine.New(engine.Config{Repo: state.NewRepo(st, "", 0), Bus: bus, Tick: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { e.Run(ctx) })
	srv := httptest.NewServer(api.New(api.Config{Engine: e, Bus: bus, Leader: fakeLeader{}}))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
		st.Close()
	})
	return &server{t: t, srv: srv, store: st, e: e}
}

func (s *server) do(method, path, body string) (int, http.Header, string) {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -run '%s' -update): %v", t.Name(), err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", t.Name(), path, got, want)
	}
}

// TestBadInput sends bad requests through the real router: each answer's
// status and body are Marathon's (golden files), and nothing is stored.
func TestBadInput(t *testing.T) {
	s := newServer(t)
	// Fixtures: an app whose deployment stays running (no master).
	if code, _, body := s.do("POST", "/v2/apps", `{"id":"/locked","cmd":"sleep 100"}`); code != 201 {
		t.Fatalf("fixture: %d %s", code, body)
	}
	// Wait until the fixture's deployment is stuck in its last step (no
	// master, no offers), so that it no longer writes to the store.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, body := s.do("GET", "/v2/deployments", "")
		if strings.Contains(body, `"currentStep":2`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fixture deployment did not reach step 2: %s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	keysBefore := keys(t, s.store)
	tests := []struct {
		name, method, path, body string
	}{
		{"app_not_json", "POST", "/v2/apps", `not json`},
		{"app_empty_body", "POST", "/v2/apps", ``},
		{"app_id_number", "POST", "/v2/apps", `{"id":123}`},
		{"app_id_bad", "POST", "/v2/apps", `{"id":"/Bad_Id","cmd":"sleep 1"}`},
		{"app_no_cmd", "POST", "/v2/apps", `{"id":"/x"}`},
		{"app_one_char_cmd", "POST", "/v2/apps", `{"id":"/x","cmd":"y"}`},
		{"app_upgrade_strategy", "POST", "/v2/apps", `{"id":"/x","cmd":"sleep 1","upgradeStrategy":{"minimumHealthCapacity":1.2,"maximumOverCapacity":0.5}}`},
		{"app_reserved_id", "POST", "/v2/apps", `{"id":"/tasks","cmd":"sleep 1"}`},
		{"app_bad_constraint", "POST", "/v2/apps", `{"id":"/x","cmd":"sleep 1","constraints":[["hostname","SOMETIMES"]]}`},
		{"app_exists", "POST", "/v2/apps", `{"id":"/locked","cmd":"sleep 1"}`},
		{"app_locked", "PUT", "/v2/apps/locked", `{"cmd":"sleep 2"}`},
		{"app_missing_get", "GET", "/v2/apps/missing", ``},
		{"app_missing_delete", "DELETE", "/v2/apps/missing", ``},
		{"app_missing_patch", "PATCH", "/v2/apps/missing", `{"instances":2}`},
		{"app_missing_restart", "POST", "/v2/apps/missing/restart", ``},
		{"app_missing_versions", "GET", "/v2/apps/missing/versions", ``},
		{"app_rollback_with_other_fields", "PUT", "/v2/apps/locked?force=true", `{"version":"2015-01-01T00:00:00.000Z","cmd":"x y"}`},
		{"app_rollback_unknown_version", "PUT", "/v2/apps/locked?force=true", `{"version":"2015-01-01T00:00:00.000Z"}`},
		{"apps_batch_missing_id", "PUT", "/v2/apps", `[{"cmd":"sleep 1"}]`},
		{"apps_batch_invalid", "PUT", "/v2/apps", `[{"id":"/ok","cmd":"sleep 1"},{"id":"/bad","cmd":"sleep 1","instances":-1}]`},
		{"apps_label_selector", "GET", "/v2/apps?label=a%20in%20(", ``},
		{"tasks_scale_and_wipe", "DELETE", "/v2/apps/locked/tasks?scale=true&wipe=true", ``},
		{"task_missing", "DELETE", "/v2/apps/locked/tasks/locked.4d0a6f4e-8c4e-11e5-8b57-0242ac110002", ``},
		{"tasks_delete_bad_id", "POST", "/v2/tasks/delete", `{"ids":["garbage"]}`},
		{"tasks_delete_not_json", "POST", "/v2/tasks/delete", `{"ids":`},
		{"deployment_missing", "DELETE", "/v2/deployments/00000000-0000-0000-0000-000000000000", ``},
		{"group_missing", "GET", "/v2/groups/missing", ``},
		{"group_exists", "POST", "/v2/groups", `{"id":"/"}`},
		{"group_app_path", "POST", "/v2/groups", `{"id":"/locked"}`},
		{"group_app_not_child", "POST", "/v2/groups/g", `{"apps":[{"id":"/other/app","cmd":"sleep 1"}]}`},
		{"group_cycle", "PUT", "/v2/groups/g", `{"apps":[{"id":"a","cmd":"sleep 1","dependencies":["b"]},{"id":"b","cmd":"sleep 1","dependencies":["a"]}]}`},
		{"group_delete_missing", "DELETE", "/v2/groups/missing", ``},
		{"queue_delay_missing", "DELETE", "/v2/queue/missing/delay", ``},
		{"events_without_accept", "GET", "/v2/events", ``},
		{"pods", "GET", "/v2/pods", ``},
		{"pods_status", "GET", "/v2/pods/x::status", ``},
		{"unknown_route", "GET", "/v2/nothing", ``},
		{"unknown_route_root", "GET", "/nothing", ``},
		{"method_not_allowed", "POST", "/v2/apps/locked/versions", ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := s.do(tc.method, tc.path, tc.body)
			body = deploymentIDs.ReplaceAllString(body, "<deployment>")
			golden(t, tc.name+".txt", fmt.Sprintf("%s %s\n%s\nHTTP %d\n%s\n", tc.method, tc.path, tc.body, code, body))
		})
	}
	if after := keys(t, s.store); after != keysBefore {
		t.Errorf("bad requests changed the store:\nbefore %s\nafter  %s", keysBefore, after)
	}
}

func keys(t *testing.T, st store.Store) string {
	kvs, err := st.List(context.Background(), "marathon/")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range kvs {
		out = append(out, fmt.Sprintf("%s@%d", kv.Key, kv.Version))
	}
	return strings.Join(out, " ")
}

var _ = app.MsgNotValid

var deploymentIDs = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)
