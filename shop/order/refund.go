package order

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Refunds. A refund is first recorded processing, in one conditional
// update that reserves its amount (refundable >= amount, refundable -=
// amount), so racing refunds never add up to more than was paid, counting
// the ones still running. The provider (WeChat Pay: refund.go's
// wechatRefund) is then asked, with the refund's id as its out_refund_no
// (the idempotency key: asking again never refunds twice). Its answer, its
// notification or a query settles the refund once: a write conditional on
// the version of the order's refund list that found the refund
// processing, so of any number of racing settlements one takes and the
// others find it settled. Only a succeeded refund counts as refunded,
// closes a fully refunded order and emits the refund event (commission
// clawback, points, notices, restocking react to it); a failed one gives
// its amount back to refundable and changes nothing else.

// RefundRequest is a merchant's refund.
type RefundRequest struct {
	Amount int64  `json:"amount"`
	Reason string `json:"reason"`
	// Restock puts the order's units back on their products when the
	// refund succeeds (each unit once, whatever came back by a return).
	Restock bool `json:"restock"`
	// NotifyURL is where WeChat Pay sends the refund's notification (set
	// by the handler from the server's public address).
	NotifyURL string `json:"-"`
}

// RefundResult is the answer to a refund: the refund as recorded (its
// status processing until the provider settles it) and the order.
type RefundResult struct {
	Refund Refund `json:"refund"`
	Order
}

// Restocker puts units of a product back on sale once per key (server
// plugs the catalog in when it offers it; without one, a refund cannot
// restock).
type Restocker interface {
	Restock(ctx context.Context, tenantID, key, productID, skuID string, qty int64) error
}

// SetRestocker plugs in what puts refunded units back (wired by server).
func (s *Service) SetRestocker(r Restocker) {
	s.restock = r
	s.Subscribe(restocker{s})
}

// RestockKey names unit u (0-based) of line i of order id coming back on
// sale: every path that puts units back (a refund with restock here, a
// returned parcel in shop/aftersale) names the units it puts back this
// way, so each unit comes back once however the paths race or follow each
// other (a return of 2 of a line's 3 units, then a refund restocking the
// whole line, puts back 3, not 5).
func RestockKey(orderID string, i int, u int64) string {
	return "restock:" + holdKey(orderID, i) + ":" + strconv.FormatInt(u, 10)
}

// restocker puts an order's units back when a refund that asked for it
// succeeded (its event is delivered).
type restocker struct{ s *Service }

func (r restocker) OrderEvent(ctx context.Context, tenantID string, o Order, ev Event) error {
	if ev.Type != EventRefunded {
		return nil
	}
	i := slices.IndexFunc(o.Refunds, func(rf Refund) bool { return "refund:"+rf.ID == ev.ID })
	if i < 0 || !o.Refunds[i].Restock {
		return nil
	}
	for n, l := range o.Lines {
		for u := range l.Qty {
			if err := r.s.restock.Restock(ctx, tenantID, RestockKey(o.ID, n, u), l.ProductID, l.SKUID, 1); err != nil {
				return fmt.Errorf("restock order %s line %d: %w", o.ID, n, err)
			}
		}
	}
	return nil
}

