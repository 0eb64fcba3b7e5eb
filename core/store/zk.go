package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-zookeeper/zk"
)

// Defaults and limits of the ZooKeeper backend.
const (
	// DefaultZKSessionTimeout is the session timeout when ZKOptions leaves
	// it zero; Mesos' --zk_session_timeout has the same default.
	DefaultZKSessionTimeout = 10 * time.Second

	// DefaultZKChunkSize is the largest value stored in a single znode;
	// larger values are split into chunks of this size. ZooKeeper refuses
	// requests over jute.maxbuffer (1 MiB - 1 by default), so this leaves
	// ample room for the path and the request framing.
	DefaultZKChunkSize = 512 << 10

	// Bounds for ZKOptions.ChunkSize.
	minZKChunkSize = 1 << 10
	maxZKChunkSize = 960 << 10

	// zkDefaultPort is ZooKeeper's client port, used when a host in a
	// zk:// URL has none.
	zkDefaultPort = "2181"

	// zkURLForm is the accepted URL syntax, quoted in parse errors.
	zkURLForm = "zk://[user:password@]host1:2181[,host2:2181,...]/path"
)

// ZKOptions tune the ZooKeeper backend. The zero value is ready to use.
type ZKOptions struct {
	// SessionTimeout is the ZooKeeper session timeout (default 10 s). After
	// this long without contact, the ensemble ends the session, deleting
	// its election nodes. The servers clamp it to [2, 20] x tickTime
	// unless min/maxSessionTimeout are configured.
	SessionTimeout time.Duration
	// ChunkSize is the largest value stored in a single znode (default
	// 512 KiB, at most 960 KiB); larger values are split into chunks. It
	// must stay below the servers' jute.maxbuffer. Readers follow the
	// layout recorded with each value, so processes may differ here.
	ChunkSize int
}

// withDefaults validates o and fills in defaults.
func (o ZKOptions) withDefaults() (ZKOptions, error) {
	if o.SessionTimeout == 0 {
		o.SessionTimeout = DefaultZKSessionTimeout
	}
	if o.SessionTimeout < time.Second {
		return o, fmt.Errorf("store: ZooKeeper session timeout %v is too short; use at least 1s", o.SessionTimeout)
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultZKChunkSize
	}
	if o.ChunkSize < minZKChunkSize || o.ChunkSize > maxZKChunkSize {
		return o, fmt.Errorf("store: ZooKeeper chunk size %d is out of range [%d, %d]", o.ChunkSize, minZKChunkSize, maxZKChunkSize)
	}
	return o, nil
}

// ZKURL is a parsed zk:// URL, the form Mesos uses for --zk and --master.
type ZKURL struct {
	// Servers are host:port pairs.
	Servers []string
	// Path is the base znode, for example "/strata"; never "/" and never
	// with a trailing slash.
	Path string
	// User and Password enable ZooKeeper digest authentication when User
	// is not empty.
	User, Password string
}

// redactedPassword stands for a password in URLs written to logs and
// errors (the mask net/url's URL.Redacted uses).
const redactedPassword = "xxxxx"

// String returns the URL with the password redacted, for logs.
func (u ZKURL) String() string {
	auth := ""
	if u.User != "" {
		auth = url.PathEscape(u.User) + ":" + redactedPassword + "@"
	}
	return "zk://" + auth + strings.Join(u.Servers, ",") + u.Path
}

