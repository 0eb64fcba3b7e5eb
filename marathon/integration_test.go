package marathon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/internal/testenv"
)

const webApp = `{"id":"/web","cmd":"exec python3 -m http.server $PORT0","cpus":0.1,"mem":64,"instances":2,
 "healthChecks":[{"protocol":"HTTP","path":"/","portIndex":0,"gracePeriodSeconds":30,"intervalSeconds":1,"timeoutSeconds":2,"maxConsecutiveFailures":3}]}`

// An app whose tasks serve real HTTP on $PORT0 becomes healthy through
// Marathon's own HTTP health check; then it scales up and down.
func TestIntegrationHealthyAppScales(t *testing.T) {
	c := startCluster(t, 1)
	m := startMarathon(t, c, tempDir(t, "marathon"), options{})

	r := m.must("POST", "/v2/apps", webApp, 201)
	if r.Header.Get("Marathon-Deployment-Id") == "" || r.Header.Get("Location") != "/web" {
		t.Fatalf("headers %v", r.Header)
	}
	m.waitDeployment(r.Header.Get("Marathon-Deployment-Id"), 60*time.Second)
	a := m.app("/web")
	if a.TasksHealthy != 2 || a.TasksRunning != 2 {
		t.Fatalf("after deployment: %+v", a)
	}
	if p := a.PortDefinitions[0].Port; p < 10000 || p > 20000 {
		t.Errorf("service port %d outside 10000-20000", p)
	}

	var dr deploymentResult
	m.must("PUT", "/v2/apps/web", `{"instances":3}`, 200).json(t, &dr)
	m.waitDeployment(dr.DeploymentID, 60*time.Second)
	if a := m.app("/web"); a.TasksHealthy != 3 || len(a.Tasks) != 3 {
		t.Fatalf("after scale up: healthy %d tasks %d", a.TasksHealthy, len(a.Tasks))
	}
	m.must("PUT", "/v2/apps/web", `{"instances":1}`, 200).json(t, &dr)
	m.waitDeployment(dr.DeploymentID, 60*time.Second)
	testenv.Eventually(t, 10*time.Second, func() error {
		if a := m.app("/web"); len(a.Tasks) != 1 || a.TasksHealthy != 1 {
			return fmt.Errorf("after scale down: %+v", a.Tasks)
		}
		return nil
	})
	m.must("DELETE", "/v2/apps/web", nil, 200).json(t, &dr)
	m.waitDeployment(dr.DeploymentID, 60*time.Second)
	m.must("GET", "/v2/apps/web", nil, 404)
}

