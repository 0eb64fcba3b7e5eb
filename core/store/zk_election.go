package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// ZKMemberPrefix names election znodes, as Mesos does: a contender is the
// EPHEMERAL_SEQUENTIAL znode <group>/json.info_<10-digit sequence> holding
// its info (a master's MasterInfo JSON), and the lowest sequence leads.
const ZKMemberPrefix = "json.info_"

// ZKElector runs the leader election of one group: its members are the
// children of one znode. Get one from (*ZK).Elector.
type ZKElector struct {
	z    *ZK
	path string
	err  error // invalid group name
}

var _ Elector = (*ZKElector)(nil)

// Elector returns the Elector of group, whose members are the children of
// <base>/<group>. The group "" is the base path itself, which is what
// Mesos-compatible tools expect: with --zk zk://host/mesos, masters are
// /mesos/json.info_0000000001, ... A group may contain '/' but must not
// start with "kv" or "blobs", which hold the key-value data.
func (z *ZK) Elector(group string) *ZKElector {
	p, err := z.groupPath(group)
	return &ZKElector{z: z, path: p, err: err}
}

// Path returns the znode whose children are the group's members.
func (e *ZKElector) Path() string { return e.path }

// groupPath maps an election group to its znode.
func (z *ZK) groupPath(group string) (string, error) {
	if group == "" {
		return z.base, nil
	}
	segs := strings.Split(group, "/")
	if segs[0] == "kv" || segs[0] == "blobs" {
		return "", fmt.Errorf("store: invalid election group %q: %q is reserved for key-value data", group, segs[0])
	}
	for _, s := range segs {
		if err := validZnodeName(s); err != nil {
			return "", fmt.Errorf("store: invalid election group %q: %w", group, err)
		}
	}
	return z.base + "/" + group, nil
}

// Campaign joins the election with info and blocks until this process
// leads, or ctx ends (its node is then removed). Following ZooKeeper's
// recipe, each contender watches only its predecessor, so a change wakes one
// process. Once elected, the session is synced with the ensemble's leader,
// so the store's later reads see every write committed before the election.
func (e *ZKElector) Campaign(ctx context.Context, info []byte) (Leadership, error) {
	if e.err != nil {
		return nil, e.err
	}
	z := e.z
	if err := z.begin(ctx, "campaign in", e.path); err != nil {
		return nil, err
	}
	info = bytes.Clone(info)
	fail := func(err error) (Leadership, error) { return nil, z.opErr("campaign in", e.path, false, err) }

	node := ""
	for {
		if node == "" {
			var err error
			if node, err = e.join(ctx, info); err != nil {
				return fail(err)
			}
			z.log.Info("store: joined leader election", "node", node)
		}
		var members []string
		err := z.call(ctx, func() error {
			var err error
			members, err = e.members()
			return err
		})
		if err != nil {
			z.deleteEventually(node)
			return fail(err)
		}
		pos := slices.Index(members, path.Base(node))
		if pos < 0 {
			z.log.Warn("store: election node vanished (session expired?); joining again", "node", node)
			node = ""
			continue
		}
		if pos == 0 {
			l, err := e.lead(ctx, node)
			if err != nil {
				z.deleteEventually(node)
				return fail(err)
			}
			if l == nil {
				node = "" // vanished just now
				continue
			}
			return l, nil
		}

		pred := e.path + "/" + members[pos-1]
		var exists bool
		var watch <-chan zk.Event
		err = z.call(ctx, func() error {
			var err error
			exists, _, watch, err = z.conn.ExistsW(pred)
			return err
		})
		if err != nil {
			z.deleteEventually(node)
			return fail(err)
		}
		if !exists {
			continue
		}
		z.log.Debug("store: waiting for predecessor in leader election", "node", node, "predecessor", pred)
		select {
		case <-watch: // deleted, or the session changed: look again
		case <-ctx.Done():
			z.deleteEventually(node)
			return fail(ctx.Err())
		case <-z.closing:
			return nil, ErrClosed
		}
	}
}

