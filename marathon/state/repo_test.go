package state

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/deploy"
)

func TestRepoRoundTrip(t *testing.T) {
	st, err := store.OpenEmbedded(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := NewRepo(st, "", 3)
	ctx := context.Background()
	a, err := app.Normalize([]byte(`{"id":"/g/sub/web","cmd":"sleep 1","env":{"A":"b"},"healthChecks":[{"protocol":"TCP"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		a.Version = fmt.Sprintf("2024-01-01T00:00:0%d.000Z", i)
		if err := r.PutApp(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	vs, _ := r.AppVersions(ctx, a.ID)
	if want := []string{"2024-01-01T00:00:02.000Z", "2024-01-01T00:00:03.000Z", "2024-01-01T00:00:04.000Z"}; !reflect.DeepEqual(vs, want) {
		t.Fatalf("versions %v (pruned to 3), want %v", vs, want)
	}
	tree := GroupNode{ID: "/", Groups: []GroupNode{{ID: "/g", Dependencies: []string{"/db"}}, {ID: "/empty"}}}
	if err := r.PutGroups(ctx, tree); err != nil {
		t.Fatal(err)
	}
	p := deploy.Plan{ID: "d1", Version: "v", Steps: []deploy.Step{{Actions: []deploy.Action{{Action: deploy.ScaleApplication, App: a.ID}}}},
		Original: map[string]*app.App{a.ID: nil}, Target: map[string]*app.App{a.ID: &a}}
	if err := r.PutDeployment(ctx, p); err != nil {
		t.Fatal(err)
	}
	in := Instance{TaskID: "g_sub_web.1", AppID: a.ID, Version: a.Version, State: mesos.TaskRunning, Goal: GoalRunning, Ports: []uint64{31000}}
	if err := r.PutInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	snap, err := r.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := snap.Root.FindApp(a.ID)
	if !ok || !reflect.DeepEqual(*got, a) {
		t.Fatalf("app round trip:\n got %+v\nwant %+v", got, a)
	}
	if _, ok := snap.Root.FindGroup("/empty"); !ok {
		t.Error("empty group lost")
	}
	if g, _ := snap.Root.FindGroup("/g"); len(g.Dependencies) != 1 {
		t.Errorf("group dependencies lost: %+v", g)
	}
	if len(snap.Deployments) != 1 || snap.Deployments[0].Target[a.ID].Cmd != "sleep 1" || len(snap.Instances) != 1 || snap.Instances[0].InstanceID() != "g_sub_web.marathon-1" {
		t.Fatalf("snapshot %+v", snap)
	}
	if err := r.DeleteApp(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if vs, _ := r.AppVersions(ctx, a.ID); len(vs) != 0 {
		t.Fatalf("versions left after delete: %v", vs)
	}
}
