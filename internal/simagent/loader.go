package simagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
)

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// Master as in scheduler.Config (host:port or zk://...). Required.
	Master string
	// TasksPerAgent is how many tasks the loader keeps on every agent it
	// gets offers from (default 10).
	TasksPerAgent int
	// CPUs and Mem per task (defaults 0.01 and 1).
	CPUs, Mem float64
	// Name of the framework (default "strata-sim-loader").
	Name   string
	User   string // default "nobody"
	Logger *slog.Logger
}

// Loader is a small framework, written against the public scheduler SDK
// like any other, that fills every offered agent with TasksPerAgent tasks
// (IDs <hostname>-t<n>, so a task launched twice is detectable) and tracks
// the state of each. It acknowledges every update (from workers, not the
// event loop) and survives master failovers (failover timeout one hour).
type Loader struct {
	cfg    LoaderConfig
	client *scheduler.Client

	mu         sync.Mutex
	perAgent   map[string]int // agent ID -> tasks launched
	states     map[string]mesos.TaskState
	launched   map[string]int // task ID -> times launched
	terminal   map[mesos.TaskState]int
	subscribed int
	frameworks string
	launchErrs atomic.Int64
	ackErrs    atomic.Int64
	// acks and launches feed workers, so that the event loop never waits
	// for a call: a framework that reads its stream slowly is disconnected
	// by the master once thousands of updates are queued for it.
	acks     chan mesos.TaskStatus
	launches chan func(context.Context)
}

// LoaderStats summarises what a Loader saw.
type LoaderStats struct {
	FrameworkID   string
	Subscriptions int // SUBSCRIBED events (1 + failovers)
	Launched      int // distinct tasks launched
	Relaunched    int // tasks launched more than once (must be 0)
	Running       int // tasks whose latest state is TASK_RUNNING
	Terminal      map[mesos.TaskState]int
	LaunchErrors  int64
	AckErrors     int64
}

// NewLoader builds a loader; Run starts it.
func NewLoader(cfg LoaderConfig) (*Loader, error) {
	if cfg.Master == "" {
		return nil, errors.New("simagent: LoaderConfig.Master is required")
	}
	if cfg.TasksPerAgent == 0 {
		cfg.TasksPerAgent = 10
	}
	if cfg.TasksPerAgent < 0 || cfg.CPUs < 0 || cfg.Mem < 0 {
		return nil, errors.New("simagent: LoaderConfig: negative tasks or resources")
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 0.01
	}
	if cfg.Mem == 0 {
		cfg.Mem = 1
	}
	if cfg.Name == "" {
		cfg.Name = "strata-sim-loader"
	}
	if cfg.User == "" {
		cfg.User = "nobody"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Loader{cfg: cfg, perAgent: map[string]int{}, states: map[string]mesos.TaskState{},
		launched: map[string]int{}, terminal: map[mesos.TaskState]int{},
		acks: make(chan mesos.TaskStatus, 1<<20), launches: make(chan func(context.Context), 1<<16)}
	c, err := scheduler.New(scheduler.Config{
		Master: cfg.Master, Logger: cfg.Logger, Handler: scheduler.HandlerFuncs{
			SubscribedFunc: func(_ context.Context, _ *scheduler.Client, ev *mesos.EventSubscribedBody) {
				l.mu.Lock()
				l.subscribed++
				l.frameworks = ev.FrameworkID.Value
				l.mu.Unlock()
			},
			OffersFunc: l.offers,
			UpdateFunc: func(_ context.Context, _ *scheduler.Client, st mesos.TaskStatus) {
				l.update(st)
				if len(st.UUID) > 0 {
					l.acks <- st
				}
			},
		},
		Framework: mesos.FrameworkInfo{User: cfg.User, Name: cfg.Name, FailoverTimeout: 3600,
			Capabilities: []mesos.Capability{{Type: mesos.CapPartitionAware}}},
	})
	if err != nil {
		return nil, fmt.Errorf("simagent: loader: %w", err)
	}
	l.client = c
	return l, nil
}

// loaderWorkers is the number of concurrent ACKNOWLEDGE and ACCEPT calls.
const loaderWorkers = 16

// Run runs the framework until ctx ends.
func (l *Loader) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	for range loaderWorkers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case st := <-l.acks:
					// A failed ACKNOWLEDGE is harmless: the agent resends the update.
					if err := l.client.Acknowledge(ctx, st); err != nil && ctx.Err() == nil {
						l.ackErrs.Add(1)
					}
				case launch := <-l.launches:
					launch(ctx)
				}
			}
		})
	}
	return l.client.Run(ctx)
}

