package aftersale

import (
	"context"
	"fmt"
	"time"

	"microshop/shop/order"
)

// JobReport counts what one pass over a shop did.
type JobReport struct {
	// Approved: requests the merchant did not answer in time; Refunded:
	// refunds the deadlines sent (unanswered refund-only, unconfirmed
	// returns); Closed: returns never shipped and rejections never
	// escalated; Rescheduled: unshipped-refund deadlines of orders shipped
	// meanwhile, now waiting for an answer.
	Approved, Refunded, Closed, Rescheduled int
	// Resent: refunds a dead process left sending; Queued: escalations
	// put in the platform's queue late.
	Resent, Queued int
	// Skipped: another replica holds the shop's lease.
	Skipped bool
}

// jobBatch bounds one pass's work per shop and kind.
const jobBatch = 200

// leaseTTL bounds how long a replica may hold a shop's deadline pass.
const leaseTTL = 2 * time.Minute

// RunJobs is the periodic pass over one shop, under the shop's lease
// ("aftersale:<tenant>"): it acts on the deadlines that passed, once each
// (every action is a conditional change, so two runners, or a runner and
// a person, act once between them), resends refunds a dead process left
// sending, and queues escalations whose queueing was interrupted.
func (s *Service) RunJobs(ctx context.Context, tenantID string) (JobReport, error) {
	var rep JobReport
	run := func(ctx context.Context) error {
		var err error
		rep, err = s.pass(ctx, tenantID)
		return err
	}
	if s.leaser == nil {
		return rep, run(ctx)
	}
	ran, err := s.leaser.Run(ctx, "aftersale:"+tenantID, leaseTTL, run)
	if err == nil && !ran {
		rep.Skipped = true
	}
	return rep, err
}

func (s *Service) pass(ctx context.Context, tenantID string) (JobReport, error) {
	var rep JobReport
	now := s.clock()
	due, err := s.store.Due(ctx, tenantID, now, jobBatch)
	if err != nil {
		return rep, err
	}
	for _, r := range due {
		if err := s.fire(ctx, tenantID, r, &rep); err != nil {
			return rep, fmt.Errorf("deadline of after-sale request %s: %w", r.ID, err)
		}
	}
	before := now.Add(-stuckAfter)
	stuck, err := s.store.Stuck(ctx, tenantID, before, jobBatch)
	if err != nil {
		return rep, err
	}
	for _, r := range stuck {
		ok, err := s.resend(ctx, tenantID, r, before)
		if err != nil {
			return rep, fmt.Errorf("resend the refund of after-sale request %s: %w", r.ID, err)
		}
		if ok {
			rep.Resent++
		}
	}
	if s.disputes != nil {
		unq, err := s.store.Unqueued(ctx, tenantID, jobBatch)
		if err != nil {
			return rep, err
		}
		for _, r := range unq {
			if _, err := s.queue(ctx, tenantID, r); err != nil {
				return rep, fmt.Errorf("queue dispute %s: %w", r.ID, err)
			}
			rep.Queued++
		}
	}
	return rep, nil
}

// fire acts on r's deadline if it is still the one that passed.
func (s *Service) fire(ctx context.Context, tenantID string, r Request, rep *JobReport) error {
	st, err := s.settings(ctx, tenantID)
	if err != nil {
		return err
	}
	shipped := true
	if r.DueKind == DueUnshipped {
		o, err := s.orders.Get(ctx, tenantID, r.OrderID)
		if err != nil {
			return err
		}
		shipped = o.Status != order.Paid
	}
	var did *int
	next, wrote, err := s.change(ctx, tenantID, r.ID, func(cur *Request, now time.Time) error {
		if cur.DueAt == nil || cur.DueAt.After(now) || cur.DueKind != r.DueKind || !cur.DueAt.Equal(*r.DueAt) {
			return errUnchanged // acted on, or moved on, meanwhile
		}
		switch {
		case cur.DueKind == DueUnshipped && shipped:
			// Shipped in time: the merchant now has the answer deadline.
			due := cur.CreatedAt.Add(hours(st.AnswerHours))
			if due.After(now) {
				cur.DueAt, cur.DueKind, did = &due, DueAnswer, &rep.Rescheduled
				return nil
			}
			fallthrough
		case cur.DueKind == DueUnshipped || cur.DueKind == DueAnswer:
			if cur.Status != Pending {
				return errUnchanged
			}
			approve(cur, st, ByDeadline, now)
			did = &rep.Approved
			if cur.RefundStatus == RefundSending {
				did = &rep.Refunded
			}
		case cur.DueKind == DueReturn && cur.Status == AwaitingReturn,
			cur.DueKind == DueEscalate && cur.Status == Rejected:
			cur.Status, cur.ClosedReason = Closed, "timed_out"
			end(cur, now)
			did = &rep.Closed
		case cur.DueKind == DueConfirm && cur.Status == Returned:
			confirm(cur, now)
			did = &rep.Refunded
			if cur.Type == Exchange {
				did = &rep.Closed
			}
		default:
			return errUnchanged
		}
		return nil
	})
	if err != nil || !wrote {
		return err
	}
	*did++
	s.afterChange(ctx, tenantID, next, wrote)
	return nil
}
