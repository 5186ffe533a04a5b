package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"microshop/shop/catalog"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

func stockOf(t *testing.T, cat *catalog.Catalog, tenant, id, sku string) int64 {
	t.Helper()
	p, err := cat.Get(context.Background(), tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if sku == "" {
		return p.Stock
	}
	for _, k := range p.SKUs {
		if k.ID == sku {
			return k.Stock
		}
	}
	t.Fatalf("no sku %s", sku)
	return 0
}

func TestHoldReleaseCommit(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		cat, _, _ := newCatalog(e)
		tenant := enginetest.Tenant(t, e)
		plain, err := cat.Create(ctx, tenant, product("Plain", 100)) // stock 10
		if err != nil {
			t.Fatal(err)
		}
		in := product("Options", 100)
		in.SKUs = ptr([]catalog.SKUInput{{Name: "S", Price: 100, Stock: 3}})
		withSKU, err := cat.Create(ctx, tenant, in)
		if err != nil {
			t.Fatal(err)
		}
		sku := withSKU.SKUs[0].ID

		for _, tc := range []struct {
			name        string
			product, sk string
			start       int64
		}{{"product", plain.ID, "", 10}, {"sku", withSKU.ID, sku, 3}} {
			t.Run(tc.name, func(t *testing.T) {
				key := "o1:" + tc.name
				if err := cat.Hold(ctx, tenant, key, tc.product, tc.sk, 2); err != nil {
					t.Fatal(err)
				}
				if err := cat.Hold(ctx, tenant, key, tc.product, tc.sk, 2); err != nil {
					t.Fatalf("replayed hold: %v", err)
				}
				if got := stockOf(t, cat, tenant, tc.product, tc.sk); got != tc.start-2 {
					t.Fatalf("stock after hold = %d, want %d", got, tc.start-2)
				}
				if err := cat.Hold(ctx, tenant, "o2:"+tc.name, tc.product, tc.sk, tc.start); !errors.Is(err, catalog.ErrOutOfStock) {
					t.Fatalf("hold beyond stock: %v", err)
				}
				if got := stockOf(t, cat, tenant, tc.product, tc.sk); got != tc.start-2 {
					t.Fatalf("failed hold changed stock to %d", got)
				}
				for i, want := range []bool{true, false} {
					released, err := cat.Release(ctx, tenant, key, tc.product, tc.sk)
					if err != nil || released != want {
						t.Fatalf("release %d: %v %v, want %v", i, released, err, want)
					}
				}
				if got := stockOf(t, cat, tenant, tc.product, tc.sk); got != tc.start {
					t.Fatalf("stock after release = %d, want %d", got, tc.start)
				}
				// Commit keeps the units taken and makes release a no-op.
				if err := cat.Hold(ctx, tenant, "o3:"+tc.name, tc.product, tc.sk, 1); err != nil {
					t.Fatal(err)
				}
				if err := cat.Commit(ctx, tenant, "o3:"+tc.name, tc.product, tc.sk, 1); err != nil {
					t.Fatal(err)
				}
				if released, _ := cat.Release(ctx, tenant, "o3:"+tc.name, tc.product, tc.sk); released {
					t.Error("released a committed hold")
				}
				if got := stockOf(t, cat, tenant, tc.product, tc.sk); got != tc.start-1 {
					t.Fatalf("stock after commit = %d, want %d", got, tc.start-1)
				}
			})
		}

		t.Run("a merchant's stock edit keeps held units", func(t *testing.T) {
			if err := cat.Hold(ctx, tenant, "o4", plain.ID, "", 4); err != nil {
				t.Fatal(err)
			}
			// Stock is 9 - 4 = 5 now; the merchant sets it to 20 and renames.
			if _, err := cat.Patch(ctx, tenant, plain.ID, catalog.Input{Stock: ptr(int64(20)), Title: ptr("Plain v2")}); err != nil {
				t.Fatal(err)
			}
			if _, err := cat.Release(ctx, tenant, "o4", plain.ID, ""); err != nil {
				t.Fatal(err)
			}
			if got := stockOf(t, cat, tenant, plain.ID, ""); got != 24 {
				t.Errorf("stock = %d, want 24 (20 set + 4 released)", got)
			}
		})
	})
}

// TestHoldLastUnits: 50 buyers race for the last 10 units; exactly 10 win,
// stock ends at 0, and 50 concurrent releases of one key return it once.
func TestHoldLastUnits(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		cat, _, _ := newCatalog(e)
		tenant := enginetest.Tenant(t, e)
		p, err := cat.Create(ctx, tenant, product("Last ten", 100))
		if err != nil {
			t.Fatal(err)
		}
		var won, sold atomic.Int32
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := cat.Hold(ctx, tenant, fmt.Sprintf("buyer%d", i), p.ID, "", 1)
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, catalog.ErrOutOfStock):
					sold.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 10 || sold.Load() != 40 {
			t.Fatalf("won %d, out of stock %d; want 10 and 40", won.Load(), sold.Load())
		}
		if got := stockOf(t, cat, tenant, p.ID, ""); got != 0 {
			t.Fatalf("stock = %d, want 0", got)
		}
		// Release every buyer's key 50 times at once: each hold returns once.
		for i := range 50 {
			key := fmt.Sprintf("buyer%d", i)
			var wg2 sync.WaitGroup
			var n atomic.Int32
			for range 50 {
				wg2.Add(1)
				go func() {
					defer wg2.Done()
					if ok, err := cat.Release(ctx, tenant, key, p.ID, ""); err == nil && ok {
						n.Add(1)
					}
				}()
			}
			wg2.Wait()
			if n.Load() > 1 {
				t.Fatalf("key %s released %d times", key, n.Load())
			}
		}
		if got := stockOf(t, cat, tenant, p.ID, ""); got != 10 {
			t.Errorf("stock after releasing every hold = %d, want 10", got)
		}
	})
}
