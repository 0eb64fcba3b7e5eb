package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

func (s *server) must(method, path, body string, status int) string {
	s.t.Helper()
	code, _, out := s.do(method, path, body)
	if code != status {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, code, status, out)
	}
	return out
}

// Without a master deployments never progress, so every change here uses
// force; what is checked is the stored definitions.
func TestGroupsScaleRollbackAndServicePorts(t *testing.T) {
	s := newServer(t)
	s.must("PUT", "/v2/groups/prod?force=true", `{"apps":[{"id":"web","cmd":"sleep 1","instances":1},{"id":"db","cmd":"sleep 1","instances":3}]}`, 200)
	var app struct {
		App struct {
			Instances       int `json:"instances"`
			PortDefinitions []struct {
				Port int `json:"port"`
			} `json:"portDefinitions"`
			Cmd string `json:"cmd"`
		} `json:"app"`
	}
	decode(t, s.must("GET", "/v2/apps/prod/web", "", 200), &app)
	port := app.App.PortDefinitions[0].Port

	var versions []string
	decode(t, s.must("GET", "/v2/groups/prod/versions", "", 200), &versions)
	v1 := versions[0]

	// dryRun answers steps and changes nothing.
	var dry struct {
		Steps []struct {
			Actions []struct{ Action, App string } `json:"actions"`
		} `json:"steps"`
	}
	decode(t, s.must("PUT", "/v2/groups/prod?dryRun=true", `{"scaleBy":2}`, 200), &dry)
	if len(dry.Steps) != 1 || len(dry.Steps[0].Actions) != 2 || dry.Steps[0].Actions[0].Action != "ScaleApplication" {
		t.Fatalf("dry run %+v", dry)
	}
	time.Sleep(2 * time.Millisecond)
	s.must("PUT", "/v2/groups/prod?force=true", `{"scaleBy":1.5}`, 200)
	decode(t, s.must("GET", "/v2/apps/prod/db", "", 200), &app)
	if app.App.Instances != 5 { // ceil(3 × 1.5)
		t.Fatalf("db instances %d after scaleBy 1.5", app.App.Instances)
	}
	// A config change keeps the service port.
	s.must("PUT", "/v2/apps/prod/web?force=true", `{"cmd":"sleep 2"}`, 200)
	decode(t, s.must("GET", "/v2/apps/prod/web", "", 200), &app)
	if app.App.PortDefinitions[0].Port != port || app.App.Cmd != "sleep 2" {
		t.Fatalf("after update: %+v (port was %d)", app.App, port)
	}
	// Roll the group back to its first version.
	s.must("PUT", "/v2/groups/prod?force=true", `{"version":"`+v1+`"}`, 200)
	decode(t, s.must("GET", "/v2/apps/prod/db", "", 200), &app)
	if app.App.Instances != 3 {
		t.Fatalf("db instances %d after rollback", app.App.Instances)
	}
	decode(t, s.must("GET", "/v2/apps/prod/web", "", 200), &app)
	if app.App.Cmd != "sleep 1" || app.App.PortDefinitions[0].Port != port {
		t.Fatalf("web after rollback %+v", app.App)
	}
	if body := s.must("GET", "/v2/groups/prod/versions/"+v1, "", 200); !strings.Contains(body, `"/prod/db"`) {
		t.Fatalf("group at version: %s", body)
	}
	// Listed apps replace the group's apps: web goes.
	s.must("PUT", "/v2/groups/prod?force=true", `{"apps":[{"id":"db","cmd":"sleep 1","instances":3}]}`, 200)
	s.must("GET", "/v2/apps/prod/web", "", 404)
	// A no-op update still gives a deployment, which finishes at once.
	var dr struct {
		DeploymentID string `json:"deploymentId"`
	}
	decode(t, s.must("PUT", "/v2/apps/prod/db?force=true", `{"instances":3}`, 200), &dr)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Contains(s.must("GET", "/v2/deployments", "", 200), dr.DeploymentID) {
		if time.Now().After(deadline) {
			t.Fatal("no-op deployment did not finish")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.must("PATCH", "/v2/groups/prod", `{"enforceRole":true}`, 200)
	s.must("DELETE", "/v2/groups?force=true", "", 200)
	var root struct {
		Apps   []any `json:"apps"`
		Groups []any `json:"groups"`
	}
	decode(t, s.must("GET", "/v2/groups", "", 200), &root)
	if len(root.Apps)+len(root.Groups) != 0 {
		t.Fatalf("root after delete: %+v", root)
	}
}
