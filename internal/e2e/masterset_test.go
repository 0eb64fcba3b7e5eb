package e2e

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/internal/testenv"
)

// TestChangeMasterSet follows docs/operations.md: add a master, remove the
// leader (SIGTERM), replace another (add then remove), while a framework's
// task keeps running and new tasks still launch.
func TestChangeMasterSet(t *testing.T) {
	c := startHACluster(t)
	c.waitServing(t)
	fw := startFramework(t, c.zkURL, info("masterset", mesos.CapPartitionAware))
	fw.launch("keep", "sleep 1000")
	run := fw.waitState("keep", mesos.TaskRunning)
	pid := int(*run.ContainerStatus.ExecutorPID)

	// Add a fourth master: it joins as a standby.
	c.addMaster(t)
	// Remove the leader.
	old := c.leader(t)
	c.masters[old].Stop()
	newLeader := c.waitServing(t)
	if newLeader == old {
		t.Fatalf("the stopped master %d still leads", old)
	}
	fw.launch("after-remove", "sleep 1000")
	fw.waitState("after-remove", mesos.TaskRunning)

	// Replace the current leader: add a fifth, then stop the leader.
	c.addMaster(t)
	old = c.leader(t)
	c.masters[old].Stop()
	c.waitServing(t)
	fw.launch("after-replace", "sleep 1000")
	fw.waitState("after-replace", mesos.TaskRunning)

	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("task process %d did not survive the master changes: %v", pid, err)
	}
	for _, id := range []string{"keep", "after-remove", "after-replace"} {
		for _, s := range fw.states(id) {
			if s.IsTerminal() {
				t.Errorf("%s reached %s", id, s)
			}
		}
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if err := fw.c.Teardown(context.Background()); err != nil {
			return err
		}
		return nil
	})
	testenv.Eventually(t, 20*time.Second, func() error {
		if syscall.Kill(pid, 0) == nil {
			return os.ErrExist
		}
		return nil
	})
}
