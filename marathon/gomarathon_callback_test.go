package marathon_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gm "github.com/gambol99/go-marathon"

	"github.com/strata-sched/strata/internal/testenv"
)

// go-marathon v0.7.1 with its default events transport, HTTP callbacks:
// AddEventsListener registers with POST /v2/eventSubscriptions and
// receives deployment and status events for an app's create and delete.
// The subscription is in the store: a restarted Marathon keeps delivering
// to it.
func TestGoMarathonCallbackEvents(t *testing.T) {
	c := startCluster(t, 1)
	dir := tempDir(t, "marathon")
	m := startMarathon(t, c, dir, options{})

	cfg := gm.NewDefaultConfig()
	if cfg.EventsTransport != gm.EventsTransportCallback {
		t.Fatalf("go-marathon's default transport is %d, not callbacks", cfg.EventsTransport)
	}
	cfg.URL = m.URL
	cfg.EventsInterface = "lo"
	cfg.EventsPort = testenv.FreePort(t)
	cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	cfg.PollingWaitTime = 100 * time.Millisecond
	client, err := gm.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	events, err := client.AddEventsListener(gm.EventIDApplications | gm.EventIDDeploymentSuccess | gm.EventIDAPIRequest)
	if err != nil {
		t.Fatal(err)
	}
	subs, err := client.Subscriptions()
	if err != nil || len(subs.CallbackURLs) != 1 || !strings.HasSuffix(subs.CallbackURLs[0], fmt.Sprintf(":%d/event", cfg.EventsPort)) {
		t.Fatalf("subscriptions %+v %v, want the listener on port %d", subs, err, cfg.EventsPort)
	}
	callbackURL := subs.CallbackURLs[0]
	if info, err := client.Info(); err != nil || info.EventSubscriber.Type != "http_callback" || !slices.Equal(info.EventSubscriber.HTTPEndpoints, []string{callbackURL}) {
		t.Fatalf("info event_subscriber %+v %v", info, err)
	}

	var a gm.Application
	a.Name("/cb/sleeper").Command("sleep 600").CPU(0.1).Memory(16).Count(1)
	created, err := client.CreateApplication(&a)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.WaitOnDeployment(created.Deployments[0]["id"], 60*time.Second); err != nil {
		t.Fatal(err)
	}
	dep, err := client.DeleteApplication("/cb/sleeper", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.WaitOnDeployment(dep.DeploymentID, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	want := []string{"api_post_event", "running", "killed", "deployment_success", "app_terminated_event"}
	timeout := time.After(20 * time.Second)
	for !allOf(seen, want) {
		select {
		case ev := <-events:
			switch e := ev.Event.(type) {
			case *gm.EventAPIRequest:
				seen["api_post_event"] = seen["api_post_event"] || (e.AppDefinition != nil && e.AppDefinition.ID == "/cb/sleeper")
			case *gm.EventStatusUpdate:
				if e.AppID == "/cb/sleeper" && e.TaskID != "" {
					seen["running"] = seen["running"] || e.TaskStatus == "TASK_RUNNING"
					seen["killed"] = seen["killed"] || e.TaskStatus == "TASK_KILLED"
				}
			case *gm.EventDeploymentSuccess:
				seen["deployment_success"] = true
			case *gm.EventAppTerminated:
				seen["app_terminated_event"] = seen["app_terminated_event"] || e.AppID == "/cb/sleeper"
			}
		case <-timeout:
			t.Fatalf("callback events seen: %v, want %v", seen, want)
		}
	}

	// A restart on the same store keeps the subscription and delivers.
	m.stop()
	m2 := startMarathon(t, c, dir, options{})
	var list struct {
		CallbackURLs []string `json:"callbackUrls"`
	}
	m2.must("GET", "/v2/eventSubscriptions", nil, 200).json(t, &list)
	if !slices.Equal(list.CallbackURLs, []string{callbackURL}) {
		t.Fatalf("subscriptions after restart %v", list.CallbackURLs)
	}
	r := m2.must("POST", "/v2/apps", `{"id":"/cb/second","cmd":"sleep 600","cpus":0.1,"mem":16}`, 201)
	m2.waitDeployment(r.Header.Get("Marathon-Deployment-Id"), 60*time.Second)
	timeout = time.After(20 * time.Second)
	for got := false; !got; {
		select {
		case ev := <-events:
			if e, ok := ev.Event.(*gm.EventStatusUpdate); ok && e.AppID == "/cb/second" && e.TaskStatus == "TASK_RUNNING" {
				got = true
			}
		case <-timeout:
			t.Fatal("no status event from the restarted Marathon")
		}
	}
	var metrics struct {
		Counters map[string]struct{ Count uint64 } `json:"counters"`
	}
	m2.must("GET", "/metrics", nil, 200).json(t, &metrics)
	if metrics.Counters["marathon.http.event-callbacks.delivered.counter"].Count == 0 {
		t.Errorf("callback deliveries not counted in /metrics: %+v", metrics.Counters)
	}
	m2.must("DELETE", "/v2/eventSubscriptions?callbackUrl="+callbackURL, nil, 200)
	m2.must("GET", "/v2/eventSubscriptions", nil, 200).json(t, &list)
	if len(list.CallbackURLs) != 0 {
		t.Fatalf("subscriptions after DELETE %v", list.CallbackURLs)
	}
}

func allOf(seen map[string]bool, keys []string) bool {
	for _, k := range keys {
		if !seen[k] {
			return false
		}
	}
	return true
}