// A rolling restart replaces every task while a client keeps hitting the
// host port of every task reported healthy: it never sees an error.
func TestIntegrationRollingRestartNoErrors(t *testing.T) {
	c := startCluster(t, 2)
	m := startMarathon(t, c, tempDir(t, "marathon"), options{killDrain: 2 * time.Second})
	body := `{"id":"/web","cmd":"exec python3 -m http.server $PORT0","cpus":0.1,"mem":64,"instances":3,
	  "upgradeStrategy":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0.5},
	  "healthChecks":[{"protocol":"HTTP","path":"/","gracePeriodSeconds":30,"intervalSeconds":1,"timeoutSeconds":2,"maxConsecutiveFailures":3}]}`
	r := m.must("POST", "/v2/apps", body, 201)
	m.waitDeployment(r.Header.Get("Marathon-Deployment-Id"), 60*time.Second)
	before := m.app("/web")

	stop := make(chan struct{})
	result := make(chan []string, 1)
	hits := 0
	go func() {
		var failures []string
		client := &http.Client{Timeout: 2 * time.Second}
		for {
			select {
			case <-stop:
				result <- failures
				return
			default:
			}
			var out struct {
				Tasks []task `json:"tasks"`
			}
			resp, err := client.Get(m.URL + "/v2/apps/web/tasks")
			if err != nil {
				failures = append(failures, "marathon: "+err.Error())
				continue
			}
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			for _, tk := range out.Tasks {
				if !tk.healthy() {
					continue
				}
				res, err := client.Get(fmt.Sprintf("http://%s:%d/", tk.Host, tk.Ports[0]))
				if err != nil {
					failures = append(failures, fmt.Sprintf("task %s (healthy): %v", tk.ID, err))
					continue
				}
				res.Body.Close()
				hits++
				if res.StatusCode != 200 {
					failures = append(failures, fmt.Sprintf("task %s (healthy): HTTP %d", tk.ID, res.StatusCode))
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	var dr deploymentResult
	m.must("POST", "/v2/apps/web/restart", nil, 200).json(t, &dr)
	m.waitDeployment(dr.DeploymentID, 120*time.Second)
	close(stop)
	if f := <-result; len(f) > 0 {
		t.Fatalf("%d failed requests during the rolling restart (of %d): %v", len(f), hits, f)
	}
	after := m.app("/web")
	if after.TasksHealthy != 3 || len(after.Tasks) != 3 {
		t.Fatalf("after restart: %+v", after)
	}
	old := map[string]bool{}
	for _, tk := range before.Tasks {
		old[tk.ID] = true
	}
	for _, tk := range after.Tasks {
		if old[tk.ID] || tk.Version != after.Version {
			t.Errorf("task %s survived the restart (version %s, app %s)", tk.ID, tk.Version, after.Version)
		}
	}
	t.Logf("%d successful requests to healthy tasks during the restart", hits)
}

// A command that keeps failing is relaunched with growing delays; the queue
// shows the delay and says why, and so does the deployment.
func TestIntegrationFailingCommandBacksOff(t *testing.T) {
	c := startCluster(t, 1)
	m := startMarathon(t, c, tempDir(t, "marathon"), options{})
	r := m.must("POST", "/v2/apps", `{"id":"/fail","cmd":"echo boom >&2; exit 3","cpus":0.1,"mem":16,
	  "backoffSeconds":2,"backoffFactor":2,"maxLaunchDelaySeconds":60,
	  "healthChecks":[{"protocol":"TCP","gracePeriodSeconds":5,"intervalSeconds":1}]}`, 201)
	dep := r.Header.Get("Marathon-Deployment-Id")
	var q struct {
		Queue []struct {
			App   struct{ ID string } `json:"app"`
			Count int                 `json:"count"`
			Delay struct {
				TimeLeftSeconds int  `json:"timeLeftSeconds"`
				Overdue         bool `json:"overdue"`
			} `json:"delay"`
			Message string `json:"message"`
		} `json:"queue"`
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		m.must("GET", "/v2/queue", nil, 200).json(t, &q)
		if len(q.Queue) != 1 || q.Queue[0].App.ID != "/fail" || q.Queue[0].Delay.Overdue || q.Queue[0].Delay.TimeLeftSeconds <= 0 {
			return fmt.Errorf("queue %+v", q.Queue)
		}
		return nil
	})
	if msg := q.Queue[0].Message; !strings.Contains(msg, "keep failing") || !strings.Contains(msg, "TASK_FAILED") {
		t.Errorf("queue message does not say why: %q", msg)
	}
	a := m.app("/fail")
	if a.LastTaskFailure == nil || a.LastTaskFailure.State != "TASK_FAILED" {
		t.Errorf("lastTaskFailure %+v", a.LastTaskFailure)
	}
	var ds []deploymentInfo
	m.must("GET", "/v2/deployments", nil, 200).json(t, &ds)
	if len(ds) != 1 || ds[0].ID != dep || len(ds[0].CurrentActions) != 1 || !strings.Contains(ds[0].CurrentActions[0].Message, "keep failing") {
		t.Errorf("deployment does not say why it is stuck: %+v", ds)
	}
	// Resetting the delay makes the app overdue (waiting for offers) at once.
	m.must("DELETE", "/v2/queue/fail/delay", nil, 204)
	m.must("DELETE", "/v2/queue/nope/delay", nil, 404)
}

// A group whose web app depends on its db app deploys db first: web's
// tasks are launched only after db's are healthy.
func TestIntegrationGroupDependencies(t *testing.T) {
	c := startCluster(t, 1)
	m := startMarathon(t, c, tempDir(t, "marathon"), options{})
	body := `{"apps":[
	  {"id":"db","cmd":"sleep 2; exec python3 -m http.server $PORT0","cpus":0.1,"mem":32,
	   "healthChecks":[{"protocol":"TCP","gracePeriodSeconds":30,"intervalSeconds":1,"timeoutSeconds":1}]},
	  {"id":"web","cmd":"sleep 600","cpus":0.1,"mem":16,"dependencies":["db"]}]}`
	var dr deploymentResult
	m.must("PUT", "/v2/groups/prod", body, 200).json(t, &dr)
	m.waitDeployment(dr.DeploymentID, 60*time.Second)
	var db, web appInfo
	db, web = m.app("/prod/db"), m.app("/prod/web")
	if len(db.Tasks) != 1 || len(web.Tasks) != 1 {
		t.Fatalf("db %+v web %+v", db.Tasks, web.Tasks)
	}
	dbStarted, _ := time.Parse(time.RFC3339Nano, db.Tasks[0].StartedAt)
	var full struct {
		App struct {
			Tasks []struct {
				StagedAt string `json:"stagedAt"`
			} `json:"tasks"`
		} `json:"app"`
	}
	m.must("GET", "/v2/apps/prod/web", nil, 200).json(t, &full)
	webStaged, _ := time.Parse(time.RFC3339Nano, full.App.Tasks[0].StagedAt)
	if webStaged.Before(dbStarted.Add(2 * time.Second)) {
		t.Errorf("web staged at %v, before db was healthy (started %v, healthy ~2s later)", webStaged, dbStarted)
	}
	var g struct {
		ID     string `json:"id"`
		Groups []struct {
			ID   string                `json:"id"`
			Apps []struct{ ID string } `json:"apps"`
		} `json:"groups"`
	}
	m.must("GET", "/v2/groups", nil, 200).json(t, &g)
	if len(g.Groups) != 1 || g.Groups[0].ID != "/prod" || len(g.Groups[0].Apps) != 2 {
		t.Errorf("groups %+v", g)
	}
	m.must("DELETE", "/v2/groups/prod", nil, 200).json(t, &dr)
	m.waitDeployment(dr.DeploymentID, 60*time.Second)
	m.must("GET", "/v2/groups/prod", nil, 404)
}

// sse reads an event stream into a channel of (type, data) pairs.
func sse(t *testing.T, url string) (<-chan [2]string, func()) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "text/event-stream")
	ctx, cancel := context.WithCancel(context.Background())
	req = req.WithContext(ctx)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %v", resp.StatusCode, resp.Header)
	}
	ch := make(chan [2]string, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var typ string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				typ = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ch <- [2]string{typ, strings.TrimPrefix(line, "data: ")}
			}
		}
	}()
	return ch, func() { cancel(); resp.Body.Close(); <-done }
}

