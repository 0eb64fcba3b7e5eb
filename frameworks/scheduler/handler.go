package scheduler

import (
	"context"

	"github.com/strata-sched/strata/core/mesos"
)

// Handler receives the events of the subscription stream, one method per
// event type. Methods run one at a time, in stream order, on Run's
// goroutine; ctx is Run's context. A handler may call the Client's methods
// (Launch, Decline, Acknowledge, ...). While a handler runs no further
// event is read, so long work belongs on the framework's own goroutines.
//
// Events the Handler has no method for (INVERSE_OFFERS,
// UPDATE_OPERATION_STATUS, RESCIND_INVERSE_OFFER) are logged and dropped.
type Handler interface {
	// Subscribed is called for every SUBSCRIBED: the first subscription
	// and each re-subscription. Offers received before it are void.
	Subscribed(ctx context.Context, c *Client, ev *mesos.EventSubscribedBody)
	// Offers delivers resource offers. Each must be accepted or declined
	// eventually; unanswered offers hold the resources.
	Offers(ctx context.Context, c *Client, offers []mesos.Offer)
	// Rescind says an offer is no longer valid.
	Rescind(ctx context.Context, c *Client, offerID mesos.OfferID)
	// Update delivers a task status update. With Config.AutoAck the
	// update is acknowledged after Update returns, if it carries a uuid.
	Update(ctx context.Context, c *Client, status mesos.TaskStatus)
	// Message delivers a framework message from an executor.
	Message(ctx context.Context, c *Client, msg *mesos.EventMessageBody)
	// Failure reports a lost agent or an exited executor.
	Failure(ctx context.Context, c *Client, f *mesos.EventFailureBody)
	// Error reports an ERROR event. If the message says the framework was
	// removed, Run returns an error wrapping ErrFrameworkRemoved next.
	Error(ctx context.Context, c *Client, message string)
	// Heartbeat is called for every HEARTBEAT event.
	Heartbeat(ctx context.Context, c *Client)
}

// DisconnectHandler is an optional Handler capability: Disconnected is
// called when a subscription stream ends for any reason other than Run
// returning (stream closed, heartbeats missed, an ERROR). Outstanding offers
// are void from then on; Run re-subscribes on its own.
type DisconnectHandler interface {
	Disconnected(ctx context.Context, c *Client, err error)
}

// TaskLister is an optional Handler capability that turns on explicit
// reconciliation: after every SUBSCRIBED the Client asks the master about
// each task KnownTasks returns, and asks again, with truncated exponential
// backoff, for those that have had no UPDATE since. KnownTasks should list
// the framework's non-terminal tasks; it is called on Run's goroutine.
type TaskLister interface {
	KnownTasks() []mesos.ReconcileTask
}

// HandlerFuncs implements Handler, DisconnectHandler and TaskLister with
// optional functions: a nil field ignores the event (and a nil
// KnownTasksFunc turns reconciliation off).
type HandlerFuncs struct {
	SubscribedFunc   func(ctx context.Context, c *Client, ev *mesos.EventSubscribedBody)
	OffersFunc       func(ctx context.Context, c *Client, offers []mesos.Offer)
	RescindFunc      func(ctx context.Context, c *Client, offerID mesos.OfferID)
	UpdateFunc       func(ctx context.Context, c *Client, status mesos.TaskStatus)
	MessageFunc      func(ctx context.Context, c *Client, msg *mesos.EventMessageBody)
	FailureFunc      func(ctx context.Context, c *Client, f *mesos.EventFailureBody)
	ErrorFunc        func(ctx context.Context, c *Client, message string)
	HeartbeatFunc    func(ctx context.Context, c *Client)
	DisconnectedFunc func(ctx context.Context, c *Client, err error)
	KnownTasksFunc   func() []mesos.ReconcileTask

	// Maintenance (InverseOfferHandler).
	InverseOffersFunc       func(ctx context.Context, c *Client, offers []mesos.InverseOffer)
	RescindInverseOfferFunc func(ctx context.Context, c *Client, id mesos.OfferID)
}

var (
	_ Handler           = HandlerFuncs{}
	_ DisconnectHandler = HandlerFuncs{}
	_ TaskLister        = HandlerFuncs{}
)

func (h HandlerFuncs) Subscribed(ctx context.Context, c *Client, ev *mesos.EventSubscribedBody) {
	if h.SubscribedFunc != nil {
		h.SubscribedFunc(ctx, c, ev)
	}
}

func (h HandlerFuncs) Offers(ctx context.Context, c *Client, offers []mesos.Offer) {
	if h.OffersFunc != nil {
		h.OffersFunc(ctx, c, offers)
	}
}

func (h HandlerFuncs) Rescind(ctx context.Context, c *Client, offerID mesos.OfferID) {
	if h.RescindFunc != nil {
		h.RescindFunc(ctx, c, offerID)
	}
}

func (h HandlerFuncs) Update(ctx context.Context, c *Client, status mesos.TaskStatus) {
	if h.UpdateFunc != nil {
		h.UpdateFunc(ctx, c, status)
	}
}

func (h HandlerFuncs) Message(ctx context.Context, c *Client, msg *mesos.EventMessageBody) {
	if h.MessageFunc != nil {
		h.MessageFunc(ctx, c, msg)
	}
}

func (h HandlerFuncs) Failure(ctx context.Context, c *Client, f *mesos.EventFailureBody) {
	if h.FailureFunc != nil {
		h.FailureFunc(ctx, c, f)
	}
}

func (h HandlerFuncs) Error(ctx context.Context, c *Client, message string) {
	if h.ErrorFunc != nil {
		h.ErrorFunc(ctx, c, message)
	}
}

func (h HandlerFuncs) Heartbeat(ctx context.Context, c *Client) {
	if h.HeartbeatFunc != nil {
		h.HeartbeatFunc(ctx, c)
	}
}

func (h HandlerFuncs) Disconnected(ctx context.Context, c *Client, err error) {
	if h.DisconnectedFunc != nil {
		h.DisconnectedFunc(ctx, c, err)
	}
}

func (h HandlerFuncs) KnownTasks() []mesos.ReconcileTask {
	if h.KnownTasksFunc != nil {
		return h.KnownTasksFunc()
	}
	return nil
}
