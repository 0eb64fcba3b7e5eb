package marathon_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	gm "github.com/gambol99/go-marathon"
	"github.com/strata-sched/strata/internal/testenv"
)

// go-marathon v0.7.1, unchanged, against Strata's Marathon: create, wait
// for the deployment, scale, list tasks, kill with scale, receive events
// over SSE, delete.
func TestGoMarathonClient(t *testing.T) {
	c := startCluster(t, 1)
	m := startMarathon(t, c, tempDir(t, "marathon"), options{})

	cfg := gm.NewDefaultConfig()
	cfg.URL = m.URL
	cfg.EventsTransport = gm.EventsTransportSSE
	// v0.7.1 uses one client for requests and the SSE stream: no timeout.
	cfg.HTTPClient = &http.Client{}
	cfg.PollingWaitTime = 100 * time.Millisecond
	client, err := gm.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := client.Ping(); !ok || err != nil {
		t.Fatalf("ping: %v %v", ok, err)
	}
	info, err := client.Info()
	if err != nil || info.Name != "marathon" || info.FrameworkID == "" {
		t.Fatalf("info %+v %v", info, err)
	}
	if leader, err := client.Leader(); err != nil || leader == "" {
		t.Fatalf("leader %q %v", leader, err)
	}
	events, err := client.AddEventsListener(gm.EventIDApplications | gm.EventIDDeploymentSuccess | gm.EventIDAPIRequest)
	if err != nil {
		t.Fatal(err)
	}
	defer client.RemoveEventsListener(events)

	var a gm.Application
	a.Name("/gm/sleeper").Command("sleep 600").CPU(0.1).Memory(16).Count(2)
	created, err := client.CreateApplication(&a)
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Deployments) != 1 {
		t.Fatalf("created app has deployments %v", created.Deployments)
	}
	if err := client.WaitOnDeployment(created.Deployments[0]["id"], 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := client.WaitOnApplication("/gm/sleeper", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if ok, err := client.ApplicationOK("/gm/sleeper"); !ok || err != nil {
		t.Fatalf("ApplicationOK %v %v", ok, err)
	}

	dep, err := client.ScaleApplicationInstances("/gm/sleeper", 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.WaitOnDeployment(dep.DeploymentID, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	tasks, err := client.Tasks("/gm/sleeper")
	if err != nil || len(tasks.Tasks) != 3 {
		t.Fatalf("tasks %+v %v", tasks, err)
	}
	all, err := client.AllTasks(&gm.AllTasksOpts{Status: "running"})
	if err != nil || len(all.Tasks) != 3 || len(all.Tasks[0].ServicePorts) != 1 {
		t.Fatalf("all tasks %+v %v", all, err)
	}

	// Kill one task and scale down with it (go-marathon derives the app
	// from the legacy task id).
	victim := tasks.Tasks[0].ID
	if _, err := client.KillTask(victim, &gm.KillTaskOpts{Scale: true}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		app, err := client.Application("/gm/sleeper")
		if err != nil {
			return err
		}
		if *app.Instances != 2 || app.TasksRunning != 2 || len(app.Deployments) != 0 {
			return fmt.Errorf("instances %d running %d deployments %v", *app.Instances, app.TasksRunning, app.Deployments)
		}
		for _, tk := range app.Tasks {
			if tk.ID == victim {
				return fmt.Errorf("killed task %s still listed", victim)
			}
		}
		return nil
	})
	apps, err := client.Applications(nil)
	if err != nil || len(apps.Apps) != 1 {
		t.Fatalf("applications %+v %v", apps, err)
	}
	if _, err := client.Deployments(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Queue(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Groups(); err != nil {
		t.Fatal(err)
	}
	if vs, err := client.ApplicationVersions("/gm/sleeper"); err != nil || len(vs.Versions) < 2 {
		t.Fatalf("versions %+v %v", vs, err)
	}

	dep, err = client.DeleteApplication("/gm/sleeper", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.WaitOnDeployment(dep.DeploymentID, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Application("/gm/sleeper"); err == nil {
		t.Fatal("deleted app still found")
	} else if apiErr, ok := err.(*gm.APIError); !ok || apiErr.ErrCode != gm.ErrCodeNotFound {
		t.Fatalf("want a not-found APIError, got %T %v", err, err)
	}

	seen := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for !(seen["running"] && seen["deployment_success"] && seen["api_post_event"] && seen["app_terminated_event"]) {
		select {
		case ev := <-events:
			switch e := ev.Event.(type) {
			case *gm.EventStatusUpdate:
				if e.TaskStatus == "TASK_RUNNING" && e.AppID == "/gm/sleeper" && len(e.TaskID) > 0 {
					seen["running"] = true
				}
			case *gm.EventDeploymentSuccess:
				seen["deployment_success"] = true
			case *gm.EventAPIRequest:
				if e.AppDefinition != nil && e.AppDefinition.ID == "/gm/sleeper" {
					seen["api_post_event"] = true
				}
			case *gm.EventAppTerminated:
				seen["app_terminated_event"] = e.AppID == "/gm/sleeper"
			}
		case <-timeout:
			t.Fatalf("events seen: %v", seen)
		}
	}
}
