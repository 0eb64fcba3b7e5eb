package events

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// memStore is an in-memory CallbackStore.
type memStore struct {
	mu   sync.Mutex
	urls []string
}

func (m *memStore) EventSubscribers(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.urls), nil
}

func (m *memStore) AddEventSubscriber(_ context.Context, u string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if slices.Contains(m.urls, u) {
		return false, nil
	}
	m.urls = append(m.urls, u)
	slices.Sort(m.urls)
	return true, nil
}

func (m *memStore) RemoveEventSubscriber(_ context.Context, u string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.Index(m.urls, u)
	if i < 0 {
		return false, nil
	}
	m.urls = slices.Delete(m.urls, i, i+1)
	return true, nil
}

// receivers fakes the callback endpoints: each host answers with its
// current behaviour; delivered events are recorded by URL.
type receivers struct {
	mu       sync.Mutex
	behave   map[string]string // host -> "ok", "hang", "500", "500-once"
	got      map[string][]string
	attempts map[string]int
}

func newReceivers() *receivers {
	return &receivers{behave: map[string]string{}, got: map[string][]string{}, attempts: map[string]int{}}
}

func (r *receivers) set(host, behaviour string) {
	r.mu.Lock()
	r.behave[host] = behaviour
	r.mu.Unlock()
}

func (r *receivers) events(u string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got[u])
}

