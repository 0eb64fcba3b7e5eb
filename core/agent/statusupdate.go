package agent

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/strata-sched/strata/core/mesos"
)

// Status update retry intervals (Mesos' STATUS_UPDATE_RETRY_INTERVAL_MIN/MAX).
const (
	statusUpdateRetryMin = 10 * time.Second
	statusUpdateRetryMax = 10 * time.Minute
)

// Errors of an update stream.
var (
	// errDuplicateUpdate: an update with this uuid was already received.
	errDuplicateUpdate = errors.New("duplicate status update")
	// errStreamTerminated: the stream's terminal update was acknowledged.
	errStreamTerminated = errors.New("status update stream is terminated")
	// errUnexpectedAck: the uuid is not the one of the update in flight.
	errUnexpectedAck = errors.New("unexpected status update acknowledgement")
)

// updateStream is the reliable status update stream of one task, Mesos'
// TaskStatusUpdateStream: a FIFO whose front is the only update in flight.
// The front is resent after statusUpdateRetryMin, doubling up to
// statusUpdateRetryMax, until an acknowledgement with its uuid arrives; then
// the next update goes out. Acknowledgements match by uuid only.
//
// updateStream itself is pure: it neither reads a clock nor does I/O. A
// checkpointed stream (path set) hands each new record to its caller as a
// JSON line (see record and ack); a new update is not sendable until the
// caller reports its line durable with markDurable (the agent's journal
// does, after a group sync). The caller passes the current time to the
// sending decisions.
type updateStream struct {
	pending []mesos.StatusUpdate
	// unsynced counts the updates at the tail of pending whose checkpoint
	// is not durable yet; only durable updates are sent.
	unsynced int
	// received holds the uuids of every update seen, to drop duplicates.
	received [][]byte
	// terminated is set once a terminal update is acknowledged.
	terminated bool
	// lastAcked is the state of the newest acknowledged update.
	lastAcked mesos.TaskState

	inFlight  bool
	backoff   time.Duration
	nextRetry time.Time

	// path is the task.updates checkpoint ("" = not checkpointed).
	path string
}

// updateRecord is one line of a task.updates file.
type updateRecord struct {
	Type   string              `json:"type"` // "UPDATE" or "ACK"
	Update *mesos.StatusUpdate `json:"update,omitempty"`
	UUID   []byte              `json:"uuid,omitempty"`
}

const (
	recordUpdate = "UPDATE"
	recordAck    = "ACK"
)

func newUpdateStream(path string) *updateStream { return &updateStream{path: path} }

func (s *updateStream) seen(uuid []byte) bool {
	for _, u := range s.received {
		if bytes.Equal(u, uuid) {
			return true
		}
	}
	return false
}

// checkUpdate says whether u may be appended.
func (s *updateStream) checkUpdate(u *mesos.StatusUpdate) error {
	if len(u.Status.UUID) == 0 {
		return fmt.Errorf("status update for task %s has no uuid", u.Status.TaskID.Value)
	}
	if s.seen(u.Status.UUID) {
		return errDuplicateUpdate
	}
	if s.terminated {
		return errStreamTerminated
	}
	return nil
}

// applyUpdate appends u (already checked and checkpointed).
func (s *updateStream) applyUpdate(u mesos.StatusUpdate) {
	s.received = append(s.received, u.Status.UUID)
	s.pending = append(s.pending, u)
}

// checkAck says whether uuid acknowledges the front.
func (s *updateStream) checkAck(uuid []byte) error {
	if s.terminated && len(s.pending) == 0 {
		return errStreamTerminated
	}
	if len(s.pending) == 0 {
		return fmt.Errorf("%w: nothing pending", errUnexpectedAck)
	}
	if !bytes.Equal(s.pending[0].Status.UUID, uuid) {
		return fmt.Errorf("%w: expecting the one of %s", errUnexpectedAck, s.pending[0].Status.State)
	}
	return nil
}

// applyAck removes the front (already checked and checkpointed) and returns it.
func (s *updateStream) applyAck() mesos.StatusUpdate {
	u := s.pending[0]
	s.pending[0] = mesos.StatusUpdate{}
	s.pending = s.pending[1:]
	if len(s.pending) == 0 {
		s.pending = nil
	}
	s.lastAcked = u.Status.State
	if u.Status.State.IsTerminal() {
		s.terminated = true
	}
	s.inFlight = false
	s.backoff = 0
	return u
}

// record checks and appends u. For a checkpointed stream it returns the
// line to append to the stream's file; u is not sendable until markDurable.
func (s *updateStream) record(u mesos.StatusUpdate) ([]byte, error) {
	if err := s.checkUpdate(&u); err != nil {
		return nil, err
	}
	var line []byte
	if s.path != "" {
		var err error
		if line, err = recordLine(updateRecord{Type: recordUpdate, Update: &u}); err != nil {
			return nil, err
		}
		s.unsynced++
	}
	s.applyUpdate(u)
	return line, nil
}

// markDurable reports the oldest update not yet durable as checkpointed.
func (s *updateStream) markDurable() {
	if s.unsynced > 0 {
		s.unsynced--
	}
}

// ack checks and applies an acknowledgement; it returns the acknowledged
// update and, for a checkpointed stream, the line to append to its file.
// Nothing waits for that line: an acknowledgement lost in a crash only
// makes the update be sent again.
func (s *updateStream) ack(uuid []byte) (mesos.StatusUpdate, []byte, error) {
	if err := s.checkAck(uuid); err != nil {
		return mesos.StatusUpdate{}, nil, err
	}
	var line []byte
	if s.path != "" {
		var err error
		if line, err = recordLine(updateRecord{Type: recordAck, UUID: uuid}); err != nil {
			return mesos.StatusUpdate{}, nil, err
		}
	}
	return s.applyAck(), line, nil
}

// loadUpdateStream replays a task.updates checkpoint and returns the
// stream and every status it held, oldest first. A missing file is an
// empty stream.
func loadUpdateStream(path string) (*updateStream, []mesos.TaskStatus, error) {
	s := newUpdateStream(path)
	var history []mesos.TaskStatus
	err := readRecords(path, func(r updateRecord) error {
		switch r.Type {
		case recordUpdate:
			if r.Update == nil {
				return fmt.Errorf("%s: UPDATE record without update", path)
			}
			if err := s.checkUpdate(r.Update); err != nil {
				if errors.Is(err, errDuplicateUpdate) {
					return nil
				}
				return fmt.Errorf("%s: %w", path, err)
			}
			s.applyUpdate(*r.Update)
			history = append(history, summarizeStatus(r.Update.Status))
		case recordAck:
			if err := s.checkAck(r.UUID); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			s.applyAck()
		default:
			return fmt.Errorf("%s: unknown record type %q", path, r.Type)
		}
		return nil
	})
	if err != nil && !isNotExist(err) {
		return nil, nil, err
	}
	return s, history, nil
}

// front returns the oldest unacknowledged update.
func (s *updateStream) front() (mesos.StatusUpdate, bool) {
	if len(s.pending) == 0 {
		return mesos.StatusUpdate{}, false
	}
	return s.pending[0], true
}

// latestState is the state of the newest update received ("" if none).
func (s *updateStream) latestState() mesos.TaskState {
	if n := len(s.pending); n > 0 {
		return s.pending[n-1].Status.State
	}
	return s.lastAcked
}

// done reports whether the terminal update has been acknowledged.
func (s *updateStream) done() bool { return s.terminated && len(s.pending) == 0 }

// sendable returns the front if it is durable and nothing is in flight, marking it in flight
// with the first retry due statusUpdateRetryMin after now.
func (s *updateStream) sendable(now time.Time) (mesos.StatusUpdate, bool) {
	if s.inFlight || len(s.pending) <= s.unsynced {
		return mesos.StatusUpdate{}, false
	}
	s.inFlight = true
	s.backoff = statusUpdateRetryMin
	s.nextRetry = now.Add(s.backoff)
	return s.pending[0], true
}

// retryDue returns the front if its retry time has come, doubling the
// interval (capped at statusUpdateRetryMax).
func (s *updateStream) retryDue(now time.Time) (mesos.StatusUpdate, bool) {
	if !s.inFlight || len(s.pending) == 0 || now.Before(s.nextRetry) {
		return mesos.StatusUpdate{}, false
	}
	s.backoff = min(2*s.backoff, statusUpdateRetryMax)
	s.nextRetry = now.Add(s.backoff)
	return s.pending[0], true
}

// pause forgets that the front is in flight (the master connection is
// gone); sendable returns it again after re-registration.
func (s *updateStream) pause() {
	s.inFlight = false
	s.backoff = 0
}
