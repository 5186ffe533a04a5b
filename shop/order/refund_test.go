package order

import (
	"context"
	"sync"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestFullRefundRacesShipAndComplete: a full refund and a ship (or a
// completion) of the same order, at once. Whichever lands first, the
// other sees it: a ship never lands on an order whose money is already
// back, and a fully refunded order always ends "refunded". The subscribers
// are down, so the outbox keeps every event in the order it was written.
func TestFullRefundRacesShipAndComplete(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		cases := []struct {
			name  string
			ready func(f *fixture, o Order) // brings the paid order to where the race starts
			race  func(f *fixture, o Order) (string, error)
		}{
			{"ship", func(*fixture, Order) {}, func(f *fixture, o Order) (string, error) {
				_, err := f.svc.Ship(ctx, f.tenant, o.ID, "SF", "SF1")
				return EventShipped, err
			}},
			{"complete", func(f *fixture, o Order) {
				if _, err := f.svc.Ship(ctx, f.tenant, o.ID, "SF", "SF1"); err != nil {
					t.Fatal(err)
				}
			}, func(f *fixture, o Order) (string, error) {
				_, err := f.svc.Complete(ctx, f.tenant, o.ID)
				return EventCompleted, err
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := newFixture(t, e)
				p := f.product("Kettle", 2000, 100)
				var orders []Order
				for range 12 {
					o := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 1})
					if err := f.pay(o); err != nil {
						t.Fatal(err)
					}
					c.ready(f, o)
					orders = append(orders, o)
				}
				f.rec.fail.Store(true)
				var wg sync.WaitGroup
				won := make([]bool, len(orders))
				for i, o := range orders {
					wg.Go(func() {
						if _, err := f.svc.Refund(ctx, f.tenant, o.ID, RefundRequest{Amount: o.Payable}); err != nil {
							t.Errorf("refund %s: %v", o.ID, err)
						}
					})
					wg.Go(func() {
						_, err := c.race(f, o)
						won[i] = err == nil
					})
				}
				wg.Wait()
				for i, o := range orders {
					got := f.get(o.ID)
					if got.Status != Refunded || got.Refundable != 0 {
						t.Errorf("order %d: %s, refundable %d after a full refund", i, got.Status, got.Refundable)
					}
					// The events still in the outbox are in the order the
					// writes landed: the refund's, then the race's, means the
					// race landed on an order already refunded.
					var seq []string
					for _, ev := range got.Events {
						seq = append(seq, ev.Type)
					}
					if won[i] && len(seq) == 2 && seq[0] == EventRefunded {
						t.Errorf("order %d: %v after the refund was written (events %v)", i, c.name, seq)
					}
				}
			})
		}
	})
}

// TestRepairHalfRefunded: an order whose refund was written but whose
// status was not (the old two-write refund on MongoDB, interrupted between
// them) is fully refunded and still "paid" or "shipped", so it could be
// shipped. The order job moves it to refunded and delivers its refund
// event once. The half state is written through the store: the refund,
// then the status put back.
func TestRepairHalfRefunded(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		p := f.product("Teapot", 5000, 100)
		half := func(status string, partly bool) Order {
			t.Helper()
			o := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 1})
			if err := f.pay(o); err != nil {
				t.Fatal(err)
			}
			if status == Shipped {
				if _, err := f.svc.Ship(ctx, f.tenant, o.ID, "SF", "SF1"); err != nil {
					t.Fatal(err)
				}
			}
			amount := o.Payable
			if partly {
				amount--
			}
			r := Refund{ID: engine.NewID(), Amount: amount, Status: RefundProcessing, At: f.clock}
			ok, err := f.svc.store.AddRefund(ctx, f.tenant, o.ID, []string{status}, r)
			if err != nil || !ok {
				t.Fatalf("refund: %v %v", ok, err)
			}
			cur := f.get(o.ID)
			r.Status = RefundSucceeded
			ok, err = f.svc.store.SettleRefund(ctx, f.tenant, o.ID, cur.RefundSeq, []Refund{r}, RefundSettle{Refunded: amount,
				Close: !partly, Event: &Event{ID: "refund:" + r.ID, Type: EventRefunded, Amount: amount, At: f.clock}})
			if err != nil || !ok {
				t.Fatalf("settle: %v %v", ok, err)
			}
			if !partly {
				if ok, err := f.svc.store.Transition(ctx, f.tenant, o.ID, []string{Refunded}, status, Change{}, nil); err != nil || !ok {
					t.Fatalf("put the status back: %v %v", ok, err)
				}
			}
			got := f.get(o.ID)
			if got.Status != status || len(got.Events) != 1 {
				t.Fatalf("half state: %s, events %v", got.Status, got.Events)
			}
			return got
		}
		paid, shipped, partly := half(Paid, false), half(Shipped, false), half(Paid, true)
		r, err := f.svc.RunJobs(ctx, f.tenant)
		if err != nil || r.Repaired != 2 {
			t.Fatalf("pass: %+v %v, want 2 repaired", r, err)
		}
		for _, c := range []struct {
			o    Order
			want string
		}{{paid, Refunded}, {shipped, Refunded}, {partly, Paid}} {
			got := f.get(c.o.ID)
			if got.Status != c.want || len(got.Events) != 0 {
				t.Errorf("order %s: %s with %d events pending, want %s and none", c.o.ID, got.Status, len(got.Events), c.want)
			}
			if n := f.rec.count(c.o.ID + "/" + c.o.Events[0].ID); n != 1 {
				t.Errorf("order %s: refund event delivered %d times, want 1", c.o.ID, n)
			}
		}
		if _, err := f.svc.Ship(ctx, f.tenant, paid.ID, "SF", "SF2"); err == nil {
			t.Error("a repaired order was shipped")
		}
		if r, err := f.svc.RunJobs(ctx, f.tenant); err != nil || r != (JobReport{}) {
			t.Errorf("second pass did something: %+v %v", r, err)
		}
		for _, o := range []Order{paid, shipped} {
			if n := f.rec.count(o.ID + "/" + o.Events[0].ID); n != 1 {
				t.Errorf("order %s: refund event delivered %d times after a second pass", o.ID, n)
			}
		}
	})
}
