package catalog_test

import (
	"context"
	"sync"
	"testing"

	"microshop/shop/catalog"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestRestockOnce: a refunded line's units go back on the product (or its
// SKU) once, however many restocks of its key race.
func TestRestockOnce(t *testing.T) {
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
		for _, tc := range []struct {
			name, product, sku string
			start              int64
		}{{"product", plain.ID, "", 10}, {"sku", withSKU.ID, withSKU.SKUs[0].ID, 3}} {
			t.Run(tc.name, func(t *testing.T) {
				var wg sync.WaitGroup
				for range 20 {
					wg.Go(func() {
						if err := cat.Restock(ctx, tenant, "restock:o1:"+tc.name, tc.product, tc.sku, 2); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				if got := stockOf(t, cat, tenant, tc.product, tc.sku); got != tc.start+2 {
					t.Errorf("stock after 20 restocks of one key = %d, want %d", got, tc.start+2)
				}
				if err := cat.Restock(ctx, tenant, "restock:o2:"+tc.name, tc.product, tc.sku, 1); err != nil {
					t.Fatal(err)
				}
				if got := stockOf(t, cat, tenant, tc.product, tc.sku); got != tc.start+3 {
					t.Errorf("stock after another key = %d, want %d", got, tc.start+3)
				}
			})
		}
	})
}