// ParseZKURL parses zk://[user:password@]host1:2181[,host2:2181,...]/path.
// A host without a port gets 2181; user and password may be
// percent-encoded. The path must name a znode below the root.
func ParseZKURL(raw string) (ZKURL, error) {
	bad := func(why string) (ZKURL, error) {
		return ZKURL{}, fmt.Errorf("store: invalid ZooKeeper URL %q: %s; want %s", redactZKURL(raw), why, zkURLForm)
	}
	rest, ok := strings.CutPrefix(raw, "zk://")
	if !ok {
		return bad("it does not start with zk://")
	}
	authority, p, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("it has no path")
	}
	p = "/" + strings.TrimSuffix(p, "/")
	if p == "/" {
		return bad("the path is empty")
	}
	if err := validateZKPath(p); err != nil {
		return bad(err.Error())
	}

	var u ZKURL
	u.Path = p
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		user, pass, ok := strings.Cut(authority[:at], ":")
		if !ok || user == "" {
			return bad("credentials must be user:password")
		}
		var err error
		if u.User, err = url.PathUnescape(user); err != nil {
			return bad("bad escape in user")
		}
		if u.Password, err = url.PathUnescape(pass); err != nil {
			return bad("bad escape in password")
		}
		authority = authority[at+1:]
	}
	if authority == "" {
		return bad("no servers")
	}
	for _, hp := range strings.Split(authority, ",") {
		if hp == "" {
			return bad("empty server in the list")
		}
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			// No port: "host" or "[::1]".
			host, port = strings.TrimSuffix(strings.TrimPrefix(hp, "["), "]"), zkDefaultPort
		}
		if host == "" || strings.ContainsAny(host, "[]/@ ") {
			return bad(fmt.Sprintf("bad server %q", hp))
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("bad port in %q", hp))
		}
		u.Servers = append(u.Servers, net.JoinHostPort(host, port))
	}
	return u, nil
}

// redactZKURL hides the password of a possibly malformed URL.
func redactZKURL(raw string) string {
	rest, ok := strings.CutPrefix(raw, "zk://")
	if !ok {
		return raw
	}
	authority, p, _ := strings.Cut(rest, "/")
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return raw
	}
	user, _, _ := strings.Cut(authority[:at], ":")
	return "zk://" + user + ":" + redactedPassword + "@" + authority[at+1:] + "/" + p
}

// validateZKPath checks an absolute znode path below the root.
func validateZKPath(p string) error {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if segs[0] == "zookeeper" {
		return errors.New("/zookeeper is reserved by ZooKeeper")
	}
	for _, s := range segs {
		if err := validZnodeName(s); err != nil {
			return err
		}
	}
	return nil
}

// validZnodeName rejects names ZooKeeper refuses: empty, "." and "..",
// invalid UTF-8, and the control and private-use characters listed in the
// ZooKeeper programmer's guide.
func validZnodeName(s string) error {
	switch s {
	case "":
		return errors.New("empty znode name (double or trailing slash?)")
	case ".", "..":
		return fmt.Errorf("znode name %q is not allowed", s)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("znode name %q is not valid UTF-8", s)
	}
	for _, r := range s {
		if r <= 0x1f || (r >= 0x7f && r <= 0x9f) || (r >= 0xd800 && r <= 0xf8ff) || (r >= 0xfff0 && r <= 0xffff) {
			return fmt.Errorf("znode name %q contains the character %U, which ZooKeeper does not allow", s, r)
		}
	}
	return nil
}

// ZK is the ZooKeeper-backed Store, with leader election (Elector) and
// leader detection (WatchLeader). The znode layout is described in the
// package documentation. One ZK holds one ZooKeeper session; it is safe for
// concurrent use.
type ZK struct {
	url  ZKURL
	opts ZKOptions
	log  *slog.Logger
	conn *zk.Conn
	// events is the client's event channel, closed when the client's
	// goroutines have ended; Close waits for that.
	events <-chan zk.Event

	base     string // the URL's path, e.g. /strata
	kvRoot   string // base + "/kv"
	blobRoot string // base + "/blobs"

	// publicACL protects the base path and election nodes (world-readable,
	// so that detectors without credentials find the leader, as in Mesos);
	// privateACL protects keys and chunks. Both are open when the URL has
	// no credentials.
	publicACL  []zk.ACL
	privateACL []zk.ACL

	sess sessionWatch

	// mu guards closed; it is held shared while registering goroutines in
	// wg, so that Close's wg.Wait never races with wg.Add.
	mu      sync.RWMutex
	closed  bool
	closing chan struct{} // closed by Close
	wg      sync.WaitGroup
}

