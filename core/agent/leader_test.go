package agent

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// testLeader stands for the leading master as a ZooKeeper follower knows
// it: DetectMaster and MasterChanged read it, the test changes it.
type testLeader struct {
	mu      sync.Mutex
	addr    string
	changed chan struct{}
}

func newTestLeader(addr string) *testLeader {
	return &testLeader{addr: addr, changed: make(chan struct{})}
}

func (l *testLeader) set(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addr = addr
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *testLeader) detect(context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addr == "" {
		return "", errors.New("no leader")
	}
	return l.addr, nil
}

func (l *testLeader) watch() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// flakyMaster answers the first n REGISTER calls with status (and
// Retry-After when set), recording when each came, then serves as next.
type flakyMaster struct {
	srv        *httptest.Server
	status     int
	retryAfter string

	mu       sync.Mutex
	n        int
	attempts []time.Time
}

func newFlakyMaster(t *testing.T, n, status int, retryAfter string, next http.Handler) *flakyMaster {
	fm := &flakyMaster{n: n, status: status, retryAfter: retryAfter}
	fm.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fm.mu.Lock()
		fm.attempts = append(fm.attempts, time.Now())
		fail := len(fm.attempts) <= fm.n
		fm.mu.Unlock()
		if fail || next == nil {
			if fm.retryAfter != "" {
				w.Header().Set("Retry-After", fm.retryAfter)
			}
			http.Error(w, "not now", fm.status)
			return
		}
		next.ServeHTTP(w, r)
	}))
	t.Cleanup(fm.srv.Close)
	return fm
}

func (fm *flakyMaster) addr() string { return fm.srv.Listener.Addr().String() }

func (fm *flakyMaster) times() []time.Time {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return append([]time.Time(nil), fm.attempts...)
}

// maxRand makes every backoff wait as long as its bound allows.
func maxRand(n int64) int64 { return n - 1 }

// TestNewLeaderRestartsRegistrationBackoff: an agent whose registration
// attempts failed long enough for its backoff to reach seconds registers
// with a newly detected leader after at most the initial backoff, as a
// Mesos agent does, not after the grown one.
func TestNewLeaderRestartsRegistrationBackoff(t *testing.T) {
	dead := newFlakyMaster(t, 1<<30, http.StatusInternalServerError, "", nil)
	leader := newTestLeader(dead.addr())
	fm := newFakeMaster(t)
	startAgent(t, fm, t.TempDir(), func(c *Config) {
		c.DetectMaster, c.MasterChanged = leader.detect, leader.watch
		c.RegistrationBackoffFactor = 100 * time.Millisecond
		c.randN = maxRand
	})
	// Waits 0.1, 0.2, 0.4, 0.8, 1.6 s: after the fifth failure the next
	// wait is 3.2 s.
	deadline := time.Now().Add(20 * time.Second)
	for len(dead.times()) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d registration attempts on the failing master", len(dead.times()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	leader.set(fm.addr())
	fm.waitFor("REGISTER at the new leader", 1500*time.Millisecond, func() bool { return len(fm.registers) > 0 })
}

// TestRegistrationHonoursRetryAfter: a 503 with Retry-After (a master just
// elected and still recovering its registry) is retried after that delay,
// neither sooner nor after a doubled backoff.
func TestRegistrationHonoursRetryAfter(t *testing.T) {
	fm := newFakeMaster(t)
	recovering := newFlakyMaster(t, 3, http.StatusServiceUnavailable, "1", http.HandlerFunc(fm.serve))
	startAgent(t, fm, t.TempDir(), func(c *Config) {
		c.Master = recovering.addr()
		c.RegistrationBackoffFactor = 100 * time.Millisecond
		c.randN = maxRand
	})
	fm.waitFor("REGISTER after three 503s", 15*time.Second, func() bool { return len(fm.registers) > 0 })
	at := recovering.times()
	if len(at) != 4 {
		t.Fatalf("%d REGISTER attempts, want 4 (three answered 503)", len(at))
	}
	for i := 1; i < len(at); i++ {
		// Retry-After 1 s plus at most a quarter of it as jitter.
		if gap := at[i].Sub(at[i-1]); gap < time.Second || gap > 1600*time.Millisecond {
			t.Errorf("attempt %d came %v after a 503 with Retry-After: 1; want 1-1.25 s", i+1, gap)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"1", time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{"3600", registrationRetryMax, true},
		{now.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseRetryAfter(tc.header, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDeadAfter(t *testing.T) {
	cases := []struct {
		reg  mesos.AgentRegistered
		want time.Duration
	}{
		{mesos.AgentRegistered{PingIntervalSeconds: 1, TotalPingTimeoutSeconds: 3}, 3 * time.Second},
		{mesos.AgentRegistered{PingIntervalSeconds: 2}, 10 * time.Second},
		{mesos.AgentRegistered{}, 75 * time.Second},
	}
	for _, tc := range cases {
		if got := deadAfter(&tc.reg); got != tc.want {
			t.Errorf("deadAfter(%+v) = %v, want %v", tc.reg, got, tc.want)
		}
	}
}
