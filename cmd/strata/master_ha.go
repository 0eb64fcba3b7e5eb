package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-sched/strata/core/master"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// startMasterZK runs a master that is one of several on a ZooKeeper
// ensemble (--zk). It serves as a standby (redirecting API calls to the
// leader, 503 while none is elected) until it wins the election in the
// Mesos layout (json.info_<seq> nodes holding MasterInfo JSON under the --zk
// path); then it recovers the registry from ZooKeeper and leads. When it
// loses leadership (ZooKeeper unreachable, session expired) it stops leading
// at once, drops its soft state, serves as a standby again and campaigns
// anew — Mesos exits instead and relies on a supervisor; the effect for
// agents and frameworks is the same.
func startMasterZK(ctx context.Context, o masterOptions, log *slog.Logger, lv *slog.LevelVar) (addr string, run func() error, err error) {
	if o.quorum < 0 {
		return "", nil, fmt.Errorf("--quorum %d: must be positive", o.quorum)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	zk, err := store.OpenZK(octx, o.zk, store.ZKOptions{SessionTimeout: o.zkSessionTimeout}, log)
	if err != nil {
		return "", nil, fmt.Errorf("--zk: %w", err)
	}
	if _, err := newMaster(o, zk, log, lv); err != nil { // validate flags before listening
		zk.Close()
		return "", nil, err
	}
	ln, err := listen(o.ip, o.port, "--port")
	if err != nil {
		zk.Close()
		return "", nil, err
	}
	started := time.Now()
	var leader atomic.Pointer[mesos.MasterInfo]
	var current atomic.Pointer[http.Handler]
	switcher := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*current.Load()).ServeHTTP(w, r) })
	log.Info("master listening as a standby until elected", "addr", ln.Addr().String(), "zk", o.zk)

	run = func() error {
		defer zk.Close()
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		standby := func(self mesos.MasterInfo) {
			h := master.StandbyHandler(self, started, leader.Load)
			current.Store(&h)
		}
		// A placeholder identity until the first master is built.
		standby(mesos.MasterInfo{ID: "standby", Version: version})
		serveErr := make(chan error, 1)
		var h http.Handler = switcher
		if o.profiling {
			h = withProfiling(h)
		}
		go func() { serveErr <- serve(ctx, ln, h, log) }()
		watchDone := make(chan struct{})
		go func() {
			defer close(watchDone)
			for b := range zk.WatchLeader(ctx, "") {
				if b == nil {
					leader.Store(nil)
					continue
				}
				if info, err := mesos.ParseMasterInfo(b); err == nil {
					leader.Store(&info)
					log.Info("leading master", "id", info.ID, "addr", info.HostPort())
				}
			}
		}()
		defer func() { stop(); <-watchDone }()
		for {
			m, err := newMaster(o, zk, log, lv)
			if err != nil {
				return err
			}
			self := m.Info()
			standby(self)
			if err := leadOnce(ctx, zk, m, &current, func() { standby(self) }, log); err != nil {
				log.Error("leadership ended; serving as a standby and campaigning again", "err", err)
			}
			if ctx.Err() != nil {
				return <-serveErr
			}
			select {
			case err := <-serveErr:
				return err
			case <-time.After(time.Second):
			}
		}
	}
	return ln.Addr().String(), run, nil
}

// leadOnce campaigns with m's MasterInfo and, once elected, runs m until
// leadership is lost or ctx ends.
func leadOnce(ctx context.Context, zk *store.ZK, m *master.Master, current *atomic.Pointer[http.Handler], toStandby func(), log *slog.Logger) error {
	info, _ := json.Marshal(m.Info())
	l, err := zk.Elector("").Campaign(ctx, info)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("campaigning for leadership: %w", err)
	}
	log.Info("elected leading master; recovering the registry", "id", m.Info().ID)
	if err := m.Recover(ctx); err != nil {
		l.Resign(context.Background())
		return err
	}
	h := m.Handler()
	current.Store(&h)
	mctx, stopMaster := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- m.Run(mctx) }()
	select {
	case <-l.Lost():
		// Stop answering as the leader at once: standby first, then stop
		// the master, which closes its framework and agent streams so that
		// they look for the new leader.
		toStandby()
		stopMaster()
		<-runErr
		return fmt.Errorf("lost leadership in ZooKeeper")
	case <-ctx.Done():
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		l.Resign(rctx)
		cancel()
		stopMaster()
		<-runErr
		return nil
	}
}

