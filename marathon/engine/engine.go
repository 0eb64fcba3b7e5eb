package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/deploy"
	"github.com/strata-sched/strata/marathon/events"
	"github.com/strata-sched/strata/marathon/health"
	"github.com/strata-sched/strata/marathon/sched"
	"github.com/strata-sched/strata/marathon/state"
)

// Driver is what the engine needs of the scheduler API client
// (*scheduler.Client implements it).
type Driver interface {
	Accept(ctx context.Context, offerIDs []mesos.OfferID, ops []mesos.Operation, filters *mesos.Filters) error
	Decline(ctx context.Context, offerIDs []mesos.OfferID, filters *mesos.Filters) error
	Kill(ctx context.Context, taskID mesos.TaskID, agentID *mesos.AgentID, policy *mesos.KillPolicy) error
	Revive(ctx context.Context, roles ...string) error
	Suppress(ctx context.Context, roles ...string) error
	Reconcile(ctx context.Context, tasks []mesos.ReconcileTask) error
}

// Config configures an Engine.
type Config struct {
	Repo   *state.Repo
	Bus    *events.Bus
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// App holds the normalization settings (default role, features).
	App app.Config
	// ServicePorts is the service port range (default 10000-20000).
	ServicePorts app.ServicePorts
	// Role is the framework's role (default "*").
	Role string
	// MaxInstancesPerOffer bounds launches from one offer (default 100).
	MaxInstancesPerOffer int
	// KillDrain delays the kill of a running task after the decision;
	// meanwhile the task shows as TASK_KILLING so load balancers stop
	// sending it traffic (default 0: kill at once, as Marathon).
	KillDrain time.Duration
	// KillRetry is how often an unanswered kill is repeated (default 10s).
	KillRetry time.Duration
	// Tick is the loop period (default 500ms).
	Tick time.Duration
	// MaxRunningDeployments answers 403 beyond (default 100).
	MaxRunningDeployments int
	// DeclineRefuse is how long offers are refused when nothing needs
	// them (default 120s; demand appearing revives offers at once).
	DeclineRefuse time.Duration
	// MaxConcurrentHealthChecks bounds Marathon-level probes (default 256).
	MaxConcurrentHealthChecks int
	// DisableMaintenanceMode makes offers from agents in a maintenance
	// window usable (Marathon's --disable_maintenance_mode); by default
	// they are declined, as are offers whose window starts within
	// DrainingTime (--draining_seconds, default 0).
	DisableMaintenanceMode bool
	DrainingTime           time.Duration
}

func (c *Config) defaults() error {
	if c.Repo == nil || c.Bus == nil {
		return errors.New("engine: Repo and Bus are required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Role == "" {
		c.Role = "*"
	}
	if c.App.DefaultRole == "" {
		c.App.DefaultRole = c.Role
	}
	if c.MaxInstancesPerOffer <= 0 {
		c.MaxInstancesPerOffer = 100
	}
	if c.KillRetry <= 0 {
		c.KillRetry = 10 * time.Second
	}
	if c.Tick <= 0 {
		c.Tick = 500 * time.Millisecond
	}
	if c.MaxRunningDeployments <= 0 {
		c.MaxRunningDeployments = 100
	}
	if c.DeclineRefuse <= 0 {
		c.DeclineRefuse = 120 * time.Second
	}
	return nil
}

// ErrNotLeading is returned by operations while the engine holds no state
// (not the leader, or still loading).
var ErrNotLeading = errors.New("marathon: not leading (no state loaded)")

// Engine is the Marathon scheduler core. Create it with New; Lead runs it
// while this instance is the leader.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	repo   *state.Repo
	bus    *events.Bus
	health *health.Runner
	kickC  chan struct{}

	mu          sync.Mutex
	leading     bool
	ctx         context.Context // the leader context, for calls made from handlers
	driver      Driver
	subscribed  bool
	frameworkID string
	suppressed  bool
	declinedFor bool // offers were declined with the long refusal since the last revive
	// sentRoles are the roles the driver last subscribed with (nil: unknown).
	sentRoles   []string
	lastVersion time.Time

	root    app.Group
	appIdx  map[string]*app.App         // current apps by id (into root)
	defs    map[string]*app.App         // "<id>@<version>" -> definition
	apps    map[string]*appRT           // runtime per app id
	tasks   map[string]*inst            // by task id
	byAppT  map[string]map[string]*inst // app id -> task id -> instance
	deps    []*deployRT                 // running deployments, oldest first
	byApp   map[string]*deployRT
	metrics Metrics
}

