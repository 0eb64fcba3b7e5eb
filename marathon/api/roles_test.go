package api_test

import (
	"encoding/json"
	"testing"
)

// roleOf returns the role GET /v2/apps/{id} shows.
func (s *server) roleOf(id string) string {
	s.t.Helper()
	code, _, body := s.do("GET", "/v2/apps"+id, "")
	if code != 200 {
		s.t.Fatalf("GET /v2/apps%s: %d %s", id, code, body)
	}
	var out struct {
		App struct {
			Role string `json:"role"`
		} `json:"app"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		s.t.Fatal(err)
	}
	return out.App.Role
}

// TestAppRoles goes through the real router: the role apps get by default
// (--mesos_role, or the top-level group's name when the group enforces its
// role), the roles they may ask for, and Marathon's 422 for the others,
// which changes nothing.
func TestAppRoles(t *testing.T) {
	s := newServer(t)
	steps := []struct {
		method, path, body string
		code               int
		want               string // exact body for errors
	}{
		// Root apps may only use --mesos_role ("*").
		{"POST", "/v2/apps", `{"id":"/web","cmd":"sleep 100","instances":0}`, 201, ""},
		{"POST", "/v2/apps", `{"id":"/bad","cmd":"sleep 100","role":"dev"}`, 422,
			`{"message":"Object is not valid","details":[{"path":"/role","errors":["got dev, expected one of: [*]"]}]}`},
		// Below a top-level group: --mesos_role or the group's name.
		{"POST", "/v2/apps", `{"id":"/dev/api","cmd":"sleep 100","instances":0,"role":"dev"}`, 201, ""},
		{"POST", "/v2/apps", `{"id":"/dev/plain","cmd":"sleep 100","instances":0}`, 201, ""},
		{"POST", "/v2/apps", `{"id":"/dev/other","cmd":"sleep 100","role":"prod"}`, 422,
			`{"message":"Object is not valid","details":[{"path":"/role","errors":["got prod, expected one of: [*, dev]"]}]}`},
		// An enforcing group: its name is the default and the only new role.
		{"PUT", "/v2/groups/prod", `{"id":"/prod","enforceRole":true}`, 200, ""},
		{"POST", "/v2/apps", `{"id":"/prod/web","cmd":"sleep 100","instances":0}`, 201, ""},
		{"POST", "/v2/apps", `{"id":"/prod/star","cmd":"sleep 100","role":"*"}`, 422,
			`{"message":"Object is not valid","details":[{"path":"/role","errors":["got *, expected one of: [prod]"]}]}`},
		{"PUT", "/v2/apps/prod/full?partialUpdate=false", `{"cmd":"sleep 100","instances":0,"acceptedResourceRoles":["prod"]}`, 201, ""},
		{"PUT", "/v2/groups/prod", `{"apps":[{"id":"web","cmd":"sleep 100","instances":0},{"id":"full","cmd":"sleep 100","instances":0},{"id":"g","cmd":"sleep 100","instances":0}]}`, 200, ""},
		// PATCH enforceRole: existing apps keep their role, new ones get
		// the group's.
		{"PATCH", "/v2/groups/dev", `{"enforceRole":true}`, 200, ""},
		{"PUT", "/v2/apps/dev/plain", `{"instances":0,"cmd":"sleep 200"}`, 200, ""},
		{"POST", "/v2/apps", `{"id":"/dev/new","cmd":"sleep 100","instances":0}`, 201, ""},
		{"PATCH", "/v2/groups/dev/sub", `{"enforceRole":true}`, 422, ""},
	}
	for _, st := range steps {
		code, _, body := s.do(st.method, st.path, st.body)
		if code != st.code || (st.want != "" && body != st.want) {
			t.Fatalf("%s %s %s: %d %s\nwant %d %s", st.method, st.path, st.body, code, body, st.code, st.want)
		}
	}
	for id, want := range map[string]string{
		"/web": "*", "/dev/api": "dev", "/dev/plain": "*", "/dev/new": "dev",
		"/prod/web": "prod", "/prod/full": "prod", "/prod/g": "prod",
	} {
		if got := s.roleOf(id); got != want {
			t.Errorf("%s: role %q, want %q", id, got, want)
		}
	}
	for _, id := range []string{"/bad", "/dev/other", "/prod/star"} {
		if code, _, body := s.do("GET", "/v2/apps"+id, ""); code != 404 {
			t.Errorf("refused app %s was stored: %d %s", id, code, body)
		}
	}
	code, _, body := s.do("GET", "/v2/groups/dev", "")
	var g struct {
		EnforceRole bool `json:"enforceRole"`
	}
	if err := json.Unmarshal([]byte(body), &g); code != 200 || err != nil || !g.EnforceRole {
		t.Errorf("GET /v2/groups/dev: %d %s", code, body)
	}
}
