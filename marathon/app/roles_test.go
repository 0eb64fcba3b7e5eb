package app

import (
	"encoding/json"
	"slices"
	"testing"
)

func tree(enforced map[string]bool, apps ...App) Group {
	root := Group{ID: "/"}
	for _, name := range []string{"dev", "prod"} {
		g := Group{ID: "/" + name}
		if e, ok := enforced[name]; ok {
			g.EnforceRole = ptr(e)
		}
		root.Groups = append(root.Groups, g)
	}
	for _, a := range apps {
		parent := ParentID(a.ID)
		if parent == "/" {
			root.Apps = append(root.Apps, a)
			continue
		}
		for i := range root.Groups {
			if root.Groups[i].ID == parent {
				root.Groups[i].Apps = append(root.Groups[i].Apps, a)
			}
		}
	}
	return root
}

func TestRolesFor(t *testing.T) {
	for _, tc := range []struct {
		name      string
		enforced  map[string]bool
		id        string
		mesosRole string
		existing  string
		want      Roles
	}{
		{"root app", nil, "/web", "", "", Roles{Default: "*", Valid: []string{"*"}}},
		{"root app with --mesos_role", nil, "/web", "marathon", "", Roles{Default: "marathon", Valid: []string{"marathon"}}},
		{"group without enforcement", nil, "/dev/web", "*", "", Roles{Default: "*", Valid: []string{"*", "dev"}}},
		{"enforceRole false", map[string]bool{"dev": false}, "/dev/web", "*", "", Roles{Default: "*", Valid: []string{"*", "dev"}}},
		{"enforced group", map[string]bool{"dev": true}, "/dev/web", "*", "", Roles{Default: "dev", Valid: []string{"dev"}}},
		{"deep app of an enforced group", map[string]bool{"dev": true}, "/dev/a/b/web", "*", "", Roles{Default: "dev", Valid: []string{"dev"}}},
		{"enforced keeps the existing role", map[string]bool{"dev": true}, "/dev/web", "*", "*", Roles{Default: "dev", Valid: []string{"dev", "*"}}},
		{"existing role listed last", nil, "/dev/web", "*", "NotTheDefaultRole", Roles{Default: "*", Valid: []string{"*", "dev", "NotTheDefaultRole"}}},
		{"no duplicates", nil, "/dev/web", "*", "dev", Roles{Default: "*", Valid: []string{"*", "dev"}}},
		{"group not in the tree yet", nil, "/new/web", "*", "", Roles{Default: "*", Valid: []string{"*", "new"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(tc.enforced)
			got := RolesFor(&root, tc.id, tc.mesosRole, tc.existing)
			if got.Default != tc.want.Default || !slices.Equal(got.Valid, tc.want.Valid) {
				t.Errorf("RolesFor(%s) = %+v, want %+v", tc.id, got, tc.want)
			}
		})
	}
}

func TestNormalizeLeavesGroupAppRoleToTheTree(t *testing.T) {
	for _, tc := range []struct {
		body, want string
	}{
		{`{"id":"/web","cmd":"sleep 1"}`, "*"},
		{`{"id":"/dev/web","cmd":"sleep 1"}`, ""},
		{`{"id":"/dev/web","cmd":"sleep 1","role":"dev"}`, "dev"},
	} {
		a, err := Normalize([]byte(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if a.Role != tc.want {
			t.Errorf("%s: role %q, want %q", tc.body, a.Role, tc.want)
		}
	}
}

func TestResolveRoles(t *testing.T) {
	root := tree(map[string]bool{"prod": true},
		App{ID: "/web"}, App{ID: "/dev/a"}, App{ID: "/dev/b", Role: "dev"}, App{ID: "/prod/c"}, App{ID: "/prod/d", Role: "*"})
	ResolveRoles(&root, "*")
	got := map[string]string{}
	root.WalkApps(func(a *App) bool { got[a.ID] = a.Role; return true })
	want := map[string]string{"/web": "*", "/dev/a": "*", "/dev/b": "dev", "/prod/c": "prod", "/prod/d": "*"}
	for id, r := range want {
		if got[id] != r {
			t.Errorf("%s: role %q, want %q", id, got[id], r)
		}
	}
}

func TestValidateRoles(t *testing.T) {
	for _, tc := range []struct {
		name     string
		enforced map[string]bool
		old      []App
		app      App
		want     string // the 422 body; "" = valid
	}{
		{name: "root app, default role", app: App{ID: "/web", Role: "*"}},
		{name: "root app, other role", app: App{ID: "/web", Role: "NotTheDefaultRole"},
			want: `{"message":"Object is not valid","details":[{"path":"/role","errors":["got NotTheDefaultRole, expected one of: [*]"]}]}`},
		{name: "group role without enforcement", app: App{ID: "/dev/web", Role: "dev"}},
		{name: "mesos role without enforcement", app: App{ID: "/dev/web", Role: "*"}},
		{name: "another group's role", app: App{ID: "/dev/web", Role: "prod"},
			want: `{"message":"Object is not valid","details":[{"path":"/role","errors":["got prod, expected one of: [*, dev]"]}]}`},
		{name: "enforced: mesos role refused", enforced: map[string]bool{"dev": true}, app: App{ID: "/dev/web", Role: "*"},
			want: `{"message":"Object is not valid","details":[{"path":"/role","errors":["got *, expected one of: [dev]"]}]}`},
		{name: "enforced: existing role kept", enforced: map[string]bool{"dev": true},
			old: []App{{ID: "/dev/web", Role: "*"}}, app: App{ID: "/dev/web", Role: "*"}},
		{name: "existing custom role kept", old: []App{{ID: "/dev/web", Role: "NotTheDefaultRole"}},
			app: App{ID: "/dev/web", Role: "NotTheDefaultRole"}},
		{name: "existing custom role, another one refused", old: []App{{ID: "/dev/web", Role: "NotTheDefaultRole"}},
			app:  App{ID: "/dev/web", Role: "differentCustomRole"},
			want: `{"message":"Object is not valid","details":[{"path":"/role","errors":["got differentCustomRole, expected one of: [*, dev, NotTheDefaultRole]"]}]}`},
		{name: "accepted roles checked against the resolved role", enforced: map[string]bool{"dev": true},
			app: App{ID: "/dev/web", Role: "dev", AcceptedResourceRoles: []string{"dev"}}},
		{name: "accepted roles of another role", app: App{ID: "/dev/web", Role: "*", AcceptedResourceRoles: []string{"dev"}},
			want: `{"message":"Object is not valid","details":[{"path":"/acceptedResourceRoles","errors":["acceptedResourceRoles can only contain *"]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := tree(tc.enforced, tc.old...)
			nu := tree(tc.enforced, tc.app)
			err := ValidateRoles(&old, &nu, "*", func(*App) bool { return true })
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			status, body := errorBody(t, err)
			if status != 422 || string(body) != tc.want {
				t.Errorf("got %d %s\nwant 422 %s", status, body, tc.want)
			}
		})
	}
}

func TestValidateRolesOnlyChangedApps(t *testing.T) {
	// Turning enforcement on leaves apps that keep their definition alone.
	old := tree(nil, App{ID: "/dev/web", Role: "*"})
	nu := tree(map[string]bool{"dev": true}, App{ID: "/dev/web", Role: "other"})
	if err := ValidateRoles(&old, &nu, "*", func(*App) bool { return false }); err != nil {
		t.Errorf("unchanged app validated: %v", err)
	}
}

func TestGroupUpdateDefersAcceptedRolesToTheTree(t *testing.T) {
	// /prod enforces its role in an earlier request: the body does not say
	// so, and the app's acceptedResourceRoles name the group's role.
	gu, err := ParseGroupUpdate([]byte(`{"id":"/prod","apps":[{"id":"web","cmd":"sleep 1","acceptedResourceRoles":["prod"]}]}`), "/")
	if err != nil {
		t.Fatal(err)
	}
	cur := tree(map[string]bool{"prod": true})
	nu := tree(nil)
	prod, _ := cur.FindGroup("/prod")
	nu.Groups[1] = ApplyGroupUpdate(*prod, gu)
	ResolveRoles(&nu, "*")
	if err := ValidateRoles(&cur, &nu, "*", func(*App) bool { return true }); err != nil {
		b, _ := json.Marshal(err)
		t.Fatalf("valid app refused: %s", b)
	}
	a, _ := nu.FindApp("/prod/web")
	if a.Role != "prod" {
		t.Errorf("role %q, want prod", a.Role)
	}
}