// appRT is per-app runtime state that is not persisted.
type appRT struct {
	backoff      sched.Backoff
	lastFailure  *app.TaskFailure
	waitingSince time.Time
	offers       offerStats
	cs           []app.Constraint
	csFor        string // version cs was parsed for
}

// inst is an instance with its runtime state.
type inst struct {
	state.Instance
	def        *app.App
	health     []health.Status
	ready      *app.ReadinessCheckResult
	killSentAt time.Time
}

// deployRT is a running deployment.
type deployRT struct {
	plan        deploy.Plan
	stepStarted bool
	strategies  map[string]deploy.Strategy
	messages    map[string]string // app id -> why its action waits
}

// New returns an Engine. It holds no state until Lead loads it.
func New(cfg Config) (*Engine, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: cfg, log: cfg.Logger, repo: cfg.Repo, bus: cfg.Bus, kickC: make(chan struct{}, 1),
	}
	e.health = health.NewRunner(healthReporter{e}, cfg.Logger, cfg.Now, cfg.MaxConcurrentHealthChecks)
	return e, nil
}

// Load reads the state from the store; the engine then answers API calls
// and scheduler events. Call it when this instance becomes the leader,
// before subscribing to the master, then Run.
func (e *Engine) Load(ctx context.Context) error { return e.load(ctx) }

// Run runs the engine's goroutines (the tick loop and the health runner)
// until ctx ends, then drops the state. It returns after every goroutine
// it started has exited.
func (e *Engine) Run(ctx context.Context) {
	defer e.unload()
	var wg sync.WaitGroup
	wg.Go(func() { e.health.Run(ctx) })
	wg.Go(func() { e.loop(ctx) })
	wg.Wait()
}

// Leading reports whether the engine holds the state.
func (e *Engine) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// FrameworkID is the framework ID of the current subscription ("" before).
func (e *Engine) FrameworkID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.frameworkID
}

func (e *Engine) load(ctx context.Context) error {
	snap, err := e.repo.Load(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ctx = ctx
	e.root = snap.Root
	e.defs = map[string]*app.App{}
	e.apps = map[string]*appRT{}
	e.tasks = map[string]*inst{}
	e.byAppT = map[string]map[string]*inst{}
	e.deps = nil
	e.byApp = map[string]*deployRT{}
	e.subscribed, e.driver, e.suppressed = false, nil, false

	// Repair apps a crash left behind their deployment's target.
	for _, p := range snap.Deployments {
		for id, target := range p.Target {
			cur, _ := e.root.FindApp(id)
			switch {
			case target == nil && cur != nil:
				e.log.Warn("completing an interrupted write: removing app of a running deployment", "app", id, "deployment", p.ID)
				if err := e.repo.DeleteApp(ctx, id); err != nil {
					return err
				}
				e.root = removeApp(e.root, id)
			case target != nil && (cur == nil || cur.Version != target.Version):
				e.log.Warn("completing an interrupted write: storing the target of a running deployment", "app", id, "deployment", p.ID)
				if err := e.repo.PutApp(ctx, *target); err != nil {
					return err
				}
				e.root = putApp(e.root, *target)
			}
		}
	}
	e.setRoot(e.root)
	e.root.WalkApps(func(a *app.App) bool {
		e.defs[a.ID+"@"+a.Version] = a
		if v, err := time.Parse(timeFormat, a.Version); err == nil && v.After(e.lastVersion) {
			e.lastVersion = v
		}
		return true
	})
	for _, p := range snap.Deployments {
		d := &deployRT{plan: p, strategies: map[string]deploy.Strategy{}, messages: map[string]string{}}
		e.deps = append(e.deps, d)
		for _, t := range p.Target {
			if t != nil {
				e.defs[t.ID+"@"+t.Version] = t
			}
		}
		for _, o := range p.Original {
			if o != nil {
				e.defs[o.ID+"@"+o.Version] = o
			}
		}
	}
	e.reindex()
	for _, in := range snap.Instances {
		def := e.defFor(ctx, in.AppID, in.Version)
		x := &inst{Instance: in, def: def}
		x.resetHealth()
		e.addInst(x)
	}
	e.restoreFailures(snap.Failures)
	e.leading = true
	e.log.Info("state loaded", "apps", len(e.root.TransitiveApps()), "instances", len(e.tasks), "deployments", len(e.deps))
	return nil
}

func (e *Engine) unload() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leading, e.driver, e.subscribed, e.ctx = false, nil, false, nil
	e.setRoot(app.Group{ID: "/"})
	e.defs, e.apps, e.tasks, e.deps, e.byApp, e.byAppT = nil, nil, nil, nil, nil, nil
}