var _ Store = (*ZK)(nil)

// OpenZK connects to the ZooKeeper ensemble named by rawURL (see
// ParseZKURL) and waits until it has a session, or ctx ends. Nothing is
// written until the first Put or Campaign, so a process without write
// permission may still open the store to follow the leader. With
// user:password in the URL, the session authenticates with the digest
// scheme and every znode it creates carries an ACL that lets only that
// identity write (and read keys). A nil logger discards logs.
func OpenZK(ctx context.Context, rawURL string, opts ZKOptions, logger *slog.Logger) (*ZK, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u, err := ParseZKURL(rawURL)
	if err != nil {
		return nil, err
	}
	if opts, err = opts.withDefaults(); err != nil {
		return nil, err
	}

	z := &ZK{
		url:      u,
		opts:     opts,
		log:      logger,
		base:     u.Path,
		kvRoot:   u.Path + "/kv",
		blobRoot: u.Path + "/blobs",
		closing:  make(chan struct{}),
	}
	z.sess.init()
	z.publicACL = zk.WorldACL(zk.PermAll)
	z.privateACL = z.publicACL
	if u.User != "" {
		owner := zk.DigestACL(zk.PermAll, u.User, u.Password)
		z.privateACL = owner
		z.publicACL = append(append([]zk.ACL(nil), owner...), zk.WorldACL(zk.PermRead)...)
	}

	conn, events, err := zk.Connect(u.Servers, opts.SessionTimeout,
		zk.WithLogger(zkLogger{logger}),
		zk.WithLogInfo(false),
		zk.WithEventCallback(z.onEvent),
	)
	if err != nil {
		return nil, fmt.Errorf("store: connect to ZooKeeper %s: %w", u, err)
	}
	z.conn, z.events = conn, events

	if err := z.awaitSession(ctx); err != nil {
		z.shutdown()
		return nil, fmt.Errorf("store: connect to ZooKeeper %s: no session (is the ensemble up and reachable?): %w", u, err)
	}
	if u.User != "" {
		err := z.call(ctx, func() error { return conn.AddAuth("digest", []byte(u.User+":"+u.Password)) })
		if err != nil {
			z.shutdown()
			return nil, fmt.Errorf("store: authenticate to ZooKeeper %s as %q: %w", u, u.User, err)
		}
	}
	if err := z.call(ctx, z.sweepBlobs); errors.Is(err, zk.ErrNoAuth) {
		logger.Debug("store: not allowed to look for orphaned chunks (read-only credentials)", "err", err)
	} else if err != nil {
		logger.Warn("store: could not look for orphaned chunks", "err", err)
	}
	logger.Info("store: opened ZooKeeper store", "url", u.String(), "session_timeout", opts.SessionTimeout)
	return z, nil
}

