//go:build linux

package containerizer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// posixCheckpointVersion is the format version of posix Checkpoint.Data.
	posixCheckpointVersion = 1

	// unknownExitMessage is the Termination.Message of a container that
	// ended while no agent watched it and left no exit_status.
	unknownExitMessage = "container exited while the agent was down; exit status unknown"

	// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat. It is
	// 100 on every Linux architecture Strata runs on.
	clockTicks = 100

	// recoverPollInterval is how often a recovered container is checked in
	// /proc when pidfd_open is not available.
	recoverPollInterval = 200 * time.Millisecond

	// killPollMin and killPollMax bound the interval at which Kill rescans
	// /proc for processes left.
	killPollMin = 2 * time.Millisecond
	killPollMax = 50 * time.Millisecond

	// wrapperFinishGrace is how long after the grace period Kill lets the
	// wrapper live when the command is gone, so that it can record the exit
	// code before SIGKILL would stop it.
	wrapperFinishGrace = time.Second
)

// Posix is the posix containerizer: it isolates nothing and runs every
// container as a process tree in its own session, under a /bin/sh wrapper
// that records the exit code in <RunDir>/exit_status (see the package doc).
//
// Linux only (it reads /proc and uses pidfd_open and prlimit). Create it with
// NewPosix; it is safe for concurrent use.
type Posix struct {
	logger   *slog.Logger
	pageSize uint64
	bootID   string // /proc/sys/kernel/random/boot_id; "" when unreadable
	// usePidfd is false only in tests that exercise the /proc fallback.
	usePidfd bool
	script   string // wrapperScript()
	procs    procScanner

	mu sync.Mutex
	// containers holds launched and recovered containers until Destroy. A nil
	// value reserves the ID while Launch runs.
	containers map[string]*posixContainer
}

var _ Containerizer = (*Posix)(nil)

// posixData is the JSON in Checkpoint.Data of a posix container.
type posixData struct {
	// StartTime is field 22 of /proc/<pid>/stat of the wrapper, to tell it
	// from a later process that reuses its pid.
	StartTime uint64 `json:"start_time"`
	RunDir    string `json:"run_dir"`
	// BootID tells that the machine rebooted since: every pid is new then.
	BootID string `json:"boot_id,omitempty"`
	// CreatedRunDir is true when Launch created RunDir, so Destroy removes it.
	CreatedRunDir bool `json:"created_run_dir,omitempty"`
}

// posixContainer is the state of one container.
type posixContainer struct {
	id            string
	pid           int // the wrapper; session and process group ID of the container
	startTime     uint64
	runDir        string
	createdRunDir bool
	data          []byte // Checkpoint.Data
	ext           posixExt

	// done is closed by finish once term is set.
	done chan struct{}
	term Termination

	mu       sync.Mutex
	killed   bool // Kill or Destroy was called before the end
	sentKill bool // the wrapper was sent SIGKILL
	// known are the processes seen as members, pid -> start time, so that a
	// member stays one after its parent dies and it is reparented.
	known map[int]uint64
}

func (c *posixContainer) ended() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// NewPosix returns a posix containerizer. A nil logger discards logs.
func NewPosix(logger *slog.Logger) *Posix {
	return newPosix(logger, PosixKind)
}

// newPosix returns a Posix that logs as the containerizer kind (Cgroups
// runs its containers on a Posix of its own).
func newPosix(logger *slog.Logger, kind string) *Posix {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bootID := ""
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		bootID = strings.TrimSpace(string(b))
	} else {
		logger.Warn("cannot read boot id; recovery after a reboot relies on pid start times only", "err", err)
	}
	return &Posix{
		logger:     logger.With("containerizer", kind),
		pageSize:   uint64(os.Getpagesize()),
		bootID:     bootID,
		usePidfd:   true,
		script:     wrapperScript(),
		containers: make(map[string]*posixContainer),
	}
}

// Kind returns "posix".
func (p *Posix) Kind() string { return PosixKind }

// Launch starts the container's wrapper and returns once it runs (the command
// itself may fail later, e.g. with exit code 127 when it is not found; that
// is reported by Wait). See Containerizer.Launch and Spec.
//
// Sandbox must exist. RunDir is created (0700) if missing. When spec.User is
// set and the agent runs as root, the wrapper and the command run as that user
// and its groups; RunDir, Sandbox (not recursively) and the stdout and stderr
// files are then chowned to the user, because the wrapper writes exit_status
// as that user.
func (p *Posix) Launch(ctx context.Context, spec Spec) (Checkpoint, error) {
	c, err := p.launch(ctx, spec, launchOptions{})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("posix: launch %s: %w", spec.ContainerID, err)
	}
	return Checkpoint{ContainerID: c.id, Kind: PosixKind, Version: posixCheckpointVersion, Pid: c.pid, Data: c.data}, nil
}

