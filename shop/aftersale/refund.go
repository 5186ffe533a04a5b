package aftersale

import (
	"context"
	"errors"
	"time"

	"microshop/shop/order"
	"microshop/tenants/fault"
)

// Refunds. The change that decides a refund sets RefundStatus "sending";
// its winner asks the order for the refund (order.Service.Refund: reserved
// by a conditional update of the order, sent to WeChat Pay where the money
// came from, settled asynchronously) with reason RefundMark(id), and records
// the order's refund id. If the process dies in between, the pass finds the
// request still sending (Stuck), takes it (a change: one taker), and looks
// for the mark among the order's refunds before it would ask again: one
// refund per request.

// RefundMark is the reason a request's refund carries on its order (pages
// show it as "After-sale refund": order.AfterSaleRequestID reads it back).
func RefundMark(requestID string) string { return order.AfterSaleRefundPrefix + requestID }

// stuckAfter is how long a refund may stay sending before the pass takes
// it over (the order's refund call is bounded far below it).
const stuckAfter = 5 * time.Minute

// sendRefund asks the order for r's refund, unless the order has it
// already, and records how it went.
func (s *Service) sendRefund(ctx context.Context, tenantID string, r Request) Request {
	if err := s.restockReturn(ctx, tenantID, r); err != nil {
		if _, ok := fault.Client(err); ok {
			// The catalog refuses (a product it cannot take units back
			// on): the money still goes back.
			s.log.Warn("after-sale restock refused; refunding without it", "tenant", tenantID, "request", r.ID, "err", err)
		} else {
			s.log.Warn("after-sale restock not done; the pass retries", "tenant", tenantID, "request", r.ID, "err", err)
			return r // still sending: the pass takes it over (resend) and restocks again, once per key
		}
	}
	mark := RefundMark(r.ID)
	if o, err := s.orders.Get(ctx, tenantID, r.OrderID); err == nil {
		for _, rf := range o.Refunds {
			if rf.Reason == mark {
				return s.refundDone(ctx, tenantID, r, RefundSent, rf.ID, "")
			}
		}
	}
	req := order.RefundRequest{Amount: r.RefundAmount, Reason: mark}
	if s.baseURL != "" && s.shops != nil {
		if t, err := s.shops.TenantByID(ctx, tenantID); err == nil {
			req.NotifyURL = s.baseURL + "/pay/notify/" + t.Slug + "/wechat-refund"
		}
	}
	res, err := s.orders.Refund(ctx, tenantID, r.OrderID, req)
	var fe *fault.Error
	switch {
	case err == nil || res.Refund.ID != "":
		why := ""
		if err != nil {
			why = fault.Clip(err.Error(), 200)
		}
		return s.refundDone(ctx, tenantID, r, RefundSent, res.Refund.ID, why)
	case errors.As(err, &fe) && fe.Status < 500:
		s.log.Warn("after-sale refund refused by the order", "tenant", tenantID, "request", r.ID, "order", r.OrderID, "err", err)
		return s.refundDone(ctx, tenantID, r, RefundFailed, "", fault.Clip(fe.Message, 200))
	default:
		s.log.Warn("after-sale refund not sent; the pass retries", "tenant", tenantID, "request", r.ID, "err", err)
		return r
	}
}

// refundDone records the outcome of r's refund, once.
func (s *Service) refundDone(ctx context.Context, tenantID string, r Request, status, refundID, why string) Request {
	next, _, err := s.change(ctx, tenantID, r.ID, func(r *Request, _ time.Time) error {
		if r.RefundStatus != RefundSending {
			return errUnchanged
		}
		r.RefundStatus, r.RefundID, r.RefundError = status, refundID, why
		return nil
	})
	if err != nil {
		s.log.Warn("record after-sale refund; the pass repairs it", "tenant", tenantID, "request", r.ID, "refund", refundID, "err", err)
		return r
	}
	return next
}

// resend takes over a refund left sending since before before, and sends
// it (or finds it sent); false when another taker came first.
func (s *Service) resend(ctx context.Context, tenantID string, r Request, before time.Time) (bool, error) {
	taken, wrote, err := s.change(ctx, tenantID, r.ID, func(r *Request, _ time.Time) error {
		if r.RefundStatus != RefundSending || r.UpdatedAt.After(before) {
			return errUnchanged
		}
		return nil // the write itself (a new revision and time) is the take
	})
	if err != nil || !wrote {
		return false, err
	}
	s.sendRefund(ctx, tenantID, taken)
	return true, nil
}
