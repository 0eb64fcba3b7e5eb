package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/strata-sched/strata/core/allocator"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// Config configures a master. Zero values take Mesos' defaults (validate).
type Config struct {
	// Hostname and IP advertised in MasterInfo; Port the HTTP port.
	Hostname string
	IP       string
	Port     int
	// Store holds the registry (admitted agents, weights, quota).
	Store store.Store
	// Logger for everything the master does.
	Logger *slog.Logger
	// Version reported by /version and MasterInfo.
	Version string
	// Flags are reported by /master/flags and GET_FLAGS.
	Flags map[string]string
	// Cluster name for /master/state.
	Cluster string

	AllocationInterval            time.Duration // 1s
	OfferTimeout                  time.Duration // 0 = none
	AgentPingTimeout              time.Duration // 15s
	MaxAgentPingTimeouts          int           // 5
	HeartbeatInterval             time.Duration // 15s
	MaxCompletedFrameworks        int           // 50
	MaxCompletedTasksPerFramework int           // 1000
	// AgentReregisterTimeout is how long agents known from the registry
	// have to re-register after this master recovered it before they are
	// marked unreachable (Mesos' --agent_reregister_timeout, 10 mins).
	AgentReregisterTimeout time.Duration
	// Registry garbage collection of unreachable agents (Mesos'
	// --registry_max_agent_age 2 weeks, --registry_max_agent_count 102400,
	// --registry_gc_interval 15 mins).
	RegistryMaxAgentAge   time.Duration
	RegistryMaxAgentCount int
	RegistryGCInterval    time.Duration
	// Weights from --weights (role -> weight); the registry's stored weights win.
	Weights map[string]float64
	// Roles whitelist (--roles, deprecated); empty allows any role.
	Roles []string
	// MinAllocatable is --min_allocatable_resources (default cpus:0.01|mem:32).
	MinAllocatable []map[string]float64

	// Now is the clock (tests inject one).
	Now func() time.Time
	// Rand shuffles agents for allocation; nil uses a seeded source.
	Rand *rand.Rand
	// LevelVar, when set, lets GET/SET_LOGGING_LEVEL change the log level.
	LevelVar *slog.LevelVar
}

func (c *Config) validate() error {
	if c.Store == nil {
		return errors.New("master: Config.Store is required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Port == 0 {
		c.Port = 5050
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	if c.IP == "" {
		c.IP = "127.0.0.1"
	}
	if c.Version == "" {
		c.Version = "0.1.0"
	}
	if c.AllocationInterval <= 0 {
		c.AllocationInterval = time.Second
	}
	if c.AgentPingTimeout <= 0 {
		c.AgentPingTimeout = 15 * time.Second
	}
	if c.MaxAgentPingTimeouts <= 0 {
		c.MaxAgentPingTimeouts = 5
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 15 * time.Second
	}
	if c.AgentReregisterTimeout <= 0 {
		c.AgentReregisterTimeout = 10 * time.Minute
	}
	if c.RegistryMaxAgentAge <= 0 {
		c.RegistryMaxAgentAge = 14 * 24 * time.Hour
	}
	if c.RegistryMaxAgentCount <= 0 {
		c.RegistryMaxAgentCount = 102400
	}
	if c.RegistryGCInterval <= 0 {
		c.RegistryGCInterval = 15 * time.Minute
	}
	if c.MaxCompletedFrameworks <= 0 {
		c.MaxCompletedFrameworks = 50
	}
	if c.MaxCompletedTasksPerFramework <= 0 {
		c.MaxCompletedTasksPerFramework = 1000
	}
	if c.MinAllocatable == nil {
		c.MinAllocatable = []map[string]float64{{"cpus": 0.01}, {"mem": 32}}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed))
	}
	for role, w := range c.Weights {
		if err := mesos.ValidateRole(role); err != nil {
			return fmt.Errorf("master: --weights: %w", err)
		}
		if w <= 0 {
			return fmt.Errorf("master: --weights: weight of role %q must be positive, got %v", role, w)
		}
	}
	return nil
}

// Master is a Mesos-style master: it tracks agents, frameworks, tasks and
// offers, runs the allocator and serves the v1 scheduler, agent and operator
// APIs and the v0 JSON endpoints. All state sits behind one mutex; every
// handler does its bookkeeping synchronously and pushes events onto
// non-blocking streams, so no lock is ever held across network I/O. Registry
// writes go to the store before the answer leaves (a 2xx is durable).
type Master struct {
	cfg  Config
	log  *slog.Logger
	ids  *mesos.IDGen
	info mesos.MasterInfo

	mu          sync.Mutex
	startTime   time.Time
	electedAt   time.Time
	agents      map[string]*agent
	frameworks  map[string]*framework
	completed   []*framework // completed frameworks, newest last
	offers      map[string]*offer
	filters     []allocator.Filter
	weights     map[string]float64
	quotas      map[string]allocator.Quota
	gone        map[string]bool // agents marked gone
	unreachable map[string]time.Time
	admitted    map[string]bool // agents in the registry
	opSubs      map[*stream]bool
	metrics     counters
	maint       maintenance
	// recoveredAt is when Recover read the registry; agents it listed
	// must re-register within AgentReregisterTimeout of it (zero once
	// the stragglers have been marked unreachable).
	recoveredAt time.Time
	// lastRegistryGC is when the unreachable agents were last pruned.
	lastRegistryGC time.Time

	kick chan struct{} // requests an allocation run
}

