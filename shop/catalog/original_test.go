package catalog_test

import (
	"context"
	"errors"
	"testing"

	"microshop/shop/catalog"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// TestOriginalPriceAndCodes: a product's and its SKUs' crossed-out prices
// and the SKUs' codes are kept on both engines, through a patch too; the
// product is listed at its cheapest SKU in stock, with that SKU's
// crossed-out price.
func TestOriginalPriceAndCodes(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		enginetest.AllowFullScan(t, e, "products", "the console's search by title or SKU code matches a substring, which no index bounds")
		ctx := context.Background()
		cat, _, _ := newCatalog(e)
		tenant := enginetest.Tenant(t, e)

		plain := product("Teapot", 26800)
		plain.OriginalPrice = ptr(int64(32800))
		p, err := cat.Create(ctx, tenant, plain)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cat.Get(ctx, tenant, p.ID)
		if err != nil || got.OriginalPrice != 32800 || !got.ShowsOriginal() {
			t.Fatalf("plain product = %+v %v", got, err)
		}
		// A crossed-out price not above the price is kept but not shown.
		if got, err = cat.Patch(ctx, tenant, p.ID, catalog.Input{Price: ptr(int64(40000))}); err != nil || got.OriginalPrice != 32800 || got.ShowsOriginal() {
			t.Errorf("price raised above the original: %+v %v", got, err)
		}
		if _, err := cat.Patch(ctx, tenant, p.ID, catalog.Input{OriginalPrice: ptr(int64(-1))}); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("negative original price: %v", err)
		}

		in := product("Merino crew", 0)
		in.Price = nil
		in.SKUs = ptr([]catalog.SKUInput{
			{Name: "S", Code: "TMC-S", Price: 6900, OriginalPrice: 8900, Stock: 0}, // the cheapest, sold out
			{Name: "M", Code: "TMC-M", Price: 7900, OriginalPrice: 8900, Stock: 4},
			{Name: "L", Code: "TMC-L", Price: 8900, Stock: 2},
		})
		crew, err := cat.Create(ctx, tenant, in)
		if err != nil {
			t.Fatal(err)
		}
		if crew.Price != 7900 || crew.OriginalPrice != 8900 || crew.Stock != 6 {
			t.Errorf("created crew listed at %d (was %d), stock %d; want 7900 (8900), 6", crew.Price, crew.OriginalPrice, crew.Stock)
		}
		got, err = cat.Get(ctx, tenant, crew.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Price != 7900 || got.OriginalPrice != 8900 || got.SKUs[0].Code != "TMC-S" || got.SKUs[1].OriginalPrice != 8900 || got.SKUs[2].OriginalPrice != 0 {
			t.Errorf("crew = %+v", got)
		}
		// Lists and the storefront's shelf list it the same way.
		list, _, err := cat.List(ctx, tenant, catalog.Filter{Query: "tmc-m"})
		if err != nil || len(list) != 1 || list[0].Price != 7900 {
			t.Errorf("listed = %+v %v", list, err)
		}
		// Everything sold out: the lowest of all.
		skus := []catalog.SKUInput{}
		for _, k := range got.SKUs {
			skus = append(skus, catalog.SKUInput{ID: k.ID, Name: k.Name, Code: k.Code + "-X", Price: k.Price, OriginalPrice: k.OriginalPrice})
		}
		got, err = cat.Patch(ctx, tenant, crew.ID, catalog.Input{SKUs: &skus})
		if err != nil || got.Price != 6900 || got.Stock != 0 {
			t.Errorf("all sold out: %+v %v", got, err)
		}
		if got, err = cat.Get(ctx, tenant, crew.ID); err != nil || got.SKUs[2].Code != "TMC-L-X" || got.Price != 6900 || got.OriginalPrice != 8900 {
			t.Errorf("patched codes: %+v %v", got, err)
		}
		long := make([]byte, catalog.MaxSKUCode+1)
		for i := range long {
			long[i] = 'x'
		}
		bad := []catalog.SKUInput{{Name: "S", Code: string(long), Price: 100}}
		var fe *fault.Error
		if _, err := cat.Patch(ctx, tenant, crew.ID, catalog.Input{SKUs: &bad}); !errors.As(err, &fe) || fe.Field != "skus[0].code" {
			t.Errorf("long code: %v", err)
		}
	})
}
