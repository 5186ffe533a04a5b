package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"microshop/shop/demo"
	"microshop/tenants/i18n"
)

// TestDemoShopInBothLanguages: the demo shop a fresh installation opens
// speaks Chinese with Chinese products; a shopper reading English sees the
// same products in English (their translations), categories and search
// included.
func TestDemoShopInBothLanguages(t *testing.T) {
	cfg := testConfig()
	cfg.Demo = true
	a, srv := startAppWith(t, sqliteEngine(t), cfg)
	if err := a.prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "/s/" + demo.Slug
	for _, tc := range []struct {
		lang, product, category, search, notShown string
	}{
		{i18n.ZhCN, "西湖龙井", "茶叶", "龙井", "West Lake Longjing"},
		{i18n.En, "West Lake Longjing", "Tea", "longjing", "西湖龙井"},
	} {
		c := newClient(t, srv.URL)
		c.header = http.Header{"Accept-Language": {tc.lang}}
		doc := c.page(base+"/", http.StatusOK)
		if got := doc.Find("html").AttrOr("lang", ""); got != tc.lang {
			t.Errorf("%s: the demo shop speaks %q", tc.lang, got)
		}
		titles := doc.Find(".t").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
		if len(titles) != 12 || !contains(titles, tc.product) || contains(titles, tc.notShown) {
			t.Errorf("%s: the demo shop's products: %q", tc.lang, titles)
		}
		cats := doc.Find("nav.cats a").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
		if !contains(cats, tc.category) {
			t.Errorf("%s: categories %q, want %q among them", tc.lang, cats, tc.category)
		}
		found := c.page(base+"/?q="+url.QueryEscape(tc.search), http.StatusOK).Find(".t").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
		if len(found) != 1 || found[0] != tc.product {
			t.Errorf("%s: search %q found %q", tc.lang, tc.search, found)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
