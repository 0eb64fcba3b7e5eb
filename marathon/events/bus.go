package events

import (
	"encoding/json"
	"sync"
	"time"
)

// DefaultMaxOutstanding is a subscriber's queue length.
const DefaultMaxOutstanding = 1024

// Event is one encoded event.
type Event struct {
	Type string
	Data []byte
}

// Bus fans events out to subscribers.
type Bus struct {
	maxOutstanding int
	now            func() time.Time

	mu   sync.Mutex
	subs map[*Sub]struct{}
	// counters for metrics
	published uint64
	dropped   uint64
}

// NewBus returns a bus whose subscribers hold at most maxOutstanding
// events (0: DefaultMaxOutstanding). now stamps events (nil: time.Now).
func NewBus(maxOutstanding int, now func() time.Time) *Bus {
	if maxOutstanding <= 0 {
		maxOutstanding = DefaultMaxOutstanding
	}
	if now == nil {
		now = time.Now
	}
	return &Bus{maxOutstanding: maxOutstanding, now: now, subs: map[*Sub]struct{}{}}
}

// Sub is one subscriber.
type Sub struct {
	C      chan Event
	filter map[string]bool
	// Gone is closed when the bus dropped the subscriber as too slow.
	Gone chan struct{}
	once sync.Once
}

// Subscribe registers a subscriber for the given event types (none: all).
func (b *Bus) Subscribe(types []string) *Sub {
	s := &Sub{C: make(chan Event, b.maxOutstanding), Gone: make(chan struct{})}
	if len(types) > 0 {
		s.filter = map[string]bool{}
		for _, t := range types {
			s.filter[t] = true
		}
	}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Unsubscribe removes a subscriber.
func (b *Bus) Unsubscribe(s *Sub) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// Subscribers returns the number of subscribers.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Stats returns how many events were published and how many subscribers
// were dropped as slow.
func (b *Bus) Stats() (published, dropped uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.published, b.dropped
}

// Publish sends an event of type eventType whose JSON holds fields plus
// eventType and timestamp. It never blocks.
func (b *Bus) Publish(eventType string, fields map[string]any) {
	m := make(map[string]any, len(fields)+2)
	for k, v := range fields {
		m[k] = v
	}
	m["eventType"] = eventType
	m["timestamp"] = b.now().UTC().Format("2006-01-02T15:04:05.000Z")
	data, err := json.Marshal(m)
	if err != nil {
		return
	}
	ev := Event{Type: eventType, Data: data}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.published++
	for s := range b.subs {
		if s.filter != nil && !s.filter[eventType] {
			continue
		}
		select {
		case s.C <- ev:
		default:
			b.dropped++
			delete(b.subs, s)
			s.once.Do(func() { close(s.Gone) })
		}
	}
}
