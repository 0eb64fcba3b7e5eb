package marathon_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/strata-sched/strata/internal/testenv"
)

// BenchmarkLaunchInstances deploys one app of N instances (sleep, cpus
// 0.01, mem 1; N from STRATA_BENCH_INSTANCES, default 1000) on a real
// master with two agents and reports the time until tasksRunning = N.
// Marathon's published figure: 500 instances in 14 s.
func BenchmarkLaunchInstances(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("STRATA_BENCH_INSTANCES")); err == nil && v > 0 {
		n = v
	}
	for i := 0; i < b.N; i++ {
		c := testenv.StartCluster(b, testenv.ClusterOptions{Agents: 2, AgentResources: "cpus:16;mem:16384;disk:4096;ports:[31000-32000]",
			MasterConfig: nil})
		m := startMarathon(b, c, b.TempDir(), options{})
		body := fmt.Sprintf(`{"id":"/bench","cmd":"sleep 100000","cpus":0.01,"mem":1,"instances":%d,"portDefinitions":[]}`, n)
		start := time.Now()
		m.must("POST", "/v2/apps", body, 201)
		var firstRunning time.Duration
		testenv.Eventually(b, 10*time.Minute, func() error {
			var out struct {
				Apps []appInfo `json:"apps"`
			}
			m.must("GET", "/v2/apps?id=bench", nil, 200).json(b, &out)
			if len(out.Apps) != 1 {
				return fmt.Errorf("no app")
			}
			if firstRunning == 0 && out.Apps[0].TasksRunning > 0 {
				firstRunning = time.Since(start)
			}
			if r := out.Apps[0].TasksRunning; r < n {
				return fmt.Errorf("%d of %d running", r, n)
			}
			return nil
		})
		elapsed := time.Since(start)
		b.ReportMetric(elapsed.Seconds(), "s-to-all-running")
		b.ReportMetric(firstRunning.Seconds(), "s-to-first-running")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "tasks/s")
		b.Logf("%d instances running after %v (first after %v)", n, elapsed, firstRunning)
		m.stop()
	}
}
