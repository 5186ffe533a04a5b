package aftersale

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// stock is the stock of product id.
func (f *fixture) stock(id string) int64 {
	f.t.Helper()
	p, err := f.cat.Get(context.Background(), f.shop, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return p.Stock
}

// TestReturnRestocksOnce: a return with a refund puts the returned units
// back on their products, per line and quantity, once, while the merchant's
// confirmation races the confirmation deadline of several passes; a
// refund-only request and an exchange put nothing back.
func TestReturnRestocksOnce(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		f.svc.SetRestocker(f.cat)
		fanID := engine.NewID()

		// Three returns (one unit of the two of line 0, the one of line 1),
		// shipped back; the merchant confirms as the deadline passes.
		var orders []order.Order
		var returns []string
		for range 3 {
			o := f.order(fanID, order.Completed)
			r := f.create(fanID, o.ID, CreateRequest{Type: ReturnRefund, Reason: "does not fit", Amount: 8000,
				Lines: []LineRequest{{Line: line(0), Quantity: 1}, {Line: line(1)}}})
			if _, err := f.svc.Approve(ctx, f.shop, r.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.ShipBack(ctx, f.shop, fanID, r.ID, ReturnRequest{Carrier: "SF", TrackingNo: "SF2"}); err != nil {
				t.Fatal(err)
			}
			if got := f.stock(o.Lines[0].ProductID); got != 98 {
				t.Fatalf("stock before the return is confirmed = %d, want 98", got)
			}
			orders, returns = append(orders, o), append(returns, r.ID)
		}
		// A refund-only request and an exchange on another order.
		other := f.order(fanID, order.Completed)
		ro := f.create(fanID, other.ID, CreateRequest{Type: RefundOnly, Reason: "scratched", Amount: 1000,
			Lines: []LineRequest{{Line: line(0), Quantity: 1}}})
		if got, err := f.svc.Approve(ctx, f.shop, ro.ID); err != nil || got.Status != Refunded {
			t.Fatalf("refund only: %+v %v", got, err)
		}
		x := f.create(fanID, other.ID, CreateRequest{Type: Exchange, Reason: "other colour", Lines: []LineRequest{{Line: line(1)}}})
		if _, err := f.svc.Approve(ctx, f.shop, x.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ShipBack(ctx, f.shop, fanID, x.ID, ReturnRequest{Carrier: "SF", TrackingNo: "SF3"}); err != nil {
			t.Fatal(err)
		}
		if got, err := f.svc.ConfirmReturn(ctx, f.shop, x.ID); err != nil || got.Status != Exchanged {
			t.Fatalf("exchange: %+v %v", got, err)
		}

		f.advance(7*24*time.Hour + time.Second)
		for _, id := range returns {
			together(6, func(i int) {
				if i%3 == 0 {
					_, _ = f.svc.ConfirmReturn(ctx, f.shop, id)
				} else if _, err := f.svc.RunJobs(ctx, f.shop); err != nil {
					t.Error(err)
				}
			})
		}
		// Later passes and a second confirmation change nothing.
		f.advance(time.Hour)
		f.run()
		if _, err := f.svc.ConfirmReturn(ctx, f.shop, returns[0]); err == nil {
			t.Fatal("a refunded return confirmed again")
		} else {
			wantStatus(t, err, 409)
		}
		for i, id := range returns {
			f.oneRefund(id, 8000)
			if got := f.get(id); got.Status != Refunded || got.ReceivedAt == nil || !got.Restocked() {
				t.Fatalf("return %d: %+v", i, got)
			}
			if got := f.stock(orders[i].Lines[0].ProductID); got != 99 {
				t.Errorf("return %d: stock of line 0 = %d, want 99 (98 + the one unit returned, once)", i, got)
			}
			if got := f.stock(orders[i].Lines[1].ProductID); got != 100 {
				t.Errorf("return %d: stock of line 1 = %d, want 100 (99 + the unit returned, once)", i, got)
			}
		}
		if f.get(ro.ID).Restocked() || f.get(x.ID).Restocked() {
			t.Error("a refund-only request or an exchange says its units are back in stock")
		}
		if got := f.stock(other.Lines[0].ProductID); got != 98 {
			t.Errorf("a refund-only request restocked: stock %d, want 98", got)
		}
		if got := f.stock(other.Lines[1].ProductID); got != 99 {
			t.Errorf("an exchange restocked: stock %d, want 99", got)
		}
	})
}

// flakyRestocker fails its first calls, then restocks through the catalog.
type flakyRestocker struct {
	Restocker
	fails atomic.Int32
}

func (r *flakyRestocker) Restock(ctx context.Context, tenantID, key, productID, skuID string, qty int64) error {
	if r.fails.Add(-1) >= 0 {
		return errors.New("catalog unavailable")
	}
	return r.Restocker.Restock(ctx, tenantID, key, productID, skuID, qty)
}

// refusingRestocker refuses every restock as bad input.
type refusingRestocker struct{}

func (refusingRestocker) Restock(context.Context, string, string, string, string, int64) error {
	return fault.Invalid("product_id", "cannot take units back")
}

// TestRestockAfterFailure: when the catalog cannot take the units back, the
// request stays sending (no refund yet) and the pass's takeover restocks
// and refunds it, once, with two passes at once. A catalog that refuses
// the units (a 4xx) does not hold the refund back.
func TestRestockAfterFailure(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		flaky := &flakyRestocker{Restocker: f.cat}
		flaky.fails.Store(1)
		f.svc.SetRestocker(flaky)
		fanID := engine.NewID()
		o := f.order(fanID, order.Completed)
		r := f.create(fanID, o.ID, CreateRequest{Type: ReturnRefund, Reason: "broken", Amount: 10000, Lines: []LineRequest{{Line: line(0)}}})
		if _, err := f.svc.Approve(ctx, f.shop, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ShipBack(ctx, f.shop, fanID, r.ID, ReturnRequest{Carrier: "SF", TrackingNo: "SF4"}); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.ConfirmReturn(ctx, f.shop, r.ID)
		if err != nil || got.Status != Refunded || got.RefundStatus != RefundSending {
			t.Fatalf("confirmed with the catalog down: %+v %v", got, err)
		}
		if n := len(f.refunds(o.ID, r.ID)); n != 0 || f.stock(o.Lines[0].ProductID) != 98 {
			t.Fatalf("refunds %d, stock %d after a failed restock", n, f.stock(o.Lines[0].ProductID))
		}
		f.advance(stuckAfter + time.Second)
		together(2, func(int) {
			if _, err := f.svc.RunJobs(ctx, f.shop); err != nil {
				t.Error(err)
			}
		})
		f.oneRefund(r.ID, 10000)
		if got := f.stock(o.Lines[0].ProductID); got != 100 {
			t.Fatalf("stock after the pass = %d, want 100", got)
		}

		// A catalog that refuses (a 4xx) does not hold the money back.
		f.svc.SetRestocker(refusingRestocker{})
		o2 := f.order(fanID, order.Completed)
		r2 := f.create(fanID, o2.ID, CreateRequest{Type: ReturnRefund, Reason: "broken", Amount: 3000, Lines: []LineRequest{{Line: line(1)}}})
		if _, err := f.svc.Approve(ctx, f.shop, r2.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ShipBack(ctx, f.shop, fanID, r2.ID, ReturnRequest{Carrier: "SF", TrackingNo: "SF5"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ConfirmReturn(ctx, f.shop, r2.ID); err != nil {
			t.Fatal(err)
		}
		f.oneRefund(r2.ID, 3000)
	})
}

// TestReturnThenRefundRestock: a line's returns and a refund that
// restocks the whole order name the same units, so a unit comes back once
// whichever path puts it back first: a return of 1 of line 0's 2 units,
// then the merchant's refund with restock of the whole order, then a
// return of the other unit leave line 0's product where it was before the
// order (100), not above it; two returns of one unit each of a line bring
// both back.
func TestReturnThenRefundRestock(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		f.svc.SetRestocker(f.cat)
		f.orders.SetRestocker(f.cat)
		fanID := engine.NewID()
		o := f.order(fanID, order.Completed)
		giveBack := func(o order.Order, amount int64) {
			t.Helper()
			r := f.create(fanID, o.ID, CreateRequest{Type: ReturnRefund, Reason: "does not fit", Amount: amount,
				Lines: []LineRequest{{Line: line(0), Quantity: 1}}})
			if _, err := f.svc.Approve(ctx, f.shop, r.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.ShipBack(ctx, f.shop, fanID, r.ID, ReturnRequest{Carrier: "SF", TrackingNo: "SF9"}); err != nil {
				t.Fatal(err)
			}
			if got, err := f.svc.ConfirmReturn(ctx, f.shop, r.ID); err != nil || got.Status != Refunded {
				t.Fatalf("confirm the return: %+v %v", got, err)
			}
		}
		line0, line1 := o.Lines[0].ProductID, o.Lines[1].ProductID
		giveBack(o, 1000)
		if got := f.stock(line0); got != 99 {
			t.Fatalf("after the first return: stock %d, want 99", got)
		}
		if _, err := f.orders.Refund(ctx, f.shop, o.ID, order.RefundRequest{Amount: 1000, Reason: "goodwill", Restock: true}); err != nil {
			t.Fatal(err)
		}
		if got := f.stock(line0); got != 100 {
			t.Errorf("after the refund with restock: line 0 stock %d, want 100 (its other unit only)", got)
		}
		if got := f.stock(line1); got != 100 {
			t.Errorf("after the refund with restock: line 1 stock %d, want 100", got)
		}
		giveBack(o, 1000)
		if got := f.stock(line0); got != 100 {
			t.Errorf("after the second return: stock %d, want 100 (its unit was back already)", got)
		}

		// Two returns of one unit each of the same line: the second takes
		// the line's next unit, so both come back.
		o2 := f.order(fanID, order.Completed)
		giveBack(o2, 1000)
		giveBack(o2, 1000)
		if got := f.stock(o2.Lines[0].ProductID); got != 100 {
			t.Errorf("after two returns of one unit each: stock %d, want 100", got)
		}
	})
}
