package simagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// Config configures a Pool. Zero values take the defaults named per field.
type Config struct {
	// Master is the master's "host:port" (or http://host:port), or
	// "zk://host:2181,.../path" to follow the leading master in ZooKeeper.
	// Required.
	Master string
	// Count is the number of agents. Required.
	Count int
	// Resources is every agent's total. Required.
	Resources mesos.Resources
	// Hostname prefixes the agents' hostnames: <Hostname>-00042 (default "sim").
	Hostname string
	// FirstIndex numbers the first agent (default 0), so that pools in
	// several processes can use distinct hostnames.
	FirstIndex int
	// Port is reported in every AgentInfo (default 5051; nothing listens).
	Port int
	// RegistrationBackoffFactor: an agent waits a random time in
	// [0, factor] before it registers, after its connection ended and after
	// a new leader was detected; the bound doubles on every failed attempt
	// up to MaxBackoff, except after a 503 with Retry-After, which is
	// retried after that delay, as on a real agent (default 1s).
	RegistrationBackoffFactor time.Duration
	// MaxBackoff caps the registration backoff (default 1 min).
	MaxBackoff time.Duration
	// UpdateRetryInterval: an unacknowledged status update is sent again
	// after this long (default 10s, Mesos' minimum retry interval).
	UpdateRetryInterval time.Duration
	// Workers is the number of concurrent calls (STATUS_UPDATE, PONG, ...)
	// to the master, shared by all agents (default 32).
	Workers int
	// MaxRegistering bounds the registrations in flight at once (dial to
	// REGISTERED) across the pool (default 1024).
	MaxRegistering int
	// Version is reported in REGISTER (default "0.1.0-sim").
	Version string
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

func (c *Config) validate() error {
	switch {
	case c.Master == "":
		return errors.New("simagent: Config.Master is required")
	case c.Count < 1:
		return fmt.Errorf("simagent: Config.Count %d: need at least one agent", c.Count)
	case len(c.Resources) == 0:
		return errors.New("simagent: Config.Resources is required")
	}
	if err := c.Resources.Validate(); err != nil {
		return fmt.Errorf("simagent: Config.Resources: %w", err)
	}
	if c.Hostname == "" {
		c.Hostname = "sim"
	}
	if c.Port == 0 {
		c.Port = 5051
	}
	if c.RegistrationBackoffFactor < 0 || c.MaxBackoff < 0 || c.UpdateRetryInterval < 0 || c.Workers < 0 || c.MaxRegistering < 0 {
		return errors.New("simagent: durations and sizes must not be negative")
	}
	if c.RegistrationBackoffFactor == 0 {
		c.RegistrationBackoffFactor = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = time.Minute
	}
	if c.UpdateRetryInterval == 0 {
		c.UpdateRetryInterval = 10 * time.Second
	}
	if c.Workers == 0 {
		c.Workers = 32
	}
	if c.MaxRegistering == 0 {
		c.MaxRegistering = 1024
	}
	if c.Version == "" {
		c.Version = "0.1.0-sim"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if strings.HasPrefix(c.Master, "zk://") {
		if _, err := store.ParseZKURL(c.Master); err != nil {
			return fmt.Errorf("simagent: Config.Master: %w", err)
		}
	}
	return nil
}

// Pool is a set of simulated agents. Create it with New, run it with Run.
type Pool struct {
	cfg    Config
	log    *slog.Logger
	agents []*simAgent
	leader *leaderAddr
	calls  chan outCall
	client *http.Client
	regSem chan struct{}

	registrations   atomic.Int64
	reregistrations atomic.Int64
	launched        atomic.Int64
	killed          atomic.Int64
	duplicates      atomic.Int64
	updatesSent     atomic.Int64
	callErrors      atomic.Int64
	refused         atomic.Int64
}

// New validates cfg and builds the agents; nothing runs until Run.
func New(cfg Config) (*Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.Workers * 2,
		MaxIdleConnsPerHost: cfg.Workers,
		MaxConnsPerHost:     cfg.Workers,
		IdleConnTimeout:     90 * time.Second,
	}
	p := &Pool{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "simagent"),
		leader: newLeaderAddr(),
		calls:  make(chan outCall, 1<<16),
		client: &http.Client{Transport: tr, Timeout: 60 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		regSem: make(chan struct{}, cfg.MaxRegistering),
	}
	res := cfg.Resources.Normalize()
	p.agents = make([]*simAgent, cfg.Count)
	for i := range p.agents {
		p.agents[i] = &simAgent{
			pool:      p,
			hostname:  fmt.Sprintf("%s-%05d", cfg.Hostname, cfg.FirstIndex+i),
			resources: res,
			tasks:     map[taskKey]*simTask{},
		}
	}
	return p, nil
}

// Run starts every agent and serves them until ctx ends. It returns an
// error only if the master cannot be followed (a bad zk:// URL or an
// unreachable ZooKeeper at start).
func (p *Pool) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	if strings.HasPrefix(p.cfg.Master, "zk://") {
		octx, ocancel := context.WithTimeout(ctx, 30*time.Second)
		zk, err := store.OpenZK(octx, p.cfg.Master, store.ZKOptions{}, p.log)
		ocancel()
		if err != nil {
			return fmt.Errorf("simagent: following %s: %w", p.cfg.Master, err)
		}
		defer zk.Close()
		wg.Go(func() {
			for b := range zk.WatchLeader(ctx, "") {
				if b == nil {
					p.leader.set("")
					continue
				}
				info, err := mesos.ParseMasterInfo(b)
				if err != nil {
					p.log.Warn("bad leader info in ZooKeeper", "err", err)
					continue
				}
				p.log.Info("leading master", "id", info.ID, "addr", info.HostPort())
				p.leader.set(info.HostPort())
			}
		})
	} else {
		p.leader.set(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(p.cfg.Master, "http://"), "//"), "/"))
	}
	for range p.cfg.Workers {
		wg.Go(func() { p.worker(ctx) })
	}
	wg.Go(func() { p.retryUpdates(ctx) })
	for _, a := range p.agents {
		wg.Go(func() { a.run(ctx) })
	}
	<-ctx.Done()
	p.client.CloseIdleConnections()
	return nil
}

