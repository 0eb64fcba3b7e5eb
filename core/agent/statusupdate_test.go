package agent

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

func testUpdate(state mesos.TaskState) mesos.StatusUpdate {
	return mesos.StatusUpdate{
		FrameworkID: mesos.FrameworkID{Value: "fw"},
		Status:      mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t1"}, State: state, UUID: mesos.NewUUID()},
	}
}

// mustRecord records u, writes its line (if any) as the journal would and
// marks it durable.
func mustRecord(t *testing.T, s *updateStream, u mesos.StatusUpdate) {
	t.Helper()
	line, err := s.record(u)
	if err != nil {
		t.Fatalf("record %s: %v", u.Status.State, err)
	}
	writeLine(t, s, line)
	s.markDurable()
}

func writeLine(t *testing.T, s *updateStream, line []byte) {
	t.Helper()
	if line == nil {
		return
	}
	if err := writeGroup(s.path, line, true); err != nil {
		t.Fatal(err)
	}
}

// mustAck acknowledges uuid and writes the ack's line.
func mustAck(t *testing.T, s *updateStream, uuid []byte) mesos.StatusUpdate {
	t.Helper()
	u, line, err := s.ack(uuid)
	if err != nil {
		t.Fatalf("ack: %v", err)
	}
	writeLine(t, s, line)
	return u
}

func TestUpdateStreamOrderAndOneInFlight(t *testing.T) {
	s := newUpdateStream("")
	now := time.Unix(1000, 0)
	starting, running, finished := testUpdate(mesos.TaskStarting), testUpdate(mesos.TaskRunning), testUpdate(mesos.TaskFinished)
	for _, u := range []mesos.StatusUpdate{starting, running, finished} {
		mustRecord(t, s, u)
	}
	if got := s.latestState(); got != mesos.TaskFinished {
		t.Fatalf("latestState = %s, want TASK_FINISHED", got)
	}
	u, ok := s.sendable(now)
	if !ok || u.Status.State != mesos.TaskStarting {
		t.Fatalf("first sendable = %v %v, want TASK_STARTING", u.Status.State, ok)
	}
	if _, ok := s.sendable(now); ok {
		t.Fatal("a second update is sendable while the first is in flight")
	}
	// Acknowledging anything but the front is refused and changes nothing.
	if _, _, err := s.ack(running.Status.UUID); !errors.Is(err, errUnexpectedAck) {
		t.Fatalf("ack of a non-front update: err = %v, want errUnexpectedAck", err)
	}
	if f, _ := s.front(); f.Status.State != mesos.TaskStarting {
		t.Fatalf("front after a wrong ack = %s", f.Status.State)
	}
	for i, want := range []mesos.StatusUpdate{starting, running, finished} {
		got, _, err := s.ack(want.Status.UUID)
		if err != nil || got.Status.State != want.Status.State {
			t.Fatalf("ack %d: %v %v", i, got.Status.State, err)
		}
		if i < 2 {
			next, ok := s.sendable(now)
			if !ok {
				t.Fatalf("nothing sendable after ack %d", i)
			}
			if next.Status.State != []mesos.TaskState{mesos.TaskRunning, mesos.TaskFinished}[i] {
				t.Fatalf("after ack %d the next is %s", i, next.Status.State)
			}
		}
	}
	if !s.done() {
		t.Fatal("stream not done after the terminal update was acknowledged")
	}
	if _, err := s.record(testUpdate(mesos.TaskRunning)); !errors.Is(err, errStreamTerminated) {
		t.Fatalf("update after terminal ack: err = %v, want errStreamTerminated", err)
	}
}

func TestUpdateStreamAckByUUIDOnly(t *testing.T) {
	s := newUpdateStream("")
	u := testUpdate(mesos.TaskRunning)
	mustRecord(t, s, u)
	s.sendable(time.Unix(0, 0))
	// The task ID is irrelevant: only the uuid identifies the update.
	other := testUpdate(mesos.TaskRunning)
	if _, _, err := s.ack(other.Status.UUID); err == nil {
		t.Fatal("ack with another uuid accepted")
	}
	if _, _, err := s.ack(nil); err == nil {
		t.Fatal("ack without uuid accepted")
	}
	if _, _, err := s.ack(u.Status.UUID); err != nil {
		t.Fatalf("ack with the right uuid: %v", err)
	}
	if _, _, err := s.ack(u.Status.UUID); err == nil {
		t.Fatal("second ack of the same update accepted")
	}
}

func TestUpdateStreamDuplicates(t *testing.T) {
	s := newUpdateStream("")
	u := testUpdate(mesos.TaskRunning)
	mustRecord(t, s, u)
	if _, err := s.record(u); !errors.Is(err, errDuplicateUpdate) {
		t.Fatalf("duplicate: err = %v", err)
	}
	if len(s.pending) != 1 {
		t.Fatalf("pending = %d, want 1", len(s.pending))
	}
	noUUID := testUpdate(mesos.TaskRunning)
	noUUID.Status.UUID = nil
	if _, err := s.record(noUUID); err == nil {
		t.Fatal("update without uuid accepted")
	}
}

