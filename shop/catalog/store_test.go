package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

var schemas = []engine.Schema{catalog.Schema}

func ptr[T any](v T) *T { return &v }

// product returns a valid create input.
func product(title string, price int64) catalog.Input {
	return catalog.Input{Title: ptr(title), Price: ptr(price), Stock: ptr(int64(10)), Category: ptr("Tea"),
		Images: ptr([]string{"https://img.example.com/" + title + ".png"})}
}

func newCatalog(e *engine.Engine) (*catalog.Catalog, catalog.Store, *catalog.Shelf) {
	store := catalog.NewStore(e)
	shelf := catalog.NewShelf(store, time.Hour)
	return catalog.New(store, shelf), store, shelf
}

func TestStoreContract(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		cat, store, _ := newCatalog(e)

		t.Run("create and get with SKUs", func(t *testing.T) {
			tenant := enginetest.Tenant(t, e)
			in := product("Oolong", 0)
			in.Price = nil
			in.SKUs = ptr([]catalog.SKUInput{{Name: "100 g", Price: 3900, Stock: 5}, {Name: "250 g", Price: 8800, Stock: 7}})
			created, err := cat.Create(ctx, tenant, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cat.Get(ctx, tenant, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != "Oolong" || got.Category != "Tea" || got.Status != catalog.OnSale || len(got.Images) != 1 {
				t.Errorf("got %+v", got)
			}
			if len(got.SKUs) != 2 || got.SKUs[0].Name != "100 g" || got.SKUs[1].Price != 8800 || got.SKUs[0].ID == "" {
				t.Fatalf("skus = %+v", got.SKUs)
			}
			// A product with SKUs shows its lowest price and its total stock.
			if got.Price != 3900 || got.Stock != 12 {
				t.Errorf("derived price/stock = %d/%d, want 3900/12", got.Price, got.Stock)
			}
			if !got.CreatedAt.Equal(created.CreatedAt) {
				t.Errorf("created_at %v != %v", got.CreatedAt, created.CreatedAt)
			}
		})

		t.Run("another tenant's product is not found", func(t *testing.T) {
			a, b := enginetest.Tenant(t, e), enginetest.Tenant(t, e)
			p, err := cat.Create(ctx, a, product("Mine", 100))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cat.Get(ctx, b, p.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("get from other tenant: %v, want not found", err)
			}
			if _, err := cat.Patch(ctx, b, p.ID, catalog.Input{Title: ptr("stolen")}); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("patch from other tenant: %v, want not found", err)
			}
			if err := cat.Delete(ctx, b, p.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("delete from other tenant: %v, want not found", err)
			}
			if items, total, err := cat.List(ctx, b, catalog.Filter{}); err != nil || total != 0 || len(items) != 0 {
				t.Errorf("list of other tenant = %d items, total %d, %v", len(items), total, err)
			}
			got, err := cat.Get(ctx, a, p.ID)
			if err != nil || got.Title != "Mine" {
				t.Errorf("owner's product changed: %+v %v", got, err)
			}
		})

		t.Run("patch keeps unset fields and edits SKUs", func(t *testing.T) {
			tenant := enginetest.Tenant(t, e)
			in := product("Tea set", 15800)
			in.SKUs = ptr([]catalog.SKUInput{{Name: "Blue", Price: 15800, Stock: 2}, {Name: "White", Price: 16800, Stock: 3}})
			p, err := cat.Create(ctx, tenant, in)
			if err != nil {
				t.Fatal(err)
			}
			keep := p.SKUs[1]
			patched, err := cat.Patch(ctx, tenant, p.ID, catalog.Input{
				Status: ptr(catalog.OffSale),
				SKUs:   ptr([]catalog.SKUInput{{ID: keep.ID, Name: "White", Price: 17800, Stock: 4}, {Name: "Green", Price: 100, Stock: 1}}),
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := cat.Get(ctx, tenant, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != "Tea set" || got.Status != catalog.OffSale || got.Rev != p.Rev+1 || patched.Rev != got.Rev {
				t.Errorf("after patch: %+v", got)
			}
			if len(got.SKUs) != 2 || got.SKUs[0].ID != keep.ID || got.SKUs[0].Price != 17800 || got.SKUs[1].Name != "Green" {
				t.Errorf("skus after patch: %+v", got.SKUs)
			}
			if _, err := cat.Patch(ctx, tenant, p.ID, catalog.Input{SKUs: ptr([]catalog.SKUInput{{ID: "aaaaaaaaaaaaaaaa", Name: "X"}})}); !errors.Is(err, fault.ErrInvalid) {
				t.Errorf("unknown sku id: %v, want invalid", err)
			}
		})

		t.Run("update with a stale revision conflicts", func(t *testing.T) {
			tenant := enginetest.Tenant(t, e)
			created, err := cat.Create(ctx, tenant, product("Cup", 6800))
			if err != nil {
				t.Fatal(err)
			}
			read, err := store.Get(ctx, tenant, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			p, stale := read, read
			p.Title = "Cup v2"
			if err := store.Update(ctx, tenant, &p, read); err != nil {
				t.Fatal(err)
			}
			stale.Title = "Cup stale"
			if err := store.Update(ctx, tenant, &stale, read); !errors.Is(err, fault.ErrConflict) {
				t.Errorf("stale update: %v, want conflict", err)
			}
			missing := read
			missing.ID = engine.NewID()
			if err := store.Update(ctx, tenant, &missing, read); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("update of missing: %v, want not found", err)
			}
			got, _ := cat.Get(ctx, tenant, p.ID)
			if got.Title != "Cup v2" {
				t.Errorf("title = %q, want Cup v2", got.Title)
			}
		})

		t.Run("delete", func(t *testing.T) {
			tenant := enginetest.Tenant(t, e)
			p, err := cat.Create(ctx, tenant, product("Gone", 1))
			if err != nil {
				t.Fatal(err)
			}
			if err := cat.Delete(ctx, tenant, p.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := cat.Get(ctx, tenant, p.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("get after delete: %v", err)
			}
			if err := cat.Delete(ctx, tenant, p.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("second delete: %v", err)
			}
		})

		t.Run("list filters, pages and orders newest first", func(t *testing.T) {
			tenant := enginetest.Tenant(t, e)
			for i := range 7 {
				in := product(fmt.Sprintf("Green tea %d", i), int64(100+i))
				if i%2 == 1 {
					in.Status = ptr(catalog.OffSale)
				}
				if i >= 5 {
					in.Category = ptr("Cups")
					in.Title = ptr(fmt.Sprintf("Cup 50%%_%d", i))
				}
				if _, err := cat.Create(ctx, tenant, in); err != nil {
					t.Fatal(err)
				}
			}
			cases := []struct {
				name   string
				filter catalog.Filter
				want   []string
				total  int64
			}{
				{"all, first page", catalog.Filter{Limit: 3}, []string{"Cup 50%_6", "Cup 50%_5", "Green tea 4"}, 7},
				{"second page", catalog.Filter{Limit: 3, Offset: 3}, []string{"Green tea 3", "Green tea 2", "Green tea 1"}, 7},
				{"on sale", catalog.Filter{Status: catalog.OnSale}, []string{"Cup 50%_6", "Green tea 4", "Green tea 2", "Green tea 0"}, 4},
				{"category", catalog.Filter{Category: "Cups"}, []string{"Cup 50%_6", "Cup 50%_5"}, 2},
				{"status and category", catalog.Filter{Status: catalog.OffSale, Category: "Cups"}, []string{"Cup 50%_5"}, 1},
				{"search within a status", catalog.Filter{Status: catalog.OnSale, Query: "GREEN TEA"}, []string{"Green tea 4", "Green tea 2", "Green tea 0"}, 3},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					items, total, err := cat.List(ctx, tenant, tc.filter)
					if err != nil {
						t.Fatal(err)
					}
					var titles []string
					for _, p := range items {
						titles = append(titles, p.Title)
					}
					if fmt.Sprint(titles) != fmt.Sprint(tc.want) || total != tc.total {
						t.Errorf("got %q total %d, want %q total %d", titles, total, tc.want, tc.total)
					}
				})
			}
			// Lists count up to a limit: counting every product of a large
			// shop would read its whole collection on every page.
			restore := catalog.SetCountLimit(4)
			defer restore()
			for _, tc := range []struct {
				name   string
				filter catalog.Filter
				total  int64
			}{
				{"count stops at the limit", catalog.Filter{Limit: 2}, 4},
				{"count under the limit is exact", catalog.Filter{Limit: 2, Category: "Cups"}, 2},
				{"count of a status", catalog.Filter{Limit: 2, Status: catalog.OnSale}, 4},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if _, total, err := cat.List(ctx, tenant, tc.filter); err != nil || total != tc.total {
						t.Errorf("total = %d, %v; want %d", total, err, tc.total)
					}
				})
			}
		})

		t.Run("on sale and stamp", func(t *testing.T) {
			tenant := enginetest.Tenant(t, e)
			s0, err := store.Stamp(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			on, err := cat.Create(ctx, tenant, product("On", 1))
			if err != nil {
				t.Fatal(err)
			}
			off := product("Off", 1)
			off.Status = ptr(catalog.OffSale)
			if _, err := cat.Create(ctx, tenant, off); err != nil {
				t.Fatal(err)
			}
			s1, _ := store.Stamp(ctx, tenant)
			if s1.Catalog == s0.Catalog || s1.Catalog == "" {
				t.Errorf("stamp did not change on create: %q -> %q", s0.Catalog, s1.Catalog)
			}
			items, err := store.OnSale(ctx, tenant)
			if err != nil || len(items) != 1 || items[0].ID != on.ID {
				t.Fatalf("on sale = %+v, %v", items, err)
			}
			if _, err := cat.Patch(ctx, tenant, on.ID, catalog.Input{Stock: ptr(int64(3))}); err != nil {
				t.Fatal(err)
			}
			if s2, _ := store.Stamp(ctx, tenant); s2 == s1 {
				t.Errorf("stamp did not change on patch")
			}
		})
	})
}