// The event stream carries the events of an app's life, in the JSON
// clients parse; event_type filters; without Accept: text/event-stream the
// answer is 405.
func TestIntegrationEvents(t *testing.T) {
	c := startCluster(t, 1)
	m := startMarathon(t, c, tempDir(t, "marathon"), options{})
	m.must("GET", "/v2/events", nil, 405)
	all, stopAll := sse(t, m.URL+"/v2/events")
	defer stopAll()
	only, stopOnly := sse(t, m.URL+"/v2/events?event_type=status_update_event&plan-format=light")
	defer stopOnly()

	first := <-all
	if first[0] != "event_stream_attached" {
		t.Fatalf("first event %v", first)
	}
	r := m.must("POST", "/v2/apps", `{"id":"/ev","cmd":"sleep 600","cpus":0.1,"mem":16}`, 201)
	m.waitDeployment(r.Header.Get("Marathon-Deployment-Id"), 30*time.Second)
	var dr deploymentResult
	m.must("DELETE", "/v2/apps/ev", nil, 200).json(t, &dr)
	m.waitDeployment(dr.DeploymentID, 30*time.Second)

	want := map[string]bool{"api_post_event": false, "group_change_success": false, "deployment_info": false,
		"status_update_event": false, "instance_changed_event": false, "deployment_step_success": false,
		"deployment_success": false, "app_terminated_event": false}
	var running, killed bool
	timeout := time.After(10 * time.Second)
	for !(allSeen(want) && running && killed) {
		select {
		case ev := <-all:
			var data map[string]any
			if err := json.Unmarshal([]byte(ev[1]), &data); err != nil {
				t.Fatalf("event %s: %v", ev[1], err)
			}
			if data["eventType"] != ev[0] || data["timestamp"] == nil {
				t.Fatalf("event %s lacks eventType/timestamp", ev[1])
			}
			if _, ok := want[ev[0]]; ok {
				want[ev[0]] = true
			}
			if ev[0] == "status_update_event" {
				running = running || data["taskStatus"] == "TASK_RUNNING" && data["appId"] == "/ev"
				killed = killed || data["taskStatus"] == "TASK_KILLED"
			}
		case <-timeout:
			t.Fatalf("events missing: %v running %v killed %v", want, running, killed)
		}
	}
	n := 0
	for len(only) > 0 || n == 0 {
		select {
		case ev := <-only:
			if ev[0] != "status_update_event" {
				t.Fatalf("filtered stream got %s", ev[0])
			}
			n++
		case <-time.After(5 * time.Second):
			t.Fatal("filtered stream got nothing")
		}
	}
}

