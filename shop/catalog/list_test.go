package catalog_test

import (
	"context"
	"fmt"
	"testing"

	"microshop/shop/catalog"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestListSearch: the console's search matches a substring of the title or
// of a SKU code, case and pattern characters aside.
func TestListSearch(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		enginetest.AllowFullScan(t, e, "products", "the console's title search matches a substring, which no index "+
			"bounds: a merchant's own search reads the shop's products newest first until a page is full, "+
			"and counts at most catalog.MaxCounted matches")
		ctx := context.Background()
		cat, _, _ := newCatalog(e)
		tenant := enginetest.Tenant(t, e)
		for i, title := range []string{"Green tea 1", "Green tea 2", "Cup 50%_1", "Cup 50%_2"} {
			in := product(fmt.Sprintf("p%d", i), 100)
			in.Title = ptr(title)
			if _, err := cat.Create(ctx, tenant, in); err != nil {
				t.Fatal(err)
			}
		}
		// A product found by its SKUs' codes (the merchant's own, as a PC
		// store gave them).
		jacket := product("Ski jacket", 0)
		jacket.Price = nil
		jacket.SKUs = ptr([]catalog.SKUInput{{Name: "M", Code: "GLC-BLK-M", Price: 34900, Stock: 1}, {Name: "L", Code: "GLC-BLK-L", Price: 34900, Stock: 1}})
		if _, err := cat.Create(ctx, tenant, jacket); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			query string
			want  []string
		}{
			{"case-insensitive", "GREEN TEA 1", []string{"Green tea 1"}},
			{"% and _ literally", "50%_", []string{"Cup 50%_2", "Cup 50%_1"}},
			{"regexp characters", "tea (", nil},
			{"a SKU code", "glc-blk-l", []string{"Ski jacket"}},
			{"part of SKU codes, once per product", "GLC-BLK", []string{"Ski jacket"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				items, total, err := cat.List(ctx, tenant, catalog.Filter{Query: tc.query})
				if err != nil {
					t.Fatal(err)
				}
				var titles []string
				for _, p := range items {
					titles = append(titles, p.Title)
				}
				if fmt.Sprint(titles) != fmt.Sprint(tc.want) || total != int64(len(tc.want)) {
					t.Errorf("got %q total %d, want %q", titles, total, tc.want)
				}
			})
		}
	})
}