// defFor returns the definition of app id at version, from memory or the
// store; the current definition when that version is gone.
func (e *Engine) defFor(ctx context.Context, id, version string) *app.App {
	if d, ok := e.defs[id+"@"+version]; ok {
		return d
	}
	if a, err := e.repo.AppVersion(ctx, id, version); err == nil {
		e.defs[id+"@"+version] = &a
		return &a
	}
	if cur, ok := e.appIdx[id]; ok {
		return cur
	}
	return &app.App{ID: id, Version: version}
}

// setRoot installs a new group tree and indexes its apps.
func (e *Engine) setRoot(g app.Group) {
	e.root = g
	e.appIdx = map[string]*app.App{}
	e.root.WalkApps(func(a *app.App) bool {
		e.appIdx[a.ID] = a
		return true
	})
}

func (e *Engine) reindex() {
	e.byApp = map[string]*deployRT{}
	for _, d := range e.deps {
		for _, id := range d.plan.AffectedApps() {
			e.byApp[id] = d
		}
	}
}

func (e *Engine) rt(id string) *appRT {
	r, ok := e.apps[id]
	if !ok {
		r = &appRT{}
		e.apps[id] = r
	}
	return r
}

// kick wakes the loop.
func (e *Engine) kick() {
	select {
	case e.kickC <- struct{}{}:
	default:
	}
}

const timeFormat = "2006-01-02T15:04:05.000Z"

// Timestamp formats t as Marathon does.
func Timestamp(t time.Time) string { return t.UTC().Format(timeFormat) }

// newVersion returns a version timestamp later than every one issued.
func (e *Engine) newVersion() string {
	now := e.cfg.Now().UTC().Truncate(time.Millisecond)
	if !now.After(e.lastVersion) {
		now = e.lastVersion.Add(time.Millisecond)
	}
	e.lastVersion = now
	return now.Format(timeFormat)
}

// loop ticks until ctx ends.
func (e *Engine) loop(ctx context.Context) {
	t := time.NewTicker(e.cfg.Tick)
	defer t.Stop()
	for {
		e.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.kickC:
		}
	}
}

// tick advances deployments, sends due kills, revives or suppresses
// offers and keeps the health runner in step.
func (e *Engine) tick(ctx context.Context) {
	e.mu.Lock()
	if !e.leading {
		e.mu.Unlock()
		return
	}
	now := e.cfg.Now()
	e.advance(ctx, now)
	e.expire(ctx, now)
	kills := e.dueKills(now)
	revive, suppress := e.offerInterest(now)
	targets := e.healthTargets()
	driver := e.driver
	var roles []string
	if driver != nil && e.subscribed {
		roles = e.roles()
	}
	e.mu.Unlock()

	e.health.Sync(targets)
	if driver == nil {
		return
	}
	if roles != nil {
		e.syncRoles(ctx, driver, roles)
	}
	for _, k := range kills {
		if err := driver.Kill(ctx, mesos.TaskID{Value: k.taskID}, k.agentID, k.policy); err != nil {
			e.log.Warn("kill failed; will retry", "task", k.taskID, "err", err)
		}
	}
	if revive {
		if err := driver.Revive(ctx); err != nil {
			e.log.Warn("revive failed", "err", err)
			e.mu.Lock()
			e.suppressed = true
			e.mu.Unlock()
		}
	}
	if suppress {
		if err := driver.Suppress(ctx); err != nil {
			e.log.Warn("suppress failed", "err", err)
			e.mu.Lock()
			e.suppressed = false
			e.mu.Unlock()
		}
	}
}

// Tick runs one iteration of the loop now (for tests).
func (e *Engine) Tick(ctx context.Context) { e.tick(ctx) }