// join creates this process's EPHEMERAL_SEQUENTIAL member node. If ctx
// ends first, a node created later is deleted again, never left behind to
// win an election nobody is waiting for.
func (e *ZKElector) join(ctx context.Context, info []byte) (string, error) {
	z := e.z
	var (
		mu        sync.Mutex
		abandoned bool
		node      string
	)
	done := make(chan error, 1)
	err := z.goTracked(func() {
		n, err := e.create(info)
		mu.Lock()
		defer mu.Unlock()
		if err == nil && abandoned {
			z.deleteEventually(n)
		}
		node = n
		done <- err
	})
	if err != nil {
		return "", err
	}
	select {
	case err := <-done:
		return node, err
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		select {
		case err := <-done:
			return node, err
		default:
			abandoned = true
			return "", ctx.Err()
		}
	}
}

// create creates the member node, creating the group's znode if needed.
// If the connection drops during the create, the node may exist: it is
// found by its owner (this session) and data.
func (e *ZKElector) create(info []byte) (string, error) {
	z := e.z
	var err error
	for range 5 {
		var n string
		n, err = z.conn.Create(e.path+"/"+ZKMemberPrefix, info, zk.FlagEphemeral|zk.FlagSequence, z.publicACL)
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, zk.ErrNoNode):
			if err := z.ensurePath(e.path); err != nil {
				return "", err
			}
		case errors.Is(err, zk.ErrConnectionClosed):
			if n, ferr := e.findOwn(info); ferr == nil && n != "" {
				return n, nil
			}
		case errors.Is(err, zk.ErrSessionExpired):
			// The node, if created, went with the session: try again.
		default:
			return "", err
		}
	}
	return "", err
}

// findOwn returns a member node owned by this session with data info.
func (e *ZKElector) findOwn(info []byte) (string, error) {
	z := e.z
	names, err := z.children(e.path)
	if err != nil {
		return "", err
	}
	sid := z.conn.SessionID()
	for _, n := range names {
		if !strings.HasPrefix(n, ZKMemberPrefix) {
			continue
		}
		data, stat, err := z.conn.Get(e.path + "/" + n)
		if err == nil && stat.EphemeralOwner == sid && bytes.Equal(data, info) {
			return e.path + "/" + n, nil
		}
	}
	return "", nil
}

// lead makes node's owner the leader: it syncs the session and starts
// watching the node. It returns nil if the node has vanished.
func (e *ZKElector) lead(ctx context.Context, node string) (*ZKLeadership, error) {
	z := e.z
	expiries := z.sess.state().expiries
	err := z.call(ctx, func() error {
		_, err := z.conn.Sync(z.base)
		return err
	})
	if err != nil {
		return nil, err
	}
	var (
		exists bool
		stat   *zk.Stat
		watch  <-chan zk.Event
	)
	err = z.call(ctx, func() error {
		var err error
		exists, stat, watch, err = z.conn.ExistsW(node)
		return err
	})
	if err != nil || !exists {
		return nil, err
	}
	l := &ZKLeadership{z: z, node: node, owner: stat.EphemeralOwner, expiries: expiries,
		lost: make(chan struct{}), resigned: make(chan struct{})}
	if err := z.goTracked(func() { l.monitor(watch) }); err != nil {
		return nil, err
	}
	z.log.Info("store: elected leader", "group", e.path, "node", node)
	return l, nil
}

// Leader returns the info of the group's leader (its lowest member), or
// ErrNotFound when the group has no members.
func (e *ZKElector) Leader(ctx context.Context) ([]byte, error) {
	if e.err != nil {
		return nil, e.err
	}
	z := e.z
	if err := z.begin(ctx, "find leader of", e.path); err != nil {
		return nil, err
	}
	var info []byte
	err := z.call(ctx, func() error {
		for range zkRetries {
			members, err := e.members()
			if errors.Is(err, zk.ErrNoNode) || err == nil && len(members) == 0 {
				return fmt.Errorf("%w: no leader in %s", ErrNotFound, e.path)
			}
			if err != nil {
				return err
			}
			data, _, err := z.readRetry(func() ([]byte, *zk.Stat, error) { return z.conn.Get(e.path + "/" + members[0]) })
			if errors.Is(err, zk.ErrNoNode) {
				continue // the leader left just now
			}
			info = nonNil(data)
			return err
		}
		return fmt.Errorf("the leadership of %s kept changing", e.path)
	})
	if err != nil {
		return nil, z.opErr("find leader of", e.path, false, err)
	}
	return info, nil
}

// members lists the group's member node names, lowest sequence first.
func (e *ZKElector) members() ([]string, error) {
	names, err := e.z.children(e.path)
	if err != nil {
		return nil, err
	}
	return sortMembers(names), nil
}

