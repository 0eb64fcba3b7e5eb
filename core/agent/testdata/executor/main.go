// Command executor is a tiny custom executor for the agent's tests. It
// speaks the v1 executor HTTP API in JSON:
//
//   - SUBSCRIBE (again after a broken stream, with its unacknowledged tasks
//     and updates, for up to MESOS_RECOVERY_TIMEOUT-ish 30 s);
//   - LAUNCH: TASK_RUNNING, then TASK_FINISHED unless the task's name
//     starts with "long";
//   - KILL: TASK_KILLED; MESSAGE: echoed back as a MESSAGE call;
//   - ACKNOWLEDGED: forgets the update and prints "acked <task> <state>";
//   - SHUTDOWN: kills its tasks and exits 0.
//
// TEST_EXECUTOR_NO_RESUBSCRIBE=1 makes it stay silent after its stream
// breaks (to test the agent's re-registration timeout).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/strata-sched/strata/core/mesos"
	"github.com/strata-sched/strata/core/mesos/recordio"
)

type executor struct {
	endpoint string
	fwID     mesos.FrameworkID
	exID     mesos.ExecutorID

	mu      sync.Mutex
	tasks   map[string]mesos.TaskInfo   // launched, not terminal
	unacked map[string]mesos.TaskStatus // uuid -> status
	states  map[string]mesos.TaskState
}

func main() {
	e := &executor{
		endpoint: os.Getenv("MESOS_AGENT_ENDPOINT"),
		fwID:     mesos.FrameworkID{Value: os.Getenv("MESOS_FRAMEWORK_ID")},
		exID:     mesos.ExecutorID{Value: os.Getenv("MESOS_EXECUTOR_ID")},
		tasks:    map[string]mesos.TaskInfo{},
		unacked:  map[string]mesos.TaskStatus{},
		states:   map[string]mesos.TaskState{},
	}
	fmt.Println("executor starting", e.fwID.Value, e.exID.Value, e.endpoint, "checkpoint="+os.Getenv("MESOS_CHECKPOINT"))
	subscribed := false
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		err := e.subscribe()
		fmt.Println("stream ended:", err)
		if err == nil {
			subscribed = true
		}
		if subscribed && os.Getenv("TEST_EXECUTOR_NO_RESUBSCRIBE") == "1" {
			time.Sleep(time.Hour)
		}
		time.Sleep(200 * time.Millisecond)
	}
	os.Exit(3)
}

func (e *executor) call(c mesos.ExecutorCall) (*http.Response, error) {
	c.FrameworkID, c.ExecutorID = e.fwID, e.exID
	body, _ := json.Marshal(c)
	req, _ := http.NewRequest(http.MethodPost, "http://"+e.endpoint+"/api/v1/executor", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return http.DefaultClient.Do(req)
}

// subscribe runs one subscription; it returns nil if the stream was
// established before it ended.
func (e *executor) subscribe() error {
	c := mesos.ExecutorCall{Type: mesos.ExecCallSubscribe}
	c.Subscribe = &struct {
		UnacknowledgedTasks   []mesos.TaskInfo `json:"unacknowledged_tasks,omitempty"`
		UnacknowledgedUpdates []struct {
			FrameworkID mesos.FrameworkID `json:"framework_id"`
			Status      mesos.TaskStatus  `json:"status"`
		} `json:"unacknowledged_updates,omitempty"`
	}{}
	e.mu.Lock()
	for _, t := range e.tasks {
		c.Subscribe.UnacknowledgedTasks = append(c.Subscribe.UnacknowledgedTasks, t)
	}
	for _, st := range e.unacked {
		c.Subscribe.UnacknowledgedUpdates = append(c.Subscribe.UnacknowledgedUpdates, struct {
			FrameworkID mesos.FrameworkID `json:"framework_id"`
			Status      mesos.TaskStatus  `json:"status"`
		}{e.fwID, st})
	}
	e.mu.Unlock()
	resp, err := e.call(c)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("subscribe: %s: %s", resp.Status, b)
	}
	rd := recordio.NewReader(resp.Body)
	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			fmt.Println("read:", err)
			return nil
		}
		var ev mesos.ExecutorEvent
		if err := json.Unmarshal(rec, &ev); err != nil {
			fmt.Println("decode:", err)
			continue
		}
		fmt.Println("event", ev.Type)
		switch ev.Type {
		case mesos.ExecEventSubscribed:
			fmt.Println("subscribed container", ev.Subscribed.ContainerID.Value, "agent", ev.Subscribed.AgentInfo.Hostname)
		case mesos.ExecEventLaunch:
			t := ev.Launch.Task
			e.mu.Lock()
			e.tasks[t.TaskID.Value] = t
			e.mu.Unlock()
			go func() {
				e.update(t.TaskID, mesos.TaskRunning, "")
				if !strings.HasPrefix(t.Name, "long") {
					e.update(t.TaskID, mesos.TaskFinished, "done")
				}
			}()
		case mesos.ExecEventKill:
			go e.update(ev.Kill.TaskID, mesos.TaskKilled, "killed by the test executor")
		case mesos.ExecEventMessage:
			data := ev.Message.Data
			go func() {
				m := mesos.ExecutorCall{Type: mesos.ExecCallMessage}
				m.Message = &struct {
					Data []byte `json:"data"`
				}{append([]byte("echo:"), data...)}
				if resp, err := e.call(m); err == nil {
					resp.Body.Close()
				}
			}()
		case mesos.ExecEventAcknowledged:
			e.mu.Lock()
			st := e.unacked[string(ev.Acknowledged.UUID)]
			delete(e.unacked, string(ev.Acknowledged.UUID))
			if st.State.IsTerminal() {
				delete(e.tasks, st.TaskID.Value)
			}
			e.mu.Unlock()
			fmt.Println("acked", ev.Acknowledged.TaskID.Value, st.State)
		case mesos.ExecEventShutdown:
			e.mu.Lock()
			var ids []mesos.TaskID
			for _, t := range e.tasks {
				if !e.states[t.TaskID.Value].IsTerminal() {
					ids = append(ids, t.TaskID)
				}
			}
			e.mu.Unlock()
			for _, id := range ids {
				e.update(id, mesos.TaskKilled, "executor shut down")
			}
			fmt.Println("shutting down")
			os.Exit(0)
		}
	}
}

func (e *executor) update(id mesos.TaskID, state mesos.TaskState, msg string) {
	st := mesos.TaskStatus{TaskID: id, State: state, Message: msg, Source: mesos.SourceExecutor,
		ExecutorID: &e.exID, UUID: mesos.NewUUID(), Timestamp: float64(time.Now().UnixNano()) / 1e9}
	e.mu.Lock()
	e.unacked[string(st.UUID)] = st
	e.states[id.Value] = state
	e.mu.Unlock()
	c := mesos.ExecutorCall{Type: mesos.ExecCallUpdate}
	c.Update = &struct {
		Status mesos.TaskStatus `json:"status"`
	}{st}
	resp, err := e.call(c)
	if err != nil {
		fmt.Println("update:", err)
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("update", id.Value, state, resp.StatusCode, string(b))
}
