package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/agent"
	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/internal/testenv"
)

func postJSON(t *testing.T, url string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, body)
	}
}

// TestMaintenanceOnRealAgent follows Mesos' maintenance procedure on a real
// agent and task: schedule the machine (the framework gets an inverse offer
// and accepts it), take it DOWN (the agent kills its task and stops, the
// framework sees TASK_LOST), bring it UP (the agent registers again).
func TestMaintenanceOnRealAgent(t *testing.T) {
	cl := testenv.StartCluster(t, testenv.ClusterOptions{
		AgentConfig: func(_ int, c *agent.Config) { c.KillTasksOnStop = false },
	})
	fw := startFramework(t, cl.MasterURL, info("maintained"))
	fw.launch("svc", "sleep 1000")
	run := fw.waitState("svc", mesos.TaskRunning)
	if run.ContainerStatus == nil || run.ContainerStatus.ExecutorPID == nil {
		t.Fatalf("RUNNING without executor_pid: %+v", run)
	}
	pid := int(*run.ContainerStatus.ExecutorPID)

	var slaves struct {
		Slaves []struct{ Hostname string } `json:"slaves"`
	}
	if err := testenv.GetJSON(cl.MasterURL+"/master/slaves", &slaves); err != nil || len(slaves.Slaves) != 1 {
		t.Fatalf("slaves: %v %+v", err, slaves)
	}
	machine := mesos.MachineID{Hostname: slaves.Slaves[0].Hostname, IP: "127.0.0.1"}
	start := time.Now().Add(10 * time.Minute)
	postJSON(t, cl.MasterURL+"/master/maintenance/schedule", mesos.MaintenanceSchedule{Windows: []mesos.MaintenanceWindow{{
		MachineIDs:     []mesos.MachineID{machine},
		Unavailability: mesos.Unavailability{Start: mesos.TimeInfo{Nanoseconds: start.UnixNano()}},
	}}})

	var io mesos.InverseOffer
	select {
	case io = <-fw.inverse:
	case <-time.After(20 * time.Second):
		t.Fatal("no inverse offer for the draining machine")
	}
	if io.AgentID == nil || io.AgentID.Value != run.AgentID.Value || io.Unavailability.Start.Nanoseconds != start.UnixNano() {
		t.Fatalf("inverse offer: %+v", io)
	}
	if err := fw.c.AcceptInverseOffers(context.Background(), []mesos.OfferID{io.ID}, nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		var st mesos.MaintenanceStatus
		if err := testenv.GetJSON(cl.MasterURL+"/master/maintenance/status", &st); err != nil {
			return err
		}
		if len(st.DrainingMachines) != 1 || len(st.DrainingMachines[0].Statuses) != 1 ||
			st.DrainingMachines[0].Statuses[0].Status != mesos.InverseOfferAccept {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})

	postJSON(t, cl.MasterURL+"/master/machine/down", []mesos.MachineID{machine})
	if st := fw.waitState("svc", mesos.TaskLost); st.Reason != mesos.ReasonAgentRemoved {
		t.Errorf("TASK_LOST reason %s", st.Reason)
	}
	// The agent was told to shut the framework down: the process is gone.
	testenv.Eventually(t, 20*time.Second, func() error {
		if err := syscall.Kill(pid, 0); err == nil {
			return fmt.Errorf("task process %d still running on a DOWN machine", pid)
		}
		return nil
	})

	postJSON(t, cl.MasterURL+"/master/machine/up", []mesos.MachineID{machine})
	cl.Agents[0].Stop()
	cl.Agents[0].Start(t)
	cl.WaitAgents(t, 1)
	var st mesos.MaintenanceStatus
	if err := testenv.GetJSON(cl.MasterURL+"/master/maintenance/status", &st); err != nil ||
		len(st.DrainingMachines)+len(st.DownMachines) != 0 {
		t.Fatalf("status after UP: %v %+v", err, st)
	}
}

// TestDrainAgentOnRealAgent drains a real agent: its tasks are killed (a
// task that ignores SIGTERM within the capped grace period), the agent ends
// DRAINED and deactivated, and REACTIVATE_AGENT puts it back in service.
func TestDrainAgentOnRealAgent(t *testing.T) {
	cl := testenv.StartCluster(t, testenv.ClusterOptions{})
	fw := startFramework(t, cl.MasterURL, info("drained", mesos.CapTaskKillingState))
	fw.launch("stubborn", `trap '' TERM; while :; do sleep 0.1; done`, func(ti *mesos.TaskInfo) {
		ti.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(time.Hour)}}
	})
	run := fw.waitState("stubborn", mesos.TaskRunning)
	postJSON(t, cl.MasterURL+"/api/v1", map[string]any{"type": "DRAIN_AGENT", "drain_agent": map[string]any{
		"agent_id": run.AgentID, "max_grace_period": map[string]int64{"nanoseconds": int64(time.Second)}}})
	drainAt := time.Now()
	fw.waitState("stubborn", mesos.TaskKilled)
	t.Logf("killed %v after DRAIN_AGENT", time.Since(drainAt))

	type slaves struct {
		Slaves []struct {
			Active    bool             `json:"active"`
			DrainInfo *mesos.DrainInfo `json:"drain_info"`
		} `json:"slaves"`
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		var sl slaves
		if err := testenv.GetJSON(cl.MasterURL+"/master/slaves", &sl); err != nil {
			return err
		}
		if len(sl.Slaves) != 1 || sl.Slaves[0].Active || sl.Slaves[0].DrainInfo == nil ||
			sl.Slaves[0].DrainInfo.State != mesos.DrainStateDrained {
			return fmt.Errorf("slaves %+v", sl)
		}
		return nil
	})
	postJSON(t, cl.MasterURL+"/api/v1", map[string]any{"type": "REACTIVATE_AGENT",
		"reactivate_agent": map[string]any{"agent_id": run.AgentID}})
	fw.launchRetrying("after", "sleep 1000") // the offer held before the drain was rescinded
}
