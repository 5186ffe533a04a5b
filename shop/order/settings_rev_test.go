package order

import (
	"context"
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
		saved, refused := enginetest.RacingSaves(t, 12, func(i int) error {
			st := read
			st.ShippingFee = int64(100 * (i + 1))
			return f.svc.SaveSettings(ctx, f.tenant, st)
		})
		if saved != 1 || refused != 11 {
			t.Fatalf("%d saves landed and %d were refused, want 1 and 11", saved, refused)
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
