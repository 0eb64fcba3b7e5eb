package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/frameworks/scheduler"
	"github.com/strata-sched/strata/internal/testenv"
)

const dockerTestImage = "strata-test-busybox:latest"

// TestDockerBridgeTask runs a DOCKER task with BRIDGE networking through
// the whole stack (framework -> master -> agent with --containerizers=
// docker,mesos -> Docker engine): it answers HTTP on its host port, is
// reported healthy by an agent-run HTTP health check probed inside the
// container's network namespace, and is killed on request.
func TestDockerBridgeTask(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.BuildBusyboxImage(t, dockerTestImage)
	// A host port nothing else on this machine uses right now (other test
	// packages run clusters with the default 31000+ range in parallel).
	hostPort := freeTCPPort(t)
	cl := testenv.StartCluster(t, testenv.ClusterOptions{
		AgentResources: fmt.Sprintf("cpus:4;mem:4096;disk:4096;ports:[%d-%d]", hostPort, hostPort),
		NewContainerizer: func(t testing.TB, log *slog.Logger) containerizer.Containerizer {
			cfg := containerizer.DefaultDockerConfig()
			cfg.RemoveDelay, cfg.KillOrphans = 0, false
			cfg.Owner = t.Name()
			d, err := containerizer.NewDocker(cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return containerizer.NewComposite(d, containerizer.NewPosix(log))
		},
	})
	fw := startFramework(t, cl.MasterURL, info("docker-e2e"))
	o := fw.offer()
	res, _, ports, ok := scheduler.TakePorts(o.Resources, 1)
	if !ok {
		t.Fatalf("no port in offer %s", mesos.Resources(o.Resources))
	}
	cpuMem, _, ok := scheduler.Take(o.Resources, map[string]float64{"cpus": 0.1, "mem": 64})
	if !ok {
		t.Fatal("offer too small")
	}
	ti := scheduler.CommandTask("web", "web", o, cpuMem.Plus(res), "mkdir -p /www && echo hello-docker > /www/index.html && exec httpd -f -p 80 -h /www")
	ti.Container = &mesos.ContainerInfo{Type: "DOCKER", Docker: &mesos.DockerInfo{
		Image: dockerTestImage, Network: "BRIDGE",
		PortMappings: []mesos.PortMapping{{HostPort: uint32(ports[0]), ContainerPort: 80, Protocol: "tcp"}},
	}}
	zero, interval := mesos.Double(0), mesos.Double(0.3)
	ti.HealthCheck = &mesos.HealthCheck{Type: "HTTP", HTTP: &mesos.HTTPCheckInfo{Port: 80, Path: "/"},
		DelaySeconds: &zero, IntervalSeconds: &interval, GracePeriodSeconds: &zero}
	if err := fw.c.Launch(context.Background(), o.ID, []mesos.TaskInfo{ti}, scheduler.RefuseSeconds(1)); err != nil {
		t.Fatal(err)
	}
	run := fw.waitState("web", mesos.TaskRunning)
	url := fmt.Sprintf("http://127.0.0.1:%d/", ports[0])
	testenv.Eventually(t, 30*time.Second, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), "hello-docker") {
			return fmt.Errorf("%s answered %q", url, b)
		}
		return nil
	})
	// The agent's health check reports healthy.
	deadline := time.After(30 * time.Second)
	for healthy := false; !healthy; {
		fw.mu.Lock()
		for _, st := range fw.statuses["web"] {
			if st.Healthy != nil && *st.Healthy {
				healthy = true
			}
		}
		fw.mu.Unlock()
		if healthy {
			break
		}
		select {
		case <-fw.updates:
		case <-deadline:
			t.Fatalf("no healthy update: %s", statesOf(fw.statuses["web"]))
		}
	}
	if err := fw.c.Kill(context.Background(), run.TaskID, run.AgentID, nil); err != nil {
		t.Fatal(err)
	}
	fw.waitState("web", mesos.TaskKilled)
	if _, err := http.Get(url); err == nil {
		t.Errorf("%s still answers after the kill", url)
	}
}
