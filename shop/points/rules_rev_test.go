package points

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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
		var saved, refused atomic.Int32
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				r := read
				r.BasePoints = int64(1 + i)
				switch _, err := f.svc.SaveRules(ctx, f.shop.ID, r); {
				case err == nil:
					saved.Add(1)
				case errors.Is(err, errRulesChanged):
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
