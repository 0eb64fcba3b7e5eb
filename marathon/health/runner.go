package health

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/strata-sched/strata/marathon/app"
)

// Probe is one Marathon-level health check of one task, resolved to an
// address.
type Probe struct {
	Index      int // position in the app's healthChecks
	Protocol   string
	Port       uint64
	Path       string
	Interval   time.Duration
	Timeout    time.Duration
	FirstAfter time.Duration
}

// ReadinessProbe is the readiness check of a task during a deployment.
type ReadinessProbe struct {
	Name     string
	Protocol string
	Port     uint64
	Path     string
	Interval time.Duration
	Timeout  time.Duration
	Codes    []int
	Preserve bool
}

// Target is a task whose checks the Runner runs.
type Target struct {
	TaskID    string
	Host      string
	Checks    []Probe
	Readiness *ReadinessProbe
}

// Reporter receives results. Its methods are called from the Runner's
// goroutines, concurrently.
type Reporter interface {
	HealthResult(taskID string, index int, r Result)
	ReadinessResult(taskID string, r app.ReadinessCheckResult)
}

// Runner runs probes for a changing set of targets. Create it with
// NewRunner, run it with Run, and tell it the current targets with Sync.
type Runner struct {
	rep    Reporter
	log    *slog.Logger
	now    func() time.Time
	client *http.Client
	sem    chan struct{}

	mu      sync.Mutex
	ctx     context.Context
	wg      sync.WaitGroup
	running map[string]*job
}

type job struct {
	target Target
	cancel context.CancelFunc
}

// DefaultMaxConcurrent bounds concurrent probes (Marathon's
// --max_concurrent_marathon_health_checks).
const DefaultMaxConcurrent = 256

// NewRunner returns a Runner reporting to rep. now is the clock results
// are stamped with (nil: time.Now).
func NewRunner(rep Reporter, log *slog.Logger, now func() time.Time, maxConcurrent int) *Runner {
	if now == nil {
		now = time.Now
	}
	if maxConcurrent <= 0 {
		maxConcurrent = DefaultMaxConcurrent
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // Marathon does not verify (health-checks.md)
	tr.DisableKeepAlives = true
	return &Runner{
		rep: rep, log: log, now: now, sem: make(chan struct{}, maxConcurrent),
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		running: map[string]*job{},
	}
}

// Run lets the Runner start probes until ctx ends; then it stops them all
// and returns once every probe goroutine has exited.
func (r *Runner) Run(ctx context.Context) {
	r.mu.Lock()
	r.ctx = ctx
	r.mu.Unlock()
	<-ctx.Done()
	r.mu.Lock()
	for id, j := range r.running {
		j.cancel()
		delete(r.running, id)
	}
	r.ctx = nil
	r.mu.Unlock()
	r.wg.Wait()
}

// Sync makes the running probes match targets: new targets start, gone or
// changed ones stop. Before Run (or after it ends) it does nothing.
func (r *Runner) Sync(targets []Target) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil || r.ctx.Err() != nil {
		return
	}
	want := make(map[string]Target, len(targets))
	for _, t := range targets {
		want[t.TaskID] = t
	}
	for id, j := range r.running {
		if t, ok := want[id]; !ok || !reflect.DeepEqual(t, j.target) {
			j.cancel()
			delete(r.running, id)
		}
	}
	for id, t := range want {
		if _, ok := r.running[id]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(r.ctx)
		r.running[id] = &job{target: t, cancel: cancel}
		for _, p := range t.Checks {
			r.wg.Go(func() { r.healthLoop(ctx, t, p) })
		}
		if t.Readiness != nil {
			r.wg.Go(func() { r.readinessLoop(ctx, t, *t.Readiness) })
		}
	}
}

// Targets returns the number of targets being probed.
func (r *Runner) Targets() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.running)
}

func (r *Runner) healthLoop(ctx context.Context, t Target, p Probe) {
	wait := p.FirstAfter
	for {
		if !sleep(ctx, wait) {
			return
		}
		wait = p.Interval
		select {
		case r.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		res := r.probe(ctx, t.Host, p)
		<-r.sem
		if ctx.Err() != nil {
			return
		}
		r.rep.HealthResult(t.TaskID, p.Index, res)
	}
}

func (r *Runner) probe(ctx context.Context, host string, p Probe) Result {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	addr := net.JoinHostPort(host, strconv.FormatUint(p.Port, 10))
	switch p.Protocol {
	case app.ProtoTCP:
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return Result{Cause: fmt.Sprintf("TCP connection to %s failed: %v", addr, err), At: r.now()}
		}
		c.Close()
		return Result{OK: true, At: r.now()}
	default:
		scheme := "http"
		if p.Protocol == app.ProtoHTTPS {
			scheme = "https"
		}
		u := scheme + "://" + addr + p.Path
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return Result{Cause: err.Error(), At: r.now()}
		}
		resp, err := r.client.Do(req)
		if err != nil {
			return Result{Cause: fmt.Sprintf("GET %s failed: %v", u, err), At: r.now()}
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 400:
			return Result{OK: true, At: r.now()}
		case resp.StatusCode < 200:
			return Result{Informational: true, Cause: "HTTP " + resp.Status, At: r.now()}
		}
		return Result{Cause: fmt.Sprintf("GET %s answered %s", u, resp.Status), At: r.now()}
	}
}

func (r *Runner) readinessLoop(ctx context.Context, t Target, p ReadinessProbe) {
	for {
		res := r.ready(ctx, t, p)
		if ctx.Err() != nil {
			return
		}
		r.rep.ReadinessResult(t.TaskID, res)
		if res.Ready || !sleep(ctx, p.Interval) {
			return
		}
	}
}

func (r *Runner) ready(ctx context.Context, t Target, p ReadinessProbe) app.ReadinessCheckResult {
	out := app.ReadinessCheckResult{Name: p.Name, TaskID: t.TaskID}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	scheme := "http"
	if p.Protocol == app.ProtoHTTPS {
		scheme = "https"
	}
	u := scheme + "://" + net.JoinHostPort(t.Host, strconv.FormatUint(p.Port, 10)) + p.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return out
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return out
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	out.Ready = slices.Contains(p.Codes, resp.StatusCode)
	if p.Preserve || !out.Ready {
		out.LastResponse = &app.ReadinessHTTPResponse{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: string(body)}
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