// TestConcurrentPatchesAllLand: 20 merchants' edits race on one product;
// every one lands exactly once (the revision check retries the losers
// instead of letting them overwrite each other).
func TestConcurrentPatchesAllLand(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		cat, _, _ := newCatalog(e)
		tenant := enginetest.Tenant(t, e)
		in := product("Race", 100)
		var skus []catalog.SKUInput
		for i := range 20 {
			skus = append(skus, catalog.SKUInput{Name: fmt.Sprintf("sku %d", i), Price: 100, Stock: 0})
		}
		in.SKUs = &skus
		p, err := cat.Create(ctx, tenant, in)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := cat.Patch(ctx, tenant, p.ID, catalog.Input{Title: ptr(fmt.Sprintf("Race %d", i))})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("patch: %v", err)
			}
		}
		got, err := cat.Get(ctx, tenant, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Rev != p.Rev+20 {
			t.Errorf("rev = %d, want %d: some patches were lost or applied twice", got.Rev, p.Rev+20)
		}
		if len(got.SKUs) != 20 {
			t.Errorf("skus = %d, want 20", len(got.SKUs))
		}
	})
}

func TestShelfSeesChangesFromOtherReplicas(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		tenant := enginetest.Tenant(t, e)
		store := catalog.NewStore(e)
		// Two replicas: each has its own shelf over the same database.
		here := catalog.NewShelf(store, time.Hour)
		there := catalog.NewShelf(store, 30*time.Millisecond)
		cat := catalog.New(store, here)
		p, err := cat.Create(ctx, tenant, product("First", 100))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*catalog.Shelf{here, there} {
			d, err := s.Get(ctx, tenant)
			if err != nil || len(d.Products) != 1 {
				t.Fatalf("display = %+v, %v", d, err)
			}
		}
		if _, err := cat.Patch(ctx, tenant, p.ID, catalog.Input{Title: ptr("Renamed")}); err != nil {
			t.Fatal(err)
		}
		// The writing replica sees it at once.
		d, _ := here.Get(ctx, tenant)
		if got, _ := d.Product(p.ID); got.Title != "Renamed" {
			t.Errorf("writer's shelf shows %q", got.Title)
		}
		// The other replica within its refresh interval.
		deadline := time.Now().Add(2 * time.Second)
		for {
			d, _ := there.Get(ctx, tenant)
			if got, _ := d.Product(p.ID); got.Title == "Renamed" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("other replica never saw the change")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := cat.Patch(ctx, tenant, p.ID, catalog.Input{Status: ptr(catalog.OffSale)}); err != nil {
			t.Fatal(err)
		}
		d, _ = here.Get(ctx, tenant)
		if _, ok := d.Product(p.ID); ok {
			t.Error("off-sale product still on the shelf")
		}
	})
}
