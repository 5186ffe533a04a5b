package order

import (
	"context"
	"testing"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestShippingFacts: orders paid in the period count; one shipped within
// the promise is on time, one shipped after it or still unshipped past it
// is late, one paid too recently to be late is not due yet.
func TestShippingFacts(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		tea := f.product("Tea", 100, 100)
		start := f.clock
		at := func(d time.Duration) { f.clock = start.Add(d) }
		paid := func(d time.Duration) Order {
			at(d)
			o := f.mustPlace("fan-"+engine.NewID(), CartItemRequest{ProductID: tea.ID, Qty: 1})
			if err := f.pay(o); err != nil {
				t.Fatal(err)
			}
			return o
		}
		ship := func(o Order, d time.Duration) {
			at(d)
			if _, err := f.svc.Ship(ctx, f.tenant, o.ID, "SF", "SF1"); err != nil {
				t.Fatal(err)
			}
		}
		onTime := paid(0)
		ship(onTime, 47*time.Hour)
		late := paid(time.Hour)
		ship(late, 50*time.Hour)
		unshipped := paid(2 * time.Hour) // still unshipped at 60 h: late
		_ = unshipped
		paid(55 * time.Hour)                                                  // paid 5 h before now: not due yet
		f.mustPlace("fan-unpaid", CartItemRequest{ProductID: tea.ID, Qty: 1}) // never paid
		at(60 * time.Hour)
		got, err := f.svc.ShippingFacts(ctx, f.tenant, start.Add(-time.Minute), f.clock, 48*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if want := (ShippingFacts{Paid: 4, Due: 3, OnTime: 1}); got != want {
			t.Fatalf("facts %+v, want %+v", got, want)
		}
		// A period that starts after the first two payments.
		got, _ = f.svc.ShippingFacts(ctx, f.tenant, start.Add(90*time.Minute), f.clock, 48*time.Hour)
		if want := (ShippingFacts{Paid: 2, Due: 1, OnTime: 0}); got != want {
			t.Fatalf("later period %+v, want %+v", got, want)
		}
	})
}
