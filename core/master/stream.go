package master

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/strata-sched/strata/core/mesos/recordio"
)

// stream is one long-lived RecordIO event stream (a framework subscription,
// an agent connection or an operator SUBSCRIBE). Send never blocks: events go
// through a bounded buffer to a writer goroutine; a consumer too slow to keep
// up is disconnected rather than stalling the master.
type stream struct {
	id   string
	ch   chan []byte
	done chan struct{}
	once sync.Once
}

const streamBuffer = 4096

func newStream(id string) *stream {
	return &stream{id: id, ch: make(chan []byte, streamBuffer), done: make(chan struct{})}
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
	select {
	case s.ch <- recordio.Frame(b):
		return true
	default:
		s.Close()
		return false
	}
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
	for {
		select {
		case <-r.Context().Done():
			s.Close()
			return
		case <-s.done:
			// Drain what was queued before the close (e.g. a final ERROR).
			for {
				select {
				case b := <-s.ch:
					if _, err := w.Write(b); err != nil {
						return
					}
				default:
					_ = rc.Flush()
					return
				}
			}
		case b := <-s.ch:
			if _, err := w.Write(b); err != nil {
				s.Close()
				return
			}
			// Coalesce what is already queued into one flush.
			for more := true; more; {
				select {
				case b := <-s.ch:
					if _, err := w.Write(b); err != nil {
						s.Close()
						return
					}
				default:
					more = false
				}
			}
			if err := rc.Flush(); err != nil {
				s.Close()
				return
			}
		}
	}
}
