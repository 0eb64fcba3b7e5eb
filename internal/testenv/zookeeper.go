package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/strata-sched/strata/internal/ci"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// zkStartTimeout bounds the wait for a ZooKeeper server (or a quorum)
	// to answer after it was started.
	zkStartTimeout = 60 * time.Second

	// zkTickTime is the servers' tick in milliseconds. Sessions may last
	// from 2 to 20 ticks by default; zoo.cfg raises the ceiling to 60 s so
	// that the clients' default 10 s session timeout is honoured.
	zkTickTime = 500

	// zkInstallHint is what a test reports when ZooKeeper is missing.
	zkInstallHint = "ZooKeeper is needed: install the Debian package with `apt-get install zookeeper` (it brings java)"
)

// ZKEnsemble is a real ZooKeeper server (n=1) or ensemble (n=3) on loopback
// ports, started from the Debian zookeeper package. Servers can be killed
// and restarted on the same ports and data directories. Everything is
// stopped by t.Cleanup.
type ZKEnsemble struct {
	t       testing.TB
	java    string
	cp      []string
	servers []*zkServer
}

// zkServer is one ZooKeeper process and the files it owns.
type zkServer struct {
	id         int // myid, 1-based
	dir        string
	cfg        string // path of zoo.cfg
	logPath    string // the JVM's stdout and stderr
	clientPort int

	mu   sync.Mutex
	stop *os.File      // closing it kills the JVM (see zkWrapper)
	done chan struct{} // closed when the JVM has exited; nil when never started
}

// zkWrapper runs the JVM ($0 "$@") under sh, which SIGKILLs it as soon as
// its stdin reaches EOF: when Kill closes the pipe, and also when the test
// process dies, so no server outlives the test run. Background jobs read
// /dev/null unless redirected, hence the copy of stdin on fd 3.
const zkWrapper = `exec 3<&0
"$0" "$@" </dev/null &
pid=$!
(read _ <&3; kill -9 "$pid" 2>/dev/null) &
wait "$pid"`

