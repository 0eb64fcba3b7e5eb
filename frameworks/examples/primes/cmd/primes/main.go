// Command primes counts the primes in a range on a Strata (or Mesos)
// cluster: a small batch framework built on frameworks/scheduler.
//
//	primes --master 127.0.0.1:5050 --from 1 --to 10000000 --tasks 8 --cpus 0.5 --mem 64
//
// The tasks run this same binary ("primes count --from A --to B", a hidden
// subcommand), found through os.Executable(), and POST their counts to a
// listener the framework opens on 127.0.0.1. That fits `strata dev`, where
// the agent runs on the same host; on a real cluster install the binary
// at the same path on every agent and pass --listen 0.0.0.0:PORT
// --advertise HOST:PORT.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/strata-sched/strata/frameworks/examples/primes"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "count" {
		return count(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("primes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	master := fs.String("master", "127.0.0.1:5050", "master host:port, URL, or comma-separated list")
	from := fs.Uint64("from", 1, "count primes from this number")
	to := fs.Uint64("to", 10_000_000, "count primes up to this number (inclusive)")
	tasks := fs.Int("tasks", 8, "number of tasks (ranges)")
	cpus := fs.Float64("cpus", 0.5, "cpus per task")
	mem := fs.Float64("mem", 64, "memory per task (MB)")
	retries := fs.Int("retries", 3, "times a failed range is run again")
	listen := fs.String("listen", "127.0.0.1:0", "address of the listener workers report to")
	advertise := fs.String("advertise", "", "host:port workers report to (default: the listener's address)")
	verbose := fs.Bool("v", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	maxRetries := *retries
	if maxRetries == 0 {
		maxRetries = -1 // primes.Config: 0 means the default
	}
	sum, err := primes.Run(ctx, primes.Config{
		Master: *master, From: *from, To: *to, Tasks: *tasks, CPUs: *cpus, Mem: *mem,
		MaxRetries: maxRetries, Listen: *listen, Advertise: *advertise, Logger: log,
	})
	if err != nil {
		fmt.Fprintln(stderr, "primes:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%d primes in [%d, %d] (%d tasks, %d launches) in %s\n",
		sum.Total, *from, *to, sum.Ranges, sum.Launches, sum.Elapsed.Round(time.Millisecond))
	return 0
}

// count is the worker: "primes count --from A --to B" prints the number of
// primes in [A, B] and reports it to $PRIMES_RESULT_URL when set.
func count(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("primes count", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.Uint64("from", 1, "")
	to := fs.Uint64("to", 1, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	client := &http.Client{Timeout: 30 * time.Second}
	err := primes.Work(ctx, primes.Range{From: *from, To: *to}, os.Getenv(primes.EnvResultURL), os.Getenv(primes.EnvTaskID), stdout, client)
	if err != nil {
		fmt.Fprintln(stderr, "primes count:", err)
		return 1
	}
	return 0
}