func (r *receivers) Do(req *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(req.Body)
	var ev struct {
		EventType string `json:"eventType"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || req.Header.Get("Content-Type") != "application/json" || req.Method != http.MethodPost {
		return nil, errors.New("not a JSON event POST")
	}
	r.mu.Lock()
	b := r.behave[req.URL.Host]
	r.attempts[req.URL.Host]++
	if b == "500-once" {
		r.behave[req.URL.Host] = "ok"
		b = "500"
	}
	if b == "ok" {
		r.got[req.URL.String()] = append(r.got[req.URL.String()], ev.EventType)
	}
	r.mu.Unlock()
	switch b {
	case "ok":
		return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(strings.NewReader(""))}, nil
	case "hang":
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: 500, Status: "500 Internal Server Error", Body: io.NopCloser(strings.NewReader("boom"))}, nil
}

type callbackRig struct {
	bus    *Bus
	store  *memStore
	rcv    *receivers
	cb     *Callbacks
	cancel context.CancelFunc
	done   chan struct{}
}

func startCallbacks(t *testing.T, bus *Bus, store *memStore, rcv *receivers) *callbackRig {
	t.Helper()
	cb, err := NewCallbacks(CallbackConfig{Bus: bus, Store: store, Client: rcv})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &callbackRig{bus: bus, store: store, rcv: rcv, cb: cb, cancel: cancel, done: make(chan struct{})}
	go func() { cb.Run(ctx); close(r.done) }()
	synctest.Wait()
	return r
}

func (r *callbackRig) stop() {
	r.cancel()
	<-r.done
}

// TestCallbackDeadSubscriberDoesNotSlowOthers: a callback that hangs
// neither delays the bus nor another callback; after its tries fail it is
// paused and the events of the pause are dropped; when it answers again
// it gets events again.
func TestCallbackDeadSubscriberDoesNotSlowOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const good, dead = "http://good/event", "http://dead/event"
		rcv := newReceivers()
		rcv.set("good", "ok")
		rcv.set("dead", "hang")
		r := startCallbacks(t, NewBus(0, nil), &memStore{urls: []string{dead, good}}, rcv)
		defer r.stop()

		start := time.Now()
		for _, typ := range []string{"a", "b", "c"} {
			r.bus.Publish(typ, nil)
		}
		synctest.Wait()
		if got := rcv.events(good); !reflect.DeepEqual(got, []string{"a", "b", "c"}) || time.Since(start) != 0 {
			t.Fatalf("good callback got %v after %v while the other hangs", got, time.Since(start))
		}

		// 3 tries of 10 s with 0.5 s and 1 s between them: the first event
		// fails after 31.5 s; b and c, queued meanwhile, fall in the pause.
		time.Sleep(40 * time.Second)
		synctest.Wait()
		st := r.cb.Stats()
		if st.Failed != 3 || st.Skipped != 2 || st.Delivered != 3 || rcv.attempts["dead"] != 3 {
			t.Fatalf("stats %+v, attempts on the dead callback %d", st, rcv.attempts["dead"])
		}

		rcv.set("dead", "ok")
		r.bus.Publish("d", nil)
		synctest.Wait()
		if got := rcv.events(dead); !reflect.DeepEqual(got, []string{"d"}) {
			t.Fatalf("recovered callback got %v", got)
		}
		if got := rcv.events(good); len(got) != 4 {
			t.Fatalf("good callback got %v", got)
		}
	})
}

// TestCallbackRetry: a failed POST is retried and the event arrives once.
func TestCallbackRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rcv := newReceivers()
		rcv.set("flaky", "500-once")
		r := startCallbacks(t, NewBus(0, nil), &memStore{urls: []string{"http://flaky/e"}}, rcv)
		defer r.stop()
		r.bus.Publish("x", nil)
		synctest.Wait()
		if got := rcv.events("http://flaky/e"); len(got) != 0 {
			t.Fatalf("delivered before the retry: %v", got)
		}
		time.Sleep(DefaultCallbackRetryDelay)
		synctest.Wait()
		if got := rcv.events("http://flaky/e"); !reflect.DeepEqual(got, []string{"x"}) {
			t.Fatalf("after the retry: %v", got)
		}
		if st := r.cb.Stats(); st.Failed != 1 || st.Delivered != 1 || st.Skipped != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// TestCallbackOverflow: a callback whose POST hangs while more events
// than the bus queue arrive loses them, and gets events again afterwards.
func TestCallbackOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rcv := newReceivers()
		rcv.set("slow", "hang")
		r := startCallbacks(t, NewBus(2, nil), &memStore{urls: []string{"http://slow/e"}}, rcv)
		defer r.stop()
		for range 5 {
			r.bus.Publish("e", nil) // never blocks
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := r.cb.Stats(); st.Overflows != 1 {
			t.Fatalf("stats %+v", st)
		}
		rcv.set("slow", "ok")
		time.Sleep(DefaultCallbackMaxPause)
		r.bus.Publish("after", nil)
		synctest.Wait()
		if got := rcv.events("http://slow/e"); !reflect.DeepEqual(got, []string{"after"}) {
			t.Fatalf("after the overflow: %v", got)
		}
	})
}

// TestCallbackSubscriptions: subscribing is validated, idempotent,
// persisted and answered with subscribe_event; unsubscribing stops
// delivery; a new Callbacks on the same store (a restart or a new leader)
// delivers to what was registered.
func TestCallbackSubscriptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := NewBus(0, nil)
		store := &memStore{}
		rcv := newReceivers()
		rcv.set("a", "ok")
		ctx := context.Background()
		cb, err := NewCallbacks(CallbackConfig{Bus: bus, Store: store, Client: rcv})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cb.Subscribe(ctx, "10.0.0.1", "http://a/e"); !errors.Is(err, ErrCallbacksNotRunning) {
			t.Fatalf("before Run: %v", err)
		}
		r := startCallbacks(t, bus, store, rcv)
		for _, bad := range []string{"", "a/e", "ftp://a/e", "http://", "http://%zz"} {
			var inv *InvalidCallbackURLError
			if _, err := r.cb.Subscribe(ctx, "10.0.0.1", bad); !errors.As(err, &inv) {
				t.Errorf("Subscribe(%q): %v", bad, err)
			}
		}
		for range 2 {
			ev, err := r.cb.Subscribe(ctx, "10.0.0.1", "http://a/e")
			if err != nil {
				t.Fatal(err)
			}
			if ev["eventType"] != "subscribe_event" || ev["clientIp"] != "10.0.0.1" || ev["callbackUrl"] != "http://a/e" || ev["timestamp"] == "" {
				t.Fatalf("subscribe answer %v", ev)
			}
		}
		if urls, _ := r.cb.URLs(ctx); !reflect.DeepEqual(urls, []string{"http://a/e"}) {
			t.Fatalf("urls %v", urls)
		}
		synctest.Wait()
		if got := rcv.events("http://a/e"); !reflect.DeepEqual(got, []string{"subscribe_event", "subscribe_event"}) {
			t.Fatalf("the subscriber got %v", got)
		}
		r.stop()

		r2 := startCallbacks(t, bus, store, rcv)
		if got := r2.cb.Subscribed(); !reflect.DeepEqual(got, []string{"http://a/e"}) {
			t.Fatalf("after restart delivering to %v", got)
		}
		bus.Publish("after_restart", nil)
		synctest.Wait()
		ev, err := r2.cb.Unsubscribe(ctx, "10.0.0.2", "http://a/e")
		if err != nil || ev["eventType"] != "unsubscribe_event" || ev["callbackUrl"] != "http://a/e" {
			t.Fatalf("unsubscribe %v %v", ev, err)
		}
		bus.Publish("after_unsubscribe", nil)
		synctest.Wait()
		if got := rcv.events("http://a/e"); !reflect.DeepEqual(got[2:], []string{"after_restart"}) {
			t.Fatalf("events %v", got)
		}
		if urls, _ := r2.cb.URLs(ctx); len(urls) != 0 || len(r2.cb.Subscribed()) != 0 {
			t.Fatalf("after unsubscribe: %v %v", urls, r2.cb.Subscribed())
		}
		if _, err := r2.cb.Unsubscribe(ctx, "10.0.0.2", "http://a/e"); err != nil {
			t.Fatalf("unsubscribing twice: %v", err)
		}
		r2.stop()
	})
}
