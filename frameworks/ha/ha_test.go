package ha

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/store"
)

// memElector is an in-memory store.Elector shared by several nodes.
type memElector struct {
	mu      sync.Mutex
	leader  *memLeadership
	waiters []chan struct{}
}

type memLeadership struct {
	e    *memElector
	info []byte
	lost chan struct{}
	once sync.Once
}

func (l *memLeadership) Lost() <-chan struct{} { return l.lost }
func (l *memLeadership) Resign(context.Context) error {
	l.once.Do(func() {
		close(l.lost)
		l.e.mu.Lock()
		if l.e.leader == l {
			l.e.leader = nil
		}
		for _, w := range l.e.waiters {
			close(w)
		}
		l.e.waiters = nil
		l.e.mu.Unlock()
	})
	return nil
}

func (e *memElector) Campaign(ctx context.Context, info []byte) (store.Leadership, error) {
	for {
		e.mu.Lock()
		if e.leader == nil {
			e.leader = &memLeadership{e: e, info: info, lost: make(chan struct{})}
			l := e.leader
			e.mu.Unlock()
			return l, nil
		}
		w := make(chan struct{})
		e.waiters = append(e.waiters, w)
		e.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (e *memElector) Leader(context.Context) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader == nil {
		return nil, store.ErrNotFound
	}
	return e.leader.info, nil
}

// instance is a Node serving an API that says who answered.
type instance struct {
	node *Node
	srv  *httptest.Server
	led  chan string
}

func startInstance(t *testing.T, el store.Elector, name string) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{Elector: el, Self: ln.Addr().String(), ID: name, LeaderHeader: "X-Marathon-Leader",
		HeaderValue: func(a string) string { return "http://" + a }})
	if err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
	srv := httptest.NewUnstartedServer(n.Forward(func(r *http.Request) bool { return r.URL.Path == "/v2/events" })(api))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	inst := &instance{node: n, srv: srv, led: make(chan string, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		n.Run(ctx, func(ctx context.Context) error {
			inst.led <- "start"
			<-ctx.Done()
			inst.led <- "stop"
			return nil
		})
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return inst
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestOneLeaderFollowersProxyAndRedirect(t *testing.T) {
	el := &memElector{}
	a := startInstance(t, el, "a")
	if got := <-a.led; got != "start" {
		t.Fatal(got)
	}
	b := startInstance(t, el, "b")
	time.Sleep(50 * time.Millisecond)
	if b.node.IsLeader() {
		t.Fatal("two leaders")
	}
	// The follower proxies API calls to the leader and names it.
	code, body, h := get(t, b.srv.URL+"/v2/apps")
	if code != 200 || body != "a" || h.Get("X-Marathon-Leader") != "http://"+a.node.cfg.Self {
		t.Fatalf("follower answered %d %q leader=%q", code, body, h.Get("X-Marathon-Leader"))
	}
	// Event streams are redirected instead.
	code, _, h = get(t, b.srv.URL+"/v2/events?x=1")
	if code != http.StatusTemporaryRedirect || h.Get("Location") != "http://"+a.node.cfg.Self+"/v2/events?x=1" {
		t.Fatalf("redirect: %d %q", code, h.Get("Location"))
	}
	// The leader abdicates: its work stops, the other instance takes over.
	if err := a.node.Abdicate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := <-a.led; got != "stop" {
		t.Fatalf("leader work not stopped: %s", got)
	}
	select {
	case got := <-b.led:
		if got != "start" {
			t.Fatal(got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b never took over")
	}
	if code, body, _ := get(t, a.srv.URL+"/v2/apps"); code != 200 || body != "b" {
		t.Fatalf("after failover a answered %d %q", code, body)
	}
}

func TestNoLeaderIs503(t *testing.T) {
	el := &memElector{}
	// Occupy leadership with a foreign holder whose info is unusable.
	l, _ := el.Campaign(context.Background(), []byte(`{}`))
	defer l.Resign(context.Background())
	b := startInstance(t, el, "b")
	if code, _, _ := get(t, b.srv.URL+"/v2/apps"); code != http.StatusServiceUnavailable {
		t.Fatalf("want 503 without a usable leader, got %d", code)
	}
}

func TestIDStore(t *testing.T) {
	st, err := store.OpenEmbedded(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := IDStore{Store: st, Key: "marathon/framework_id"}
	ctx := context.Background()
	if id, err := s.Load(ctx); err != nil || id != "" {
		t.Fatalf("empty load: %q %v", id, err)
	}
	if err := s.Save(ctx, "fw-1"); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.Load(ctx); id != "fw-1" {
		t.Fatalf("load: %q", id)
	}
	if err := s.Save(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.Load(ctx); id != "" {
		t.Fatalf("after forget: %q", id)
	}
}

func TestEmbeddedElectorAlwaysLeads(t *testing.T) {
	st, err := store.OpenEmbedded(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := startInstance(t, st.Elector(), "solo")
	if got := <-a.led; got != "start" {
		t.Fatal(got)
	}
	if code, body, _ := get(t, a.srv.URL+"/v2/info"); code != 200 || body != "solo" {
		t.Fatalf("%d %q", code, body)
	}
}
