package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/mesos"
)

// Agent runs tasks for the master: see the package documentation.
type Agent struct {
	cfg       Config
	log       *slog.Logger
	cz        containerizer.Containerizer
	paths     layout
	router    http.Handler
	client    *http.Client // calls to the master
	stream    *http.Client // the registration stream
	prom      *prometheus.Registry
	startTime time.Time
	agentUser string // the user the agent runs as
	isRoot    bool
	endpoint  string // ip:port for MESOS_AGENT_ENDPOINT

	running   atomic.Bool
	recovered chan struct{} // closed when recovery is done
	wg        sync.WaitGroup
	// journal writes checkpoint records and syncs them in groups; its
	// callbacks run under mu.
	journal *journal
	// prepareSlots and launchSlots bound the launches in progress in each
	// stage (maxParallelLaunches).
	prepareSlots, launchSlots chan struct{}

	mu                  sync.Mutex
	ctx                 context.Context // Run's internal context, for goroutines it starts
	id                  string
	total               mesos.Resources
	frameworks          map[string]*framework
	completedFrameworks []*framework
	tasks               map[taskKey]*task
	orphans             map[taskKey]*orphan
	conn                *masterConn // nil while not registered
	masterInfo          *mesos.MasterInfo
	gc                  *gcQueue
	stopping            bool
	counters            counters
}

// orphan is the update stream of a task the agent does not have (a KILL
// for an unknown task is answered with TASK_LOST).
type orphan struct {
	fw     string
	stream *updateStream
}

// counters are the agent's cumulative metrics.
type counters struct {
	tasksFinished, tasksFailed, tasksKilled, tasksLost, tasksError, tasksDropped, tasksGone uint64
	executorsTerminated, containerLaunchErrors, recoveryErrors                              uint64
	validStatusUpdates, invalidStatusUpdates                                                uint64
	validFrameworkMessages, invalidFrameworkMessages                                        uint64
	gcSucceeded, gcFailed                                                                   uint64
	registrations, reregistrations                                                          uint64
	recoveryTime                                                                            time.Duration
}

// New checks cfg and returns an Agent; Run starts it.
func New(cfg Config) (*Agent, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:          cfg,
		log:          cfg.Logger.With("component", "agent"),
		cz:           cfg.Containerizer,
		paths:        layout{workDir: cfg.WorkDir},
		startTime:    time.Now(),
		isRoot:       os.Geteuid() == 0,
		endpoint:     net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.Port)),
		recovered:    make(chan struct{}),
		total:        cfg.Resources.Clone(),
		frameworks:   map[string]*framework{},
		tasks:        map[taskKey]*task{},
		orphans:      map[taskKey]*orphan{},
		gc:           newGCQueue(),
		prepareSlots: make(chan struct{}, maxParallelLaunches),
		launchSlots:  make(chan struct{}, maxParallelLaunches),
		client:       &http.Client{Timeout: 30 * time.Second, CheckRedirect: noRedirects, Transport: masterTransport()},
		stream:       &http.Client{CheckRedirect: noRedirects, Transport: masterTransport()},
	}
	a.journal = newJournal(func() error { return syncFilesystem(cfg.WorkDir) }, &a.mu, a.log)
	if u, err := user.Current(); err == nil {
		a.agentUser = u.Username
	}
	if err := os.MkdirAll(a.paths.sandboxRoot(), 0o755); err != nil {
		return nil, fmt.Errorf("agent: work dir: %w", err)
	}
	if err := os.MkdirAll(a.paths.metaRoot(), 0o755); err != nil {
		return nil, fmt.Errorf("agent: work dir: %w", err)
	}
	a.prom = prometheus.NewRegistry()
	if err := a.prom.Register(metricsCollector{a}); err != nil {
		return nil, fmt.Errorf("agent: metrics: %w", err)
	}
	a.router = a.routes()
	return a, nil
}