func allSeen(m map[string]bool) bool {
	for _, v := range m {
		if !v {
			return false
		}
	}
	return true
}

// masterTasks returns the framework's non-terminal tasks as the master
// knows them.
func masterTasks(t *testing.T, c *testenv.Cluster) map[string]string {
	t.Helper()
	var st struct {
		Frameworks []struct {
			Name  string `json:"name"`
			Tasks []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"tasks"`
		} `json:"frameworks"`
	}
	if err := testenv.GetJSON(c.MasterURL+"/master/state", &st); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range st.Frameworks {
		if f.Name != "marathon" {
			continue
		}
		for _, tk := range f.Tasks {
			out[tk.ID] = tk.State
		}
	}
	return out
}

// Marathon restarted in the middle of a deployment resumes it: the tasks it
// launched keep running, nothing is launched twice, and the deployment
// finishes.
func TestIntegrationRestartMidDeployment(t *testing.T) {
	c := startCluster(t, 1)
	dir := tempDir(t, "marathon")
	m := startMarathon(t, c, dir, options{})
	r := m.must("POST", "/v2/apps", `{"id":"/slow","cmd":"sleep 6; exec python3 -m http.server $PORT0","cpus":0.1,"mem":32,"instances":3,
	  "healthChecks":[{"protocol":"HTTP","gracePeriodSeconds":60,"intervalSeconds":1,"timeoutSeconds":1}]}`, 201)
	dep := r.Header.Get("Marathon-Deployment-Id")
	testenv.Eventually(t, 20*time.Second, func() error {
		if n := len(masterTasks(t, c)); n != 3 {
			return fmt.Errorf("%d tasks at the master", n)
		}
		return nil
	})
	before := masterTasks(t, c)
	m.stop()

	m2 := startMarathon(t, c, dir, options{})
	var ds []deploymentInfo
	m2.must("GET", "/v2/deployments", nil, 200).json(t, &ds)
	if len(ds) != 1 || ds[0].ID != dep {
		t.Fatalf("deployment %s not resumed: %+v", dep, ds)
	}
	m2.waitDeployment(dep, 60*time.Second)
	a := m2.app("/slow")
	if a.TasksHealthy != 3 {
		t.Fatalf("after resume: %+v", a)
	}
	after := masterTasks(t, c)
	if len(after) != 3 {
		t.Fatalf("master has %d tasks after the restart, want 3: %v", len(after), after)
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			t.Errorf("task %s was replaced across the restart", id)
		}
	}
}

// Deployments are cancelled with rollback (a revert deployment) or without
// (force); apps roll back to stored versions; killing a task without scale
// gets it replaced.
func TestIntegrationCancelRollbackKill(t *testing.T) {
	c := startCluster(t, 1)
	m := startMarathon(t, c, tempDir(t, "marathon"), options{})
	r := m.must("POST", "/v2/apps", `{"id":"/c","cmd":"sleep 600","cpus":0.1,"mem":16}`, 201)
	m.waitDeployment(r.Header.Get("Marathon-Deployment-Id"), 30*time.Second)
	v1 := m.app("/c").Version
	stuck := `{"cmd":"sleep 601","healthChecks":[{"protocol":"TCP","gracePeriodSeconds":60,"intervalSeconds":1,"timeoutSeconds":1}]}`

	// Stuck on health: the deployment says so; cancelling reverts.
	var dr deploymentResult
	m.must("PUT", "/v2/apps/c", stuck, 200).json(t, &dr)
	testenv.Eventually(t, 20*time.Second, func() error {
		var ds []deploymentInfo
		m.must("GET", "/v2/deployments", nil, 200).json(t, &ds)
		if len(ds) != 1 || len(ds[0].CurrentActions) != 1 || !strings.Contains(ds[0].CurrentActions[0].Message, "health") {
			return fmt.Errorf("deployments %+v", ds)
		}
		return nil
	})
	m.must("PUT", "/v2/apps/c", `{"cmd":"sleep 602"}`, 409)
	var revert deploymentResult
	m.must("DELETE", "/v2/deployments/"+dr.DeploymentID, nil, 200).json(t, &revert)
	m.waitDeployment(revert.DeploymentID, 30*time.Second)
	var full struct {
		App struct {
			Cmd          string `json:"cmd"`
			HealthChecks []any  `json:"healthChecks"`
			TasksRunning int    `json:"tasksRunning"`
		} `json:"app"`
	}
	m.must("GET", "/v2/apps/c", nil, 200).json(t, &full)
	if full.App.Cmd != "sleep 600" || len(full.App.HealthChecks) != 0 || full.App.TasksRunning != 1 {
		t.Fatalf("after revert: %+v", full.App)
	}

	// Force-cancel: no rollback, the new definition stays.
	m.must("PUT", "/v2/apps/c", stuck, 200).json(t, &dr)
	if r := m.do("DELETE", "/v2/deployments/"+dr.DeploymentID+"?force=true", nil); r.Status != 202 || len(r.Body) != 0 {
		t.Fatalf("force cancel: %d %s", r.Status, r.Body)
	}
	m.waitDeployment(dr.DeploymentID, 5*time.Second)
	m.must("GET", "/v2/apps/c", nil, 200).json(t, &full)
	if full.App.Cmd != "sleep 601" {
		t.Fatalf("after force cancel: %+v", full.App)
	}

	// Roll back to the first version.
	var versions struct{ Versions []string }
	m.must("GET", "/v2/apps/c/versions", nil, 200).json(t, &versions)
	if len(versions.Versions) < 4 || versions.Versions[len(versions.Versions)-1] != v1 {
		t.Fatalf("versions %v (first %s)", versions.Versions, v1)
	}
	m.must("GET", "/v2/apps/c/versions/"+v1, nil, 200)
	m.must("PUT", "/v2/apps/c?force=true", fmt.Sprintf(`{"version":%q}`, v1), 200).json(t, &dr)
	m.waitDeployment(dr.DeploymentID, 30*time.Second)
	full.App.HealthChecks = nil
	m.must("GET", "/v2/apps/c", nil, 200).json(t, &full)
	if full.App.Cmd != "sleep 600" || len(full.App.HealthChecks) != 0 {
		t.Fatalf("after rollback: %+v", full.App)
	}

	// Kill without scale: replaced.
	old := m.app("/c").Tasks[0].ID
	var killed struct{ Task task }
	m.must("DELETE", "/v2/apps/c/tasks/"+old, nil, 200).json(t, &killed)
	if killed.Task.ID != old {
		t.Fatalf("killed %+v", killed)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		a := m.app("/c")
		if len(a.Tasks) != 1 || a.Tasks[0].ID == old || a.TasksRunning != 1 || a.Instances != 1 {
			return fmt.Errorf("after kill: %+v", a.Tasks)
		}
		return nil
	})
}

// A task failing its Marathon HTTP health check is killed after
// maxConsecutiveFailures+1 failures and replaced; readiness checks gate a
// deployment and are reported.
func TestIntegrationHealthKillAndReadiness(t *testing.T) {
	c := startCluster(t, 1)
	m := startMarathon(t, c, tempDir(t, "marathon"), options{})
	evs, stop := sse(t, m.URL+"/v2/events?event_type=unhealthy_instance_kill_event&event_type=failed_health_check_event")
	defer stop()

	m.must("POST", "/v2/apps", `{"id":"/sick","cmd":"sleep 600","cpus":0.1,"mem":16,
	  "healthChecks":[{"protocol":"HTTP","gracePeriodSeconds":0,"intervalSeconds":1,"timeoutSeconds":1,"maxConsecutiveFailures":2}]}`, 201)
	failed, killed := 0, ""
	timeout := time.After(30 * time.Second)
	for killed == "" {
		select {
		case ev := <-evs:
			var data struct {
				TaskID string `json:"taskId"`
			}
			json.Unmarshal([]byte(ev[1]), &data)
			switch ev[0] {
			case "failed_health_check_event":
				failed++
			case "unhealthy_instance_kill_event":
				killed = data.TaskID
			}
		case <-timeout:
			t.Fatalf("no kill after %d failed checks", failed)
		}
	}
	if failed != 3 {
		t.Errorf("killed after %d failed checks, want maxConsecutiveFailures+1 = 3", failed)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		a := m.app("/sick")
		if len(a.Tasks) != 1 || a.Tasks[0].ID == killed {
			return fmt.Errorf("not replaced yet: %+v", a.Tasks)
		}
		if a.LastTaskFailure == nil || !strings.Contains(a.LastTaskFailure.Message, "health") {
			return fmt.Errorf("lastTaskFailure %+v", a.LastTaskFailure)
		}
		return nil
	})

	r := m.must("POST", "/v2/apps", `{"id":"/ready","cmd":"sleep 2; exec python3 -m http.server $PORT0","cpus":0.1,"mem":32,
	  "portDefinitions":[{"port":0,"name":"http"}],
	  "readinessChecks":[{"name":"r","protocol":"HTTP","path":"/","portName":"http","intervalSeconds":2,"timeoutSeconds":1,"httpStatusCodesForReady":[200]}]}`, 201)
	dep := r.Header.Get("Marathon-Deployment-Id")
	sawWaiting := false
	testenv.Eventually(t, 30*time.Second, func() error {
		var ds []deploymentInfo
		m.must("GET", "/v2/deployments", nil, 200).json(t, &ds)
		for _, d := range ds {
			if d.ID == dep {
				if len(d.CurrentActions) == 1 && strings.Contains(d.CurrentActions[0].Message, "ready") {
					sawWaiting = true
				}
				return fmt.Errorf("deployment running: %+v", d.CurrentActions)
			}
		}
		return nil
	})
	if !sawWaiting {
		t.Log("never saw the deployment waiting for readiness (the task became ready fast)")
	}
	var out struct {
		App struct {
			ReadinessCheckResults []struct {
				Name  string `json:"name"`
				Ready bool   `json:"ready"`
			} `json:"readinessCheckResults"`
		} `json:"app"`
	}
	m.must("GET", "/v2/apps/ready?embed=app.readiness", nil, 200).json(t, &out)
	if rr := out.App.ReadinessCheckResults; len(rr) != 1 || !rr[0].Ready || rr[0].Name != "r" {
		t.Fatalf("readiness results %+v", rr)
	}
}

// COMMAND health checks go to the agent in TaskInfo.health_check; its
// verdict (TaskStatus.healthy) shows in healthCheckResults and the counts.
func TestIntegrationAgentHealthCheck(t *testing.T) {
	c := startCluster(t, 1)
	m := startMarathon(t, c, tempDir(t, "marathon"), options{})
	r := m.must("POST", "/v2/apps", `{"id":"/mh","cmd":"sleep 600","cpus":0.1,"mem":16,
	  "healthChecks":[{"protocol":"COMMAND","command":{"value":"true"},"gracePeriodSeconds":5,"intervalSeconds":1,"delaySeconds":0}]}`, 201)
	m.waitDeployment(r.Header.Get("Marathon-Deployment-Id"), 30*time.Second)
	a := m.app("/mh")
	if a.TasksHealthy != 1 || len(a.Tasks) != 1 || !a.Tasks[0].healthy() {
		t.Fatalf("after deployment: %+v", a)
	}
}
