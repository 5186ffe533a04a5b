package aftersale

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestRefundAfterCrash: a process that died after deciding a refund (the
// request left sending) — before asking the order, or after it asked but
// before recording — leaves the pass one refund to make or to record:
// never a second one, with two passes at once.
func TestRefundAfterCrash(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		fanID := engine.NewID()
		// decided writes what an approval writes, without sending.
		decided := func(amount int64) Request {
			o := f.order(fanID, order.Shipped)
			r := f.create(fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "crash", Amount: amount})
			next := r
			next.Rev, next.UpdatedAt = r.Rev+1, f.now()
			approve(&next, DefaultSettings(), ByMerchant, f.now())
			if ok, err := f.svc.store.Update(ctx, f.shop, next, r.Rev); err != nil || !ok {
				t.Fatalf("update: %v %v", ok, err)
			}
			return next
		}
		before := decided(1500)
		after := decided(2500)
		if _, err := f.orders.Refund(ctx, f.shop, after.OrderID, order.RefundRequest{Amount: 2500, Reason: RefundMark(after.ID)}); err != nil {
			t.Fatal(err)
		}
		if rep := f.run(); rep.Resent != 0 {
			t.Fatalf("resent a refund sending for less than %s: %+v", stuckAfter, rep)
		}
		f.advance(stuckAfter + time.Second)
		var resent atomic.Int32
		together(2, func(int) {
			rep, err := f.svc.RunJobs(ctx, f.shop)
			if err != nil {
				t.Error(err)
			}
			resent.Add(int32(rep.Resent))
		})
		if resent.Load() != 2 {
			t.Fatalf("resent %d, want the two requests once each", resent.Load())
		}
		f.oneRefund(before.ID, 1500)
		f.oneRefund(after.ID, 2500)
	})
}
