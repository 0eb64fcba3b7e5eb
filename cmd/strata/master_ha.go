package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/strata-sched/strata/core/master"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/store"
)

// startMasterZK runs a master that is one of several on a ZooKeeper
// ensemble (--zk). It serves as a standby (redirecting API calls to the
// leader) until it wins the election in the Mesos layout (json.info_<seq>
// nodes holding MasterInfo JSON under the --zk path), then recovers the
// registry from ZooKeeper and leads. Like a Mesos master it exits when it
// loses leadership; a supervisor restarts it as a standby.
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
	m, err := newMaster(o, zk, log, lv)
	if err != nil {
		zk.Close()
		return "", nil, err
	}
	ln, err := listen(o.ip, o.port, "--port")
	if err != nil {
		zk.Close()
		return "", nil, err
	}
	self := m.Info()
	started := time.Now()
	var leader atomic.Pointer[mesos.MasterInfo]
	standby := master.StandbyHandler(self, started, leader.Load)
	var current atomic.Pointer[http.Handler]
	current.Store(&standby)
	switcher := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*current.Load()).ServeHTTP(w, r) })
	log.Info("master listening as a standby until elected", "addr", ln.Addr().String(), "zk", o.zk, "id", self.ID)

	run = func() error {
		defer zk.Close()
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		serveErr := make(chan error, 1)
		go func() { serveErr <- serve(ctx, ln, switcher, log) }()
		watchDone := make(chan struct{})
		go func() {
			defer close(watchDone)
			for b := range zk.WatchLeader(ctx, "") {
				if b == nil {
					leader.Store(nil)
					continue
				}
				var info mesos.MasterInfo
				if json.Unmarshal(b, &info) == nil {
					leader.Store(&info)
					log.Info("leading master", "id", info.ID, "addr", info.HostPort())
				}
			}
		}()
		defer func() { stop(); <-watchDone }()
		info, _ := json.Marshal(self)
		l, err := zk.Elector("").Campaign(ctx, info)
		if err != nil {
			if ctx.Err() != nil {
				return <-serveErr
			}
			return fmt.Errorf("campaigning for leadership: %w", err)
		}
		log.Info("elected leading master; recovering the registry")
		if err := m.Recover(ctx); err != nil {
			l.Resign(context.Background())
			return err
		}
		h := m.Handler()
		current.Store(&h)
		runErr := make(chan error, 1)
		go func() { runErr <- m.Run(ctx) }()
		select {
		case <-l.Lost():
			stop()
			<-runErr
			<-serveErr
			return fmt.Errorf("lost leadership in ZooKeeper; exiting so that a supervisor restarts this master as a standby")
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			l.Resign(rctx)
			cancel()
			<-runErr
			return <-serveErr
		case err := <-serveErr:
			stop()
			<-runErr
			return err
		}
	}
	return ln.Addr().String(), run, nil
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