// Stats counts what the pool has done so far.
type Stats struct {
	Agents          int   // agents in the pool
	Connected       int   // agents with a live event stream
	Registrations   int64 // first registrations (new agent IDs)
	Reregistrations int64
	Tasks           int   // tasks the agents hold, terminal ones included until acknowledged
	RunningTasks    int   // tasks in TASK_RUNNING
	PendingUpdates  int   // status updates not yet acknowledged
	Launched        int64 // RUN_TASK (tasks of RUN_TASK_GROUP included)
	Killed          int64 // tasks killed (KILL_TASK, SHUTDOWN_*)
	Duplicates      int64 // RUN_TASK for a task the agent already had
	UpdatesSent     int64 // STATUS_UPDATE calls posted, retries included
	CallErrors      int64 // calls the master did not accept
	Refused         int64 // agents the master refused (they stopped)
}

// Stats returns the pool's counters and a census of its agents.
func (p *Pool) Stats() Stats {
	s := Stats{
		Agents: len(p.agents), Registrations: p.registrations.Load(), Reregistrations: p.reregistrations.Load(),
		Launched: p.launched.Load(), Killed: p.killed.Load(), Duplicates: p.duplicates.Load(),
		UpdatesSent: p.updatesSent.Load(), CallErrors: p.callErrors.Load(), Refused: p.refused.Load(),
	}
	for _, a := range p.agents {
		a.mu.Lock()
		if a.conn != nil {
			s.Connected++
		}
		s.Tasks += len(a.tasks)
		for _, t := range a.tasks {
			if t.state == mesos.TaskRunning {
				s.RunningTasks++
			}
			s.PendingUpdates += len(t.updates)
		}
		a.mu.Unlock()
	}
	return s
}

// Registered reports how many agents are connected through a registration
// answered by the master with the given ID, and when the last of them got
// its REGISTERED event.
func (p *Pool) Registered(masterID string) (n int, last time.Time) {
	for _, a := range p.agents {
		a.mu.Lock()
		if a.conn != nil && a.conn.masterID == masterID {
			n++
			if a.registeredAt.After(last) {
				last = a.registeredAt
			}
		}
		a.mu.Unlock()
	}
	return n, last
}

// AgentState is one agent as the pool sees it.
type AgentState struct {
	ID        string // empty until the first registration
	Hostname  string
	Connected bool
	MasterID  string // the master that answered the current registration
	Tasks     []TaskState
}

// TaskState is one task an agent holds.
type TaskState struct {
	FrameworkID string
	TaskID      string
	State       mesos.TaskState
}

// Agents returns every agent's state.
func (p *Pool) Agents() []AgentState {
	out := make([]AgentState, 0, len(p.agents))
	for _, a := range p.agents {
		a.mu.Lock()
		s := AgentState{ID: a.id, Hostname: a.hostname, Connected: a.conn != nil}
		if a.conn != nil {
			s.MasterID = a.conn.masterID
		}
		for k, t := range a.tasks {
			s.Tasks = append(s.Tasks, TaskState{FrameworkID: k.fw, TaskID: k.task, State: t.state})
		}
		a.mu.Unlock()
		out = append(out, s)
	}
	return out
}

// leaderAddr is the master the agents register with; changed is closed
// (and replaced) whenever it changes, waking every waiting agent at once.
type leaderAddr struct {
	mu      sync.Mutex
	addr    string
	changed chan struct{}
}

func newLeaderAddr() *leaderAddr { return &leaderAddr{changed: make(chan struct{})} }

func (l *leaderAddr) get() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addr, l.changed
}

func (l *leaderAddr) set(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if addr == l.addr {
		return
	}
	l.addr = addr
	close(l.changed)
	l.changed = make(chan struct{})
}

// jitter returns a random duration in [0, d].
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}