// sortMembers keeps the election nodes among names (json.info_<seq>),
// ordered by sequence number.
func sortMembers(names []string) []string {
	type member struct {
		name string
		seq  int64
	}
	var ms []member
	for _, n := range names {
		s, ok := strings.CutPrefix(n, ZKMemberPrefix)
		if !ok {
			continue
		}
		seq, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		ms = append(ms, member{n, seq})
	}
	slices.SortFunc(ms, func(a, b member) int {
		if a.seq != b.seq {
			if a.seq < b.seq {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.name
	}
	return out
}

// ZKLeadership is a won ZooKeeper election.
//
// It ends (Lost closes) when Resign is called, when the store is closed,
// when the member node is deleted, when the session expires, or when the
// connection to the ensemble has been down for a quarter of the session
// timeout. That last rule is conservative on purpose: the client notices a
// silent connection only after two thirds of the session timeout, and the
// ensemble may expire the session (and elect someone else) one third after
// that; stepping down earlier keeps two leaders from acting at once, at the
// price of losing leadership when no server answers for a few seconds.
// Reconnecting to another server of the ensemble within that time (the
// common case when one server dies) keeps the leadership.
type ZKLeadership struct {
	z        *ZK
	node     string
	owner    int64  // session that owns node
	expiries uint64 // session expiries seen before the election was won

	lost         chan struct{}
	lostOnce     sync.Once
	resigned     chan struct{}
	resignedOnce sync.Once
}

var _ Leadership = (*ZKLeadership)(nil)

// Lost is closed when the leadership ends for any reason.
func (l *ZKLeadership) Lost() <-chan struct{} { return l.lost }

// Node returns the leader's member node, e.g. /strata/json.info_0000000003.
func (l *ZKLeadership) Node() string { return l.node }

// Resign gives up leadership: Lost closes and the member node is deleted,
// so the next contender takes over at once. If ZooKeeper cannot be reached
// before ctx ends, the node is deleted in the background (or disappears
// with the session); Resign then still returns nil.
func (l *ZKLeadership) Resign(ctx context.Context) error {
	l.resignedOnce.Do(func() { close(l.resigned) })
	l.end("resigned")
	z := l.z
	err := z.call(ctx, func() error { return z.conn.Delete(l.node, -1) })
	switch {
	case err == nil, errors.Is(err, zk.ErrNoNode), errors.Is(err, ErrClosed):
	default:
		z.log.Warn("store: could not delete election node on resign; retrying in the background", "node", l.node, "err", err)
		z.deleteEventually(l.node)
	}
	return nil
}

// end closes Lost once.
func (l *ZKLeadership) end(reason string) {
	l.lostOnce.Do(func() {
		close(l.lost)
		l.z.log.Warn("store: leadership ended", "node", l.node, "reason", reason)
	})
}

// monitor ends the leadership when the node or session goes away; it runs
// until then, tracked by the store.
func (l *ZKLeadership) monitor(watch <-chan zk.Event) {
	z := l.z
	grace := z.opts.SessionTimeout / 4
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		st := z.sess.state()
		switch {
		case st.expiries != l.expiries:
			l.end("the ZooKeeper session expired")
			return
		case st.connected && z.conn.SessionID() != l.owner:
			l.end("the ZooKeeper session was replaced")
			return
		case !st.connected && timer == nil:
			timer = time.NewTimer(max(0, grace-time.Since(st.downSince)))
		case st.connected && timer != nil:
			timer.Stop()
			timer = nil
		}
		var timeout <-chan time.Time
		if timer != nil {
			timeout = timer.C
		}

		select {
		case ev := <-watch:
			switch ev.Type {
			case zk.EventNodeDeleted:
				l.end("the election node was deleted")
				return
			case zk.EventNotWatching:
				l.end(fmt.Sprintf("the watch on the election node ended: %v", ev.Err))
				return
			}
			// Any other event (the data changed): watch again.
			exists, _, w, err := z.conn.ExistsW(l.node)
			if err != nil || !exists {
				l.end(fmt.Sprintf("the election node could not be watched again (exists=%v, err=%v)", exists, err))
				z.deleteEventually(l.node)
				return
			}
			watch = w
		case <-st.changed:
		case <-timeout:
			l.end(fmt.Sprintf("disconnected from ZooKeeper for more than %v (a quarter of the session timeout)", grace))
			z.deleteEventually(l.node) // when reconnected, unless the session is gone already
			return
		case <-l.resigned:
			return
		case <-z.closing:
			l.end("the store was closed")
			return
		}
	}
}

// deleteEventually deletes node in the background, retrying until it is
// gone, its session has expired, or the store is closed.
func (z *ZK) deleteEventually(node string) {
	_ = z.goTracked(func() {
		for {
			err := z.conn.Delete(node, -1)
			if err == nil || errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrSessionExpired) || z.isClosed() {
				return
			}
			select {
			case <-z.closing:
				return
			case <-time.After(time.Second):
			}
		}
	})
}

// WatchLeader follows the leader of group (see Elector for group names):
// it sends the leader's info at once and again whenever the leader changes,
// and nil while there is none. Agents, frameworks and the CLI use it to
// follow --master zk://... The channel is closed when ctx ends or the store
// is closed; receive from it promptly, as a slow receiver delays later
// updates (it then gets the latest one, not every step). If ZooKeeper stays
// unreachable for a whole session timeout, nil is sent: as in Mesos, the
// old leader must then be considered gone.
func (z *ZK) WatchLeader(ctx context.Context, group string) <-chan []byte {
	out := make(chan []byte)
	p, err := z.groupPath(group)
	if err != nil {
		z.log.Error("store: cannot watch leader", "err", err)
		close(out)
		return out
	}
	if err := z.goTracked(func() {
		defer close(out)
		z.watchLeader(ctx, p, out)
	}); err != nil {
		close(out)
	}
	return out
}

func (z *ZK) watchLeader(ctx context.Context, group string, out chan<- []byte) {
	var (
		last         []byte
		sent         bool
		failingSince time.Time
	)
	send := func(info []byte) bool {
		select {
		case out <- info:
			last, sent = info, true
			return true
		case <-ctx.Done():
		case <-z.closing:
		}
		return false
	}
	for {
		var (
			info  []byte
			watch <-chan zk.Event
		)
		qctx, cancel := context.WithTimeout(ctx, z.opts.SessionTimeout)
		err := z.call(qctx, func() error {
			var err error
			info, watch, err = z.leaderW(group)
			return err
		})
		cancel()
		if err != nil {
			if ctx.Err() != nil || z.isClosed() {
				return
			}
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			z.log.Debug("store: watching leader", "group", group, "err", err)
			if (!sent || last != nil) && time.Since(failingSince) >= z.opts.SessionTimeout {
				if !send(nil) {
					return
				}
			}
			select {
			case <-time.After(500 * time.Millisecond):
				continue
			case <-ctx.Done():
			case <-z.closing:
			}
			return
		}
		failingSince = time.Time{}
		if !sent || (info == nil) != (last == nil) || !bytes.Equal(info, last) {
			if !send(info) {
				return
			}
		}
		// The client fires watches on session expiry but not on a mere
		// disconnect, and a session cannot expire while the ensemble has no
		// quorum: re-read at least every session timeout so that a lost
		// ensemble turns into "no leader" instead of a stale one.
	wait:
		for {
			select {
			case <-watch:
				break wait
			case <-time.After(z.opts.SessionTimeout):
				if z.conn.State() != zk.StateHasSession {
					break wait
				}
			case <-ctx.Done():
				return
			case <-z.closing:
				return
			}
		}
	}
}

// leaderW returns the group's leader info (nil when there is none) and a
// watch that fires when the membership may have changed.
func (z *ZK) leaderW(group string) ([]byte, <-chan zk.Event, error) {
	for range zkRetries {
		names, _, watch, err := z.conn.ChildrenW(group)
		if errors.Is(err, zk.ErrNoNode) {
			exists, _, w, err := z.conn.ExistsW(group)
			if err != nil {
				return nil, nil, err
			}
			if exists {
				continue // created just now
			}
			return nil, w, nil
		}
		if err != nil {
			return nil, nil, err
		}
		members := sortMembers(names)
		if len(members) == 0 {
			return nil, watch, nil
		}
		data, _, err := z.conn.Get(group + "/" + members[0])
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		return nonNil(data), watch, nil
	}
	return nil, nil, fmt.Errorf("the leadership of %s kept changing", group)
}

// nonNil returns b, or an empty slice if b is nil, so that a leader with
// empty info is told apart from no leader.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
