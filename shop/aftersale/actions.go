package aftersale

import (
	"context"
	"time"

	"microshop/tenants/fault"
)

// The actions on a request. Each is one change (Service.change): a write
// conditional on the revision read, so a merchant's approval racing the
// deadline, or two cron runners, move the request once; the loser finds it
// moved on (a 409 for a person, nothing for the pass). The action that
// sends money sets RefundStatus "sending" in its write, and only its
// winner then asks the order for the refund (sendRefund).

// approve moves a pending request on as approved by who: refund_only to
// refunded (its refund to send), the others to awaiting the return.
func approve(r *Request, st Settings, who string, now time.Time) {
	r.ApprovedBy = who
	if who == ByMerchant {
		r.AnsweredAt = &now
	}
	if r.Type == RefundOnly {
		refund(r, r.Amount, now)
		r.Status = Refunded
		return
	}
	due := now.Add(days(st.ReturnDays))
	r.Status, r.DueAt, r.DueKind = AwaitingReturn, &due, DueReturn
}

// refund marks r's refund of amount to be sent and ends its deadline.
func refund(r *Request, amount int64, now time.Time) {
	r.RefundStatus, r.RefundAmount = RefundSending, amount
	end(r, now)
}

// end ends r's deadline and records when it ended.
func end(r *Request, now time.Time) {
	r.DueAt, r.DueKind, r.EndedAt = nil, "", &now
}

// afterChange finishes an action that wrote r: the refund it decided goes
// out.
func (s *Service) afterChange(ctx context.Context, tenantID string, r Request, wrote bool) Request {
	if wrote && r.RefundStatus == RefundSending {
		return s.sendRefund(ctx, tenantID, r)
	}
	return r
}

// Approve is the merchant's approval of a pending request.
func (s *Service) Approve(ctx context.Context, tenantID, id string) (Request, error) {
	if err := checkID(id); err != nil {
		return Request{}, err
	}
	st, err := s.settings(ctx, tenantID)
	if err != nil {
		return Request{}, err
	}
	r, wrote, err := s.change(ctx, tenantID, id, func(r *Request, now time.Time) error {
		if r.Status != Pending {
			return refused("approve", r)
		}
		approve(r, st, ByMerchant, now)
		return nil
	})
	if err != nil {
		return r, err
	}
	return s.afterChange(ctx, tenantID, r, wrote), nil
}

// Reject is the merchant's refusal of a pending request, with a reason;
// the shopper may escalate it within the shop's escalation days.
func (s *Service) Reject(ctx context.Context, tenantID, id, reason string) (Request, error) {
	if err := checkID(id); err != nil {
		return Request{}, err
	}
	reason, err := fault.Text("reason", reason, 200)
	if err != nil {
		return Request{}, err
	}
	if reason == "" {
		return Request{}, fault.Invalid("reason", "is required, at most 200 characters")
	}
	st, err := s.settings(ctx, tenantID)
	if err != nil {
		return Request{}, err
	}
	r, _, err := s.change(ctx, tenantID, id, func(r *Request, now time.Time) error {
		if r.Status != Pending {
			return refused("reject", r)
		}
		due := now.Add(days(st.EscalateDays))
		r.Status, r.RejectReason, r.AnsweredAt, r.DueAt, r.DueKind = Rejected, reason, &now, &due, DueEscalate
		return nil
	})
	return r, err
}

// ReturnRequest is the return parcel the shopper sent.
type ReturnRequest struct {
	Carrier    string `json:"carrier"`
	TrackingNo string `json:"tracking_no"`
}

