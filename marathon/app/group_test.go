package app

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseGroupUpdate(t *testing.T) {
	body := `{"id":"product","dependencies":["../infra"],"apps":[
		{"id":"web","cmd":"serve web","dependencies":["db"]},
		{"id":"/product/db","cmd":"serve db"}],
	 "groups":[{"id":"tools","apps":[{"id":"cron","cmd":"run cron","dependencies":["../web"]}],
	            "groups":[{"id":"deep","enforceRole":false}]}]}`
	gu, err := ParseGroupUpdate([]byte(body), "/")
	if err != nil {
		t.Fatal(err)
	}
	if gu.ID != "/product" || !reflect.DeepEqual(gu.Dependencies, []string{"/infra"}) {
		t.Errorf("id %q deps %v", gu.ID, gu.Dependencies)
	}
	var ids, deps []string
	g := ApplyGroupUpdate(Group{ID: gu.ID}, gu)
	for _, a := range g.TransitiveApps() {
		ids = append(ids, a.ID)
		deps = append(deps, a.Dependencies...)
	}
	if want := []string{"/product/web", "/product/db", "/product/tools/cron"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("app ids %v, want %v", ids, want)
	}
	if want := []string{"/product/db", "/product/web"}; !reflect.DeepEqual(deps, want) {
		t.Errorf("dependencies %v, want %v", deps, want)
	}
	if sub, ok := g.FindGroup("/product/tools/deep"); !ok || sub.ID != "/product/tools/deep" {
		t.Errorf("FindGroup: %v %v", sub, ok)
	}
	if a, ok := g.FindApp("/product/tools/cron"); !ok || a.Cmd != "run cron" {
		t.Errorf("FindApp: %v %v", a, ok)
	}
	goldenJSON(t, "group_update_applied.json", g)

	// Relative to the URL's group.
	gu, err = ParseGroupUpdate([]byte(`{"apps":[{"id":"x","cmd":"a b"}]}`), "/prod/eu")
	if err != nil {
		t.Fatal(err)
	}
	if gu.ID != "/prod/eu" || gu.Apps[0].ID != "/prod/eu/x" {
		t.Errorf("got %q %q", gu.ID, gu.Apps[0].ID)
	}
}

func TestParseGroupUpdateSpecialForms(t *testing.T) {
	gu, err := ParseGroupUpdate([]byte(`{"scaleBy":1.5}`), "/product")
	if err != nil || gu.ScaleBy == nil || *gu.ScaleBy != 1.5 || gu.Apps != nil {
		t.Fatalf("scaleBy: %+v %v", gu, err)
	}
	gu, err = ParseGroupUpdate([]byte(`{"version":"2015-09-25T15:13:48.343Z"}`), "/product")
	if err != nil || gu.Version != "2015-09-25T15:13:48.343Z" {
		t.Fatalf("version: %+v %v", gu, err)
	}
	g := Group{ID: "/product", Apps: []App{{ID: "/product/a", Instances: ptr(1)}},
		Groups: []Group{{ID: "/product/sub", Apps: []App{{ID: "/product/sub/b", Instances: ptr(3)}}}}}
	g.ScaleBy(1.5)
	if *g.Apps[0].Instances != 2 || *g.Groups[0].Apps[0].Instances != 5 {
		t.Errorf("ScaleBy: %d %d", *g.Apps[0].Instances, *g.Groups[0].Apps[0].Instances)
	}
}

func TestGroupUpdateInvalid(t *testing.T) {
	tests := []struct {
		name, base, body string
		status           int
	}{
		{"app_not_child", "/group", `{"apps":[{"id":"/app","cmd":"sleep 1"}]}`, 422},
		{"app_nested_not_direct", "/", `{"id":"/group","apps":[{"id":"sub/app","cmd":"sleep 1"}]}`, 422},
		{"app_invalid", "/", `{"id":"/g","apps":[{"id":"a","cmd":"sleep 1"},{"id":"b"}],"groups":[{"id":"h","apps":[{"id":"c","cmd":"x","instances":2,"labels":{"MARATHON_SINGLE_INSTANCE_APP":"true"}}]}]}`, 422},
		{"app_type_error", "/", `{"id":"/g","apps":[{"id":"a","cmd":1}],"groups":[{"id":"h","apps":[{"id":"B","cmd":"x y"}]}]}`, 422},
		{"duplicate_app", "/", `{"id":"/g","apps":[{"id":"a","cmd":"sleep 1"},{"id":"/g/a","cmd":"sleep 2"}]}`, 422},
		{"app_and_group_same_id", "/", `{"id":"/g","apps":[{"id":"a","cmd":"sleep 1"}],"groups":[{"id":"a"}]}`, 422},
		{"cycle", "/", `{"id":"/g","apps":[{"id":"a","cmd":"sleep 1","dependencies":["b"]},{"id":"b","cmd":"sleep 1","dependencies":["/g/a"]}]}`, 422},
		{"self_dependency", "/", `{"id":"/g","apps":[{"id":"a","cmd":"sleep 1","dependencies":["/g/a"]}]}`, 422},
		{"group_depends_on_itself", "/", `{"id":"/g","dependencies":["/g"],"apps":[{"id":"a","cmd":"sleep 1"}]}`, 422},
		{"scale_with_apps", "/", `{"scaleBy":2,"apps":[]}`, 422},
		{"version_with_id", "/", `{"id":"/g","version":"2015-09-25T15:13:48.343Z"}`, 422},
		{"enforce_role_nested", "/", `{"id":"/a/b","enforceRole":true}`, 422},
		{"group_id_missing", "/", `{"id":"/a","groups":[{"apps":[]}]}`, 422},
		{"reserved_group_id", "/", `{"id":"/a/versions"}`, 422},
		{"syntax", "/", `{"id":`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGroupUpdate([]byte(tc.body), tc.base)
			status, body := errorBody(t, err)
			if status != tc.status {
				t.Errorf("status %d, want %d: %s", status, tc.status, body)
			}
			golden(t, "group_invalid_"+tc.name+".json", append(body, '\n'))
		})
	}
}

