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

// TestWindowAdoptsOldSetting: a shop that never saved after-sale settings
// adopts its old commission window (distribution's after_sale_days) as its
// after-sale window, once and clamped to 1..30; settings the merchant
// saved are never overwritten, even by a migration racing the save; and
// an order's window ends that many days after it completed.
func TestWindowAdoptsOldSetting(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		var old, asked atomic.Int64
		old.Store(12)
		f.svc.SetLegacyWindow(func(context.Context, string) (int, bool, error) {
			asked.Add(1)
			return int(old.Load()), true, nil
		})
		window := func(shop string) int {
			t.Helper()
			st, err := f.svc.Settings(ctx, shop)
			if err != nil {
				t.Fatal(err)
			}
			return st.WindowDays
		}
		if got := window(f.shop); got != 12 {
			t.Fatalf("window of a shop with the old setting 12 = %d", got)
		}
		if _, found, err := f.svc.store.StoredSettings(ctx, f.shop); err != nil || !found {
			t.Fatalf("the adopted window was not saved: %v %v", found, err)
		}
		old.Store(20) // the old setting changes nothing any more
		if got := window(f.shop); got != 12 || asked.Load() != 1 {
			t.Fatalf("window %d after the old setting changed (asked %d times), want 12 asked once", got, asked.Load())
		}
		// The other deadlines stay the platform's.
		if st, _ := f.svc.Settings(ctx, f.shop); st.AnswerHours != MaxAnswerHours || st.ConfirmDays != MaxConfirmDays {
			t.Fatalf("adopted settings: %+v", st)
		}

		// An order completed in that shop: its window ends 12 days later;
		// one not completed has none yet.
		fanID := engine.NewID()
		done := f.order(fanID, order.Completed)
		if end, ok, err := f.svc.WindowEnd(ctx, f.shop, done.ID); err != nil || !ok || !end.Equal(done.CompletedAt.Add(12*24*time.Hour)) {
			t.Fatalf("window end %v %v %v, want completion %v + 12 days", end, ok, err, done.CompletedAt)
		}
		if _, ok, err := f.svc.WindowEnd(ctx, f.shop, f.order(fanID, order.Shipped).ID); err != nil || ok {
			t.Fatalf("window end of a shipped order: %v %v", ok, err)
		}

		// Clamped to what a shop may set.
		for _, c := range []struct{ old, want int }{{0, 1}, {90, MaxWindowDays}, {7, 7}} {
			shop := enginetest.Tenant(t, e)
			old.Store(int64(c.old))
			if got := window(shop); got != c.want {
				t.Errorf("old setting %d: window %d, want %d", c.old, got, c.want)
			}
		}

		// The merchant's own settings win: saved before, nothing is
		// adopted; saved while migrations run, the saved ones stay.
		old.Store(12)
		saved := enginetest.Tenant(t, e)
		st := DefaultSettings()
		st.WindowDays = 5
		if _, err := f.svc.SaveSettings(ctx, saved, st); err != nil {
			t.Fatal(err)
		}
		if got := window(saved); got != 5 {
			t.Fatalf("window after the merchant saved 5 = %d", got)
		}
		for range 3 {
			racing := enginetest.Tenant(t, e)
			st.WindowDays = 3
			together(6, func(i int) {
				var err error
				if i == 0 {
					_, err = f.svc.SaveSettings(ctx, racing, st)
				} else {
					_, err = f.svc.Settings(ctx, racing)
				}
				if err != nil {
					t.Error(err)
				}
			})
			if got := window(racing); got != 3 {
				t.Fatalf("window after the merchant's save raced the migration = %d, want 3", got)
			}
		}
	})
}
