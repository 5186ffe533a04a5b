package order

import (
	"context"
	"strings"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// The merchant's (and the buyer's) changes to an order after it is placed:
// ship, complete, cancel and refund. Each is one conditional write of the
// store; when it does not take, the order as it is says why.

// transition moves an order and delivers the event, or says why it cannot.
func (s *Service) transition(ctx context.Context, tenantID, id string, from []string, to string, ch Change, ev *Event, verb string) (Order, error) {
	if err := engine.CheckID("id", "order", id); err != nil {
		return Order{}, err
	}
	ok, err := s.store.Transition(ctx, tenantID, id, from, to, ch, ev)
	return s.settle(ctx, tenantID, id, ok, err, func(o Order) error {
		return fault.Conflict("cannot %s an order that is %s (only %s)", fault.Word(verb), fault.Word(words(o.Status)),
			fault.Word(words(strings.Join(from, " or "))))
	})
}

// settle finishes a conditional write of order id that returned (ok, err):
// when it took, the order's new events are delivered and the order read
// again; when it did not, refused says why (an order no one may see yet
// is not found).
func (s *Service) settle(ctx context.Context, tenantID, id string, ok bool, err error, refused func(Order) error) (Order, error) {
	if err != nil {
		return Order{}, err
	}
	o, err := s.store.Get(ctx, tenantID, id)
	if err != nil {
		return Order{}, err
	}
	if !ok {
		if !visible(o.Status) {
			return Order{}, fault.NotFound("order")
		}
		return Order{}, refused(o)
	}
	// Delivery failures leave the events in the outbox for the next pass.
	if err := s.Dispatch(ctx, tenantID, id); err != nil {
		s.log.Warn("dispatch order events", "tenant", tenantID, "order", id, "err", err)
	}
	return s.store.Get(ctx, tenantID, id)
}

// words is a status (or list of them) as words: "pending payment".
func words(status string) string { return strings.ReplaceAll(status, "_", " ") }

// reasonText is a typed reason, trimmed, if it is one line of at most 200
// characters without hidden ones.
func reasonText(reason string) (string, error) {
	return fault.Text("reason", reason, 200)
}

// Ship marks a paid order shipped.
func (s *Service) Ship(ctx context.Context, tenantID, id, carrier, tracking string) (Order, error) {
	carrier, err := fault.Text("carrier", carrier, 32)
	if err != nil {
		return Order{}, err
	}
	if carrier == "" {
		return Order{}, fault.Invalid("carrier", "is required, at most 32 characters")
	}
	tracking, err = fault.Text("tracking_no", tracking, 64)
	if err != nil {
		return Order{}, err
	}
	if tracking == "" {
		return Order{}, fault.Invalid("tracking_no", "is required, at most 64 characters")
	}
	now := s.clock()
	return s.transition(ctx, tenantID, id, []string{Paid}, Shipped, Change{ShippedAt: &now, Carrier: &carrier, TrackingNo: &tracking},
		&Event{ID: EventShipped, Type: EventShipped, At: now}, "ship")
}

// Complete marks a shipped order completed (received).
func (s *Service) Complete(ctx context.Context, tenantID, id string) (Order, error) {
	now := s.clock()
	return s.transition(ctx, tenantID, id, []string{Shipped}, Completed, Change{CompletedAt: &now},
		&Event{ID: EventCompleted, Type: EventCompleted, At: now}, "complete")
}

// Cancel cancels an unpaid order; its stock returns exactly once.
func (s *Service) Cancel(ctx context.Context, tenantID, id, reason string) (Order, error) {
	reason, err := reasonText(reason)
	if err != nil {
		return Order{}, err
	}
	now := s.clock()
	return s.transition(ctx, tenantID, id, []string{PendingPayment}, Cancelled, Change{CancelledAt: &now, CancelReason: &reason},
		&Event{ID: EventCancelled, Type: EventCancelled, At: now}, "cancel")
}

// CancelForFan lets a consumer cancel their own unpaid order.
func (s *Service) CancelForFan(ctx context.Context, tenantID, fanID, id string) (Order, error) {
	if _, err := s.GetForFan(ctx, tenantID, fanID, id); err != nil {
		return Order{}, err
	}
	return s.Cancel(ctx, tenantID, id, "cancelled by the buyer")
}
