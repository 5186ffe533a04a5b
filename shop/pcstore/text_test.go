package pcstore_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"microshop/shop/catalog"
	"microshop/shop/pcstore"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestImportCleansHiddenCharacters: a NUL or a right-to-left override in a
// PC store's title, description, category or variant name is cleaned out
// of the product the sync makes (the merchant cannot fix the store's feed
// from the micro-shop, so the product is imported, not refused).
func TestImportCleansHiddenCharacters(t *testing.T) {
	type want struct {
		title, description, category string
		skus                         []string
	}
	cases := []struct {
		given   string
		product map[string]any
		expect  want
	}{
		{"a NUL in the title", product(1, "Jasmine\x00Pearl", "Tea", "<p>Hand-rolled.</p>", "Default Title"),
			want{"Jasmine Pearl", "Hand-rolled.", "Tea", nil}},
		{"an override in the title", product(2, "Oolong \u202Egpj.exe", "Tea", "<p>Hand-rolled.</p>", "Default Title"),
			want{"Oolong gpj.exe", "Hand-rolled.", "Tea", nil}},
		{"a NUL and an override in the description", product(3, "Longjing", "Tea", "<p>Pan\x00-fired\u202E.</p>\n<p>250 g</p>", "Default Title"),
			want{"Longjing", "Pan-fired.\n\n250 g", "Tea", nil}},
		{"a NUL and an override in the category", product(4, "Pu-erh", "Dark\x00tea\u202E", "", "Default Title"),
			want{"Pu-erh", "", "Dark tea", nil}},
		{"a NUL and an override in variant names", product(5, "Gift box", "Gifts", "", "Small\x00box", "Large \u202Ebox"),
			want{"Gift box", "", "Gifts", []string{"Small box", "Large box"}}},
	}
	var products []map[string]any
	for _, tc := range cases {
		products = append(products, tc.product)
	}
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/meta.json":
			_ = json.NewEncoder(w).Encode(map[string]any{"name": "Lotus Tea", "currency": "CNY"})
		case r.URL.Path == "/products.json" && r.URL.Query().Get("page") == "1":
			_ = json.NewEncoder(w).Encode(map[string]any{"products": products})
		case r.URL.Path == "/products.json":
			_ = json.NewEncoder(w).Encode(map[string]any{"products": []any{}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(shop.Close)

	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		v := newEnv(t, e)
		s := v.replica(t, nil)
		if _, _, err := s.SaveLink(t.Context(), v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL}); err != nil {
			t.Fatal(err)
		}
		r := mustSync(t, s, v.tenant)
		if r.Counts.Created != int64(len(cases)) || r.Counts.Failed != 0 {
			t.Fatalf("counts %+v, want %d created\n%s", r.Counts, len(cases), runErrors(t, s, v.tenant, r.ID))
		}
		got := v.products(t)
		for _, tc := range cases {
			t.Run(tc.given, func(t *testing.T) {
				p, ok := got[tc.expect.title]
				if !ok {
					t.Fatalf("no product titled %q among %v", tc.expect.title, titles(got))
				}
				if p.Description != tc.expect.description || p.Category != tc.expect.category || !slices.Equal(skuNames(p), tc.expect.skus) {
					t.Errorf("product = description %q, category %q, SKUs %q; want %+v", p.Description, p.Category, skuNames(p), tc.expect)
				}
			})
		}
	})
}

// product is a Shopify product with one variant per name ("Default Title"
// alone: a product without variants).
func product(id int, title, productType, body string, variants ...string) map[string]any {
	var vs []map[string]any
	for i, name := range variants {
		vs = append(vs, map[string]any{"id": id*100 + i, "title": name, "price": "12.50", "available": true})
	}
	return map[string]any{"id": id, "title": title, "handle": "p", "body_html": body, "product_type": productType, "variants": vs}
}

func skuNames(p catalog.Product) []string {
	var out []string
	for _, k := range p.SKUs {
		out = append(out, k.Name)
	}
	return out
}

func titles(ps map[string]catalog.Product) []string {
	var out []string
	for title := range ps {
		out = append(out, title)
	}
	return out
}

// TestUploadNameCleaned: an uploaded feed's file name, shown in the
// console, is cleaned as the feed's titles are.
func TestUploadNameCleaned(t *testing.T) {
	e, err := tenants.OpenSQLite(t.TempDir(), schemas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	v := newEnv(t, e)
	s := v.replica(t, nil)
	for _, tc := range []struct{ given, when, expect string }{
		{"a plain name", "catalog.tsv", "catalog.tsv"},
		{"a right-to-left override", "catalog\u202Evst.exe", "catalogvst.exe"},
		{"a NUL", "cata\x00log.tsv", "cata log.tsv"},
		{"nothing left", "\u202E\x00", "feed"},
	} {
		t.Run(tc.given, func(t *testing.T) {
			l, _, err := s.SaveUpload(t.Context(), v.tenant, tc.when, strings.NewReader(string(fixture(t, "feed.tsv"))), pcstore.LinkInput{})
			if err != nil || l.UploadName != tc.expect {
				t.Fatalf("upload name %q, %v; want %q", l.UploadName, err, tc.expect)
			}
		})
	}
}