// Refund refunds part or all of a paid order: never more than was paid
// minus what was refunded or is being refunded, however many refunds
// race. An order paid through WeChat Pay is refunded there (the refund
// stays processing until WeChat Pay says how it went); one paid in the
// sandbox's test mode is refunded at once.
func (s *Service) Refund(ctx context.Context, tenantID, id string, req RefundRequest) (RefundResult, error) {
	if err := engine.CheckID("id", "order", id); err != nil {
		return RefundResult{}, err
	}
	if req.Amount <= 0 {
		return RefundResult{}, fault.Invalid("amount", "must be a positive number of fen")
	}
	reason, err := reasonText(req.Reason)
	if err != nil {
		return RefundResult{}, err
	}
	if req.Restock && s.restock == nil {
		return RefundResult{}, fault.Invalid("restock", "is not available in this shop")
	}
	o, err := s.store.Get(ctx, tenantID, id)
	if err != nil {
		return RefundResult{}, err
	}
	provider := ""
	if o.Provider == ProviderWeChat {
		provider = ProviderWeChat
	}
	r := Refund{ID: engine.NewID(), Amount: req.Amount, Reason: reason, Restock: req.Restock, Status: RefundProcessing,
		Provider: provider, At: s.clock()}
	ok, err := s.store.AddRefund(ctx, tenantID, id, refundable, r)
	if err != nil {
		return RefundResult{}, err
	}
	if !ok {
		o, err := s.store.Get(ctx, tenantID, id)
		if err != nil {
			return RefundResult{}, err
		}
		if !visible(o.Status) {
			return RefundResult{}, fault.NotFound("order")
		}
		if o.Status == PendingPayment || o.Status == Cancelled {
			return RefundResult{}, fault.Conflict("cannot refund an order that is %s: it was never paid", words(o.Status))
		}
		return RefundResult{}, fault.Conflict("at most %d fen can still be refunded (paid %d, refunded %d)", o.Refundable, o.Paid, o.Refunded)
	}
	if provider == "" {
		// Test-mode money never left the shop: the refund succeeds now.
		if _, err := s.settleRefund(ctx, tenantID, id, r.ID, RefundSucceeded, "", ""); err != nil {
			return RefundResult{}, err
		}
	} else if err := s.wechatRefund(ctx, tenantID, o, r, req.NotifyURL); err != nil {
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Status >= 500 {
			// WeChat Pay may have taken it: the query job asks again.
			s.log.Warn("wechat pay refund not confirmed; the query job retries", "tenant", tenantID, "order", id, "refund", r.ID, "err", err)
		} else {
			cur, gerr := s.store.Get(ctx, tenantID, id)
			if gerr == nil {
				return refundResult(cur, r.ID), err
			}
			return RefundResult{}, err
		}
	}
	cur, err := s.store.Get(ctx, tenantID, id)
	if err != nil {
		return RefundResult{}, err
	}
	return refundResult(cur, r.ID), nil
}

// refundResult is order o and its refund refundID.
func refundResult(o Order, refundID string) RefundResult {
	res := RefundResult{Order: o}
	if i := slices.IndexFunc(o.Refunds, func(r Refund) bool { return r.ID == refundID }); i >= 0 {
		res.Refund = o.Refunds[i]
	}
	return res
}

// settleRefund settles the processing refund refundID of order id as
// status (RefundSucceeded or RefundFailed), with the provider's refund
// number and the failure's words: once, however many notifications and
// queries race (the loser finds it settled and reports false). A succeeded
// refund adds to refunded, closes the order when all its money is back and
// emits the refund event, which is then delivered; a failed one gives its
// amount back to refundable.
func (s *Service) settleRefund(ctx context.Context, tenantID, id, refundID, status, providerRefundID, failure string) (bool, error) {
	for range 50 {
		o, err := s.store.Get(ctx, tenantID, id)
		if err != nil {
			return false, err
		}
		i := slices.IndexFunc(o.Refunds, func(r Refund) bool { return r.ID == refundID })
		if i < 0 {
			return false, fault.NotFound("refund")
		}
		r := o.Refunds[i]
		if r.Status != RefundProcessing {
			return false, nil
		}
		now := s.clock()
		r.Status, r.SettledAt, r.Failure = status, &now, fault.Clip(failure, 200)
		if providerRefundID != "" {
			r.RefundID = providerRefundID
		}
		refunds := slices.Clone(o.Refunds)
		refunds[i] = r
		var st RefundSettle
		if status == RefundSucceeded {
			st = RefundSettle{Refunded: r.Amount, Close: o.Refunded+r.Amount >= o.Paid,
				Event: &Event{ID: "refund:" + r.ID, Type: EventRefunded, Amount: r.Amount, At: now}}
		} else {
			st = RefundSettle{Refundable: r.Amount}
		}
		ok, err := s.store.SettleRefund(ctx, tenantID, id, o.RefundSeq, refunds, st)
		if err != nil {
			return false, err
		}
		if !ok {
			continue // another write of the refunds came first: read again
		}
		if st.Event != nil {
			if err := s.Dispatch(ctx, tenantID, id); err != nil {
				s.log.Warn("dispatch order events", "tenant", tenantID, "order", id, "err", err)
			}
		} else {
			s.log.Warn("refund failed", "tenant", tenantID, "order", id, "refund", refundID, "why", failure)
		}
		return true, nil
	}
	return false, fmt.Errorf("settle refund %s of order %s: too much contention", refundID, id)
}
