package order

import (
	"context"
	"time"
)

// placingGrace is how long an order may stay "placing" before the recovery
// pass decides its request died (a crash, a killed process) and rejects it.
const placingGrace = 2 * time.Minute

// jobBatch bounds one pass's work per shop and kind.
const jobBatch = 200

// JobReport counts what one pass over a shop did. Repaired are fully
// refunded orders moved to refunded (see Store.FullyRefunded).
type JobReport struct {
	Expired, Recovered, Completed, Repaired, Dispatched int
}

// RunJobs is the periodic pass over one shop: cancel unpaid orders past
// their timeout, reject orders whose placing was interrupted, complete
// orders shipped long enough ago, close fully refunded orders that still
// show another status, and deliver events left pending. Every
// step is a conditional transition or an idempotent delivery, so a pass may
// crash or run twice without harm.
func (s *Service) RunJobs(ctx context.Context, tenantID string) (JobReport, error) {
	var r JobReport
	now := s.clock()
	expired, err := s.store.Due(ctx, tenantID, PendingPayment, "expires_at", now, jobBatch)
	if err != nil {
		return r, err
	}
	for _, o := range expired {
		reason := "not paid in time"
		ok, err := s.store.Transition(ctx, tenantID, o.ID, []string{PendingPayment}, Cancelled,
			Change{CancelledAt: &now, CancelReason: &reason}, &Event{ID: EventCancelled, Type: EventCancelled, At: now})
		if err != nil {
			return r, err
		}
		if ok {
			r.Expired++
		}
	}
	stuck, err := s.store.Due(ctx, tenantID, Placing, "created_at", now.Add(-placingGrace), jobBatch)
	if err != nil {
		return r, err
	}
	for _, o := range stuck {
		ok, err := s.reject(ctx, tenantID, o.ID, "interrupted while placing")
		if err != nil {
			return r, err
		}
		if ok {
			r.Recovered++
		}
	}
	settings, err := s.Settings(ctx, tenantID)
	if err != nil {
		return r, err
	}
	shipped, err := s.store.Due(ctx, tenantID, Shipped, "shipped_at", now.AddDate(0, 0, -settings.AutoCompleteDays), jobBatch)
	if err != nil {
		return r, err
	}
	for _, o := range shipped {
		ok, err := s.store.Transition(ctx, tenantID, o.ID, []string{Shipped}, Completed, Change{CompletedAt: &now},
			&Event{ID: EventCompleted, Type: EventCompleted, At: now})
		if err != nil {
			return r, err
		}
		if ok {
			r.Completed++
		}
	}
	if r.Repaired, err = s.closeRefunded(ctx, tenantID); err != nil {
		return r, err
	}
	// Idempotency keys answer replays for 24 hours; then they go.
	if _, err := s.store.DeleteKeysBefore(ctx, tenantID, now.Add(-idempotencyWindow), jobBatch); err != nil {
		return r, err
	}
	pending, err := s.store.WithEvents(ctx, tenantID, jobBatch)
	if err != nil {
		return r, err
	}
	for _, o := range pending {
		if err := s.Dispatch(ctx, tenantID, o.ID); err != nil {
			s.log.Warn("dispatch order events", "tenant", tenantID, "order", o.ID, "err", err)
			continue
		}
		r.Dispatched++
	}
	return r, nil
}

// closeRefunded moves fully refunded orders that still show paid, shipped
// or completed to refunded. Their refund events were written with the
// refund; the pass's delivery step sends whatever is left of them.
// Refundable never grows back once an order is paid, so the move needs no
// condition beyond the status.
func (s *Service) closeRefunded(ctx context.Context, tenantID string) (int, error) {
	half, err := s.store.FullyRefunded(ctx, tenantID, jobBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range half {
		ok, err := s.store.Transition(ctx, tenantID, o.ID, []string{o.Status}, Refunded, Change{}, nil)
		if err != nil {
			return n, err
		}
		if ok {
			s.log.Warn("closed a fully refunded order", "tenant", tenantID, "order", o.ID, "was", o.Status)
			n++
		}
	}
	return n, nil
}
