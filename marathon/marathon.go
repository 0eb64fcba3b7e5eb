package marathon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
	"github.com/strata-sched/strata/frameworks/ha"
	"github.com/strata-sched/strata/frameworks/scheduler"
	"github.com/strata-sched/strata/marathon/api"
	"github.com/strata-sched/strata/marathon/app"
	"github.com/strata-sched/strata/marathon/engine"
	"github.com/strata-sched/strata/marathon/events"
	"github.com/strata-sched/strata/marathon/state"
)

// Version is the Marathon API version Strata reports.
const Version = "1.11.0-strata"

// Config configures a Marathon instance. Master, Store, Elector and
// HTTPAddr are required.
type Config struct {
	// Master is the master's host:port (or a comma-separated list).
	Master string
	// Store keeps apps, groups, deployments, instances and the framework
	// ID; Elector elects the leader among Marathon instances sharing it.
	Store   store.Store
	Elector store.Elector
	// HTTPAddr is this instance's advertised host:port (the leader's is
	// what non-leaders proxy to and what X-Marathon-Leader names).
	HTTPAddr string
	// Hostname is sent to the master in FrameworkInfo (default: the host
	// of HTTPAddr).
	Hostname string
	Logger   *slog.Logger
	// LevelVar is the level of Logger's handler; POST /logging switches
	// it at run time (nil: /logging cannot change the level).
	LevelVar *slog.LevelVar
	// FrameworkName defaults to "marathon".
	FrameworkName string
	// User runs tasks that name none (default "root").
	User string
	// Role is the framework's role (default "*").
	Role string
	// FailoverTimeout is how long the master keeps the framework's tasks
	// after Marathon disconnects (default one week, Marathon's default).
	FailoverTimeout time.Duration
	// ZK is shown in /v2/info (the --zk URL, if any).
	ZK string
	// StatePrefix is the store key prefix (default "marathon").
	StatePrefix string
	// MaxVersions kept per app and root group (default 50).
	MaxVersions int
	// ServicePortMin and ServicePortMax bound service ports (default
	// 10000-20000).
	ServicePortMin, ServicePortMax int
	// KillDrain shows a running task as TASK_KILLING this long before it
	// is killed, so load balancers stop routing to it (default 0).
	KillDrain time.Duration
	// DisableMaintenanceMode and DrainingTime: see engine.Config.
	DisableMaintenanceMode bool
	DrainingTime           time.Duration
	// EventHeartbeat is the SSE keep-alive period (default 10s).
	EventHeartbeat time.Duration
	// Tick is the engine loop period (default 500ms).
	Tick time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) defaults() error {
	var errs []error
	if c.Master == "" {
		errs = append(errs, errors.New("Master is required (host:port of the master)"))
	}
	if c.Store == nil || c.Elector == nil {
		errs = append(errs, errors.New("Store and Elector are required"))
	}
	if c.HTTPAddr == "" {
		errs = append(errs, errors.New("HTTPAddr (the advertised host:port) is required"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("marathon: invalid config: %w", errors.Join(errs...))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.FrameworkName == "" {
		c.FrameworkName = "marathon"
	}
	if c.User == "" {
		c.User = "root"
	}
	if c.Role == "" {
		c.Role = "*"
	}
	if c.FailoverTimeout == 0 {
		c.FailoverTimeout = 7 * 24 * time.Hour
	}
	if c.Hostname == "" {
		c.Hostname = c.HTTPAddr
		if i := strings.LastIndexByte(c.Hostname, ':'); i > 0 {
			c.Hostname = c.Hostname[:i]
		}
	}
	if c.ServicePortMin == 0 && c.ServicePortMax == 0 {
		c.ServicePortMin, c.ServicePortMax = 10000, 20000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Marathon is one Marathon instance.
type Marathon struct {
	cfg     Config
	log     *slog.Logger
	repo    *state.Repo
	bus     *events.Bus
	engine  *engine.Engine
	node    *ha.Node
	handler http.Handler
	// callbacks delivers events to /v2/eventSubscriptions URLs while
	// leading.
	callbacks *events.Callbacks
}

// New validates cfg and builds a Marathon; nothing runs before Run.
func New(cfg Config) (*Marathon, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger.With("framework", cfg.FrameworkName)
	repo := state.NewRepo(cfg.Store, cfg.StatePrefix, cfg.MaxVersions)
	bus := events.NewBus(0, cfg.Now)
	appCfg := app.Config{DefaultRole: cfg.Role}
	e, err := engine.New(engine.Config{
		Repo: repo, Bus: bus, Logger: log, Now: cfg.Now, App: appCfg, Role: cfg.Role,
		ServicePorts: app.ServicePorts{Min: cfg.ServicePortMin, Max: cfg.ServicePortMax},
		KillDrain:    cfg.KillDrain, Tick: cfg.Tick,
		DisableMaintenanceMode: cfg.DisableMaintenanceMode, DrainingTime: cfg.DrainingTime,
	})
	if err != nil {
		return nil, err
	}
	node, err := ha.New(ha.Config{
		Elector: cfg.Elector, Self: cfg.HTTPAddr, Logger: log, LeaderHeader: "X-Marathon-Leader",
		HeaderValue: func(addr string) string { return "http://" + addr },
	})
	if err != nil {
		return nil, err
	}
	callbacks, err := events.NewCallbacks(events.CallbackConfig{Bus: bus, Store: repo, Logger: log, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	m := &Marathon{cfg: cfg, log: log, repo: repo, bus: bus, engine: e, node: node, callbacks: callbacks}
	apiHandler := api.New(api.Config{
		Engine: e, Bus: bus, Leader: leadership{node}, App: appCfg, Logger: log, Heartbeat: cfg.EventHeartbeat,
		Callbacks: callbacks, LevelVar: cfg.LevelVar,
		Info: api.Info{
			Name: "marathon", Version: Version, Buildref: "strata", Master: cfg.Master, FrameworkName: cfg.FrameworkName,
			Role: cfg.Role, User: cfg.User, Hostname: cfg.Hostname, ZK: cfg.ZK, HTTPPort: portOf(cfg.HTTPAddr),
			FailoverTimeout: cfg.FailoverTimeout, ServicePortMin: cfg.ServicePortMin, ServicePortMax: cfg.ServicePortMax,
		},
	})
	forwarded := node.Forward(func(r *http.Request) bool { return r.URL.Path == "/v2/events" })(apiHandler)
	m.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if servedLocally(r) {
			apiHandler.ServeHTTP(w, r)
			return
		}
		forwarded.ServeHTTP(w, r)
	})
	return m, nil
}

// servedLocally lists what every instance answers itself, leader or not.
func servedLocally(r *http.Request) bool {
	switch {
	case r.URL.Path == "/ping", strings.HasPrefix(r.URL.Path, "/metrics"), r.URL.Path == "/logging":
		return true
	case r.URL.Path == "/v2/leader" && r.Method == http.MethodGet:
		return true
	}
	return false
}

// Handler is the HTTP API.
func (m *Marathon) Handler() http.Handler { return m.handler }

// Engine exposes the engine (for tests and benchmarks).
func (m *Marathon) Engine() *engine.Engine { return m.engine }

// IsLeader reports whether this instance leads.
func (m *Marathon) IsLeader() bool { return m.node.IsLeader() }

// Run campaigns for leadership and does the leader's work while leading,
// until ctx ends. It returns after every goroutine it started has exited.
func (m *Marathon) Run(ctx context.Context) error {
	return m.node.Run(ctx, m.lead)
}

// lead loads the state, subscribes to the master and runs the engine until
// ctx ends (leadership lost) or the subscription fails for good.
func (m *Marathon) lead(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := m.engine.Load(ctx); err != nil {
		return fmt.Errorf("marathon: loading state: %w", err)
	}
	e := m.engine
	// MULTI_ROLE: subscribed with every role the apps use; the engine
	// changes the set with UPDATE_FRAMEWORK as apps come and go.
	info := mesos.FrameworkInfo{
		User: m.cfg.User, Name: m.cfg.FrameworkName, FailoverTimeout: mesos.Double(m.cfg.FailoverTimeout.Seconds()),
		Checkpoint: true, Roles: e.Roles(), Hostname: m.cfg.Hostname, WebuiURL: "http://" + m.cfg.HTTPAddr,
		Capabilities: []mesos.Capability{{Type: mesos.CapPartitionAware}, {Type: mesos.CapTaskKillingState}, {Type: mesos.CapMultiRole}},
	}
	idStore := ha.IDStore{Store: m.cfg.Store, Key: m.repo.FrameworkIDKey()}
	drv := &roleDriver{info: info}
	client, err := scheduler.New(scheduler.Config{
		Master:           m.cfg.Master,
		Framework:        info,
		AutoAck:          true,
		Logger:           m.log,
		FrameworkIDStore: idStore,
		Handler: scheduler.HandlerFuncs{
			SubscribedFunc: func(ctx context.Context, c *scheduler.Client, ev *mesos.EventSubscribedBody) {
				master := ""
				if mi := ev.MasterInfo; mi != nil {
					master = fmt.Sprintf("%s:%d", mi.Hostname, mi.Port)
				}
				m.log.Info("subscribed", "framework_id", ev.FrameworkID.Value, "master", master)
				e.Subscribed(ctx, drv, ev.FrameworkID.Value, master)
			},
			OffersFunc: func(ctx context.Context, c *scheduler.Client, offers []mesos.Offer) { e.Offers(ctx, c, offers) },
			UpdateFunc: func(ctx context.Context, c *scheduler.Client, st mesos.TaskStatus) { e.Update(ctx, c, st) },
			MessageFunc: func(ctx context.Context, c *scheduler.Client, msg *mesos.EventMessageBody) {
				e.Message(msg.AgentID.Value, msg.ExecutorID.Value, msg.Data)
			},
			FailureFunc: func(ctx context.Context, c *scheduler.Client, f *mesos.EventFailureBody) {
				m.log.Info("agent or executor failure reported", "agent", f.AgentID, "executor", f.ExecutorID)
			},
			ErrorFunc: func(ctx context.Context, c *scheduler.Client, msg string) {
				m.log.Error("master error", "message", msg)
			},
			DisconnectedFunc: func(ctx context.Context, c *scheduler.Client, err error) { e.Disconnected() },
			KnownTasksFunc:   e.KnownTasks,
		},
	})
	if err != nil {
		return err
	}
	drv.Client = client
	var wg sync.WaitGroup
	wg.Go(func() { e.Run(ctx) })
	wg.Go(func() { m.callbacks.Run(ctx) })
	err = client.Run(ctx)
	cancel()
	wg.Wait()
	if ctx.Err() != nil && !errors.Is(err, scheduler.ErrFrameworkRemoved) {
		return nil
	}
	if errors.Is(err, scheduler.ErrFrameworkRemoved) {
		m.log.Error("the master removed this framework; forgetting its ID and registering anew", "err", err)
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if serr := idStore.Save(sctx, ""); serr != nil {
			return errors.Join(err, serr)
		}
	}
	return err
}

// roleDriver is the engine's driver: the scheduler client, plus
// engine.RoleUpdater through UPDATE_FRAMEWORK.
type roleDriver struct {
	*scheduler.Client

	mu   sync.Mutex
	info mesos.FrameworkInfo // as the master last accepted it
}

var _ engine.RoleUpdater = (*roleDriver)(nil)

// UpdateRoles subscribes the framework with roles (sorted) unless it
// already is.
func (d *roleDriver) UpdateRoles(ctx context.Context, roles []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if slices.Equal(d.info.Roles, roles) {
		return nil
	}
	info := d.info
	info.Roles = slices.Clone(roles)
	if err := d.Client.UpdateFramework(ctx, info); err != nil {
		return fmt.Errorf("marathon: subscribing with roles %v: %w", roles, err)
	}
	d.info = info
	return nil
}

// leadership adapts ha.Node to api.Leadership.
type leadership struct{ n *ha.Node }

func (l leadership) IsLeader() bool { return l.n.IsLeader() }

func (l leadership) Leader(ctx context.Context) (string, error) {
	info, err := l.n.Leader(ctx)
	return info.Address, err
}

func (l leadership) Abdicate(ctx context.Context) error { return l.n.Abdicate(ctx) }

func portOf(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return 0
	}
	p := 0
	fmt.Sscan(addr[i+1:], &p)
	return p
}