// launch validates spec, reserves its ID, prepares the extension and starts
// the wrapper. Errors are not prefixed with the containerizer's kind.
func (p *Posix) launch(ctx context.Context, spec Spec, opts launchOptions) (*posixContainer, error) {
	id := spec.ContainerID
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if spec.Docker != nil {
		return nil, fmt.Errorf("a Docker image needs the docker containerizer: %w", ErrUnsupported)
	}
	plan, err := p.plan(&spec, opts)
	if err != nil {
		return nil, err
	}

	p.mu.Lock()
	if _, dup := p.containers[id]; dup {
		p.mu.Unlock()
		return nil, errors.New("container already exists")
	}
	p.containers[id] = nil
	p.mu.Unlock()

	var ext posixExt
	if opts.prepare != nil {
		ext, err = opts.prepare(spec)
	}
	var c *posixContainer
	if err == nil {
		c, err = p.start(ctx, spec, plan, ext)
		if err != nil && ext != nil {
			ext.abort()
		}
	}
	p.mu.Lock()
	if err != nil {
		delete(p.containers, id)
	} else {
		p.containers[id] = c
	}
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	p.logger.Info("container launched", "container", id, "pid", c.pid, "user", spec.User)
	return c, nil
}

// plan validates spec, makes its paths absolute and resolves everything that
// can fail before a process is started.
func (p *Posix) plan(spec *Spec, opts launchOptions) (*wrapperPlan, error) {
	if spec.ContainerID == "" {
		return nil, errors.New("empty container ID")
	}
	if spec.Sandbox == "" {
		return nil, errors.New("empty sandbox")
	}
	if spec.RunDir == "" {
		return nil, errors.New("empty run dir")
	}
	var err error
	if spec.Sandbox, err = filepath.Abs(spec.Sandbox); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if spec.RunDir, err = filepath.Abs(spec.RunDir); err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	argv, sameArgv0, err := commandArgv(*spec)
	if err != nil {
		return nil, err
	}
	if !sameArgv0 {
		p.logger.Warn("argv[0] differs from the command value; /bin/sh cannot exec a program under another name, so the value is used as argv[0]",
			"container", spec.ContainerID, "value", spec.Value, "argv0", spec.Arguments[0])
	}
	env, fix, err := wrapperEnv(spec.Env)
	if err != nil {
		return nil, err
	}
	limits, err := parseRlimits(spec.Rlimits)
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if spec.User != "" {
		c, err := lookupCredential(spec.User)
		if err != nil {
			return nil, err
		}
		if os.Geteuid() == 0 {
			cred = c
		} else if int(c.Uid) != os.Geteuid() {
			p.logger.Warn("agent is not root; running the container as the agent's user", "container", spec.ContainerID, "user", spec.User)
		}
	}
	plan := &wrapperPlan{
		env:         env,
		limits:      limits,
		cred:        cred,
		wrapperCred: cred,
		// Cgroups attaches the wrapper to the container's cgroups while
		// it waits at the gate.
		gate:         len(limits) > 0 || opts.prepare != nil,
		pidNamespace: opts.pidNamespace,
	}
	if opts.pidNamespace && cred != nil {
		// Only root can mount the namespace's /proc: the wrapper stays
		// root and setpriv switches to the user right before the command.
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			return nil, fmt.Errorf("a PID namespace with a user needs setpriv (util-linux): %w", err)
		}
		argv = append(setprivArgv(setpriv, cred), argv...)
		plan.wrapperCred = nil
	}
	plan.args = wrapperArgs(p.script, spec.RunDir, plan.flags(), fix, argv)
	return plan, nil
}

// lookupCredential resolves a user name to its uid, primary gid and groups.
func lookupCredential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: gid %q: %w", name, u.Gid, err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("user %q: groups: %w", name, err)
	}
	groups := make([]uint32, 0, len(gids))
	for _, g := range gids {
		v, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("user %q: group %q: %w", name, g, err)
		}
		groups = append(groups, uint32(v))
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}, nil
}

