package agent

import (
	"context"
	"sync"
)

// queue is an unbounded FIFO between the agent's core (which must never
// block while holding its lock) and one goroutine that drains it: the
// sender of master calls, or an executor's event stream.
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	closed bool
	signal chan struct{} // capacity 1: "something changed"
}

func newQueue[T any]() *queue[T] { return &queue[T]{signal: make(chan struct{}, 1)} }

// push appends v; it reports false if the queue is closed.
func (q *queue[T]) push(v T) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.notify()
	return true
}

func (q *queue[T]) notify() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// close ends the queue: pop returns what is left, then reports closed.
func (q *queue[T]) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.notify()
}

// popAll blocks until items are available, the queue is closed and
// drained (ok false), or ctx ends (ok false).
func (q *queue[T]) popAll(ctx context.Context) (items []T, ok bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			items, q.items = q.items, nil
			q.mu.Unlock()
			return items, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return nil, false
		}
		select {
		case <-q.signal:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// len returns the number of queued items.
func (q *queue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// tryPopAll returns what is queued without blocking; closed reports a
// closed and drained queue.
func (q *queue[T]) tryPopAll() (items []T, closed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items, q.items = q.items, nil
	return items, q.closed && len(items) == 0
}
