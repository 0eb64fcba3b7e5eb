//go:build unix

package marathon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/containerizer"
	"github.com/strata-sched/strata/internal/ci"
	"github.com/strata-sched/strata/internal/testenv"
)

const dockerTestImage = "strata-test-busybox:latest"

// dockerContainers lists the engine's containers (running or not) that
// carry label=value.
func dockerContainers(t *testing.T, label, value string) []string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", testenv.DockerSocket)
		},
	}}
	filters, _ := json.Marshal(map[string][]string{"label": {label + "=" + value}})
	resp, err := c.Get("http://docker/containers/json?all=1&filters=" + url.QueryEscape(string(filters)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []struct {
		ID    string `json:"Id"`
		State string `json:"State"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("listing containers: %d %v", resp.StatusCode, err)
	}
	var out []string
	for _, c := range list {
		out = append(out, c.ID[:12]+" "+c.State)
	}
	return out
}

// TestIntegrationDockerBridgeApp deploys a Docker app with BRIDGE
// networking through Marathon on an agent with --containerizers=
// docker,mesos: the container serves HTTP on container port 8080, the host
// port Marathon took from the offer answers from the host, Marathon's own
// HTTP health check (port index 0) reports the task healthy, and deleting
// the app removes the container.
func TestIntegrationDockerBridgeApp(t *testing.T) {
	ci.SkipIntegrationIfShort(t, "a real master, agent and Docker engine")
	testenv.RequireDocker(t)
	testenv.BuildBusyboxImage(t, dockerTestImage)
	owner := fmt.Sprintf("marathon-%s-%d", t.Name(), time.Now().UnixNano())
	hostPort := testenv.FreePort(t)
	c := testenv.StartCluster(t, testenv.ClusterOptions{
		AgentResources: fmt.Sprintf("cpus:4;mem:4096;disk:4096;ports:[%d-%d]", hostPort, hostPort),
		NewContainerizer: func(t testing.TB, log *slog.Logger) containerizer.Containerizer {
			cfg := containerizer.DefaultDockerConfig()
			cfg.RemoveDelay, cfg.KillOrphans = 0, false
			cfg.Owner = owner
			d, err := containerizer.NewDocker(cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return containerizer.NewComposite(d, containerizer.NewPosix(log))
		},
	})
	m := startMarathon(t, c, tempDir(t, "marathon"), options{})

	body := fmt.Sprintf(`{"id":"/dockerweb","cpus":0.1,"mem":64,"instances":1,
	  "cmd":"mkdir -p /www && echo hello-marathon > /www/index.html && exec httpd -f -p 8080 -h /www",
	  "container":{"type":"DOCKER","docker":{"image":%q},"portMappings":[{"containerPort":8080,"hostPort":0}]},
	  "networks":[{"mode":"container/bridge"}],
	  "healthChecks":[{"protocol":"HTTP","path":"/","portIndex":0,"gracePeriodSeconds":60,"intervalSeconds":1,"timeoutSeconds":2,"maxConsecutiveFailures":3}]}`,
		dockerTestImage)
	r := m.must("POST", "/v2/apps", body, 201)
	var created struct {
		Container struct {
			PortMappings []struct {
				ContainerPort int  `json:"containerPort"`
				HostPort      *int `json:"hostPort"`
				ServicePort   int  `json:"servicePort"`
			} `json:"portMappings"`
		} `json:"container"`
		Networks []struct {
			Mode string `json:"mode"`
		} `json:"networks"`
	}
	r.json(t, &created)
	if len(created.Networks) != 1 || created.Networks[0].Mode != "container/bridge" ||
		len(created.Container.PortMappings) != 1 || created.Container.PortMappings[0].ContainerPort != 8080 {
		t.Fatalf("created app: %s", r.Body)
	}
	m.waitDeployment(r.Header.Get("Marathon-Deployment-Id"), 90*time.Second)

	testenv.Eventually(t, 60*time.Second, func() error {
		if a := m.app("/dockerweb"); a.TasksRunning != 1 || a.TasksHealthy != 1 {
			return fmt.Errorf("running %d healthy %d unhealthy %d", a.TasksRunning, a.TasksHealthy, a.TasksUnhealthy)
		}
		return nil
	})
	var tasks struct {
		Tasks []task `json:"tasks"`
	}
	m.must("GET", "/v2/apps/dockerweb/tasks", nil, 200).json(t, &tasks)
	if len(tasks.Tasks) != 1 || len(tasks.Tasks[0].Ports) != 1 {
		t.Fatalf("tasks %+v", tasks.Tasks)
	}
	tk := tasks.Tasks[0]
	if tk.Ports[0] != hostPort {
		t.Errorf("host port %d, want %d (the agent's only port)", tk.Ports[0], hostPort)
	}
	if !tk.healthy() {
		t.Errorf("task health %+v", tk.HealthCheckResults)
	}
	u := fmt.Sprintf("http://%s:%d/", tk.Host, tk.Ports[0])
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "hello-marathon") {
		t.Fatalf("GET %s: %d %q", u, resp.StatusCode, b)
	}
	if got := dockerContainers(t, containerizer.DockerLabelOwner, owner); len(got) != 1 {
		t.Fatalf("containers of this agent: %v, want one", got)
	}

	var dr deploymentResult
	m.must("DELETE", "/v2/apps/dockerweb", nil, 200).json(t, &dr)
	m.waitDeployment(dr.DeploymentID, 60*time.Second)
	testenv.Eventually(t, 30*time.Second, func() error {
		if got := dockerContainers(t, containerizer.DockerLabelOwner, owner); len(got) != 0 {
			return fmt.Errorf("containers left: %v", got)
		}
		return nil
	})
	if resp, err := http.Get(u); err == nil {
		resp.Body.Close()
		t.Errorf("%s still answers after the app was deleted", u)
	}
	m.must("GET", "/v2/apps/dockerweb", nil, 404)
}