// ShipBack records the fan's return parcel on their approved request.
func (s *Service) ShipBack(ctx context.Context, tenantID, fanID, id string, in ReturnRequest) (Request, error) {
	if _, err := s.GetForFan(ctx, tenantID, fanID, id); err != nil {
		return Request{}, err
	}
	carrier, err := fault.Text("carrier", in.Carrier, 32)
	if err != nil {
		return Request{}, err
	}
	if carrier == "" {
		return Request{}, fault.Invalid("carrier", "is required, at most 32 characters")
	}
	tracking, err := fault.Text("tracking_no", in.TrackingNo, 64)
	if err != nil {
		return Request{}, err
	}
	if tracking == "" {
		return Request{}, fault.Invalid("tracking_no", "is required, at most 64 characters")
	}
	st, err := s.settings(ctx, tenantID)
	if err != nil {
		return Request{}, err
	}
	r, _, err := s.change(ctx, tenantID, id, func(r *Request, now time.Time) error {
		if r.Status != AwaitingReturn {
			return refused("ship back", r)
		}
		due := now.Add(days(st.ConfirmDays))
		r.Status, r.Carrier, r.TrackingNo, r.ReturnedAt, r.DueAt, r.DueKind = Returned, carrier, tracking, &now, &due, DueConfirm
		return nil
	})
	return r, err
}

// confirm moves a returned request on: a return's refund goes out, an
// exchange is done (the merchant ships the new goods).
func confirm(r *Request, now time.Time) {
	r.ReceivedAt = &now
	if r.Type == Exchange {
		r.Status = Exchanged
		end(r, now)
		return
	}
	r.Status = Refunded
	refund(r, r.Amount, now)
}

// ConfirmReturn is the merchant's receipt of the returned parcel.
func (s *Service) ConfirmReturn(ctx context.Context, tenantID, id string) (Request, error) {
	if err := checkID(id); err != nil {
		return Request{}, err
	}
	r, wrote, err := s.change(ctx, tenantID, id, func(r *Request, now time.Time) error {
		if r.Status != Returned {
			return refused("confirm the return of", r)
		}
		confirm(r, now)
		return nil
	})
	if err != nil {
		return r, err
	}
	return s.afterChange(ctx, tenantID, r, wrote), nil
}

// Withdraw is the fan closing their own request before it is decided.
func (s *Service) Withdraw(ctx context.Context, tenantID, fanID, id string) (Request, error) {
	if _, err := s.GetForFan(ctx, tenantID, fanID, id); err != nil {
		return Request{}, err
	}
	r, _, err := s.change(ctx, tenantID, id, func(r *Request, now time.Time) error {
		if r.Status != Pending && r.Status != AwaitingReturn && r.Status != Rejected {
			return refused("withdraw", r)
		}
		r.Status, r.ClosedReason = Closed, "withdrawn"
		end(r, now)
		return nil
	})
	return r, err
}

// Escalate takes the fan's rejected request to the platform: it is queued
// for an operator's decision.
func (s *Service) Escalate(ctx context.Context, tenantID, fanID, id string) (Request, error) {
	if _, err := s.GetForFan(ctx, tenantID, fanID, id); err != nil {
		return Request{}, err
	}
	if s.disputes == nil {
		return Request{}, fault.Conflict("escalation to the platform is not available")
	}
	r, wrote, err := s.change(ctx, tenantID, id, func(r *Request, now time.Time) error {
		if r.Status != Rejected {
			return refused("escalate", r)
		}
		r.Status, r.EscalatedAt, r.DueAt, r.DueKind, r.Queued = Escalated, &now, nil, "", false
		return nil
	})
	if err != nil {
		return r, err
	}
	if wrote {
		if q, err := s.queue(ctx, tenantID, r); err == nil {
			r = q
		} else {
			s.log.Warn("queue dispute; the pass retries", "tenant", tenantID, "request", r.ID, "err", err)
		}
	}
	return r, nil
}

// queue puts escalated request r in the platform's dispute queue and marks
// it queued.
func (s *Service) queue(ctx context.Context, tenantID string, r Request) (Request, error) {
	d := Dispute{ID: r.ID, TenantID: tenantID, OrderID: r.OrderID, Amount: r.Amount, Status: DisputeOpen}
	if r.EscalatedAt != nil {
		d.EscalatedAt = *r.EscalatedAt
	}
	d.TargetAt = d.EscalatedAt.Add(OperatorTarget)
	if s.shops != nil {
		if t, err := s.shops.TenantByID(ctx, tenantID); err == nil {
			d.Slug, d.ShopName = t.Slug, t.Name
		}
	}
	if err := s.disputes.Put(ctx, d); err != nil {
		return r, err
	}
	q, _, err := s.change(ctx, tenantID, r.ID, func(r *Request, _ time.Time) error {
		if r.Queued {
			return errUnchanged
		}
		r.Queued = true
		return nil
	})
	return q, err
}