// agent is an agent as the master sees it.
type agent struct {
	id           string
	info         mesos.AgentInfo
	version      string
	total        mesos.Resources
	available    mesos.Resources // total - used - offered
	tasks        map[taskKey]*task
	executors    map[string]map[string]mesos.ExecutorInfo // fw -> executor id -> info
	stream       *stream
	connected    bool
	active       bool // false when deactivated by an operator
	pongs        int  // pings unanswered
	registered   time.Time
	reregistered time.Time
	recovered    bool   // known from the registry, not yet re-registered
	ip           string // the address it registered from (its machine's IP)
	// offers are the outstanding offers of this agent's resources (the
	// same *offer as in Master.offers), so that per-agent work does not
	// scan every offer of the cluster.
	offers map[string]*offer
	// lost holds tasks of frameworks without PARTITION_AWARE that were
	// reported TASK_LOST while the agent was unreachable and that the
	// master told the agent to kill when it came back: their updates are
	// acknowledged by the master and never reach the framework.
	lost map[taskKey]bool
}

type taskKey struct{ fw, task string }

// task is a task the master tracks.
type task struct {
	mesos.Task
	role     string
	launched time.Time
	// unreachable is set while the task is TASK_UNREACHABLE.
	unreachableAt time.Time
}

type framework struct {
	id             string
	info           mesos.FrameworkInfo
	stream         *stream
	connected      bool
	active         bool
	recovered      bool // known only from re-registering agents
	registered     time.Time
	reregistered   time.Time
	unregistered   time.Time
	disconnectedAt time.Time
	tasks          map[string]*task
	unreachable    map[string]*task
	completed      []*task
	offers         map[string]*offer
	suppressed     map[string]bool
	removed        bool
}

type offer struct {
	id        string
	fw        string
	agent     string
	role      string
	resources mesos.Resources
	created   time.Time
}

// New returns a master; call Recover, then serve Handler and Run.
func New(cfg Config) (*Master, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ids := mesos.NewIDGen()
	m := &Master{
		cfg:         cfg,
		log:         cfg.Logger.With("component", "master"),
		ids:         ids,
		agents:      map[string]*agent{},
		frameworks:  map[string]*framework{},
		offers:      map[string]*offer{},
		weights:     map[string]float64{},
		quotas:      map[string]allocator.Quota{},
		gone:        map[string]bool{},
		unreachable: map[string]time.Time{},
		admitted:    map[string]bool{},
		opSubs:      map[*stream]bool{},
		kick:        make(chan struct{}, 1),
	}
	for r, w := range cfg.Weights {
		m.weights[r] = w
	}
	m.info = mesos.MasterInfo{
		ID:       ids.MasterID,
		IP:       ipToUint32(cfg.IP),
		Port:     uint32(cfg.Port),
		PID:      "master@" + net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.Port)),
		Hostname: cfg.Hostname,
		Version:  cfg.Version,
		Address:  &mesos.Address{Hostname: cfg.Hostname, IP: cfg.IP, Port: int32(cfg.Port)},
	}
	now := cfg.Now()
	m.startTime, m.electedAt = now, now
	return m, nil
}

// Info returns the master's MasterInfo.
func (m *Master) Info() mesos.MasterInfo { return m.info }

