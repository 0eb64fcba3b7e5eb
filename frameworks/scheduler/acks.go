package scheduler

import (
	"context"
	"hash/fnv"
	"sync"

	"github.com/strata-sched/strata/core/mesos"
)

// With Config.AutoAck the acknowledgements are sent by a few workers, off
// the event loop: an ACKNOWLEDGE is an HTTP round trip, and sending each
// one inline made a framework receiving a burst of updates (a large
// deployment, a reconciliation of 100,000 tasks) fall behind its event
// stream until the master dropped it as a slow consumer. A lost or failed
// acknowledgement only delays things: the agent resends the update.

const (
	ackWorkers = 4
	ackQueue   = 1024
)

// acker sends acknowledgements from ackWorkers goroutines; a task's
// acknowledgements always go through the same worker, in order.
type acker struct {
	c  *Client
	ch []chan mesos.TaskStatus
	wg sync.WaitGroup
}

func (c *Client) startAcker(ctx context.Context) *acker {
	a := &acker{c: c}
	for range ackWorkers {
		ch := make(chan mesos.TaskStatus, ackQueue/ackWorkers)
		a.ch = append(a.ch, ch)
		a.wg.Go(func() {
			for st := range ch {
				a.send(ctx, st)
			}
		})
	}
	return a
}

// ack queues st's acknowledgement on its task's worker. With that queue
// full it waits for room, which slows the event loop down instead of
// growing without bound (sending inline could overtake the task's queued
// acknowledgements).
func (a *acker) ack(ctx context.Context, st mesos.TaskStatus) {
	h := fnv.New32a()
	h.Write([]byte(st.TaskID.Value))
	select {
	case a.ch[h.Sum32()%uint32(len(a.ch))] <- st:
	case <-ctx.Done():
	}
}

func (a *acker) send(ctx context.Context, st mesos.TaskStatus) {
	if err := a.c.Acknowledge(ctx, st); err != nil && ctx.Err() == nil {
		a.c.log.Warn("acknowledging status update failed; the agent will resend it",
			"task_id", st.TaskID.Value, "state", st.State, "err", err)
	}
}

// stop waits for the queued acknowledgements (they fail fast once the
// Run context has ended).
func (a *acker) stop() {
	for _, ch := range a.ch {
		close(ch)
	}
	a.wg.Wait()
}