// start prepares RunDir and the sandbox files and starts the wrapper.
func (p *Posix) start(ctx context.Context, spec Spec, plan *wrapperPlan, ext posixExt) (*posixContainer, error) {
	created, err := ensureDir(spec.RunDir)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{exitStatusFile, exitStatusTmpFile} {
		// A stale status from an earlier container in the same RunDir must
		// not be taken for this one's.
		if err := os.Remove(filepath.Join(spec.RunDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove stale %s: %w", name, err)
		}
	}
	if plan.cred != nil {
		for _, dir := range []string{spec.RunDir, spec.Sandbox} {
			if err := os.Chown(dir, int(plan.cred.Uid), int(plan.cred.Gid)); err != nil {
				return nil, fmt.Errorf("chown %s to user %q: %w", dir, spec.User, err)
			}
		}
	}

	stdin, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("open stdin: %w", err)
	}
	defer stdin.Close()
	stdout, err := openLog(filepath.Join(spec.Sandbox, "stdout"), plan.cred)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := openLog(filepath.Join(spec.Sandbox, "stderr"), plan.cred)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	files := []*os.File{stdin, stdout, stderr}

	// With rlimits, the wrapper and the agent shake hands on a socket (the
	// wrapper's fd 3) so that the limits are set on the wrapper after its
	// exec has completed (an exec in progress restores the RLIMIT_STACK it
	// started with) and before it starts the command, which inherits them.
	// An extension attaches the wrapper (to its cgroups) at the same point.
	var gate *os.File
	if plan.gate {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("gate socket: %w", err)
		}
		if err := unix.SetNonblock(fds[0], true); err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			return nil, fmt.Errorf("gate socket: %w", err)
		}
		gate = os.NewFile(uintptr(fds[0]), "gate")
		theirs := os.NewFile(uintptr(fds[1]), "gate")
		defer theirs.Close()
		// Closing the gate without the go-ahead makes the wrapper exit 126.
		defer func() {
			if gate != nil {
				gate.Close()
			}
		}()
		files = append(files, theirs)
	}

	proc, err := os.StartProcess(wrapperShell, plan.args, &os.ProcAttr{
		Dir:   spec.Sandbox,
		Env:   plan.env,
		Files: files,
		Sys:   plan.sysProcAttr(),
	})
	if err != nil {
		return nil, fmt.Errorf("start wrapper: %w", err)
	}
	pid := proc.Pid
	abort := func(err error) (*posixContainer, error) {
		// Without a gate the command may already run: kill the group.
		_ = unix.Kill(-pid, unix.SIGKILL)
		_, _ = proc.Wait()
		return nil, err
	}
	// The wrapper is our unreaped child, so its pid cannot be reused yet.
	st, err := readProcStat(pid)
	if err != nil {
		return abort(err)
	}
	if gate != nil {
		if err := awaitWrapper(ctx, gate); err != nil {
			return abort(err)
		}
		for _, l := range plan.limits {
			if err := unix.Prlimit(pid, l.resource, &l.lim, nil); err != nil {
				return abort(fmt.Errorf("set rlimit %s: %w", l.name, err))
			}
		}
		if ext != nil {
			if err := ext.attach(pid); err != nil {
				return abort(err)
			}
		}
		_, err := gate.Write([]byte("go\n"))
		gate.Close()
		gate = nil
		if err != nil {
			return abort(fmt.Errorf("release wrapper: %w", err))
		}
	}

	data, err := json.Marshal(posixData{StartTime: st.startTime, RunDir: spec.RunDir, BootID: p.bootID, CreatedRunDir: created})
	if err != nil {
		return abort(fmt.Errorf("encode checkpoint: %w", err))
	}
	c := &posixContainer{
		id:            spec.ContainerID,
		pid:           pid,
		startTime:     st.startTime,
		runDir:        spec.RunDir,
		createdRunDir: created,
		data:          data,
		ext:           ext,
		done:          make(chan struct{}),
	}
	go p.reap(c, proc)
	return c, nil
}

// wrapperStartTimeout bounds how long Launch waits for a gated wrapper to
// start running its script.
const wrapperStartTimeout = 30 * time.Second

// awaitWrapper waits until the wrapper says "ready" on the gate socket, or
// ctx ends, or wrapperStartTimeout passes.
func awaitWrapper(ctx context.Context, gate *os.File) error {
	if err := gate.SetReadDeadline(time.Now().Add(wrapperStartTimeout)); err != nil {
		return fmt.Errorf("wait for wrapper: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = gate.SetReadDeadline(time.Now()) })
	defer stop()
	msg := make([]byte, len("ready\n"))
	if _, err := io.ReadFull(gate, msg); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("wait for wrapper: %w", err)
	}
	if string(msg) != "ready\n" {
		return fmt.Errorf("wait for wrapper: unexpected %q", msg)
	}
	return nil
}

// ensureDir creates dir (0700, with parents) unless it exists and reports
// whether it created it.
func ensureDir(dir string) (created bool, err error) {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return false, fmt.Errorf("run dir %s: not a directory", dir)
		}
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("create run dir: %w", err)
	}
	return true, nil
}

