package api

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/strata-sched/strata/marathon/app"
)

// TestAppInfoEncoding checks that the fast encoding of app lists is byte
// for byte what encoding/json writes for app.AppInfo.
func TestAppInfoEncoding(t *testing.T) {
	a, err := app.Normalize([]byte(`{"id":"/x","cmd":"sleep 1","env":{"A":"b"},"labels":{"l":"v"},
		"healthChecks":[{"protocol":"HTTP"}],"unreachableStrategy":"disabled"}`))
	if err != nil {
		t.Fatal(err)
	}
	a.Version = "2020-01-01T00:00:00.000Z"
	one := 1
	alive := "2020-01-01T00:00:01.000Z"
	infos := []app.AppInfo{
		{App: a},
		{App: a, TasksStaged: &one, TasksRunning: &one, TasksHealthy: &one, TasksUnhealthy: &one,
			Deployments: []app.Identifiable{{ID: "d"}}, Tasks: []app.Task{{ID: "x.1", AppID: "/x", State: "TASK_RUNNING",
				HealthCheckResults: []app.HealthResult{{Alive: true, FirstSuccess: &alive}}}, {ID: "x.2"}},
			LastTaskFailure: &app.TaskFailure{AppID: "/x", State: "TASK_FAILED"}},
		{App: a, Deployments: []app.Identifiable{}, Tasks: []app.Task{}},
	}
	var c appJSONCache
	for i, ai := range infos {
		var buf bytes.Buffer
		if err := c.appendAppInfo(&buf, &ai); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(ai)
		if buf.String() != string(want) {
			t.Errorf("%d:\n got %s\nwant %s", i, buf.String(), want)
		}
	}
}
