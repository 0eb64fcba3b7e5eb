package scheduler

import (
	"context"

	"github.com/strata-sched/strata/core/mesos"
)

// InverseOfferHandler is an optional Handler capability for maintenance
// (Mesos' maintenance primitives): the master asks for the resources on an
// agent whose machine is scheduled for maintenance back with an inverse
// offer, which the framework answers with AcceptInverseOffers (it will have
// moved its work off the agent by the unavailability's start) or
// DeclineInverseOffers. Handlers without it leave inverse offers
// unanswered, which operators see as status UNKNOWN.
type InverseOfferHandler interface {
	InverseOffers(ctx context.Context, c *Client, offers []mesos.InverseOffer)
	RescindInverseOffer(ctx context.Context, c *Client, id mesos.OfferID)
}

var _ InverseOfferHandler = HandlerFuncs{}

func (h HandlerFuncs) InverseOffers(ctx context.Context, c *Client, offers []mesos.InverseOffer) {
	if h.InverseOffersFunc != nil {
		h.InverseOffersFunc(ctx, c, offers)
	}
}

func (h HandlerFuncs) RescindInverseOffer(ctx context.Context, c *Client, id mesos.OfferID) {
	if h.RescindInverseOfferFunc != nil {
		h.RescindInverseOfferFunc(ctx, c, id)
	}
}

// AcceptInverseOffers tells the master the framework will comply with the
// maintenance behind the inverse offers; filters delay the next inverse
// offer for the same agent (default 5 s).
func (c *Client) AcceptInverseOffers(ctx context.Context, ids []mesos.OfferID, filters *mesos.Filters) error {
	return c.Call(ctx, &mesos.Call{Type: mesos.CallAcceptInverseOffers,
		AcceptInverseOffers: &mesos.CallInverseOffersBody{InverseOfferIDs: ids, Filters: filters}})
}

// DeclineInverseOffers tells the master the framework cannot comply.
func (c *Client) DeclineInverseOffers(ctx context.Context, ids []mesos.OfferID, filters *mesos.Filters) error {
	return c.Call(ctx, &mesos.Call{Type: mesos.CallDeclineInverseOffers,
		DeclineInverseOffers: &mesos.CallInverseOffersBody{InverseOfferIDs: ids, Filters: filters}})
}

// dispatchInverse hands maintenance events to h if it handles them.
func dispatchInverse(ctx context.Context, c *Client, h Handler, ev *mesos.Event) {
	ih, ok := h.(InverseOfferHandler)
	if !ok {
		c.log.Debug("inverse offer left unanswered: the handler does not implement InverseOfferHandler")
		return
	}
	switch {
	case ev.Type == mesos.EventInverseOffers && ev.InverseOffers != nil:
		ih.InverseOffers(ctx, c, ev.InverseOffers.InverseOffers)
	case ev.Type == mesos.EventRescindInverseOffer && ev.RescindInverseOffer != nil:
		ih.RescindInverseOffer(ctx, c, ev.RescindInverseOffer.InverseOfferID)
	}
}