// Client is the loader's scheduler client (to kill tasks, reconcile, tear down).
func (l *Loader) Client() *scheduler.Client { return l.client }

// State returns the latest state the loader saw for a task ("" if none).
func (l *Loader) State(taskID string) mesos.TaskState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.states[taskID]
}

// Stats returns the loader's counts.
func (l *Loader) Stats() LoaderStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := LoaderStats{FrameworkID: l.frameworks, Subscriptions: l.subscribed, Launched: len(l.launched),
		Terminal: map[mesos.TaskState]int{}, LaunchErrors: l.launchErrs.Load(), AckErrors: l.ackErrs.Load()}
	for _, n := range l.launched {
		if n > 1 {
			s.Relaunched++
		}
	}
	for _, st := range l.states {
		if st == mesos.TaskRunning {
			s.Running++
		}
	}
	for k, v := range l.terminal {
		s.Terminal[k] = v
	}
	return s
}

func (l *Loader) update(st mesos.TaskStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev := l.states[st.TaskID.Value]
	if prev.IsTerminal() {
		return
	}
	l.states[st.TaskID.Value] = st.State
	if st.State.IsTerminal() {
		l.terminal[st.State]++
	}
}

// offers launches up to TasksPerAgent tasks on each offered agent and
// declines the rest. The ACCEPT calls go to the workers.
func (l *Loader) offers(ctx context.Context, c *scheduler.Client, offers []mesos.Offer) {
	var decline []mesos.OfferID
	want := map[string]float64{"cpus": l.cfg.CPUs, "mem": l.cfg.Mem}
	for _, o := range offers {
		l.mu.Lock()
		have := l.perAgent[o.AgentID.Value]
		var batch []mesos.TaskInfo
		rest := mesos.Resources(o.Resources)
		for have+len(batch) < l.cfg.TasksPerAgent {
			taken, remaining, ok := scheduler.Take(rest, want)
			if !ok {
				break
			}
			rest = remaining
			id := o.Hostname + "-t" + strconv.Itoa(have+len(batch))
			batch = append(batch, scheduler.CommandTask(id, id, o, taken, "sleep 100000"))
		}
		for _, t := range batch {
			l.launched[t.TaskID.Value]++
			l.states[t.TaskID.Value] = mesos.TaskStaging
		}
		l.perAgent[o.AgentID.Value] = have + len(batch)
		l.mu.Unlock()
		if len(batch) == 0 {
			decline = append(decline, o.ID)
			continue
		}
		launch := func(ctx context.Context) {
			if err := c.Launch(ctx, o.ID, batch, scheduler.RefuseSeconds(60)); err != nil && ctx.Err() == nil {
				l.launchErrs.Add(1)
				// Not launched: let a later offer try again.
				l.mu.Lock()
				l.perAgent[o.AgentID.Value] -= len(batch)
				for _, t := range batch {
					if l.launched[t.TaskID.Value]--; l.launched[t.TaskID.Value] == 0 {
						delete(l.launched, t.TaskID.Value)
						delete(l.states, t.TaskID.Value)
					}
				}
				l.mu.Unlock()
			}
		}
		select {
		case l.launches <- launch:
		case <-ctx.Done():
			return
		}
	}
	if len(decline) > 0 {
		ids := decline
		select {
		case l.launches <- func(ctx context.Context) { _ = c.Decline(ctx, ids, scheduler.RefuseSeconds(60)) }:
		case <-ctx.Done():
		}
	}
}