// ID returns the agent ID ("" until the agent has registered once or
// recovered an ID from its checkpoint).
func (a *Agent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// Handler serves the agent's HTTP endpoints (executor API, /state, /files,
// metrics). The caller owns the listener.
func (a *Agent) Handler() http.Handler { return a.router }

// Run recovers checkpointed state, then registers with the master and
// serves the connection until ctx ends or the master refuses the agent
// (a *RefusedError). It returns after every goroutine it started has
// exited. With Config.KillTasksOnStop it kills every container first;
// otherwise containers keep running for the next agent process.
func (a *Agent) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("agent: Run called twice")
	}
	inner, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	a.mu.Lock()
	a.ctx = inner
	a.mu.Unlock()
	a.journal.start(inner, a.goFn)

	start := time.Now()
	if err := a.recover(inner); err != nil {
		a.halt(cancel)
		return fmt.Errorf("agent: recovery: %w", err)
	}
	a.mu.Lock()
	a.counters.recoveryTime = time.Since(start)
	a.mu.Unlock()
	close(a.recovered)

	masterCtx, stopMaster := context.WithCancel(inner)
	defer stopMaster()
	errc := make(chan error, 1)
	a.goFn(func() { errc <- a.runMaster(masterCtx) })
	a.goFn(func() { a.retryLoop(inner) })
	a.goFn(func() { a.gcLoop(inner) })

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	if a.cfg.KillTasksOnStop {
		a.killAllForStop()
	}
	stopMaster()
	a.halt(cancel)
	return err
}

// halt stops timers and executor streams, cancels the goroutines' context
// and waits for them.
func (a *Agent) halt(cancel context.CancelFunc) {
	a.mu.Lock()
	a.stopping = true
	for _, fw := range a.frameworks {
		for _, ex := range fw.executors {
			if ex.timer != nil {
				ex.timer.Stop()
			}
			if ex.conn != nil {
				ex.conn.close()
				ex.conn = nil
			}
		}
	}
	a.mu.Unlock()
	cancel()
	a.wg.Wait()
}

// goFn runs f in a goroutine that Run waits for.
func (a *Agent) goFn(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// retryLoop resends status updates whose retry time has come.
func (a *Agent) retryLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			a.mu.Lock()
			a.retryUpdates(now)
			a.mu.Unlock()
		}
	}
}

// gcLoop removes scheduled sandbox and checkpoint directories.
func (a *Agent) gcLoop(ctx context.Context) {
	interval := min(max(a.cfg.GCDelay/4, 10*time.Millisecond), time.Minute)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			// Due directories are renamed aside under the lock, so that a
			// framework or executor coming back cannot have its new files
			// removed, and deleted outside it.
			a.mu.Lock()
			var trash []string
			for _, p := range a.gc.due(now) {
				aside := p + ".gc-" + strconv.FormatInt(now.UnixNano(), 36)
				if err := os.Rename(p, aside); err == nil {
					trash = append(trash, aside)
				} else if !isNotExist(err) {
					a.log.Warn("gc: moving directory aside failed", "path", p, "err", err)
					a.counters.gcFailed++
				}
			}
			a.mu.Unlock()
			if len(trash) == 0 {
				continue
			}
			var ok, failed uint64
			for _, p := range trash {
				if err := os.RemoveAll(p); err != nil {
					a.log.Warn("gc: removing directory failed", "path", p, "err", err)
					failed++
					continue
				}
				a.log.Debug("gc: removed directory", "path", p)
				ok++
			}
			a.mu.Lock()
			a.counters.gcSucceeded += ok
			a.counters.gcFailed += failed
			a.mu.Unlock()
		}
	}
}

// killAllForStop kills every container (Config.KillTasksOnStop) and waits
// until their tasks are reported, bounded by the longest grace period.
func (a *Agent) killAllForStop() {
	a.mu.Lock()
	longest := time.Duration(0)
	for _, fw := range a.frameworks {
		for _, ex := range fw.executors {
			if g := a.shutdownExecutor(ex, &endCause{reason: mesos.ReasonAgentRestarted, message: "Killed because the agent is stopping", agent: true}); g > longest {
				longest = g
			}
		}
	}
	a.mu.Unlock()
	deadline := time.Now().Add(longest + 5*time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		live := 0
		for _, fw := range a.frameworks {
			for _, ex := range fw.executors {
				if ex.state != execTerminated {
					live++
				}
			}
		}
		a.mu.Unlock()
		if live == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The terminal updates are forwarded once durable; then give the
	// sender a moment to deliver them.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.journal.barrier(ctx); err != nil {
		a.log.Warn("checkpointing the terminal updates failed", "err", err)
	}
	a.mu.Lock()
	conn := a.conn
	a.mu.Unlock()
	if conn != nil {
		conn.drain(time.Second)
	}
}

// noRedirects makes the HTTP client return a 307 to the caller: a
// redirect to the leading master is handled by re-registering there.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// masterTransport bounds the wait for the master's response headers (the
// registration stream itself may stay open indefinitely).
func masterTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	// Status updates are posted in parallel (sendCalls): keep their
	// connections instead of opening new ones for every burst.
	t.MaxIdleConnsPerHost = 2 * maxParallelUpdates
	return t
}
