package distribution_test

import (
	"testing"
	"time"

	"microshop/distribution"
	"microshop/distribution/ledger"
	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestTestOrderEarnsNothingWithdrawable: a test order (paid in the
// sandbox in test mode) records its commission marked test, through the
// completion and a refund, and never adds to a balance; a real order's
// beside it does.
func TestTestOrderEarnsNothingWithdrawable(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.settings(nil)
		a := f.distributor(nil)
		buyer := engine.NewID()
		f.visit(buyer, distribution.Touch{DistributorCode: a.Code, Via: "link"})
		now := f.clock.now()
		test := order.Order{ID: engine.NewID(), FanID: buyer, Status: order.Paid, GoodsTotal: 10000, Payable: 10000, Paid: 10000,
			Refundable: 10000, PaidAt: &now, Test: true, Attribution: f.attribute(buyer),
			Lines: []order.Line{{ProductID: engine.NewID(), Title: "Tea", Price: 10000, Qty: 1, Amount: 10000}}}
		f.event(test, order.Event{ID: order.EventPaid, Type: order.EventPaid, Amount: 10000, At: now})
		f.refund(&test, 2000)
		f.complete(&test)
		f.paidOrder(buyer, 3000)
		es, err := f.svc.Ledger().ByOrder(f.ctx, f.shop.ID, test.ID)
		if err != nil || len(es) != 2 {
			t.Fatalf("test order's entries: %d %v", len(es), err)
		}
		for _, en := range es {
			if !en.Test || en.Status != ledger.Test {
				t.Errorf("entry %s of a test order: test %t, status %s", en.ID, en.Test, en.Status)
			}
		}
		f.clock.add(40 * 24 * time.Hour)
		f.jobs()
		if b := f.balance(a); b.Pending != 300 || b.Available != 0 || b.Earned != 300 {
			t.Errorf("balance %+v: want only the real order's 300, pending", b)
		}
	})
}
