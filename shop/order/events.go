package order

import (
	"context"
	"fmt"
	"sync"

	"microshop/shop/catalog"
)

// Subscriber reacts to order events (commission, points, notices). Delivery
// is at least once: OrderEvent must be idempotent by (o.ID, ev.ID).
type Subscriber interface {
	OrderEvent(ctx context.Context, tenantID string, o Order, ev Event) error
}

// Dispatch delivers the order's pending events, in order, and removes those
// delivered. An event goes to every subscriber at once: they are
// independent and idempotent, and their writes then share the database's
// group commits instead of waiting for one another. A failing subscriber
// leaves the event (and those after it) for the next pass, which delivers
// it again to all of them.
func (s *Service) Dispatch(ctx context.Context, tenantID, id string) error {
	o, err := s.store.Get(ctx, tenantID, id)
	if err != nil {
		return err
	}
	return s.dispatchOrder(ctx, tenantID, o)
}

// dispatchOrder delivers the events of o, the order as just read or
// written, as Dispatch does.
func (s *Service) dispatchOrder(ctx context.Context, tenantID string, o Order) error {
	if len(o.Events) == 0 {
		return nil
	}
	id := o.ID
	var done []Event
	var derr error
	for _, ev := range o.Events {
		if derr = s.deliver(ctx, tenantID, o, ev); derr != nil {
			break
		}
		done = append(done, ev)
	}
	if len(done) > 0 {
		if err := s.store.AckEvents(ctx, tenantID, id, done); err != nil {
			return err
		}
	}
	for _, ev := range done {
		if ev.Type == EventPaid || ev.Type == EventCancelled {
			s.slots.left(tenantID, o.FanID, id) // its unpaid slot is free (limits.go)
		}
	}
	return derr
}

// deliver hands ev to every subscriber concurrently and returns the first
// subscriber's error, in subscription order.
func (s *Service) deliver(ctx context.Context, tenantID string, o Order, ev Event) error {
	errs := make([]error, len(s.subs))
	if len(s.subs) == 1 {
		errs[0] = s.subs[0].OrderEvent(ctx, tenantID, o, ev)
	} else {
		var wg sync.WaitGroup
		for i, sub := range s.subs {
			wg.Go(func() { errs[i] = sub.OrderEvent(ctx, tenantID, o, ev) })
		}
		wg.Wait()
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("deliver event %s of order %s: %w", ev.ID, o.ID, err)
		}
	}
	return nil
}

// stockKeeper commits an order's stock holds when it is paid and releases
// them when it is cancelled or rejected; both are idempotent per hold.
type stockKeeper struct{ cat *catalog.Catalog }

func (k stockKeeper) OrderEvent(ctx context.Context, tenantID string, o Order, ev Event) error {
	for i, l := range o.Lines {
		var err error
		switch ev.Type {
		case EventPaid:
			err = k.cat.Commit(ctx, tenantID, holdKey(o.ID, i), l.ProductID, l.SKUID, l.Qty)
		case EventCancelled:
			_, err = k.cat.Release(ctx, tenantID, holdKey(o.ID, i), l.ProductID, l.SKUID)
		}
		if err != nil {
			return fmt.Errorf("stock of order %s line %d: %w", o.ID, i, err)
		}
	}
	return nil
}
