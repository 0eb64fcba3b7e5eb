package marathon_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-sched/strata/internal/testenv"
)

type queueInfo struct {
	Queue []struct {
		App   struct{ ID string } `json:"app"`
		Count int                 `json:"count"`
		Delay struct {
			TimeLeftSeconds int  `json:"timeLeftSeconds"`
			Overdue         bool `json:"overdue"`
		} `json:"delay"`
	} `json:"queue"`
}

type healthApp struct {
	App struct {
		TasksHealthy    int `json:"tasksHealthy"`
		LastTaskFailure *struct {
			TaskID string `json:"taskId"`
			State  string `json:"state"`
		} `json:"lastTaskFailure"`
		Tasks []struct {
			ID                 string `json:"id"`
			HealthCheckResults []struct {
				Alive        bool    `json:"alive"`
				FirstSuccess *string `json:"firstSuccess"`
			} `json:"healthCheckResults"`
		} `json:"tasks"`
	} `json:"app"`
}

// Restarting Marathon on the same store loses nothing: a crash-looping
// app keeps its lastTaskFailure and stays delayed (it is not relaunched at
// once), and a healthy task shows the same healthCheckResults.
func TestIntegrationRestartKeepsFailuresAndHealth(t *testing.T) {
	c := startCluster(t, 1)
	dir := tempDir(t, "marathon")
	m := startMarathon(t, c, dir, options{})

	r := m.must("POST", "/v2/apps", webApp, 201)
	m.waitDeployment(r.Header.Get("Marathon-Deployment-Id"), 60*time.Second)
	m.must("POST", "/v2/apps", `{"id":"/crash","cmd":"exit 3","cpus":0.1,"mem":16,"backoffSeconds":120,"maxLaunchDelaySeconds":300}`, 201)
	var before healthApp
	testenv.Eventually(t, 30*time.Second, func() error {
		m.must("GET", "/v2/apps/crash", nil, 200).json(t, &before)
		if f := before.App.LastTaskFailure; f == nil || f.State != "TASK_FAILED" {
			return fmt.Errorf("lastTaskFailure %+v", f)
		}
		return nil
	})
	var web healthApp
	m.must("GET", "/v2/apps/web", nil, 200).json(t, &web)
	if len(web.App.Tasks) != 2 || web.App.TasksHealthy != 2 {
		t.Fatalf("web before the restart: %+v", web.App)
	}
	firstSuccess := map[string]string{}
	for _, tk := range web.App.Tasks {
		if len(tk.HealthCheckResults) != 1 || tk.HealthCheckResults[0].FirstSuccess == nil {
			t.Fatalf("task %s health %+v", tk.ID, tk.HealthCheckResults)
		}
		firstSuccess[tk.ID] = *tk.HealthCheckResults[0].FirstSuccess
	}

	m.stop()
	m2 := startMarathon(t, c, dir, options{})

	var after healthApp
	m2.must("GET", "/v2/apps/crash", nil, 200).json(t, &after)
	if f := after.App.LastTaskFailure; f == nil || f.TaskID != before.App.LastTaskFailure.TaskID || f.State != "TASK_FAILED" {
		t.Fatalf("lastTaskFailure after the restart %+v, before %+v", f, before.App.LastTaskFailure)
	}
	var q queueInfo
	testenv.Eventually(t, 10*time.Second, func() error {
		m2.must("GET", "/v2/queue", nil, 200).json(t, &q)
		if len(q.Queue) != 1 || q.Queue[0].App.ID != "/crash" {
			return fmt.Errorf("queue %+v", q.Queue)
		}
		return nil
	})
	if d := q.Queue[0].Delay; d.Overdue || d.TimeLeftSeconds <= 0 || d.TimeLeftSeconds > 120 {
		t.Fatalf("the crash-looping app is not delayed after the restart: %+v", d)
	}
	m2.must("GET", "/v2/apps/web", nil, 200).json(t, &web)
	if len(web.App.Tasks) != 2 {
		t.Fatalf("web after the restart: %+v", web.App)
	}
	for _, tk := range web.App.Tasks {
		hr := tk.HealthCheckResults
		if len(hr) != 1 || !hr[0].Alive || hr[0].FirstSuccess == nil || *hr[0].FirstSuccess != firstSuccess[tk.ID] {
			t.Fatalf("task %s health after the restart %+v, firstSuccess before %s", tk.ID, hr, firstSuccess[tk.ID])
		}
	}
	// Nothing was launched for the crashing app: its last failure is still
	// the one from before the restart.
	m2.must("GET", "/v2/apps/crash", nil, 200).json(t, &after)
	if after.App.LastTaskFailure.TaskID != before.App.LastTaskFailure.TaskID {
		t.Fatalf("relaunched during its delay: last failure %s, before %s", after.App.LastTaskFailure.TaskID, before.App.LastTaskFailure.TaskID)
	}
}
