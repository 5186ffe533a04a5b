package templates

import (
	"bytes"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"microshop/tenants/i18n"
)

// TestPagesSpeakTheRequestsLanguage: a page is rendered in the language on
// the request's context, says so in <html lang>, and marks it in the
// language switch; without one it speaks the default.
func TestPagesSpeakTheRequestsLanguage(t *testing.T) {
	r := newRenderer(t, WithShop(func(echo.Context) any { return testShop{Name: "Tea House", Slug: "tea"} }))
	type cart struct{ Items []struct{} }
	data := struct{ Cart cart }{}
	for _, tc := range []struct{ lang, want, title string }{
		{i18n.ZhCN, "zh-CN", "购物车"},
		{i18n.En, "en", "Cart"},
		{"", "zh-CN", "购物车"}, // no language on the request
	} {
		req := httptest.NewRequest(http.MethodGet, "/s/tea/cart", nil)
		if tc.lang != "" {
			req = req.WithContext(i18n.WithLang(req.Context(), tc.lang))
		}
		c := echo.New().NewContext(req, httptest.NewRecorder())
		var buf bytes.Buffer
		if err := r.Render(&buf, "shop_cart.html", data, c); err != nil {
			t.Fatal(err)
		}
		doc, _ := goquery.NewDocumentFromReader(&buf)
		if got := doc.Find("html").AttrOr("lang", ""); got != tc.want {
			t.Errorf("%q: <html lang=%q>", tc.lang, got)
		}
		if got := doc.Find("h1").Text(); got != tc.title {
			t.Errorf("%q: h1 %q, want %q", tc.lang, got, tc.title)
		}
		if cur := doc.Find(".lang-switch a[aria-current]"); cur.Length() != 1 || cur.AttrOr("lang", "") != tc.want {
			t.Errorf("%q: the switch marks %q", tc.lang, cur.AttrOr("lang", ""))
		}
	}
}

func TestLangFuncs(t *testing.T) {
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 4, 17, 30, 0, 0, time.UTC)
	var never *time.Time
	for _, tc := range []struct{ lang, tmpl, want string }{
		{i18n.ZhCN, `{{t "orders.items" "Count" 2}}`, "共 2 件商品"},
		{i18n.En, `{{t "orders.items" "Count" 1}}`, "1 item"},
		{i18n.ZhCN, `{{known "order.reason" "not paid in time"}}`, "超时未付款"},
		{i18n.ZhCN, `{{known "order.reason" "Ran out of green tea"}}`, "Ran out of green tea"},
		{i18n.ZhCN, `{{datetime .At .Zone}}`, "2026年12月5日 01:30"},
		{i18n.En, `{{date .At .Zone}}`, "2026-12-05"},
		{i18n.En, `{{date .Never .Zone}}`, ""},
		{i18n.ZhCN, `{{localTime "2026-12-05 09:07"}}`, "2026年12月5日 09:07"},
		{i18n.ZhCN, `{{localTime "not a time"}}`, "not a time"},
		{i18n.ZhCN, `{{month "2026-12"}}`, "2026年12月"},
	} {
		tmpl := template.Must(template.New("x").Funcs(langFuncs(cat, tc.lang)).Parse(tc.tmpl))
		var b strings.Builder
		if err := tmpl.Execute(&b, map[string]any{"At": at, "Never": never, "Zone": zone("")}); err != nil {
			t.Fatalf("%s: %v", tc.tmpl, err)
		}
		if b.String() != tc.want {
			t.Errorf("%s (%s) = %q, want %q", tc.tmpl, tc.lang, b.String(), tc.want)
		}
	}
}

func TestViewZone(t *testing.T) {
	type shop struct{ TimeZone string }
	for _, tc := range []struct {
		shop any
		want string
	}{
		{nil, "Asia/Shanghai"},
		{shop{}, "Asia/Shanghai"},
		{shop{TimeZone: "Europe/Paris"}, "Europe/Paris"},
		{shop{TimeZone: "Mars/Olympus"}, "Asia/Shanghai"},
	} {
		v := newRenderer(t).view(struct{ Shop any }{tc.shop}, nil)
		if got := v.Zone.String(); got != tc.want && !(tc.want == "Asia/Shanghai" && got == "CST") {
			t.Errorf("shop %+v: zone %s, want %s", tc.shop, got, tc.want)
		}
	}
}