// StartZooKeeper starts n ZooKeeper servers (1 for a standalone server, 3
// for an ensemble), each with its own data directory and zoo.cfg, and waits
// up to a minute until all of them serve clients. Without java or the
// zookeeper package it skips the test, or fails it when CI=true.
func StartZooKeeper(t testing.TB, n int) *ZKEnsemble {
	t.Helper()
	if n < 1 {
		t.Fatalf("testenv: StartZooKeeper(%d): need at least one server", n)
	}
	java, cp, err := findZooKeeper()
	if err != nil {
		ci.SkipOrFail(t, "testenv: %v; %s", err, zkInstallHint)
	}

	e := &ZKEnsemble{t: t, java: java, cp: cp}
	t.Cleanup(e.stopAll)
	root := t.TempDir()
	type ports struct{ client, peer, election int }
	all := make([]ports, n)
	for i := range all {
		all[i] = ports{FreePort(t), FreePort(t), FreePort(t)}
	}
	for i := range n {
		s := &zkServer{
			id:         i + 1,
			dir:        filepath.Join(root, "zk"+strconv.Itoa(i)),
			clientPort: all[i].client,
		}
		s.cfg = filepath.Join(s.dir, "zoo.cfg")
		s.logPath = filepath.Join(s.dir, "zookeeper.log")
		data := filepath.Join(s.dir, "data")
		if err := os.MkdirAll(data, 0o755); err != nil {
			t.Fatal(err)
		}
		var cfg strings.Builder
		fmt.Fprintf(&cfg, "tickTime=%d\ninitLimit=10\nsyncLimit=5\nmaxSessionTimeout=60000\n", zkTickTime)
		fmt.Fprintf(&cfg, "dataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n", data, s.clientPort)
		// No admin web server (it would want port 8080); allow the
		// four-letter words used to probe readiness; keep log files small.
		cfg.WriteString("admin.enableServer=false\n4lw.commands.whitelist=*\npreAllocSize=4096\n")
		if n > 1 {
			for j, p := range all {
				fmt.Fprintf(&cfg, "server.%d=127.0.0.1:%d:%d\n", j+1, p.peer, p.election)
			}
			if err := os.WriteFile(filepath.Join(data, "myid"), []byte(strconv.Itoa(s.id)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(s.cfg, []byte(cfg.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		e.servers = append(e.servers, s)
	}
	for i := range e.servers {
		e.launch(i)
	}
	e.waitServing(e.allIndexes()...)
	return e
}

// ConnString returns "127.0.0.1:p1,127.0.0.1:p2,...".
func (e *ZKEnsemble) ConnString() string {
	addrs := make([]string, len(e.servers))
	for i := range e.servers {
		addrs[i] = e.Addr(i)
	}
	return strings.Join(addrs, ",")
}

// Addr returns server i's client address.
func (e *ZKEnsemble) Addr(i int) string {
	return "127.0.0.1:" + strconv.Itoa(e.servers[i].clientPort)
}

// URL returns a zk:// URL for the ensemble with the given path
// ("/strata") and optional "user:password" credentials.
func (e *ZKEnsemble) URL(userinfo, path string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	return "zk://" + userinfo + e.ConnString() + path
}

// Size returns the number of servers.
func (e *ZKEnsemble) Size() int { return len(e.servers) }

// Kill stops server i with SIGKILL and waits until it has exited. Killing a
// stopped server does nothing.
func (e *ZKEnsemble) Kill(i int) {
	e.t.Helper()
	e.servers[i].kill()
}

// Start restarts server i on its data directory and ports. If a majority of
// the servers is then running, it waits until server i serves clients;
// otherwise (the server cannot serve without a quorum) it returns once the
// process is launched. Starting a running server does nothing.
func (e *ZKEnsemble) Start(i int) {
	e.t.Helper()
	if e.servers[i].running() {
		return
	}
	e.launch(i)
	running := 0
	for _, s := range e.servers {
		if s.running() {
			running++
		}
	}
	if running > len(e.servers)/2 {
		e.waitServing(i)
	}
}

func (e *ZKEnsemble) allIndexes() []int {
	idx := make([]int, len(e.servers))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// launch starts server i's JVM.
func (e *ZKEnsemble) launch(i int) {
	e.t.Helper()
	s := e.servers[i]
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	args := []string{
		"-Xmx128m", "-Xss512k", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
		"-Djava.awt.headless=true",
		"-Dzookeeper.admin.enableServer=false",
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-cp", strings.Join(e.cp, string(os.PathListSeparator)),
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", s.cfg,
	}
	stdin, stop, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	defer stdin.Close() // the child has its own copy
	cmd := exec.Command("/bin/sh", append([]string{"-c", zkWrapper, e.java}, args...)...)
	cmd.Dir = s.dir
	cmd.Stdin = stdin
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		stop.Close()
		e.t.Fatalf("testenv: start ZooKeeper server %d: %v", s.id, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.stop, s.done = stop, done
	s.mu.Unlock()
}

// waitServing waits until each listed server answers "srvr" with its mode,
// which a server only does once it serves clients (standalone, or leader or
// follower of a quorum).
func (e *ZKEnsemble) waitServing(idx ...int) {
	e.t.Helper()
	deadline := time.Now().Add(zkStartTimeout)
	for _, i := range idx {
		s := e.servers[i]
		for {
			if s.serving() {
				break
			}
			if !s.running() {
				e.t.Fatalf("testenv: ZooKeeper server %d exited during startup; log %s:\n%s", s.id, s.logPath, zkLogTail(s.logPath))
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("testenv: ZooKeeper server %d not serving on 127.0.0.1:%d after %v; log %s:\n%s",
					s.id, s.clientPort, zkStartTimeout, s.logPath, zkLogTail(s.logPath))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// stopAll kills every server; it runs from t.Cleanup.
func (e *ZKEnsemble) stopAll() {
	for _, s := range e.servers {
		s.kill()
	}
}

func (s *zkServer) running() bool {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// kill SIGKILLs the JVM (through zkWrapper) and waits until it is gone.
func (s *zkServer) kill() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.mu.Unlock()
	if stop == nil {
		return
	}
	_ = stop.Close() // a second Close just fails
	<-done
}

// serving asks the server "srvr" and reports whether it named its mode.
func (s *zkServer) serving() bool {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.clientPort), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("srvr")); err != nil {
		return false
	}
	out, _ := io.ReadAll(conn)
	return bytes.Contains(out, []byte("Mode: "))
}

// findZooKeeper locates java and the ZooKeeper server classes: the Debian
// layout (/usr/share/java/zookeeper.jar, whose manifest names its
// dependencies) or an upstream one (<home>/lib/*.jar).
func findZooKeeper() (java string, classpath []string, err error) {
	java, err = exec.LookPath("java")
	if err != nil {
		return "", nil, errors.New("java not found in PATH")
	}
	if jar := "/usr/share/java/zookeeper.jar"; zkFileExists(jar) {
		classpath = []string{jar}
		// The Debian jar carries no logging backend; slf4j-simple sends
		// the server's log to stderr, which goes to zookeeper.log.
		if b := "/usr/share/java/slf4j-simple.jar"; zkFileExists(b) {
			classpath = append(classpath, b)
		}
		return java, classpath, nil
	}
	for _, home := range []string{os.Getenv("ZOOKEEPER_HOME"), "/usr/share/zookeeper", "/opt/zookeeper"} {
		if home == "" {
			continue
		}
		jars, _ := filepath.Glob(filepath.Join(home, "lib", "*.jar"))
		for _, j := range jars {
			if strings.Contains(filepath.Base(j), "zookeeper-") {
				return java, append(jars, filepath.Join(home, "conf")), nil
			}
		}
	}
	return "", nil, errors.New("ZooKeeper server jars not found (looked for /usr/share/java/zookeeper.jar and <ZOOKEEPER_HOME>/lib)")
}

func zkFileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// zkLogTail returns the last lines of a log file, for failure messages.
func zkLogTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}
