//go:build linux

package containerizer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
)

// BenchmarkCgroups1000Sleeps launches 1,000 cgroup-isolated `sleep 600`
// containers (cpus 0.001, mem 32) as an agent would for a burst of tasks,
// then kills them all. It reports the time until all were launched, the
// launch cost per container, and the time to kill them all (including the
// removal of their cgroups). Mesos 1.7 needs about 30 s to launch 1,000.
func BenchmarkCgroups1000Sleeps(b *testing.B) {
	for _, workers := range []int{1, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			benchmarkCgroupsSleeps(b, 1000, workers)
		})
	}
}

func benchmarkCgroupsSleeps(b *testing.B, n, workers int) {
	g := newCgroups(b, containerizer.CgroupsConfig{})
	dir := b.TempDir()
	var launchTotal, killTotal time.Duration
	for round := 0; b.Loop(); round++ {
		specs := make([]containerizer.Spec, n)
		for i := range specs {
			base := filepath.Join(dir, fmt.Sprintf("r%d-c%d", round, i))
			if err := os.MkdirAll(filepath.Join(base, "sandbox"), 0o755); err != nil {
				b.Fatal(err)
			}
			specs[i] = containerizer.Spec{
				ContainerID: fmt.Sprintf("bench-%d-%d", round, i),
				Sandbox:     filepath.Join(base, "sandbox"),
				RunDir:      filepath.Join(base, "run"),
				Value:       "sleep",
				Arguments:   []string{"sleep", "600"},
				Env:         []string{"PATH=/usr/bin:/bin"},
				CPUs:        0.001,
				MemMB:       32,
			}
		}
		b.Cleanup(func() { // after a failure: leave no sleep behind
			for _, s := range specs {
				_ = g.Destroy(context.Background(), s.ContainerID)
			}
		})
		start := time.Now()
		forEach(b, n, workers, func(i int) error {
			_, err := g.Launch(context.Background(), specs[i])
			return err
		})
		launched := time.Since(start)
		forEach(b, n, workers, func(i int) error {
			return g.Kill(context.Background(), specs[i].ContainerID, 5*time.Second)
		})
		killed := time.Since(start) - launched
		forEach(b, n, workers, func(i int) error {
			return g.Destroy(context.Background(), specs[i].ContainerID)
		})
		launchTotal += launched
		killTotal += killed
	}
	rounds := float64(b.N)
	b.ReportMetric(launchTotal.Seconds()/rounds, "s-to-launch-all")
	b.ReportMetric(float64(launchTotal.Milliseconds())/rounds/float64(n), "ms/launch")
	b.ReportMetric(killTotal.Seconds()/rounds, "s-to-kill-all")
}

// forEach runs fn(0..n-1) on workers goroutines and fails b on the first
// error.
func forEach(b *testing.B, n, workers int, fn func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}