func ipToUint32(ip string) uint32 {
	p := net.ParseIP(ip).To4()
	if p == nil {
		return 0
	}
	// Mesos stores the IP in network byte order inside a uint32.
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

// Registry keys.
const (
	keyAgents      = "registry/agents/"
	keyGone        = "registry/gone/"
	keyUnreachable = "registry/unreachable/"
	keyWeights     = "registry/weights"
	keyQuotas      = "registry/quotas"
)

// Recover loads the registry: admitted agents become "recovered" until they
// re-register; weights and quota are restored.
func (m *Master) Recover(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Only the IDs are needed, and they are in the keys: listing the keys
	// costs one ZooKeeper round trip instead of one read per agent, which
	// at 10,000 agents kept a new leader from serving for seconds.
	ids, err := m.registryIDs(ctx, keyAgents)
	if err != nil {
		return fmt.Errorf("master: reading registry agents: %w", err)
	}
	for _, id := range ids {
		m.admitted[id] = true
	}
	gone, err := m.registryIDs(ctx, keyGone)
	if err != nil {
		return fmt.Errorf("master: reading registry gone agents: %w", err)
	}
	for _, id := range gone {
		m.gone[id] = true
	}
	if kv, err := m.cfg.Store.Get(ctx, keyWeights); err == nil {
		if err := json.Unmarshal(kv.Value, &m.weights); err != nil {
			return fmt.Errorf("master: registry weights: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("master: reading registry weights: %w", err)
	}
	if kv, err := m.cfg.Store.Get(ctx, keyQuotas); err == nil {
		if err := json.Unmarshal(kv.Value, &m.quotas); err != nil {
			return fmt.Errorf("master: registry quotas: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("master: reading registry quotas: %w", err)
	}
	if err := m.recoverMaintenance(ctx); err != nil {
		return err
	}
	if err := m.recoverUnreachable(ctx); err != nil {
		return err
	}
	m.recoveredAt = m.now()
	m.log.Info("recovered registry", "agents", len(m.admitted), "gone", len(m.gone), "weights", len(m.weights), "quotas", len(m.quotas))
	return nil
}

// registryIDs returns the agent IDs named by the keys under prefix
// (prefix + ID), skipping, with a warning, keys that hold no valid ID.
func (m *Master) registryIDs(ctx context.Context, prefix string) ([]string, error) {
	keys, err := m.cfg.Store.Keys(ctx, prefix)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(keys))
	for _, key := range keys {
		id := strings.TrimPrefix(key, prefix)
		if err := mesos.ValidateID(id); err != nil {
			m.log.Warn("skipping bad registry entry", "key", key, "err", err)
			continue
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Run drives the master's clocks: allocation, offer timeouts, agent pings,
// framework heartbeats and failover timeouts, until ctx ends.
func (m *Master) Run(ctx context.Context) error {
	alloc := time.NewTicker(m.cfg.AllocationInterval)
	defer alloc.Stop()
	ping := time.NewTicker(m.cfg.AgentPingTimeout)
	defer ping.Stop()
	hb := time.NewTicker(m.cfg.HeartbeatInterval)
	defer hb.Stop()
	housekeeping := time.NewTicker(500 * time.Millisecond)
	defer housekeeping.Stop()
	// Requested allocations (a new agent, a REVIVE, a DECLINE...) run at
	// once, but after one that took d the next waits until 2d have passed:
	// in a storm (thousands of agents re-registering after a failover)
	// allocation takes at most a third of the master's time instead of
	// running back to back, and a small cluster sees no delay at all.
	deferred := time.NewTimer(time.Hour)
	deferred.Stop()
	defer deferred.Stop()
	var nextAlloc time.Time
	pending := false
	runAlloc := func() {
		start := time.Now()
		m.allocate()
		nextAlloc = time.Now().Add(2 * time.Since(start))
	}
	for {
		select {
		case <-ctx.Done():
			m.shutdown()
			return nil
		case <-alloc.C:
			runAlloc()
		case <-m.kick:
			if wait := time.Until(nextAlloc); wait > 0 {
				if !pending {
					pending = true
					deferred.Reset(wait)
				}
				continue
			}
			runAlloc()
		case <-deferred.C:
			pending = false
			runAlloc()
		case <-ping.C:
			m.pingAgents()
		case <-hb.C:
			m.heartbeat()
		case <-housekeeping.C:
			m.housekeeping()
		}
	}
}

// requestAllocation asks Run for an allocation run soon (coalesced).
func (m *Master) requestAllocation() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Master) shutdown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.frameworks {
		f.stream.Close()
	}
	for _, a := range m.agents {
		a.stream.Close()
	}
	for s := range m.opSubs {
		s.Close()
	}
}

func (m *Master) heartbeat() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.frameworks {
		if f.connected {
			f.stream.Send(mesos.Event{Type: mesos.EventHeartbeat})
		}
	}
	for s := range m.opSubs {
		s.Send(map[string]string{"type": "HEARTBEAT"})
	}
}

// housekeeping expires offers (--offer_timeout), refusal filters and the
// failover timeouts of disconnected frameworks.
func (m *Master) housekeeping() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.Now()
	if m.cfg.OfferTimeout > 0 {
		for _, o := range m.offers {
			if now.Sub(o.created) >= m.cfg.OfferTimeout {
				m.rescindOffer(o, true)
			}
		}
	}
	kept := m.filters[:0]
	for _, f := range m.filters {
		if now.Before(f.Expires) {
			kept = append(kept, f)
		}
	}
	m.filters = kept
	for _, f := range m.frameworks {
		if f.connected || f.recovered || f.disconnectedAt.IsZero() {
			continue
		}
		timeout := time.Duration(float64(f.info.FailoverTimeout) * float64(time.Second))
		if now.Sub(f.disconnectedAt) >= timeout {
			m.log.Info("framework failover timeout expired; removing it", "framework", f.id, "timeout", timeout)
			m.removeFramework(f, "framework failover timeout expired")
		}
	}
	m.checkDrains()
	m.expireRecoveredAgents(now)
	m.gcRegistry(now)
}

// now returns the master clock.
func (m *Master) now() time.Time { return m.cfg.Now() }

func timestamp(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