// newMaster builds a master from its flags on the given store.
func newMaster(o masterOptions, st store.Store, log *slog.Logger, lv *slog.LevelVar) (*master.Master, error) {
	weights, err := parseWeights(o.weights)
	if err != nil {
		return nil, err
	}
	var roles []string
	for _, r := range strings.Split(o.roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			if err := mesos.ValidateRole(r); err != nil {
				return nil, fmt.Errorf("--roles: %w", err)
			}
			roles = append(roles, r)
		}
	}
	hostname := o.hostname
	if hostname == "" {
		hostname = o.ip
	}
	return master.New(master.Config{
		Hostname: hostname, IP: o.ip, Port: o.port, Store: st, Logger: log, Version: version,
		Flags: o.flags, Cluster: o.cluster, AllocationInterval: o.allocationInterval,
		OfferTimeout: o.offerTimeout, AgentPingTimeout: o.agentPingTimeout,
		MaxAgentPingTimeouts: o.maxAgentPingTimeouts, Weights: weights, Roles: roles, LevelVar: lv,
		AgentReregisterTimeout: o.agentReregisterTimeout, RegistryMaxAgentAge: o.registryMaxAgentAge,
		RegistryMaxAgentCount: o.registryMaxAgentCount, RegistryGCInterval: o.registryGCInterval,
	})
}

// resolveMaster turns a --master value into host:port; zk://... is looked up
// in ZooKeeper (the leading master's MasterInfo, Mesos layout).
func resolveMaster(ctx context.Context, m string) (string, error) {
	if !strings.HasPrefix(m, "zk://") {
		return m, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	zk, err := store.OpenZK(ctx, m, store.ZKOptions{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", fmt.Errorf("--master %s: %w", m, err)
	}
	defer zk.Close()
	b, err := zk.Elector("").Leader(ctx)
	if err != nil {
		return "", fmt.Errorf("--master %s: no leading master: %w", m, err)
	}
	info, err := mesos.ParseMasterInfo(b)
	if err != nil {
		return "", err
	}
	return info.HostPort(), nil
}

// zkLeaderFollower follows the leading master named in ZooKeeper for an
// agent started with --master zk://...: one session and one watch for the
// agent's whole life, instead of a new session for every lookup. Detect
// and Changed feed agent.Config.DetectMaster and MasterChanged.
type zkLeaderFollower struct {
	url string
	log *slog.Logger

	mu      sync.Mutex
	addr    string        // host:port of the leader; "" while none is known
	changed chan struct{} // closed (and replaced) when addr changes
}

func newZKLeaderFollower(url string, log *slog.Logger) *zkLeaderFollower {
	return &zkLeaderFollower{url: url, log: log, changed: make(chan struct{})}
}

// run follows the leader until ctx ends; it keeps trying while ZooKeeper
// cannot be reached.
func (f *zkLeaderFollower) run(ctx context.Context) {
	for ctx.Err() == nil {
		octx, cancel := context.WithTimeout(ctx, 15*time.Second)
		zk, err := store.OpenZK(octx, f.url, store.ZKOptions{}, f.log)
		cancel()
		if err != nil {
			f.log.Warn("cannot reach ZooKeeper to follow the leading master; retrying", "master", f.url, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for b := range zk.WatchLeader(ctx, "") {
			if b == nil {
				f.set("")
				continue
			}
			info, err := mesos.ParseMasterInfo(b)
			if err != nil {
				f.log.Warn("bad leading master info in ZooKeeper", "master", f.url, "err", err)
				continue
			}
			f.set(info.HostPort())
		}
		zk.Close()
	}
}

func (f *zkLeaderFollower) set(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if addr == f.addr {
		return
	}
	if addr != "" {
		f.log.Info("leading master detected", "addr", addr)
	}
	f.addr = addr
	close(f.changed)
	f.changed = make(chan struct{})
}

// Changed returns a channel closed at the next change of leader.
func (f *zkLeaderFollower) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// Detect returns the leading master's host:port, waiting up to 15 s while
// none is known.
func (f *zkLeaderFollower) Detect(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		f.mu.Lock()
		addr, changed := f.addr, f.changed
		f.mu.Unlock()
		if addr != "" {
			return addr, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", fmt.Errorf("--master %s: no leading master in ZooKeeper: %w", f.url, ctx.Err())
		}
	}
}