type killCall struct {
	taskID  string
	agentID *mesos.AgentID
	policy  *mesos.KillPolicy
}

// dueKills returns the kills to send now and marks them sent.
func (e *Engine) dueKills(now time.Time) []killCall {
	var out []killCall
	for _, in := range e.tasks {
		if in.Goal != state.GoalKilled || in.Terminal() {
			continue
		}
		drain := time.Duration(0)
		if in.Running() {
			drain = e.cfg.KillDrain
		}
		if now.Before(in.KillAt.Add(drain)) {
			continue
		}
		if !in.killSentAt.IsZero() && now.Sub(in.killSentAt) < e.cfg.KillRetry {
			continue
		}
		in.killSentAt = now
		k := killCall{taskID: in.TaskID, policy: sched.KillPolicy(in.def)}
		if in.AgentID != "" {
			k.agentID = &mesos.AgentID{Value: in.AgentID}
		}
		out = append(out, k)
		e.metrics.KillsSent++
	}
	return out
}

// offerInterest decides whether to revive or suppress offers.
func (e *Engine) offerInterest(now time.Time) (revive, suppress bool) {
	if e.driver == nil || !e.subscribed {
		return false, false
	}
	demand := false
	for _, r := range e.requests(now, false) {
		if r.count > 0 {
			demand = true
			break
		}
	}
	switch {
	case demand && (e.suppressed || e.declinedFor):
		e.suppressed, e.declinedFor = false, false
		return true, false
	case !demand && !e.suppressed:
		e.suppressed = true
		return false, true
	}
	return false, false
}

// expire applies the unreachable strategy and forgets overdue backoffs.
func (e *Engine) expire(ctx context.Context, now time.Time) {
	for id, r := range e.apps {
		if cur, ok := e.appIdx[id]; ok && r.backoff.Expired(cur, now) {
			e.resetBackoff(ctx, id, r)
		}
	}
	for _, in := range e.tasks {
		// Tasks of apps that no longer exist (and that no deployment is
		// stopping) are killed: a forced cancel can leave them behind.
		if _, ok := e.appIdx[in.AppID]; !ok && e.byApp[in.AppID] == nil && in.Goal == state.GoalRunning && !in.Terminal() {
			e.log.Info("killing a task of a removed app", "task", in.TaskID, "app", in.AppID)
			e.requestKill(ctx, in, reasonAppRemoved, now)
			continue
		}
		if in.State != mesos.TaskUnreachable || in.UnreachableSince.IsZero() {
			continue
		}
		us := in.def.UnreachableStrategy
		if us == nil || us.Disabled {
			continue
		}
		if now.Sub(in.UnreachableSince) >= time.Duration(us.ExpungeAfterSeconds)*time.Second && in.Goal == state.GoalRunning {
			e.log.Info("unreachable task expunged", "task", in.TaskID, "since", in.UnreachableSince)
			e.requestKill(ctx, in, "Unreachable", now)
		}
	}
}

// Metrics are engine counters for /metrics.
type Metrics struct {
	OffersProcessed, OffersDeclined, TasksLaunched, KillsSent, StatusUpdates uint64
	DeploymentsStarted, DeploymentsSucceeded, DeploymentsCancelled           uint64
	HealthKills                                                              uint64
}

// Stats is a snapshot of the engine for metrics.
type Stats struct {
	Metrics
	Apps, Groups, Instances, Running, Staged, Healthy, Deployments, QueueSize int
	Leading                                                                   bool
}

// Snapshot returns counters and gauges.
func (e *Engine) Snapshot() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{Metrics: e.metrics, Leading: e.leading, Deployments: len(e.deps), Instances: len(e.tasks)}
	if !e.leading {
		return s
	}
	s.Apps = len(e.root.TransitiveApps())
	e.root.WalkGroups(func(*app.Group) bool { s.Groups++; return true })
	for _, in := range e.tasks {
		switch in.State {
		case mesos.TaskRunning:
			s.Running++
		case "", mesos.TaskStaging, mesos.TaskStarting:
			s.Staged++
		}
		if e.healthy(in) {
			s.Healthy++
		}
	}
	for _, r := range e.requests(e.cfg.Now(), false) {
		s.QueueSize += r.count
	}
	return s
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
