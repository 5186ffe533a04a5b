package pcstore_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"microshop/shop/pcstore"
	"microshop/tenants"
	"microshop/tenants/i18n"
)

// TestWidgetInShopLanguage: the widget's script and its plain snippet speak
// the shop's language (its Lang; Chinese when unset), whatever the visitor
// of the PC store asks for, and hold no text of the other language.
func TestWidgetInShopLanguage(t *testing.T) {
	zh := map[string][]string{"widget.js": {"关注我们的微商城", "扫码用手机逛店"}, "plain_html": {"关注我们的微商城", "扫码在手机上打开"}}
	en := map[string][]string{"widget.js": {"Follow our micro-shop", "scan to shop on your phone"},
		"plain_html": {"Follow our micro-shop", "scan to open it on your phone"}}
	for _, tc := range []struct {
		name, lang     string
		want           map[string][]string
		notWant        []string
		acceptLanguage string
	}{
		{"given a shop with no language, Chinese", "", zh, []string{"Follow our", "scan to"}, "en"},
		{"given a Chinese shop, Chinese", i18n.ZhCN, zh, []string{"Follow our", "scan to"}, "en"},
		{"given an English shop, English", i18n.En, en, []string{"关注", "扫码"}, "zh-CN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shop := tenants.Tenant{ID: "t1", Slug: "demo", Name: "Demo", Lang: tc.lang}
			e := echo.New()
			g := e.Group("/s/:slug", func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					tenants.WithTenant(c, shop)
					return next(c)
				}
			})
			pcstore.NewHandlers(nil, "https://shop.example").StorefrontRoutes(g)
			req := httptest.NewRequest(http.MethodGet, "/s/demo/pcstore/widget.js", nil)
			req.Header.Set("Accept-Language", tc.acceptLanguage)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != http.StatusOK {
				t.Fatalf("widget.js: %d %s", rec.Code, body)
			}
			plain := pcstore.WidgetIn("https://shop.example", "demo", shop.Language()).Plain
			for name, text := range map[string]string{"widget.js": string(body), "plain_html": plain} {
				for _, w := range tc.want[name] {
					if !strings.Contains(text, w) {
						t.Errorf("%s: no %q in %s", name, w, text)
					}
				}
				for _, w := range tc.notWant {
					if strings.Contains(text, w) {
						t.Errorf("%s: %q in the %s shop's widget: %s", name, w, shop.Language(), text)
					}
				}
			}
		})
	}
}
