package order

import (
	"context"
	"time"
)

// QueryInterval is how often the payment query pass runs (server/jobs.go
// schedules it so); dueForQuery spaces each order's queries by it.
const QueryInterval = time.Minute

// firstQuery is an unpaid order's age at its first query at WeChat Pay;
// each later one comes at twice the age of the one before (30 s, 1 min,
// 2 min, 4 min …) until the order is paid or cancelled.
const firstQuery = 30 * time.Second

// maxUnpaid is the longest an order may stay unpaid (Settings.Validate).
const maxUnpaid = 7 * 24 * time.Hour

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
	settings, err := s.Settings(ctx, tenantID)
	if err != nil {
		return r, err
	}
	acct, wechatPay, err := s.payAccount(ctx, tenantID, settings, false)
	if err != nil {
		return r, err
	}
	for _, o := range expired {
		if wechatPay {
			// Paid at WeChat Pay with no notification yet: the money moved,
			// so the order is paid, not cancelled.
			settled, err := s.queryWeChatPay(ctx, tenantID, acct, o.ID)
			if err != nil {
				s.log.Warn("query wechat pay before cancelling", "tenant", tenantID, "order", o.ID, "err", err)
			}
			if settled {
				continue
			}
		}
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

// QueryReport counts what one payment query pass over a shop did.
type QueryReport struct {
	Queried, Settled, Failed int
	// RefundsQueried refunds were asked about; Refunds were settled.
	RefundsQueried, Refunds int
}

// QueryPayments asks WeChat Pay about the shop's orders being paid whose
// notification may have been lost (GET
// /v3/pay/transactions/out-trade-no/{id}) and confirms those it says were
// paid: the same ConfirmPayment as a notification, so one that arrives as
// well changes nothing. Each order keeps its payment's state, when to ask
// next (Order.NextQueryAt, set when the buyer starts paying at WeChat
// Pay): an order never prepaid is never asked about, and one not paid is
// asked again with back-off (see nextQuery) until its expiry, where the
// expiry pass (RunJobs) asks a last time before cancelling it, which closes
// it at WeChat Pay. Refunds still processing are asked about too (see
// queryRefunds). A shop without WeChat Pay has nothing to ask.
func (s *Service) QueryPayments(ctx context.Context, tenantID string) (QueryReport, error) {
	var r QueryReport
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return r, err
	}
	acct, ok, err := s.payAccount(ctx, tenantID, st, false)
	if err != nil {
		return r, err
	}
	if err := s.queryRefunds(ctx, tenantID, acct, ok, &r); err != nil || !ok {
		return r, err
	}
	now := s.clock()
	due, err := s.store.DueQueries(ctx, tenantID, now, jobBatch)
	if err != nil {
		return r, err
	}
	for _, o := range due {
		r.Queried++
		known, settled, err := s.askWeChatPay(ctx, tenantID, acct, o.ID)
		switch {
		case err != nil:
			s.log.Warn("query wechat pay", "tenant", tenantID, "order", o.ID, "err", err)
			r.Failed++
		case settled:
			r.Settled++
			continue
		}
		next := nextQuery(o, now)
		if err == nil && !known {
			next = nil // WeChat Pay has no such payment: nothing to ask
		}
		if err := s.store.SetNextQuery(ctx, tenantID, o.ID, next); err != nil {
			return r, err
		}
	}
	return r, nil
}

// nextQuery is when to ask WeChat Pay about the payment of order o after
// now: the first of its query ages (firstQuery after it was placed, then
// each twice the one before: 30 s, 1, 2, 4, 8 … min) past now; nil once
// that is at or after the order's expiry, where the expiry pass asks a
// last time and cancels it (the back-off ends).
func nextQuery(o Order, now time.Time) *time.Time {
	for age := firstQuery; ; age *= 2 {
		if at := o.CreatedAt.Add(age); at.After(now) {
			if !at.Before(o.ExpiresAt) {
				return nil
			}
			return &at
		}
	}
}

// paymentStarted records that the buyer started paying o at WeChat Pay
// (a prepay): from then on the query job asks about it. A failure to
// record it is logged: the expiry pass still asks before cancelling.
func (s *Service) paymentStarted(ctx context.Context, tenantID string, o Order) {
	if o.NextQueryAt != nil {
		return
	}
	next := nextQuery(o, s.clock())
	if next == nil {
		return
	}
	if err := s.store.SetNextQuery(ctx, tenantID, o.ID, next); err != nil {
		s.log.Warn("schedule the payment query", "tenant", tenantID, "order", o.ID, "err", err)
	}
}

// dueForQuery reports whether an unpaid order of this age is queried by a
// pass that runs every interval: when one of its query ages (firstQuery,
// then doubling) fell within the last interval. Nothing is stored per
// order; a pass that did not run skips that query, and the next age
// catches up.
func dueForQuery(age, interval time.Duration) bool {
	for at := firstQuery; at <= age; at *= 2 {
		if at > age-interval {
			return true
		}
	}
	return false
}