// awaitSession waits until the connection has a session.
func (z *ZK) awaitSession(ctx context.Context) error {
	for {
		st := z.sess.state()
		if st.connected {
			return nil
		}
		select {
		case <-st.changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close ends every Leadership of this store, closes the ZooKeeper session
// (which deletes its election nodes at once, so a standby takes over without
// waiting for the session timeout) and waits for the store's goroutines.
// Every later call, including Close, returns ErrClosed.
func (z *ZK) Close() error {
	if !z.shutdown() {
		return ErrClosed
	}
	z.log.Info("store: closed ZooKeeper store", "url", z.url.String())
	return nil
}

// shutdown closes the store; it reports false if it was already closed.
func (z *ZK) shutdown() bool {
	z.mu.Lock()
	if z.closed {
		z.mu.Unlock()
		return false
	}
	z.closed = true
	close(z.closing)
	z.mu.Unlock()

	z.conn.Close() // fails requests in flight, fires watches, ends the session
	z.wg.Wait()
	// The client reports its last state change from its own goroutine
	// after Close returns; wait for it so that nothing logs after us.
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case _, ok := <-z.events:
			if ok {
				continue
			}
		case <-timeout.C:
			z.log.Warn("store: ZooKeeper client still running 5s after Close")
		}
		return true
	}
}

// isClosed reports whether Close has been called.
func (z *ZK) isClosed() bool {
	z.mu.RLock()
	defer z.mu.RUnlock()
	return z.closed
}

// goTracked runs fn in a goroutine that Close waits for. It returns
// ErrClosed, without running fn, once the store is closed.
func (z *ZK) goTracked(fn func()) error {
	z.mu.RLock()
	defer z.mu.RUnlock()
	if z.closed {
		return ErrClosed
	}
	z.wg.Add(1)
	go func() {
		defer z.wg.Done()
		fn()
	}()
	return nil
}

// call runs fn, which talks to ZooKeeper, and returns its error, or
// ctx.Err() if ctx ends first. The ZooKeeper client has no cancellation: an
// abandoned fn keeps running (tracked, so Close waits for it) and a queued
// request may still reach the ensemble later.
func (z *ZK) call(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	if err := z.goTracked(func() { done <- fn() }); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done: // finished at the same moment: report the truth
			return err
		default:
			return ctx.Err()
		}
	}
}

// begin is the common prologue of the Store methods: it rejects calls on a
// closed store or with an ended context, before anything is sent.
func (z *ZK) begin(ctx context.Context, op, key string) error {
	if z.isClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %s %q: %w", op, key, err)
	}
	return nil
}

// notWritten marks an error after which the write certainly did not happen
// although the error itself (a lost connection, an ended context) would
// otherwise leave the outcome unknown.
type notWritten struct{ err error }

func (e notWritten) Error() string { return e.err.Error() }
func (e notWritten) Unwrap() error { return e.err }

// opErr turns an error from a ZooKeeper operation into the store's error
// vocabulary, adding the operation and key. Errors that are already the
// store's (not found, conflict, ...) pass through. For writes, any failure
// that does not prove the write was rejected becomes ErrOutcomeUnknown.
func (z *ZK) opErr(op, key string, write bool, err error) error {
	if err == nil {
		return nil
	}
	for _, known := range []error{ErrNotFound, ErrConflict, ErrTooLarge, ErrInvalidKey, ErrOutcomeUnknown, ErrClosed} {
		if errors.Is(err, known) {
			return err
		}
	}
	var nw notWritten
	definite := !write || errors.As(err, &nw) || zkDefinite(err)
	wrap := func(format string, args ...any) error {
		msg := fmt.Sprintf("store: %s %q: ", op, key) + fmt.Sprintf(format, args...)
		if definite {
			return fmt.Errorf("%s: %w", msg, err)
		}
		return fmt.Errorf("%s; the write may or may not have happened: %w: %w", msg, ErrOutcomeUnknown, err)
	}
	nothing := ""
	if write {
		nothing = "; nothing was written"
	}
	switch {
	case z.isClosed() && zkConnectionError(err):
		if definite {
			return fmt.Errorf("store: %s %q: %w", op, key, ErrClosed)
		}
		return fmt.Errorf("store: %s %q: %w: the store was closed during the write: %w", op, key, ErrOutcomeUnknown, ErrClosed)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return wrap("gave up waiting for ZooKeeper")
	case errors.Is(err, zk.ErrNoServer):
		return wrap("ZooKeeper is unavailable (no server reachable at %s, or the ensemble has lost its quorum)%s", strings.Join(z.url.Servers, ","), nothing)
	case errors.Is(err, zk.ErrNoAuth):
		return wrap("ZooKeeper denied access (check the user:password in the zk:// URL)")
	case zkConnectionError(err):
		return wrap("connection to ZooKeeper lost")
	default:
		return wrap("ZooKeeper error")
	}
}

