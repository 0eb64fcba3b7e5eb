package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/marathon/api"
	"github.com/strata-sched/strata/marathon/events"
	"github.com/strata-sched/strata/marathon/state"
)

// TestEventSubscriptions: POST/GET/DELETE /v2/eventSubscriptions answer
// Marathon 1.4's bodies, refuse a missing or invalid callbackUrl, and the
// subscribed URL receives events.
func TestEventSubscriptions(t *testing.T) {
	var mu sync.Mutex
	var got []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev struct {
			EventType string `json:"eventType"`
		}
		json.Unmarshal(b, &ev)
		mu.Lock()
		got = append(got, ev.EventType)
		mu.Unlock()
	}))
	defer rcv.Close()
	st, err := store.OpenEmbedded(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bus := events.NewBus(0, nil)
	cb, err := events.NewCallbacks(events.CallbackConfig{Bus: bus, Store: state.NewRepo(st, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Bus: bus, Leader: fakeLeader{}, Callbacks: cb}))
	defer srv.Close()
	s := &server{t: t, srv: srv}
	cbURL := rcv.URL + "/callback"

	if code, _, body := s.do("GET", "/v2/eventSubscriptions", ""); code != 503 {
		t.Fatalf("before the callbacks run: %d %s", code, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { cb.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { code, _, _ := s.do("GET", "/v2/eventSubscriptions", ""); return code == 200 })

	for _, c := range []struct {
		method, query string
		code          int
		want          string
	}{
		{"POST", "", 400, `{"message":"callbackUrl is required: POST or DELETE /v2/eventSubscriptions?callbackUrl=http://host:port/path"}`},
		{"DELETE", "", 400, `{"message":"callbackUrl is required: POST or DELETE /v2/eventSubscriptions?callbackUrl=http://host:port/path"}`},
		{"POST", "?callbackUrl=localhost:9292/callback", 422, `{"message":"Object is not valid","details":[{"path":"/callbackUrl","errors":["must be an absolute http:// or https:// URL"]}]}`},
		{"GET", "", 200, `{"callbackUrls":[]}`},
	} {
		if code, _, body := s.do(c.method, "/v2/eventSubscriptions"+c.query, ""); code != c.code || body != c.want {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.query, code, body, c.code, c.want)
		}
	}

	var ev map[string]string
	for range 2 { // idempotent
		code, _, body := s.do("POST", "/v2/eventSubscriptions?callbackUrl="+cbURL, "")
		if code != 200 {
			t.Fatalf("subscribe: %d %s", code, body)
		}
		json.Unmarshal([]byte(body), &ev)
		if ev["eventType"] != "subscribe_event" || ev["callbackUrl"] != cbURL || ev["clientIp"] != "127.0.0.1" || ev["timestamp"] == "" {
			t.Fatalf("subscribe answer %s", body)
		}
	}
	if code, _, body := s.do("GET", "/v2/eventSubscriptions", ""); code != 200 || body != `{"callbackUrls":["`+cbURL+`"]}` {
		t.Fatalf("list: %d %s", code, body)
	}
	bus.Publish("deployment_success", map[string]any{"id": "x"})
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 3 && got[2] == "deployment_success"
	})
	code, _, body := s.do("DELETE", "/v2/eventSubscriptions?callbackUrl="+cbURL, "")
	json.Unmarshal([]byte(body), &ev)
	if code != 200 || ev["eventType"] != "unsubscribe_event" || ev["callbackUrl"] != cbURL {
		t.Fatalf("unsubscribe: %d %s", code, body)
	}
	if code, _, body := s.do("GET", "/v2/eventSubscriptions", ""); body != `{"callbackUrls":[]}` {
		t.Fatalf("list after unsubscribe: %d %s", code, body)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