func TestGroupEnforceRoleDefaultsAppRole(t *testing.T) {
	gu, err := ParseGroupUpdate([]byte(`{"id":"/dev","enforceRole":true,"apps":[{"id":"a","cmd":"sleep 1"}]}`), "/")
	if err != nil {
		t.Fatal(err)
	}
	if gu.Apps[0].Role != "dev" {
		t.Errorf("role %q, want dev", gu.Apps[0].Role)
	}
}

func TestGroupJSON(t *testing.T) {
	b, err := json.Marshal(Group{ID: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"/","apps":[],"pods":[],"groups":[],"dependencies":[]}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

func app(id string, deps ...string) App { return App{ID: id, Dependencies: deps} }

func layerIDs(ls [][]App) [][]string {
	var out [][]string
	for _, l := range ls {
		var ids []string
		for _, a := range l {
			ids = append(ids, a.ID)
		}
		out = append(out, ids)
	}
	return out
}

func TestLayers(t *testing.T) {
	tests := []struct {
		name string
		apps []App
		want [][]string
	}{
		{"independent", []App{app("/b"), app("/a")}, [][]string{{"/a", "/b"}}},
		{"chain", []App{app("/web", "/api"), app("/api", "/db"), app("/db")}, [][]string{{"/db"}, {"/api"}, {"/web"}}},
		{"longest path wins", []App{app("/a", "/b", "/c"), app("/b", "/c"), app("/c"), app("/d", "/c")},
			[][]string{{"/c"}, {"/b", "/d"}, {"/a"}}},
		{"group path dependency", []App{app("/web", "/data"), app("/data/pg"), app("/data/redis")},
			[][]string{{"/data/pg", "/data/redis"}, {"/web"}}},
		{"missing targets ignored", []App{app("/a", "/nowhere")}, [][]string{{"/a"}}},
		{"relative dependency", []App{app("/p/web", "db"), app("/p/db")}, [][]string{{"/p/db"}, {"/p/web"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ls, err := Layers(tc.apps)
			if err != nil {
				t.Fatal(err)
			}
			if got := layerIDs(ls); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLayersCycles(t *testing.T) {
	cycles := [][]App{
		{app("/a", "/b"), app("/b", "/a")},
		{app("/a", "/a")},
		{app("/a", "/b"), app("/b", "/c"), app("/c", "/a"), app("/d")},
		{app("/g/a", "/g")}, // depends on its own group
	}
	for _, apps := range cycles {
		_, err := Layers(apps)
		status, body := errorBody(t, err)
		if status != 422 || string(body) != `{"message":"Object is not valid","details":[{"path":"/","errors":["Dependency graph has cyclic dependencies."]}]}` {
			t.Errorf("%v: %d %s", layerIDs([][]App{apps}), status, body)
		}
	}
}

func TestGroupLayersAndValidateRoot(t *testing.T) {
	root := Group{ID: "/", Groups: []Group{
		{ID: "/frontend", Dependencies: []string{"/backend"}, Apps: []App{app("/frontend/web")}},
		{ID: "/backend", Apps: []App{app("/backend/api", "db"), app("/backend/db")}},
	}}
	ls, err := GroupLayers(root)
	if err != nil {
		t.Fatal(err)
	}
	// "db" is relative to /backend/api's group.
	if got, want := layerIDs(ls), [][]string{{"/backend/db"}, {"/backend/api"}, {"/frontend/web"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if err := ValidateRoot(root); err != nil {
		t.Errorf("ValidateRoot: %v", err)
	}
	root.Groups[1].Dependencies = []string{"/frontend"}
	if err := ValidateRoot(root); err == nil {
		t.Error("group dependency cycle not detected")
	}
	bad := Group{ID: "/", Apps: []App{app("/x/y")}, Groups: []Group{{ID: "/x/y"}}}
	_, body := errorBody(t, ValidateRoot(bad))
	golden(t, "group_invalid_root.json", append(body, '\n'))
}
