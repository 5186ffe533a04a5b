package points

import (
	"context"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// Saves of the rules read at one revision: exactly one lands, the others
// are refused (409) rather than undoing it; the saved rules come back at
// the new revision, from which a save lands.
func TestRulesRevision(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		read, err := f.svc.Rules(ctx, f.shop.ID)
		if err != nil {
			t.Fatal(err)
		}
		saved, refused := enginetest.RacingSaves(t, 12, func(i int) error {
			r := read
			r.BasePoints = int64(1 + i)
			_, err := f.svc.SaveRules(ctx, f.shop.ID, r)
			return err
		})
		if saved != 1 || refused != 11 {
			t.Fatalf("%d saves landed and %d were refused, want 1 and 11", saved, refused)
		}
		now, err := f.svc.Rules(ctx, f.shop.ID)
		if err != nil || now.Rev != read.Rev+1 {
			t.Fatalf("rules after the race: rev %d %v (read at %d)", now.Rev, err, read.Rev)
		}
		now.BasePoints = 20
		back, err := f.svc.SaveRules(ctx, f.shop.ID, now)
		if err != nil || back.Rev != read.Rev+2 {
			t.Fatalf("a save from the new revision: rev %d %v", back.Rev, err)
		}
	})
}
