package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"microshop/distribution/ledger"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// openOrders is an AfterSale with the orders whose request is open.
type openOrders struct {
	mu   sync.Mutex
	open map[string]bool
}

func (o *openOrders) OpenAfterSale(_ context.Context, _, orderID string) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.open[orderID], nil
}

// TestCommissionWaitsForAfterSale: commission of an order with an open
// after-sale request stays pending past its window, while another order's
// settles, and settles once the request ends.
func TestCommissionWaitsForAfterSale(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		l := ledger.New(ledger.NewStore(e))
		l.SetClock(func() time.Time { return now })
		as := &openOrders{open: map[string]bool{}}
		l.SetAfterSale(as)
		tenant := enginetest.Tenant(t, e)
		held, free := engine.NewID(), engine.NewID()
		mustEarn(t, l, tenant, ledger.Earning{OrderID: held, Level: 1, Beneficiary: "d", Amount: 1000, Base: 10000})
		mustEarn(t, l, tenant, ledger.Earning{OrderID: free, Level: 1, Beneficiary: "d", Amount: 300, Base: 3000})
		for _, o := range []string{held, free} {
			if err := l.ScheduleOrder(ctx, tenant, o, now.Add(7*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		as.open[held] = true
		now = now.Add(8 * 24 * time.Hour)
		if n, err := l.SettleDue(ctx, tenant, 10); err != nil || n != 1 {
			t.Fatalf("settled %d, %v; want only the order without a request", n, err)
		}
		if b := balance(t, l, tenant, "d"); b.Pending != 1000 || b.Available != 300 {
			t.Fatalf("with the request open: %+v", b)
		}
		now = now.Add(30 * 24 * time.Hour)
		if n, _ := l.SettleDue(ctx, tenant, 10); n != 0 {
			t.Fatalf("settled %d while the request is open", n)
		}
		as.open[held] = false
		if n, err := l.SettleDue(ctx, tenant, 10); err != nil || n != 1 {
			t.Fatalf("after the request ended: settled %d, %v", n, err)
		}
		if b := balance(t, l, tenant, "d"); b.Pending != 0 || b.Available != 1300 {
			t.Fatalf("after the request ended: %+v", b)
		}
	})
}

// windowOrders is an AfterSaleWindow: the orders whose after-sale window
// is known end at ends; none is open.
type windowOrders struct{ ends map[string]time.Time }

func (w windowOrders) OpenAfterSale(context.Context, string, string) (bool, error) { return false, nil }

func (w windowOrders) WindowEnd(_ context.Context, _, orderID string) (time.Time, bool, error) {
	end, ok := w.ends[orderID]
	return end, ok, nil
}

// TestCommissionSettlesAtShopWindow: with an after-sale side that knows
// the shop's after-sale window, an order's commission settles when that
// window ends, not at the date distribution's own setting gave; an order
// whose window is not known keeps that date.
func TestCommissionSettlesAtShopWindow(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		l := ledger.New(ledger.NewStore(e))
		l.SetClock(func() time.Time { return now })
		shorter, unknown := engine.NewID(), engine.NewID()
		l.SetAfterSale(windowOrders{ends: map[string]time.Time{shorter: now.Add(3 * 24 * time.Hour)}})
		tenant := enginetest.Tenant(t, e)
		mustEarn(t, l, tenant, ledger.Earning{OrderID: shorter, Level: 1, Beneficiary: "d", Amount: 1000, Base: 10000})
		mustEarn(t, l, tenant, ledger.Earning{OrderID: unknown, Level: 1, Beneficiary: "d", Amount: 300, Base: 3000})
		for _, o := range []string{shorter, unknown} { // distribution's date: 7 days
			if err := l.ScheduleOrder(ctx, tenant, o, now.Add(7*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(3*24*time.Hour + time.Minute)
		if n, err := l.SettleDue(ctx, tenant, 10); err != nil || n != 1 {
			t.Fatalf("after the shop's 3-day window: settled %d, %v; want the order with the window", n, err)
		}
		if b := balance(t, l, tenant, "d"); b.Pending != 300 || b.Available != 1000 {
			t.Fatalf("after 3 days: %+v", b)
		}
		now = now.Add(4 * 24 * time.Hour)
		if n, err := l.SettleDue(ctx, tenant, 10); err != nil || n != 1 {
			t.Fatalf("after 7 days: settled %d, %v", n, err)
		}
		if b := balance(t, l, tenant, "d"); b.Pending != 0 || b.Available != 1300 {
			t.Fatalf("after 7 days: %+v", b)
		}
	})
}
