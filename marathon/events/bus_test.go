package events

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBusFilterAndSlowConsumer(t *testing.T) {
	b := NewBus(2, func() time.Time { return time.Unix(0, 0) })
	all := b.Subscribe(nil)
	only := b.Subscribe([]string{"b"})
	b.Publish("a", map[string]any{"x": 1})
	b.Publish("b", nil)
	if ev := <-only.C; ev.Type != "b" {
		t.Fatalf("filtered subscriber got %s", ev.Type)
	}
	var m map[string]any
	ev := <-all.C
	if err := json.Unmarshal(ev.Data, &m); err != nil || m["eventType"] != "a" || m["timestamp"] != "1970-01-01T00:00:00.000Z" || m["x"] != 1.0 {
		t.Fatalf("event %s %v", ev.Data, err)
	}
	// all holds one event; two more overflow its queue of 2.
	b.Publish("c", nil)
	b.Publish("d", nil)
	select {
	case <-all.Gone:
	default:
		t.Fatal("slow consumer not dropped")
	}
	if _, dropped := b.Stats(); dropped != 1 {
		t.Fatalf("dropped %d", dropped)
	}
	if b.Subscribers() != 1 {
		t.Fatalf("subscribers %d", b.Subscribers())
	}
}

func TestSSE(t *testing.T) {
	b := NewBus(0, nil)
	srv := httptest.NewServer(b.Handler(20*time.Millisecond, nil))
	defer srv.Close()
	if resp, _ := http.Get(srv.URL); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("without Accept: %d", resp.StatusCode)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"?event_type=x", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for b.Subscribers() == 0 {
		time.Sleep(time.Millisecond)
	}
	b.Publish("y", nil)
	b.Publish("x", map[string]any{"k": "v"})
	var lines []string
	heartbeat := false
	for sc.Scan() && len(lines) < 2 {
		switch l := sc.Text(); {
		case l == ":":
			heartbeat = true
		case l != "":
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 || lines[0] != "event: x" || !strings.HasPrefix(lines[1], `data: {"eventType":"x","k":"v"`) {
		t.Fatalf("stream %q", lines)
	}
	for !heartbeat && sc.Scan() {
		heartbeat = sc.Text() == ":"
	}
	if !heartbeat {
		t.Fatal("no heartbeat comment")
	}
}
