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

// TestProductCode: a product without SKUs keeps its own code (the PC
// store's sku) on both engines, the console's search finds it by that
// code, and a code with hidden characters is refused.
func TestProductCode(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		enginetest.AllowFullScan(t, e, "products", "the console's search by title or code matches a substring, which no index bounds")
		ctx := context.Background()
		cat, _, _ := newCatalog(e)
		tenant := enginetest.Tenant(t, e)
		in := product("Jasmine pearls", 1250)
		in.Code = ptr("JP-50")
		p, err := cat.Create(ctx, tenant, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cat.Create(ctx, tenant, product("Oolong", 900)); err != nil {
			t.Fatal(err)
		}
		if got, _ := cat.Get(ctx, tenant, p.ID); got.Code != "JP-50" {
			t.Errorf("code = %q", got.Code)
		}
		found, total, err := cat.List(ctx, tenant, catalog.Filter{Query: "jp-5"})
		if err != nil || total != 1 || len(found) != 1 || found[0].ID != p.ID {
			t.Errorf("search by code: %d %v %+v", total, err, found)
		}
		_, err = cat.Patch(ctx, tenant, p.ID, catalog.Input{Code: ptr("JP\u202e50")})
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Field != "code" {
			t.Errorf("a hidden character: %v", err)
		}
		if _, err := cat.Patch(ctx, tenant, p.ID, catalog.Input{Code: ptr("")}); err != nil {
			t.Fatal(err)
		}
		if got, _ := cat.Get(ctx, tenant, p.ID); got.Code != "" {
			t.Errorf("cleared code = %q", got.Code)
		}
	})
}