// openLog opens a sandbox log file for appending, creating it if missing.
func openLog(path string, cred *syscall.Credential) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	if cred != nil {
		if err := f.Chown(int(cred.Uid), int(cred.Gid)); err != nil {
			f.Close()
			return nil, fmt.Errorf("chown %s: %w", path, err)
		}
	}
	return f, nil
}

// reap waits for a launched wrapper to exit, reaps it and finishes the
// container.
func (p *Posix) reap(c *posixContainer, proc *os.Process) {
	// Park on a pidfd in the runtime poller first: os.Process.Wait blocks an
	// OS thread for as long as the container runs.
	if p.usePidfd {
		if f, err := openPidfd(c.pid); err == nil {
			if err := waitPidfd(f); err != nil {
				p.logger.Debug("pidfd wait failed; blocking in wait", "container", c.id, "err", err)
			}
			f.Close()
		}
	}
	var ws *syscall.WaitStatus
	state, err := proc.Wait()
	if err != nil {
		p.logger.Error("reaping the wrapper failed", "container", c.id, "pid", c.pid, "err", err)
	} else if s, ok := state.Sys().(syscall.WaitStatus); ok {
		ws = &s
	}
	p.finish(c, ws)
}

// finish records how the container ended and closes done. ws is the wrapper's
// wait status when this agent reaped it. It is called once per container.
func (p *Posix) finish(c *posixContainer, ws *syscall.WaitStatus) {
	term, recorded, err := readExitStatus(c.runDir)
	if err != nil {
		p.logger.Warn("ignoring unreadable exit status", "container", c.id, "err", err)
	}
	c.mu.Lock()
	if !recorded {
		switch {
		case ws != nil:
			term = waitStatusTermination(*ws)
		case c.sentKill:
			term = signalTermination(int(unix.SIGKILL))
		default:
			term = Termination{ExitCode: -1, Message: unknownExitMessage}
		}
	}
	c.mu.Unlock()
	if c.ext != nil {
		c.ext.ended(&term)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	term.Killed = c.killed
	c.term = term
	close(c.done)
	p.logger.Info("container ended", "container", c.id, "pid", c.pid,
		"exit_code", term.ExitCode, "killed", term.Killed, "message", term.Message)
}

// readExitStatus reads <runDir>/exit_status. recorded is false when there is
// none (or it is unreadable, then err says why).
func readExitStatus(runDir string) (t Termination, recorded bool, err error) {
	path := filepath.Join(runDir, exitStatusFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Termination{}, false, nil
	}
	if err != nil {
		return Termination{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || code < 0 || code > 255 {
		return Termination{}, false, fmt.Errorf("parse %s: %q is not an exit code", path, b)
	}
	return exitCodeTermination(code), true, nil
}

// maxSignal is the highest Linux signal number (SIGRTMAX).
const maxSignal = 64

// exitCodeTermination decodes a shell exit code: 128+N means the command was
// killed by signal N. (A command that exits with such a code itself is
// indistinguishable and reported the same way.)
func exitCodeTermination(code int) Termination {
	if code > 128 && code <= 128+maxSignal {
		return signalTermination(code - 128)
	}
	return Termination{ExitCode: code, Message: fmt.Sprintf("Command exited with status %d", code)}
}

func signalTermination(sig int) Termination {
	name := unix.SignalName(syscall.Signal(sig))
	if name == "" {
		name = "signal " + strconv.Itoa(sig)
	}
	return Termination{
		ExitCode: 128 + sig,
		Signaled: true,
		Signal:   sig,
		Message:  "Command terminated with signal " + name,
	}
}

func waitStatusTermination(ws syscall.WaitStatus) Termination {
	if ws.Signaled() {
		return signalTermination(int(ws.Signal()))
	}
	return exitCodeTermination(ws.ExitStatus())
}

// lookup returns a known container.
func (p *Posix) lookup(id string) (*posixContainer, error) {
	p.mu.Lock()
	c := p.containers[id]
	p.mu.Unlock()
	if c == nil {
		return nil, ErrUnknownContainer
	}
	return c, nil
}

// Wait blocks until the container ends or ctx is done.
func (p *Posix) Wait(ctx context.Context, id string) (Termination, error) {
	term, err := p.wait(ctx, id)
	if err != nil {
		return Termination{}, fmt.Errorf("posix: wait %s: %w", id, err)
	}
	return term, nil
}

func (p *Posix) wait(ctx context.Context, id string) (Termination, error) {
	c, err := p.lookup(id)
	if err != nil {
		return Termination{}, err
	}
	select {
	case <-c.done:
		return c.term, nil
	default:
	}
	select {
	case <-c.done:
		return c.term, nil
	case <-ctx.Done():
		return Termination{}, ctx.Err()
	}
}

// Kill sends SIGTERM to the container's process group and to its processes
// outside the group, SIGKILL to every process left after grace, and returns
// once no process is left and the end has been recorded (Wait then returns at
// once, with Killed set). The command gets exactly one SIGTERM, also when it
// was still starting. When the command is gone at the end of grace but the
// wrapper is still recording its exit code, the wrapper gets up to one more
// second before SIGKILL. On a container that has already ended Kill changes
// nothing about the Termination; it only SIGKILLs stray processes the
// container left behind, if any.
func (p *Posix) Kill(ctx context.Context, id string, grace time.Duration) error {
	c, err := p.lookup(id)
	if err != nil {
		return fmt.Errorf("posix: kill %s: %w", id, err)
	}
	if err := p.kill(ctx, c, grace, true); err != nil {
		return fmt.Errorf("posix: kill %s: %w", id, err)
	}
	return nil
}

// kill ends the container as Kill describes. byRequest is false when the
// containerizer itself kills the container (for a limitation): the
// Termination then does not say Killed.
func (p *Posix) kill(ctx context.Context, c *posixContainer, grace time.Duration, byRequest bool) error {
	c.mu.Lock()
	ended := c.ended()
	if !ended && byRequest {
		c.killed = true
	}
	c.mu.Unlock()

	deadline := time.Now().Add(grace)
	if ended {
		deadline = time.Time{} // strays get SIGKILL at once
	}
	termSent := false
	termed := make(map[int]uint64) // commands that got SIGTERM after exec: pid -> start time
	interval := killPollMin
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		procs, err := p.snapshot(c)
		if err != nil {
			return err
		}
		members, inGroup := c.members(procs)
		if len(members) == 0 {
			break
		}
		now := time.Now()
		switch {
		case termSent && !now.Before(deadline) && now.Before(deadline.Add(wrapperFinishGrace)) && c.onlyWrapperLeft(members):
			// The command is gone; the wrapper is recording its exit code.
		case !now.Before(deadline):
			p.signal(c, members, inGroup, unix.SIGKILL)
		case !termSent:
			// One SIGTERM, as Mesos does: a process that handles it gets
			// exactly one.
			cmds := c.commands(procs)
			p.signal(c, members, inGroup, unix.SIGTERM)
			for _, cmd := range cmds {
				if cmd.execed {
					termed[cmd.pid] = cmd.startTime
				}
			}
			termSent = true
		default:
			// A command that had not exec'd yet when it got the SIGTERM
			// may have lost it: until exec it has the wrapper's trap
			// handlers, and a signal caught there is dropped when the
			// subshell resets its traps. So the command gets its SIGTERM
			// (again) once it has exec'd, unless it had exec'd before the
			// first one: it never sees two.
			for _, cmd := range c.commands(procs) {
				if cmd.execed && termed[cmd.pid] != cmd.startTime {
					termed[cmd.pid] = cmd.startTime
					if err := unix.Kill(cmd.pid, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
						p.logger.Warn("signalling the command failed", "container", c.id, "pid", cmd.pid, "err", err)
					}
				}
			}
		}
		wait := interval
		if rem := time.Until(deadline); rem > 0 && rem < wait {
			wait = rem
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		interval = min(2*interval, killPollMax)
	}
	if ended {
		return nil
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// snapshot returns the processes among which the container's members are
// found: the extension's list, or all of /proc.
func (p *Posix) snapshot(c *posixContainer) (map[int]procStat, error) {
	if c.ext != nil {
		return c.ext.snapshot()
	}
	return p.procs.scan()
}

// signal sends sig to the container's process group (when it still has
// members) and to every member outside it. An extension sends SIGKILL to
// all processes at once.
func (p *Posix) signal(c *posixContainer, members []procStat, inGroup bool, sig unix.Signal) {
	if sig == unix.SIGKILL && c.ext != nil {
		for _, m := range members {
			if m.pid == c.pid {
				c.mu.Lock()
				c.sentKill = true
				c.mu.Unlock()
			}
		}
		c.ext.killAll()
		p.logger.Debug("killed container", "container", c.id, "processes", len(members))
		return
	}
	if inGroup {
		// The group cannot belong to anyone else: a pgid is not reused while
		// the group has a member, and one was just seen.
		if err := unix.Kill(-c.pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			p.logger.Warn("signalling the process group failed", "container", c.id, "pgid", c.pid, "signal", unix.SignalName(sig), "err", err)
		}
	}
	for _, m := range members {
		if m.pid == c.pid && sig == unix.SIGKILL {
			c.mu.Lock()
			c.sentKill = true
			c.mu.Unlock()
		}
		if inGroup && m.pgrp == c.pid && sig != unix.SIGKILL {
			continue // already signalled through the group
		}
		if err := unix.Kill(m.pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			p.logger.Warn("signalling a process failed", "container", c.id, "pid", m.pid, "signal", unix.SignalName(sig), "err", err)
		}
	}
	p.logger.Debug("signalled container", "container", c.id, "signal", unix.SignalName(sig), "processes", len(members))
}

// members returns the container's live processes among procs: the wrapper,
// the members of its session and process group, processes seen as members
// before, and all their descendants; with an extension, procs holds only the
// container's processes and all of them are members. inGroup tells whether
// one of them is in the wrapper's process group. It remembers the members it
// returns.
func (c *posixContainer) members(procs map[int]procStat) (members []procStat, inGroup bool) {
	if c.ext != nil {
		for _, s := range procs {
			if s.dead() {
				continue
			}
			members = append(members, s)
			if s.pgrp == c.pid {
				inGroup = true
			}
		}
		return members, inGroup
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	set := make(map[int]procStat)
	root, ok := procs[c.pid]
	// A live process with the wrapper's pid but another start time means the
	// pid was reused: then no session or group with that ID is ours.
	reused := ok && root.startTime != c.startTime
	if !reused {
		for pid, s := range procs {
			if pid == c.pid || s.session == c.pid || s.pgrp == c.pid {
				set[pid] = s
			}
		}
	}
	for pid, start := range c.known {
		if s, ok := procs[pid]; ok && s.startTime == start {
			set[pid] = s
		}
	}
	if len(set) > 0 {
		children := make(map[int][]int)
		for pid, s := range procs {
			children[s.ppid] = append(children[s.ppid], pid)
		}
		queue := make([]int, 0, len(set))
		for pid := range set {
			queue = append(queue, pid)
		}
		for len(queue) > 0 {
			pid := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			for _, child := range children[pid] {
				if _, seen := set[child]; !seen {
					set[child] = procs[child]
					queue = append(queue, child)
				}
			}
		}
	}
	c.known = make(map[int]uint64, len(set))
	for pid, s := range set {
		if s.dead() {
			continue // zombies are gone; their parent or init reaps them
		}
		c.known[pid] = s.startTime
		members = append(members, s)
		if s.pgrp == c.pid {
			inGroup = true
		}
	}
	return members, inGroup
}

// onlyWrapperLeft reports whether the wrapper (and the helper with which it
// publishes exit_status) is all that is left of the container.
func (c *posixContainer) onlyWrapperLeft(members []procStat) bool {
	for _, m := range members {
		if m.pid != c.pid && !(m.ppid == c.pid && c.isHelper(m.pid)) {
			return false
		}
	}
	return true
}

// isHelper reports whether pid runs the wrapper's mv of exit_status.
func (c *posixContainer) isHelper(pid int) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.HasPrefix(cmdline, c.helperCmdline())
}

// helperCmdline is how /proc/<pid>/cmdline of the wrapper's mv starts.
func (c *posixContainer) helperCmdline() []byte {
	return []byte("mv\x00-f\x00" + filepath.Join(c.runDir, exitStatusTmpFile) + "\x00")
}

// wrapperChild is a child of a live wrapper that runs (or is about to run)
// the container's command.
type wrapperChild struct {
	pid       int
	startTime uint64
	// execed is false while the child is still the wrapper's forked subshell.
	execed bool
}

// commands returns the live children of the container's wrapper except the
// wrapper's own helper (the mv that publishes exit_status). Normally there is
// at most one: the command. Nothing is returned once the wrapper is gone.
func (c *posixContainer) commands(procs map[int]procStat) []wrapperChild {
	root, ok := procs[c.pid]
	if !ok || root.startTime != c.startTime || root.dead() {
		return nil
	}
	var out []wrapperChild
	var wrapperCmdline []byte
	for pid, s := range procs {
		if s.ppid != c.pid || s.dead() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			continue // gone
		}
		if wrapperCmdline == nil {
			if wrapperCmdline, err = os.ReadFile("/proc/" + strconv.Itoa(c.pid) + "/cmdline"); err != nil {
				return nil
			}
		}
		if bytes.HasPrefix(cmdline, c.helperCmdline()) {
			continue
		}
		out = append(out, wrapperChild{pid: pid, startTime: s.startTime, execed: !bytes.Equal(cmdline, wrapperCmdline)})
	}
	return out
}

// Usage sums the CPU times, RSS and count of the container's live processes.
// CPU times include the children that those processes waited for, so they
// do not drop when short-lived children exit. An ended container yields a
// zero sample (or that of stray processes it left behind).
func (p *Posix) Usage(ctx context.Context, id string) (Usage, error) {
	c, err := p.lookup(id)
	if err != nil {
		return Usage{}, fmt.Errorf("posix: usage %s: %w", id, err)
	}
	if err := ctx.Err(); err != nil {
		return Usage{}, fmt.Errorf("posix: usage %s: %w", id, err)
	}
	u, err := p.usage(c)
	if err != nil {
		return Usage{}, fmt.Errorf("posix: usage %s: %w", id, err)
	}
	return u, nil
}

// usage samples the container's members in /proc.
func (p *Posix) usage(c *posixContainer) (Usage, error) {
	procs, err := p.snapshot(c)
	if err != nil {
		return Usage{}, err
	}
	members, _ := c.members(procs)
	u := Usage{Timestamp: time.Now()}
	var user, sys uint64
	for _, m := range members {
		user += m.utime + m.cutime
		sys += m.stime + m.cstime
		u.MemRSSBytes += uint64(m.rssPages) * p.pageSize
		u.Processes++
	}
	u.CPUsUserTimeSecs = float64(user) / clockTicks
	u.CPUsSystemTimeSecs = float64(sys) / clockTicks
	return u, nil
}

// Recover re-attaches to the containers of posix checkpoints. A container
// whose wrapper still runs (same pid and start time, same boot) is watched
// again; any other has ended, and Wait reports its recorded exit status or
// ExitCode -1. Containers already known are skipped, so Recover is
// idempotent. Errors about single checkpoints are joined; the others are
// still recovered.
func (p *Posix) Recover(ctx context.Context, checkpoints []Checkpoint) error {
	var errs []error
	for _, cp := range checkpoints {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := p.recoverOne(cp); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", cp.ContainerID, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("posix: recover: %w", err)
	}
	return nil
}

func (p *Posix) recoverOne(cp Checkpoint) error {
	switch {
	case cp.Kind != PosixKind:
		return fmt.Errorf("checkpoint kind %q, want %q", cp.Kind, PosixKind)
	case cp.Version != posixCheckpointVersion:
		return fmt.Errorf("checkpoint version %d, want %d", cp.Version, posixCheckpointVersion)
	}
	_, err := p.recoverContainer(cp, nil)
	return err
}

// recoverContainer re-attaches to the container of a checkpoint whose Data is
// posixData, with the extension newExt returns (when newExt is set). It
// returns whether the container was new: an ID already known is skipped and
// newExt is not called for it. newExt must not start anything that needs
// undoing: when a concurrent Recover wins the race for the ID, its result is
// dropped.
func (p *Posix) recoverContainer(cp Checkpoint, newExt func() posixExt) (recovered bool, err error) {
	switch {
	case cp.ContainerID == "":
		return false, errors.New("empty container ID")
	case cp.Pid <= 0:
		return false, fmt.Errorf("invalid pid %d", cp.Pid)
	}
	var d posixData
	if err := json.Unmarshal(cp.Data, &d); err != nil {
		return false, fmt.Errorf("decode checkpoint data: %w", err)
	}
	if d.RunDir == "" {
		return false, errors.New("checkpoint without run dir")
	}
	p.mu.Lock()
	_, known := p.containers[cp.ContainerID]
	p.mu.Unlock()
	if known {
		return false, nil
	}

	c := &posixContainer{
		id:            cp.ContainerID,
		pid:           cp.Pid,
		startTime:     d.StartTime,
		runDir:        d.RunDir,
		createdRunDir: d.CreatedRunDir,
		data:          cp.Data,
		done:          make(chan struct{}),
	}
	if newExt != nil {
		c.ext = newExt()
	}
	alive, pidfd, why := p.probe(c, d.BootID)

	p.mu.Lock()
	if _, known := p.containers[cp.ContainerID]; known {
		p.mu.Unlock()
		if pidfd != nil {
			pidfd.Close()
		}
		return false, nil
	}
	p.containers[cp.ContainerID] = c
	p.mu.Unlock()

	if !alive {
		p.logger.Info("recovered container had ended", "container", c.id, "pid", c.pid, "reason", why)
		p.finish(c, nil)
		return true, nil
	}
	p.logger.Info("recovered running container", "container", c.id, "pid", c.pid, "pidfd", pidfd != nil)
	go p.watch(c, pidfd)
	return true, nil
}

// probe tells whether the checkpointed wrapper still runs. When it does and
// pidfds work, it returns a pidfd for it.
func (p *Posix) probe(c *posixContainer, bootID string) (alive bool, pidfd *os.File, why string) {
	if bootID != "" && p.bootID != "" && bootID != p.bootID {
		return false, nil, "machine rebooted"
	}
	if p.usePidfd {
		f, err := openPidfd(c.pid)
		switch {
		case errors.Is(err, unix.ESRCH):
			return false, nil, "process gone"
		case err != nil:
			p.logger.Debug("pidfd_open failed; polling /proc", "container", c.id, "err", err)
		default:
			pidfd = f
		}
	}
	// Checked after opening the pidfd: if the start time still matches, the
	// pidfd refers to the wrapper and not to a process that reused its pid.
	st, err := readProcStat(c.pid)
	switch {
	case err != nil:
		why = "process gone"
	case st.startTime != c.startTime:
		why = "pid reused by another process"
	case st.dead():
		why = "process exited"
	default:
		return true, pidfd, ""
	}
	if pidfd != nil {
		pidfd.Close()
	}
	return false, nil, why
}

// watch waits for a recovered wrapper (not our child) to exit and finishes
// the container.
func (p *Posix) watch(c *posixContainer, pidfd *os.File) {
	if pidfd != nil {
		err := waitPidfd(pidfd)
		pidfd.Close()
		if err == nil {
			p.finish(c, nil)
			return
		}
		p.logger.Warn("pidfd wait failed; polling /proc", "container", c.id, "err", err)
	}
	ticker := time.NewTicker(recoverPollInterval)
	defer ticker.Stop()
	for {
		st, err := readProcStat(c.pid)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && (st.startTime != c.startTime || st.dead())) {
			p.finish(c, nil)
			return
		}
		if err != nil {
			p.logger.Warn("reading the wrapper's stat failed", "container", c.id, "err", err)
		}
		<-ticker.C
	}
}

// openPidfd opens a non-blocking pidfd for pid as a pollable *os.File.
func openPidfd(pid int) (*os.File, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if errors.Is(err, unix.EINVAL) {
		// Kernels before 5.10 have no PIDFD_NONBLOCK.
		fd, err = unix.PidfdOpen(pid, 0)
		if err == nil {
			if err = unix.SetNonblock(fd, true); err != nil {
				unix.Close(fd)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	return os.NewFile(uintptr(fd), "pidfd:"+strconv.Itoa(pid)), nil
}

// waitPidfd blocks until the process of a pidfd has exited. The pidfd is
// registered with the runtime's poller (it is non-blocking), so the waiting
// goroutine holds no OS thread; poll(2) with a zero timeout checks readiness.
func waitPidfd(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		if err != nil && !errors.Is(err, unix.EINTR) {
			perr = err
			return true
		}
		return n > 0
	})
	if err != nil {
		return err
	}
	if perr != nil {
		return fmt.Errorf("poll pidfd: %w", perr)
	}
	return nil
}

// Destroy kills whatever is left of the container (without grace), forgets
// it and removes the files the containerizer created in RunDir (exit_status,
// and RunDir itself when Launch created it and it is now empty). When ctx
// ends before the container's processes are gone, the container is kept and
// the error returned.
func (p *Posix) Destroy(ctx context.Context, id string) error {
	if err := p.destroy(ctx, id); err != nil {
		return fmt.Errorf("posix: destroy %s: %w", id, err)
	}
	return nil
}

func (p *Posix) destroy(ctx context.Context, id string) error {
	c, err := p.lookup(id)
	if err != nil {
		return err
	}
	if err := p.kill(ctx, c, 0, true); err != nil {
		return err
	}
	p.mu.Lock()
	mine := p.containers[id] == c
	if mine {
		delete(p.containers, id)
	}
	p.mu.Unlock()
	if !mine {
		return ErrUnknownContainer // destroyed concurrently
	}
	var errs []error
	for _, name := range []string{exitStatusFile, exitStatusTmpFile} {
		if err := os.Remove(filepath.Join(c.runDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if c.createdRunDir {
		err := os.Remove(c.runDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
			errs = append(errs, err)
		}
	}
	p.logger.Info("container destroyed", "container", id)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("forgotten, but removing run dir files: %w", err)
	}
	return nil
}
