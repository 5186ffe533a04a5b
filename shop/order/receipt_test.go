package order

import (
	"context"
	"errors"
	"sync"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// TestConfirmReceipt: the buyer completes their shipped order once (taps
// racing the merchant's complete give one completed event); a second tap
// answers the completed order; an unshipped order is a 409 and another
// fan's a 404.
func TestConfirmReceipt(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		p := f.product("Tea", 1000, 10)
		buyer := engine.NewID()
		o := f.mustPlace(buyer, CartItemRequest{ProductID: p.ID, Qty: 1})
		if err := f.pay(o); err != nil {
			t.Fatal(err)
		}
		var fe *fault.Error
		if _, err := f.svc.ConfirmReceipt(ctx, f.tenant, buyer, o.ID); !errors.As(err, &fe) || fe.Status != 409 {
			t.Fatalf("confirming a paid order: %v", err)
		}
		if _, err := f.svc.Ship(ctx, f.tenant, o.ID, "SF", "SF1"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ConfirmReceipt(ctx, f.tenant, engine.NewID(), o.ID); !errors.As(err, &fe) || fe.Status != 404 {
			t.Fatalf("another fan confirming: %v", err)
		}
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if i == 0 {
					_, err = f.svc.Complete(ctx, f.tenant, o.ID)
				} else {
					var got Order
					got, err = f.svc.ConfirmReceipt(ctx, f.tenant, buyer, o.ID)
					if err == nil && got.Status != Completed {
						t.Errorf("confirmed: %s", got.Status)
					}
				}
				if err != nil && i != 0 {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := f.rec.count(o.ID + "/" + EventCompleted); n != 1 {
			t.Fatalf("completed events: %d", n)
		}
		if got, err := f.svc.ConfirmReceipt(ctx, f.tenant, buyer, o.ID); err != nil || got.Status != Completed {
			t.Fatalf("confirming again: %+v %v", got.Status, err)
		}
	})
}
