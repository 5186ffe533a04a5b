package catalog_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// countingStore is the real store, counting the reads of a shop's whole
// catalog.
type countingStore struct {
	catalog.Store
	wholeReads atomic.Int32
}

func (s *countingStore) OnSale(ctx context.Context, tenantID string) ([]catalog.Product, error) {
	s.wholeReads.Add(1)
	return s.Store.OnSale(ctx, tenantID)
}

// shown returns the stock the shelf shows for a product, or for one of its
// SKUs.
func shown(t *testing.T, s *catalog.Shelf, tenant, id, sku string) int64 {
	t.Helper()
	d, err := s.Get(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := d.Product(id)
	if !ok {
		t.Fatalf("product %s not on the shelf", id)
	}
	if sku == "" {
		return p.Stock
	}
	for _, k := range p.SKUs {
		if k.ID == sku {
			return k.Stock
		}
	}
	t.Fatalf("no sku %s on the shelf", sku)
	return 0
}

// TestShelfShowsSoldOutOnEveryReplica: two replicas, each with its own shelf
// over one database. The last unit is held through one; within its refresh
// interval the other shows the product sold out, and back in stock once the
// hold is released, without reading the whole catalog again.
func TestShelfShowsSoldOutOnEveryReplica(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		tenant := enginetest.Tenant(t, e)
		store := &countingStore{Store: catalog.NewStore(e)}
		const interval = 20 * time.Millisecond
		here := catalog.NewShelf(store, time.Hour) // the replica that sells
		there := catalog.NewShelf(store, interval)
		cat := catalog.New(store, here)

		one := product("Last one", 100)
		one.Stock = ptr(int64(1))
		plain, err := cat.Create(ctx, tenant, one)
		if err != nil {
			t.Fatal(err)
		}
		in := product("Sizes", 100)
		in.SKUs = ptr([]catalog.SKUInput{{Name: "S", Price: 100, Stock: 1}, {Name: "M", Price: 100, Stock: 50}})
		sized, err := cat.Create(ctx, tenant, in)
		if err != nil {
			t.Fatal(err)
		}
		plenty, err := cat.Create(ctx, tenant, product("Plenty", 100)) // stock 10
		if err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name, product, sku string
		}{
			{"product", plain.ID, ""},
			{"sku", sized.ID, sized.SKUs[0].ID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, s := range []*catalog.Shelf{here, there} {
					if got := shown(t, s, tenant, tc.product, tc.sku); got != 1 {
						t.Fatalf("before the sale the shelf shows %d, want 1", got)
					}
				}
				page, _ := there.Get(ctx, tenant)
				page.KeepPage("p|"+tc.product, []byte("In stock: 1"))
				reads := store.wholeReads.Load()

				if err := cat.Hold(ctx, tenant, "order:"+tc.name, tc.product, tc.sku, 1); err != nil {
					t.Fatal(err)
				}
				if got := shown(t, here, tenant, tc.product, tc.sku); got != 0 {
					t.Errorf("the selling replica shows %d after the last unit was held, want 0", got)
				}
				time.Sleep(interval + 5*time.Millisecond)
				if got := shown(t, there, tenant, tc.product, tc.sku); got != 0 {
					t.Errorf("the other replica shows %d one interval after the last unit was held, want 0", got)
				}
				d, _ := there.Get(ctx, tenant)
				if _, ok := d.Page("p|" + tc.product); ok {
					t.Error("the other replica still serves the page rendered before the sale")
				}
				if got, _ := d.Product(plenty.ID); got.Stock != 10 || got.Title != "Plenty" {
					t.Errorf("another product shows %+v after the sale", got)
				}

				if released, err := cat.Release(ctx, tenant, "order:"+tc.name, tc.product, tc.sku); err != nil || !released {
					t.Fatalf("release: %v %v", released, err)
				}
				time.Sleep(interval + 5*time.Millisecond)
				for name, s := range map[string]*catalog.Shelf{"selling": here, "other": there} {
					if got := shown(t, s, tenant, tc.product, tc.sku); got != 1 {
						t.Errorf("the %s replica shows %d after the release, want 1", name, got)
					}
				}
				if n := store.wholeReads.Load() - reads; n != 0 {
					t.Errorf("the shelves read the whole catalog %d times for a sale and a release; want only the stock of the product", n)
				}
			})
		}
	})
}

// TestShelfBusyShop: sales that leave plenty in stock change nothing the
// shelves hold; the last units show exactly; a shelf that fell further
// behind than the stock log reaches reads the whole catalog once.
func TestShelfBusyShop(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		tenant := enginetest.Tenant(t, e)
		store := &countingStore{Store: catalog.NewStore(e)}
		const interval = 20 * time.Millisecond
		there := catalog.NewShelf(store, interval)
		cat := catalog.New(store, catalog.NewShelf(store, time.Hour))
		in := product("Best seller", 100)
		in.Stock = ptr(int64(catalog.ExactStockBelow + 5))
		p, err := cat.Create(ctx, tenant, in)
		if err != nil {
			t.Fatal(err)
		}
		before, err := there.Get(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		reads := store.wholeReads.Load()
		next := 0
		sell := func(n int) {
			t.Helper()
			for range n {
				next++
				if err := cat.Hold(ctx, tenant, fmt.Sprintf("o%d", next), p.ID, "", 1); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(interval + 5*time.Millisecond)
		}

		sell(5) // 15 -> 10: plenty left, nothing logged
		if d, _ := there.Get(ctx, tenant); d != before {
			t.Error("sales leaving plenty in stock replaced the shelf's copy")
		}
		sell(3) // 10 -> 7: the last units show exactly
		if got := shown(t, there, tenant, p.ID, ""); got != 7 {
			t.Errorf("shelf shows %d, want 7", got)
		}
		if n := store.wholeReads.Load() - reads; n != 0 {
			t.Errorf("sales read the whole catalog %d times", n)
		}

		restore := catalog.SetStockLogKeep(1)
		defer restore()
		for i := 1; i <= 5; i++ { // more changes than the log keeps, between two looks
			if _, err := cat.Release(ctx, tenant, fmt.Sprintf("o%d", i), p.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(interval + 5*time.Millisecond)
		if got := shown(t, there, tenant, p.ID, ""); got != 12 {
			t.Errorf("after the log was cut, the shelf shows %d, want 12", got)
		}
		if n := store.wholeReads.Load() - reads; n != 1 {
			t.Errorf("a shelf behind the log read the whole catalog %d times, want 1", n)
		}
	})
}
