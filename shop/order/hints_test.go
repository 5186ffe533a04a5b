package order

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"microshop/shop/fan"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestUnpaidLimitTwoReplicas: the unpaid-order limit holds when a fan's
// orders go through two replicas, each with its own slot hints (hints.go):
// a replica whose hints are stale (the other paid or placed meanwhile)
// falls back to reading the slots, never giving a fourth unpaid order, and
// sees a slot freed by the other replica's payment. Then both replicas place
// for the fan at once: at most MaxUnpaid orders await payment.
func TestUnpaidLimitTwoReplicas(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		p := f.product("Kettle", 1200, 100)
		item := CartItemRequest{ProductID: p.ID, Qty: 1}
		// The second replica: its own service (own hints) on the same data.
		other := NewService(f.svc.store, f.cat, fan.NewStore(e), slog.New(slog.NewTextHandler(io.Discard, nil)))
		other.now = f.svc.now
		place := func(svc *Service, fanID string) (Order, error) {
			return svc.Place(ctx, f.tenant, fanID, "", PlaceRequest{Items: []CartItemRequest{item}, Address: address})
		}
		payOn := func(svc *Service, o Order) {
			t.Helper()
			body := f.sandbox.Sign(Notification{TenantID: f.tenant, OrderID: o.ID, TransactionID: "txn-" + o.ID, Amount: o.Payable})
			if err := svc.Notify(ctx, f.sandbox, f.tenant, body); err != nil {
				t.Fatal(err)
			}
		}
		unpaid := func(fanID string) int64 {
			t.Helper()
			_, n, err := f.svc.List(ctx, f.tenant, Filter{FanID: fanID, Status: PendingPayment})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		buyer := engine.NewID()
		var orders []Order
		for range MaxUnpaid {
			o, err := place(f.svc, buyer)
			if err != nil {
				t.Fatal(err)
			}
			orders = append(orders, o)
		}
		// The other replica pays one: only its hints know the slot is free.
		payOn(other, orders[0])
		o4, err := place(f.svc, buyer)
		if err != nil {
			t.Fatalf("after the other replica paid one: %v", err)
		}
		// This replica pays the new one and its hints say its slot is free,
		// but the other replica takes that slot first.
		payOn(f.svc, o4)
		if _, err := place(other, buyer); err != nil {
			t.Fatalf("the other replica, after a payment here: %v", err)
		}
		if _, err := place(f.svc, buyer); !tooManyUnpaid(err) {
			t.Fatalf("a stale hint: %v, want a 409 too_many_unpaid", err)
		}
		if n := unpaid(buyer); n != MaxUnpaid {
			t.Fatalf("%d unpaid, want %d", n, MaxUnpaid)
		}

		// A fan placing on both replicas at once, each having paid an order
		// (so each has a free slot hinted).
		racer := engine.NewID()
		for _, svc := range []*Service{f.svc, other} {
			o, err := place(svc, racer)
			if err != nil {
				t.Fatal(err)
			}
			payOn(svc, o)
		}
		var placed atomic.Int64
		var wg sync.WaitGroup
		for i := range 10 {
			svc := f.svc
			if i%2 == 1 {
				svc = other
			}
			wg.Go(func() {
				_, err := place(svc, racer)
				switch {
				case err == nil:
					placed.Add(1)
				case !tooManyUnpaid(err):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := unpaid(racer); n != placed.Load() || n < 1 || n > MaxUnpaid {
			t.Errorf("placed %d, %d unpaid; want between 1 and %d", placed.Load(), n, MaxUnpaid)
		}
	})
}
