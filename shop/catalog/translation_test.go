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

// TestTranslations: a product's words in other languages are kept on both
// engines, shown by In for a reader of that language (the product's own
// elsewhere), replaced as a whole by an update and refused in a language
// the storefront does not speak or with hidden characters.
func TestTranslations(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		cat, _, _ := newCatalog(e)
		tenant := enginetest.Tenant(t, e)
		in := product("西湖龙井", 32800)
		in.Description, in.Category = ptr("明前龙井"), ptr("绿茶")
		in.Translations = ptr(map[string]catalog.ProductText{"EN": {Title: "West Lake Longjing", Category: "Green tea"}})
		p, err := cat.Create(ctx, tenant, in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cat.Get(ctx, tenant, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		en := got.In("en")
		if en.Title != "West Lake Longjing" || en.Category != "Green tea" || en.Description != "明前龙井" {
			t.Errorf("in English: %q %q %q", en.Title, en.Category, en.Description)
		}
		if zh := got.In("zh-CN"); zh.Title != "西湖龙井" || zh.Category != "绿茶" {
			t.Errorf("in Chinese: %q %q", zh.Title, zh.Category)
		}

		for _, bad := range []struct {
			trs   map[string]catalog.ProductText
			field string
		}{
			{map[string]catalog.ProductText{"fr": {Title: "Thé"}}, "translations"},
			{map[string]catalog.ProductText{"en": {Title: "Long\u202ejing"}}, "translations.en.title"},
			{map[string]catalog.ProductText{"en": {Category: "Green\ntea"}}, "translations.en.category"},
		} {
			_, err := cat.Patch(ctx, tenant, p.ID, catalog.Input{Translations: &bad.trs})
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Field != bad.field {
				t.Errorf("translations %v: %v, want a 400 on %s", bad.trs, err, bad.field)
			}
		}
		if got, _ := cat.Get(ctx, tenant, p.ID); got.Translations["en"].Title != "West Lake Longjing" {
			t.Errorf("a refused update changed the translations: %+v", got.Translations)
		}

		if _, err := cat.Patch(ctx, tenant, p.ID, catalog.Input{Translations: ptr(map[string]catalog.ProductText{})}); err != nil {
			t.Fatal(err)
		}
		if got, _ := cat.Get(ctx, tenant, p.ID); len(got.Translations) != 0 || got.In("en").Title != "西湖龙井" {
			t.Errorf("after removing them: %+v", got.Translations)
		}
	})
}
