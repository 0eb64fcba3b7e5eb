package marathon_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/strata-sched/strata/internal/testenv"
)

// Two Marathons share ZooKeeper: one leads; the other proxies the API to
// it (naming it in X-Marathon-Leader), redirects /v2/events to it, and
// takes over with the same state when it stops, without relaunching tasks.
func TestIntegrationHA(t *testing.T) {
	c := startCluster(t, 1)
	zk := testenv.StartZooKeeper(t, 1)
	url := zk.URL("", "/strata-marathon")
	m1 := startMarathon(t, c, "", options{zk: url})
	m2 := startMarathon(t, c, "", options{zk: url, noWait: true})
	if m2.m.IsLeader() {
		t.Fatal("two leaders")
	}
	leaderHeader := "http://" + m1.URL[len("http://"):]

	r := m2.must("POST", "/v2/apps", `{"id":"/ha","cmd":"sleep 600","cpus":0.1,"mem":16,"instances":2}`, 201)
	if got := r.Header.Get("X-Marathon-Leader"); got != leaderHeader {
		t.Errorf("X-Marathon-Leader %q, want %q", got, leaderHeader)
	}
	m1.waitDeployment(r.Header.Get("Marathon-Deployment-Id"), 30*time.Second)
	var leader struct{ Leader string }
	m2.must("GET", "/v2/leader", nil, 200).json(t, &leader)
	if "http://"+leader.Leader != leaderHeader {
		t.Errorf("/v2/leader on the standby: %q", leader.Leader)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", m2.URL+"/v2/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != m1.URL+"/v2/events" {
		t.Errorf("events on the standby: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	before := m2.app("/ha")
	if len(before.Tasks) != 2 {
		t.Fatalf("tasks via the standby: %+v", before.Tasks)
	}

	m1.stop()
	m2.waitLeading()
	testenv.Eventually(t, 30*time.Second, func() error {
		a := m2.app("/ha")
		if a.TasksRunning != 2 {
			return fmt.Errorf("after failover: %+v", a.Tasks)
		}
		for i, tk := range a.Tasks {
			if tk.ID != before.Tasks[i].ID {
				return fmt.Errorf("task %s replaced by %s", before.Tasks[i].ID, tk.ID)
			}
		}
		return nil
	})
	if n := len(masterTasks(t, c)); n != 2 {
		t.Errorf("master has %d tasks, want 2", n)
	}
}