func TestUpdateStreamRetryBackoff(t *testing.T) {
	s := newUpdateStream("")
	mustRecord(t, s, testUpdate(mesos.TaskRunning))
	start := time.Unix(5000, 0)
	if _, ok := s.retryDue(start); ok {
		t.Fatal("retry before the update was ever sent")
	}
	if _, ok := s.sendable(start); !ok {
		t.Fatal("not sendable")
	}
	// Resend times: 10s, 20s, 40s, ... doubling, capped at 10 min.
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 320 * time.Second, 600 * time.Second, 600 * time.Second, 600 * time.Second}
	now := start
	for i, gap := range want {
		if _, ok := s.retryDue(now.Add(gap - time.Millisecond)); ok {
			t.Fatalf("retry %d due before %v", i, gap)
		}
		now = now.Add(gap)
		if _, ok := s.retryDue(now); !ok {
			t.Fatalf("retry %d not due after %v", i, gap)
		}
	}
	// A pause (disconnection) and a new registration start over at 10 s.
	s.pause()
	if _, ok := s.retryDue(now.Add(time.Hour)); ok {
		t.Fatal("retry due while paused")
	}
	if _, ok := s.sendable(now); !ok {
		t.Fatal("front not resent after pause")
	}
	if _, ok := s.retryDue(now.Add(10 * time.Second)); !ok {
		t.Fatal("retry after resume not at 10 s")
	}
}

func TestUpdateStreamCheckpointAndReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "task.updates")
	s := newUpdateStream(path)
	starting, running, finished := testUpdate(mesos.TaskStarting), testUpdate(mesos.TaskRunning), testUpdate(mesos.TaskFinished)
	mustRecord(t, s, starting)
	mustRecord(t, s, running)
	mustAck(t, s, starting.Status.UUID)
	mustRecord(t, s, finished)

	r, history, err := loadUpdateStream(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 3 {
		t.Fatalf("history has %d statuses, want 3", len(history))
	}
	if len(r.pending) != 2 || r.pending[0].Status.State != mesos.TaskRunning || r.pending[1].Status.State != mesos.TaskFinished {
		t.Fatalf("reloaded pending = %+v", r.pending)
	}
	if r.latestState() != mesos.TaskFinished {
		t.Fatalf("reloaded latest = %s", r.latestState())
	}
	// Duplicates are still recognised after a reload.
	if _, err := r.record(running); !errors.Is(err, errDuplicateUpdate) {
		t.Fatalf("duplicate after reload: %v", err)
	}
	// The reloaded stream continues the same file.
	for _, u := range []mesos.StatusUpdate{running, finished} {
		mustAck(t, r, u.Status.UUID)
	}
	r2, _, err := loadUpdateStream(path)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.done() {
		t.Fatal("stream not done after reloading all acks")
	}

	// A torn last record (crash mid-append) is ignored.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"type":"UPDATE","update":{"framework_id"`)
	f.Close()
	r3, _, err := loadUpdateStream(path)
	if err != nil {
		t.Fatalf("torn tail: %v", err)
	}
	if !r3.done() {
		t.Fatal("torn tail changed the stream")
	}

	// A missing file is an empty stream.
	empty, _, err := loadUpdateStream(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(empty.pending) != 0 {
		t.Fatalf("missing file: %v %v", empty, err)
	}
}

// A checkpointed update is not sent before the journal reports it durable;
// later updates wait behind it.
func TestUpdateStreamSendsOnlyDurableUpdates(t *testing.T) {
	s := newUpdateStream(filepath.Join(t.TempDir(), "task.updates"))
	now := time.Unix(100, 0)
	starting, running := testUpdate(mesos.TaskStarting), testUpdate(mesos.TaskRunning)
	for _, u := range []mesos.StatusUpdate{starting, running} {
		line, err := s.record(u)
		if err != nil || line == nil {
			t.Fatalf("record %s: line %q, err %v", u.Status.State, line, err)
		}
	}
	if _, ok := s.sendable(now); ok {
		t.Fatal("an update is sendable before its checkpoint is durable")
	}
	s.markDurable()
	u, ok := s.sendable(now)
	if !ok || u.Status.State != mesos.TaskStarting {
		t.Fatalf("after the first sync: sendable = %s %v, want TASK_STARTING", u.Status.State, ok)
	}
	if _, _, err := s.ack(starting.Status.UUID); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.sendable(now); ok {
		t.Fatal("TASK_RUNNING is sendable before its checkpoint is durable")
	}
	s.markDurable()
	if u, ok := s.sendable(now); !ok || u.Status.State != mesos.TaskRunning {
		t.Fatalf("after the second sync: sendable = %s %v, want TASK_RUNNING", u.Status.State, ok)
	}
	// Streams that are not checkpointed (orphans) send at once.
	o := newUpdateStream("")
	if line, err := o.record(testUpdate(mesos.TaskLost)); err != nil || line != nil {
		t.Fatalf("orphan record: line %q, err %v", line, err)
	}
	if _, ok := o.sendable(now); !ok {
		t.Fatal("orphan update not sendable")
	}
}
