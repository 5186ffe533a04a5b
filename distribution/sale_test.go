package distribution_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"microshop/distribution"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// A sale is recorded once however often its paid event is delivered, each
// sale counts once in the fan's paid orders, and of a fan's sales recorded
// at once exactly one finds no paid order before it (the guide's
// first-order step hangs on that).
func TestRecordSaleOnce(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		store := f.svc.Store()
		fanID := engine.NewID()
		var orders []string
		for range 5 {
			orders = append(orders, engine.NewID())
		}
		var recorded, noneBefore atomic.Int32
		var wg sync.WaitGroup
		for range 6 {
			for _, id := range orders {
				wg.Go(func() {
					first, before, err := store.RecordSale(f.ctx, f.shop.ID, distribution.Sale{OrderID: id, FanID: fanID,
						Channel: "direct", Base: 1000, Paid: 1000, PaidAt: f.clock.now()})
					if err != nil {
						t.Error(err)
						return
					}
					if first {
						recorded.Add(1)
						if before == 0 {
							noneBefore.Add(1)
						}
					}
				})
			}
		}
		wg.Wait()
		if recorded.Load() != 5 || noneBefore.Load() != 1 {
			t.Fatalf("recorded %d sales (want 5), %d with no paid order before (want 1)", recorded.Load(), noneBefore.Load())
		}
		b, err := store.Binding(f.ctx, f.shop.ID, fanID)
		if err != nil || b.PaidOrders != 5 {
			t.Fatalf("the fan's paid orders: %d, %v (want 5)", b.PaidOrders, err)
		}
	})
}

// Saves of the settings read at one revision: exactly one lands, the
// others are refused (409) rather than undoing it.
func TestSettingsRevision(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		read, err := f.svc.Settings(f.ctx, f.shop.ID)
		if err != nil {
			t.Fatal(err)
		}
		saved, refused := enginetest.RacingSaves(t, 12, func(i int) error {
			st := read
			st.AfterSaleDays = 7 + i
			return f.svc.SaveSettings(f.ctx, f.shop.ID, st)
		})
		if saved != 1 || refused != 11 {
			t.Fatalf("%d saves landed and %d were refused, want 1 and 11", saved, refused)
		}
		if now, err := f.svc.Settings(f.ctx, f.shop.ID); err != nil || now.Rev != read.Rev+1 {
			t.Fatalf("settings after the race: rev %d %v (read at %d)", now.Rev, err, read.Rev)
		}
	})
}
