package order

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// Saves of the order settings read at one revision: exactly one lands,
// the others are refused (409) rather than undoing it; a save from the new
// revision lands.
func TestSettingsRevision(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		read, err := f.svc.Settings(ctx, f.tenant)
		if err != nil {
			t.Fatal(err)
		}
		var saved, refused atomic.Int32
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				st := read
				st.ShippingFee = int64(100 * (i + 1))
				switch err := f.svc.SaveSettings(ctx, f.tenant, st); {
				case err == nil:
					saved.Add(1)
				case errors.Is(err, errSettingsChanged):
					refused.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if saved.Load() != 1 || refused.Load() != 11 {
			t.Fatalf("%d saves landed and %d were refused, want 1 and 11", saved.Load(), refused.Load())
		}
		now, err := f.svc.Settings(ctx, f.tenant)
		if err != nil || now.Rev != read.Rev+1 || now.ShippingFee == read.ShippingFee {
			t.Fatalf("settings after the race: rev %d fee %d %v (read at rev %d)", now.Rev, now.ShippingFee, err, read.Rev)
		}
		now.AutoCompleteDays = 7
		if err := f.svc.SaveSettings(ctx, f.tenant, now); err != nil {
			t.Fatalf("a save from the new revision: %v", err)
		}
		if got, _ := f.svc.Settings(ctx, f.tenant); got.Rev != read.Rev+2 || got.AutoCompleteDays != 7 {
			t.Fatalf("after the second save: %+v", got)
		}
	})
}
