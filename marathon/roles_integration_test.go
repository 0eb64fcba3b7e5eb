package marathon_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/internal/ci"
	"github.com/strata-sched/strata/internal/testenv"
)

// masterTaskResources returns the running tasks the master knows, with their full
// resources (operator API GET_TASKS).
func masterTaskResources(t *testing.T, c *testenv.Cluster) []mesos.Task {
	t.Helper()
	resp, err := http.Post(c.MasterURL+"/api/v1", "application/json", strings.NewReader(`{"type":"GET_TASKS"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out mesos.OperatorResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.GetTasks == nil {
		t.Fatalf("GET_TASKS: %d %v", resp.StatusCode, err)
	}
	return out.GetTasks.Tasks
}

// frameworkRoles returns the roles the master has for the framework.
func frameworkRoles(t *testing.T, c *testenv.Cluster, id string) []string {
	t.Helper()
	var st struct {
		Frameworks []struct {
			ID    string   `json:"id"`
			Roles []string `json:"roles"`
		} `json:"frameworks"`
	}
	if err := testenv.GetJSON(c.MasterURL+"/master/frameworks", &st); err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Frameworks {
		if f.ID == id {
			return f.Roles
		}
	}
	return nil
}

// TestIntegrationAppRoles runs apps of two roles on one agent whose
// resources are partly reserved for role "dev" (--resources
// "cpus(dev):1;mem(dev):256;..."): Marathon subscribes to "dev" as soon as
// an app uses it (UPDATE_FRAMEWORK), the dev app runs on the reservation,
// the app of the default role never gets the reserved resources (it is
// short of resources while they sit idle), and an invalid role is refused
// with Marathon's 422.
func TestIntegrationAppRoles(t *testing.T) {
	ci.SkipIntegrationIfShort(t, "a real master and agent")
	c := testenv.StartCluster(t, testenv.ClusterOptions{
		AgentResources: "cpus(dev):1;mem(dev):256;cpus:1;mem:512;disk:512",
	})
	m := startMarathon(t, c, tempDir(t, "marathon"), options{})
	fw := m.m.Engine().FrameworkID()
	if got := frameworkRoles(t, c, fw); !slices.Equal(got, []string{"*"}) {
		t.Fatalf("roles before any app: %v", got)
	}

	// 1. A dev app: the framework is subscribed to dev, the task runs on
	// the reservation.
	r := m.must("POST", "/v2/apps", `{"id":"/dev/api","cmd":"sleep 1000","cpus":0.25,"mem":64,"role":"dev","portDefinitions":[]}`, 201)
	var created struct {
		Role string `json:"role"`
	}
	r.json(t, &created)
	if created.Role != "dev" {
		t.Errorf("POST answered role %q", created.Role)
	}
	m.waitDeployment(r.Header.Get("Marathon-Deployment-Id"), 60*time.Second)
	if got := frameworkRoles(t, c, fw); !slices.Equal(got, []string{"*", "dev"}) {
		t.Fatalf("roles with a dev app: %v", got)
	}

	// 2. An app of the default role that wants more than the unreserved
	// resources: 2 of 3 instances fit; the third is refused the dev offers
	// (UnfulfilledRole) although they have room for it.
	r = m.must("POST", "/v2/apps", `{"id":"/web","cmd":"sleep 1000","cpus":0.5,"mem":64,"instances":3,"portDefinitions":[]}`, 201)
	testenv.Eventually(t, 60*time.Second, func() error {
		if a := m.app("/web"); a.TasksRunning != 2 {
			return fmt.Errorf("/web runs %d tasks, want 2 (the unreserved resources)", a.TasksRunning)
		}
		var q struct {
			Queue []struct {
				App struct {
					ID string `json:"id"`
				} `json:"app"`
				Count   int    `json:"count"`
				Role    string `json:"role"`
				Summary struct {
					LaunchAttempt []struct {
						Reason   string `json:"reason"`
						Declined int    `json:"declined"`
					} `json:"rejectSummaryLaunchAttempt"`
				} `json:"processedOffersSummary"`
			} `json:"queue"`
		}
		m.must("GET", "/v2/queue", nil, 200).json(t, &q)
		for _, e := range q.Queue {
			if e.App.ID != "/web" {
				continue
			}
			for _, rc := range e.Summary.LaunchAttempt {
				if rc.Reason == "UnfulfilledRole" && rc.Declined > 0 && e.Count == 1 && e.Role == "*" {
					return nil
				}
			}
			return fmt.Errorf("queue entry %+v", e)
		}
		return fmt.Errorf("/web not queued: %+v", q.Queue)
	})

	// 3. The dev app scales to the whole reservation while the unreserved
	// resources are taken.
	var dr deploymentResult
	m.must("PUT", "/v2/apps/dev/api", `{"instances":4}`, 200).json(t, &dr)
	m.waitDeployment(dr.DeploymentID, 60*time.Second)
	if a := m.app("/dev/api"); a.TasksRunning != 4 {
		t.Fatalf("/dev/api runs %d tasks, want 4", a.TasksRunning)
	}
	if a := m.app("/web"); a.TasksRunning != 2 {
		t.Fatalf("/web runs %d tasks, want 2", a.TasksRunning)
	}

	// What the master says each task holds.
	var devTasks, webTasks int
	for _, tk := range masterTaskResources(t, c) {
		if tk.State != mesos.TaskRunning {
			continue
		}
		dev := strings.HasPrefix(tk.TaskID.Value, "dev_api.")
		if dev {
			devTasks++
		} else {
			webTasks++
		}
		for _, res := range tk.Resources {
			role := ""
			if res.AllocationInfo != nil {
				role = res.AllocationInfo.Role
			}
			switch {
			case dev && (role != "dev" || res.ReservationRole() != "dev"):
				t.Errorf("dev task %s holds %s (allocated to %q)", tk.TaskID.Value, mesos.Resources{res}, role)
			case !dev && (role != "*" || res.IsReserved()):
				t.Errorf("default-role task %s holds %s (allocated to %q)", tk.TaskID.Value, mesos.Resources{res}, role)
			}
		}
	}
	if devTasks != 4 || webTasks != 2 {
		t.Errorf("master runs %d dev and %d default-role tasks, want 4 and 2", devTasks, webTasks)
	}

	// 4. A root app may not use dev: 422, nothing stored.
	bad := m.must("POST", "/v2/apps", `{"id":"/other","cmd":"sleep 1","role":"dev"}`, 422)
	want := `{"message":"Object is not valid","details":[{"path":"/role","errors":["got dev, expected one of: [*]"]}]}`
	if got := string(bytes.TrimSpace(bad.Body)); got != want {
		t.Errorf("422 body %s, want %s", got, want)
	}
	m.must("GET", "/v2/apps/other", nil, 404)

	// 5. Without dev apps the framework leaves the role.
	m.must("DELETE", "/v2/apps/dev/api", nil, 200).json(t, &dr)
	m.waitDeployment(dr.DeploymentID, 60*time.Second)
	testenv.Eventually(t, 30*time.Second, func() error {
		if got := frameworkRoles(t, c, fw); !slices.Equal(got, []string{"*"}) {
			return fmt.Errorf("roles after deleting the dev app: %v", got)
		}
		return nil
	})
	// The freed reservation still does not serve the default role.
	if a := m.app("/web"); a.TasksRunning != 2 {
		t.Errorf("/web runs %d tasks after the dev app left, want 2", a.TasksRunning)
	}
}
