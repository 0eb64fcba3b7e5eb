package deploy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/strata-sched/strata/marathon/app"
)

var versionSeq int

func mkApp(t *testing.T, js string) app.App {
	t.Helper()
	versionSeq++
	a, err := app.Normalize([]byte(js))
	if err != nil {
		t.Fatalf("normalize %s: %v", js, err)
	}
	a.Version = fmt.Sprintf("2024-01-01T00:00:%02d.000Z", versionSeq)
	a.VersionInfo = &app.VersionInfo{LastScalingAt: a.Version, LastConfigChangeAt: a.Version}
	return a
}

func root(apps ...app.App) app.Group {
	g := app.Group{ID: "/"}
	groups := map[string]*app.Group{}
	for _, a := range apps {
		parent := app.ParentID(a.ID)
		if parent == "/" {
			g.Apps = append(g.Apps, a)
			continue
		}
		sub, ok := groups[parent]
		if !ok {
			g.Groups = append(g.Groups, app.Group{ID: parent})
			sub = &g.Groups[len(g.Groups)-1]
			groups[parent] = sub
		}
		sub.Apps = append(sub.Apps, a)
	}
	return g
}

func steps(p Plan) [][]string {
	var out [][]string
	for _, s := range p.Steps {
		var names []string
		for _, a := range s.Actions {
			names = append(names, string(a.Action)+" "+a.App)
		}
		out = append(out, names)
	}
	return out
}

func TestCompute(t *testing.T) {
	web := mkApp(t, `{"id":"/web","cmd":"sleep 1"}`)
	db := mkApp(t, `{"id":"/db","cmd":"sleep 1"}`)
	webDep := mkApp(t, `{"id":"/web","cmd":"sleep 1","dependencies":["/db"]}`)
	web3 := web
	web3.Instances = ptr(3)
	web3.Version = "2024-03-01T00:00:00.000Z"
	webCmd := mkApp(t, `{"id":"/web","cmd":"sleep 2"}`)
	webLabel := mkApp(t, `{"id":"/web","cmd":"sleep 1","labels":{"a":"b"}}`)
	web0 := webCmd
	web0.Instances = ptr(0)
	web0.Version = "2024-03-02T00:00:00.000Z"
	webRestart := web
	webRestart.Version = "2024-03-03T00:00:00.000Z"
	webRestart.VersionInfo = &app.VersionInfo{LastScalingAt: web.Version, LastConfigChangeAt: "2024-02-01T00:00:00.000Z"}

	tests := []struct {
		name     string
		from, to app.Group
		toKill   map[string][]string
		want     [][]string
	}{
		{"no-op", root(web), root(web), nil, nil},
		{"new app", root(), root(web), nil, [][]string{{"StartApplication /web"}, {"ScaleApplication /web"}}},
		{"removed app", root(web), root(), nil, [][]string{{"StopApplication /web"}}},
		{"scale only", root(web), root(web3), nil, [][]string{{"ScaleApplication /web"}}},
		{"config change", root(web), root(webCmd), nil, [][]string{{"RestartApplication /web"}}},
		{"label change restarts", root(web), root(webLabel), nil, [][]string{{"RestartApplication /web"}}},
		{"changed and scaled to zero", root(web), root(web0), nil, [][]string{{"ScaleApplication /web"}}},
		{"restart marker", root(web), root(webRestart), nil, [][]string{{"RestartApplication /web"}}},
		{"kill with scale", root(web3), root(web), map[string][]string{"/web": {"web.x"}}, [][]string{{"ScaleApplication /web"}}},
		{"dependencies in layers", root(), root(db, webDep), nil, [][]string{
			{"StartApplication /db", "StartApplication /web"},
			{"ScaleApplication /db"},
			{"ScaleApplication /web"},
		}},
		{"replace and stop", root(db, web), root(webCmd), nil, [][]string{{"StopApplication /db"}, {"RestartApplication /web"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compute("d1", "v", tc.from, tc.to, tc.toKill)
			if err != nil {
				t.Fatal(err)
			}
			if got := steps(p); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("steps = %v, want %v", got, tc.want)
			}
			for _, id := range p.AffectedApps() {
				if _, ok := p.Original[id]; !ok {
					t.Errorf("Original lacks affected %s", id)
				}
			}
			if b, err := json.Marshal(p); err != nil || len(b) == 0 {
				t.Errorf("marshal: %v", err)
			}
		})
	}
}

func TestComputeGroupDependencies(t *testing.T) {
	db := mkApp(t, `{"id":"/data/db","cmd":"sleep 1"}`)
	web := mkApp(t, `{"id":"/front/web","cmd":"sleep 1"}`)
	target := root(db, web)
	for i := range target.Groups {
		if target.Groups[i].ID == "/front" {
			target.Groups[i].Dependencies = []string{"/data"}
		}
	}
	p, err := Compute("d", "v", root(), target, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"StartApplication /data/db", "StartApplication /front/web"}, {"ScaleApplication /data/db"}, {"ScaleApplication /front/web"}}
	if got := steps(p); !reflect.DeepEqual(got, want) {
		t.Errorf("steps = %v, want %v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }
