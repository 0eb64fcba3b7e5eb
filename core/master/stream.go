package master

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/strata-sched/strata/core/mesos/recordio"
)

// stream is one long-lived RecordIO event stream (a framework subscription,
// an agent connection or an operator SUBSCRIBE). Send never blocks: events go
// into a bounded queue drained by the serving handler; a consumer too slow to
// keep up is disconnected rather than stalling the master. The queue is a
// slice that grows only while events wait (a fixed channel of streamBuffer
// slots cost 96 KiB per stream, about 1 GiB for 10,000 agents).
type stream struct {
	id     string
	mu     sync.Mutex
	queue  [][]byte
	notify chan struct{} // a token when queue became non-empty
	done   chan struct{}
	once   sync.Once
}

const streamBuffer = 4096

func newStream(id string) *stream {
	return &stream{id: id, notify: make(chan struct{}, 1), done: make(chan struct{})}
}

// Send queues ev (any JSON-encodable value); false if the stream is closed or full.
func (s *stream) Send(ev any) bool {
	if s == nil {
		return false
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
	}
	s.mu.Lock()
	if len(s.queue) >= streamBuffer {
		s.mu.Unlock()
		s.Close()
		return false
	}
	s.queue = append(s.queue, recordio.Frame(b))
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return true
}

// take removes and returns every queued record.
func (s *stream) take() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// Close ends the stream; the serving handler returns.
func (s *stream) Close() {
	if s == nil {
		return
	}
	s.once.Do(func() { close(s.done) })
}

// Done is closed when the stream ends.
func (s *stream) Done() <-chan struct{} { return s.done }

// serve writes queued records to w until the stream is closed or the
// client goes away. The caller has already written the headers.
func (s *stream) serve(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	write := func(q [][]byte) error {
		for _, b := range q {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return rc.Flush()
	}
	for {
		select {
		case <-r.Context().Done():
			s.Close()
			return
		case <-s.done:
			// Drain what was queued before the close (e.g. a final ERROR).
			_ = write(s.take())
			return
		case <-s.notify:
			// Everything queued so far goes out in one flush.
			if err := write(s.take()); err != nil {
				s.Close()
				return
			}
		}
	}
}