// zkDefinite reports whether a ZooKeeper error proves that a write was not
// applied: the server rejected it, or the client never sent it.
func zkDefinite(err error) bool {
	for _, e := range []error{zk.ErrNoNode, zk.ErrNodeExists, zk.ErrBadVersion, zk.ErrNotEmpty,
		zk.ErrNoAuth, zk.ErrInvalidACL, zk.ErrBadArguments, zk.ErrNoChildrenForEphemerals,
		zk.ErrInvalidPath, zk.ErrNoServer} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// zkConnectionError reports errors caused by the connection or session
// rather than by the request.
func zkConnectionError(err error) bool {
	for _, e := range []error{zk.ErrConnectionClosed, zk.ErrClosing, zk.ErrSessionExpired, zk.ErrSessionMoved, zk.ErrNoServer} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// aclFor returns the ACL for a znode this store creates.
func (z *ZK) aclFor(p string) []zk.ACL {
	for _, root := range []string{z.kvRoot, z.blobRoot} {
		if p == root || strings.HasPrefix(p, root+"/") {
			return z.privateACL
		}
	}
	return z.publicACL
}

// ensurePath creates the persistent znode p and any missing ancestors,
// trying the deepest first since usually only it is missing.
func (z *ZK) ensurePath(p string) error {
	_, err := z.conn.Create(p, nil, 0, z.aclFor(p))
	if err == nil || errors.Is(err, zk.ErrNodeExists) {
		return nil
	}
	if !errors.Is(err, zk.ErrNoNode) {
		return err
	}
	if parent := path.Dir(p); parent != "/" {
		if err := z.ensurePath(parent); err != nil {
			return err
		}
	}
	_, err = z.conn.Create(p, nil, 0, z.aclFor(p))
	if err == nil || errors.Is(err, zk.ErrNodeExists) {
		return nil
	}
	return err
}

// sessionWatch follows the connection's session state from the client's
// event callback and broadcasts every change.
type sessionWatch struct {
	mu        sync.Mutex
	connected bool      // the connection has a live session
	downSince time.Time // when connected last became false
	expiries  uint64    // sessions the ensemble has expired so far
	changed   chan struct{}
}

// sessionState is a snapshot of a sessionWatch; changed is closed at the
// next change.
type sessionState struct {
	connected bool
	downSince time.Time
	expiries  uint64
	changed   <-chan struct{}
}

func (s *sessionWatch) init() {
	s.changed = make(chan struct{})
	s.downSince = time.Now()
}

func (s *sessionWatch) state() sessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sessionState{s.connected, s.downSince, s.expiries, s.changed}
}

// onEvent is the ZooKeeper client's event callback. It runs on the
// client's goroutines and must not block.
func (z *ZK) onEvent(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	s := &z.sess
	s.mu.Lock()
	was, expiries := s.connected, s.expiries
	switch ev.State {
	case zk.StateHasSession:
		s.connected = true
	case zk.StateExpired:
		s.connected = false
		s.expiries++
	default: // connecting, connected without a session yet, disconnected
		s.connected = false
	}
	if was && !s.connected {
		s.downSince = time.Now()
	}
	now := s.connected
	changed := was != now || expiries != s.expiries
	if changed {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()

	if !changed {
		return
	}
	select {
	case <-z.closing:
		return // Close disconnects on purpose
	default:
	}
	switch {
	case ev.State == zk.StateExpired:
		z.log.Warn("store: ZooKeeper session expired; reconnecting with a new session", "server", ev.Server)
	case now && !was:
		z.log.Info("store: ZooKeeper session established", "server", ev.Server)
	case was:
		z.log.Warn("store: disconnected from ZooKeeper; reconnecting", "server", ev.Server)
	}
}

// zkLogger sends the ZooKeeper client's own messages to slog at debug level.
type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Debug("zookeeper client: "+fmt.Sprintf(format, args...), "component", "zk")
}
