package order

import (
	"context"
	"errors"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// An order placed with the amount the checkout showed is placed only at
// that amount: another amount (a price changed, a group deal ended) is a
// 409 price_changed that places nothing and holds no stock.
func TestExpectedPayable(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		tea := f.product("Tea", 1200, 5)
		fanID := engine.NewID()
		items := []CartItemRequest{{ProductID: tea.ID, Qty: 2}}
		shown := int64(2*1200) + mustSettings(t, f).shippingFor(2400)
		stale := shown - 400 // what a page showed before the price went up
		_, err := f.svc.Place(ctx, f.tenant, fanID, "", PlaceRequest{Items: items, Address: address, ExpectedPayable: &stale})
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Status != 409 || fe.Code != "price_changed" {
			t.Fatalf("placing at a stale amount: %v", err)
		}
		if p, err := f.svc.catalog.Get(ctx, f.tenant, tea.ID); err != nil || p.Stock != 5 {
			t.Fatalf("stock after the refused order: %d %v", p.Stock, err)
		}
		if list, total, err := f.svc.List(ctx, f.tenant, Filter{FanID: fanID, Limit: 10}); err != nil || total != 0 || len(list) != 0 {
			t.Fatalf("the refused order was stored: %d %v", total, err)
		}
		o, err := f.svc.Place(ctx, f.tenant, fanID, "", PlaceRequest{Items: items, Address: address, ExpectedPayable: &shown})
		if err != nil || o.Payable != shown {
			t.Fatalf("placing at the amount shown: %+v %v", o, err)
		}
	})
}

func mustSettings(t *testing.T, f *fixture) Settings {
	t.Helper()
	st, err := f.svc.Settings(context.Background(), f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