// DecideRequest is an operator's decision of a dispute.
type DecideRequest struct {
	Outcome string `json:"outcome"`
	// Amount is what a refund gives back (0: what the shopper asked).
	Amount int64  `json:"amount"`
	Note   string `json:"note"`
}

// Decide is an operator's decision of escalated request id: a refund
// (through the order's refund path, once) or a denial. Deciding a request
// decided the same way already answers it as it is.
func (s *Service) Decide(ctx context.Context, tenantID, id, operatorID string, in DecideRequest) (Request, error) {
	if err := checkID(id); err != nil {
		return Request{}, err
	}
	if in.Outcome != OutcomeRefund && in.Outcome != OutcomeDeny {
		return Request{}, fault.Invalid("outcome", "must be refund or deny")
	}
	note, err := fault.MultilineText("note", in.Note, 1000)
	if err != nil {
		return Request{}, err
	}
	cur, err := s.store.Get(ctx, tenantID, id)
	if err != nil {
		return Request{}, err
	}
	amount := int64(0)
	if in.Outcome == OutcomeRefund {
		amount = in.Amount
		if amount == 0 {
			amount = cur.Amount
		}
		if amount <= 0 {
			return Request{}, fault.Invalid("amount", "must be a positive number of fen")
		}
		o, err := s.orders.Get(ctx, tenantID, cur.OrderID)
		if err != nil {
			return Request{}, err
		}
		if amount > o.Refundable && !(cur.Status == Decided && cur.Decision != nil && cur.Decision.Outcome == OutcomeRefund) {
			return Request{}, fault.Invalid("amount", "at most %d fen can still be refunded", o.Refundable)
		}
	} else if in.Amount != 0 {
		return Request{}, fault.Invalid("amount", "a denial refunds nothing: leave it 0")
	}
	r, wrote, err := s.change(ctx, tenantID, id, func(r *Request, now time.Time) error {
		if r.Status == Decided && r.Decision != nil && r.Decision.Outcome == in.Outcome {
			return errUnchanged // decided so already (a retry)
		}
		if r.Status != Escalated {
			return refused("decide", r)
		}
		r.Status = Decided
		r.Decision = &Decision{Outcome: in.Outcome, Amount: amount, Note: note, Operator: operatorID, At: now}
		if in.Outcome == OutcomeRefund {
			refund(r, amount, now)
		} else {
			end(r, now)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	r = s.afterChange(ctx, tenantID, r, wrote)
	if s.disputes != nil && r.Decision != nil {
		if err := s.disputes.Decided(ctx, r.ID, r.Decision.Outcome, r.Decision.At); err != nil {
			return r, err
		}
	}
	return r, nil
}

// MessageRequest is one message of a thread.
type MessageRequest struct {
	Text   string   `json:"text"`
	Images []string `json:"images"`
}

// AddMessage adds a message by author (ByShopper, ByMerchant, ByOperator)
// to request r's thread.
func (s *Service) AddMessage(ctx context.Context, tenantID string, r Request, author string, in MessageRequest) (Message, error) {
	text, err := fault.MultilineText("text", in.Text, 1000)
	if err != nil {
		return Message{}, err
	}
	images, err := s.checkImages(ctx, tenantID, in.Images)
	if err != nil {
		return Message{}, err
	}
	if text == "" && len(images) == 0 {
		return Message{}, fault.Invalid("text", "write something or add a photo")
	}
	msgs, err := s.store.Messages(ctx, tenantID, r.ID, maxMessages)
	if err != nil {
		return Message{}, err
	}
	if len(msgs) >= maxMessages {
		return Message{}, fault.Conflict("a request's thread holds at most %d messages", maxMessages)
	}
	m := Message{ID: newID(), RequestID: r.ID, Author: author, Text: text, Images: images, At: s.clock()}
	return m, s.store.AddMessage(ctx, tenantID, m)
}
