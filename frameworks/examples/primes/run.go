package primes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"sync"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
)

// Config configures Run.
type Config struct {
	Master     string  // master address(es), as scheduler.Config.Master
	From, To   uint64  // count the primes in [From, To]
	Tasks      int     // split into this many ranges
	CPUs, Mem  float64 // per task
	MaxRetries int     // per range; 0 = 3
	// Listen is the address of the result listener; default 127.0.0.1:0.
	Listen string
	// Advertise is the host:port workers POST to; default the listener's
	// address. Set it when agents run on other hosts.
	Advertise string
	// Executable is the primes binary the agents run; default
	// os.Executable(). It must exist at this path on the agents' hosts.
	Executable string
	// User runs the tasks; default the current user.
	User string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Client configures the scheduler client further (tests); optional.
	Client func(*scheduler.Config)
}

// Summary is the outcome of a run.
type Summary struct {
	Total    uint64        // primes in [From, To]
	Ranges   int           // ranges counted
	Launches int           // tasks launched, retries included
	Elapsed  time.Duration // from subscription attempt to the last count
}

// Run counts the primes in [cfg.From, cfg.To] on the cluster: it subscribes
// as framework "primes", launches one task per range, collects the counts
// the workers POST back, then tears the framework down. It returns when
// the job is over (or ctx ends); the error says why it failed.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	start := time.Now()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return Summary{}, fmt.Errorf("primes: locating the worker binary: %w", err)
		}
		cfg.Executable = exe
	}
	if cfg.User == "" {
		cfg.User = "root"
		if u, err := user.Current(); err == nil {
			cfg.User = u.Username
		}
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return Summary{}, fmt.Errorf("primes: result listener: %w", err)
	}
	advertise := cfg.Advertise
	if advertise == "" {
		advertise = ln.Addr().String()
	}
	job, err := NewJob(JobConfig{From: cfg.From, To: cfg.To, Tasks: cfg.Tasks, CPUs: cfg.CPUs, Mem: cfg.Mem,
		MaxRetries: cfg.MaxRetries, Executable: cfg.Executable, ResultURL: "http://" + advertise + "/result"})
	if err != nil {
		ln.Close()
		return Summary{}, err
	}
	fw := NewFramework(job, cfg.Logger)
	mux := http.NewServeMux()
	mux.Handle("POST /result", fw)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	// One report per worker: no keep-alive, so that no idle or half-used
	// connection holds up Shutdown at the end.
	srv.SetKeepAlivesEnabled(false)

	scfg := scheduler.Config{
		Master: cfg.Master,
		Framework: mesos.FrameworkInfo{User: cfg.User, Name: "primes", FailoverTimeout: 60,
			Capabilities: []mesos.Capability{{Type: mesos.CapMultiRole}}, Roles: []string{"*"}},
		Handler: fw.Handler(),
		AutoAck: true,
		Logger:  cfg.Logger,
	}
	if cfg.Client != nil {
		cfg.Client(&scfg)
	}
	client, err := scheduler.New(scfg)
	if err != nil {
		ln.Close()
		return Summary{}, err
	}

	// The client outlives ctx by the time it takes to tear down.
	clientCtx, stopClient := context.WithCancel(context.WithoutCancel(ctx))
	defer stopClient()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("result listener", "err", err)
		}
	})
	defer srv.Close()
	runErr := make(chan error, 1)
	wg.Go(func() { runErr <- client.Run(clientCtx) })

	// teardown removes the framework (killing leftover tasks) and waits
	// for the client to stop.
	teardown := func() {
		tdCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := client.Teardown(tdCtx); err != nil {
			cfg.Logger.Warn("teardown failed", "err", err)
			stopClient()
		}
		if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
			cfg.Logger.Warn("scheduler client", "err", err)
		}
	}

	select {
	case err := <-runErr:
		if err == nil {
			err = errors.New("framework torn down before the job was over")
		}
		return Summary{}, fmt.Errorf("primes: %w", err)
	case <-ctx.Done():
		teardown()
		return Summary{}, fmt.Errorf("primes: interrupted: %w", ctx.Err())
	case <-fw.Over():
	}
	elapsed := time.Since(start)
	total, jobErr := fw.Result()
	teardown()
	if jobErr != nil {
		return Summary{}, fmt.Errorf("primes: %w", jobErr)
	}
	// Let in-flight reports get their answer.
	shCtx, shCancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer shCancel()
	_ = srv.Shutdown(shCtx)
	return Summary{Total: total, Ranges: job.Ranges(), Launches: fw.launches(), Elapsed: elapsed}, nil
}
