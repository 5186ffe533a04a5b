package i18n

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/labstack/echo/v4"
)

func mustCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := Embedded()
	if err != nil {
		t.Fatalf("load the embedded catalogs: %v", err)
	}
	return c
}

// TestCatalogsMatch: both catalogs have the same ids, every message the
// same placeholders in both, no message is empty, and English has the
// plural forms its rules need wherever it counts.
func TestCatalogsMatch(t *testing.T) {
	c := mustCatalog(t)
	zh, en := c.IDs(ZhCN), c.IDs(En)
	for _, id := range zh {
		if !c.Has(En, id) {
			t.Errorf("%s: in zh-CN.toml, missing from en.toml", id)
		}
	}
	for _, id := range en {
		if !c.Has(ZhCN, id) {
			t.Errorf("%s: in en.toml, missing from zh-CN.toml", id)
		}
	}
	for _, id := range en {
		if !c.Has(ZhCN, id) {
			continue
		}
		if pz, pe := c.Placeholders(ZhCN, id), c.Placeholders(En, id); !slices.Equal(pz, pe) {
			t.Errorf("%s: placeholders zh-CN %v, en %v", id, pz, pe)
		}
		for _, lang := range Langs {
			forms := c.Forms(lang, id)
			if forms["other"] == "" {
				t.Errorf("%s (%s): no text (no \"other\" form)", id, lang)
			}
			for form, s := range forms {
				if strings.Count(s, "{{") != strings.Count(s, "}}") {
					t.Errorf("%s (%s, %s): unbalanced braces in %q", id, lang, form, s)
				}
			}
		}
		if f := c.Forms(En, id); len(f) > 1 && f["one"] == "" {
			t.Errorf("%s (en): plural forms %v without \"one\"", id, f)
		}
		if f := c.Forms(ZhCN, id); len(f) > 1 {
			t.Errorf("%s (zh-CN): Chinese has one plural form, got %v", id, f)
		}
	}
	t.Logf("messages: zh-CN %d, en %d", len(zh), len(en))
}

// TestChineseCatalogIsChinese: every Chinese message holds Chinese (or is
// made only of placeholders, symbols and names that stay as they are).
func TestChineseCatalogIsChinese(t *testing.T) {
	c := mustCatalog(t)
	for _, id := range c.IDs(ZhCN) {
		s := placeholder.ReplaceAllString(c.Forms(ZhCN, id)["other"], "")
		if !hasHan(s) && strings.TrimFunc(s, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') }) != "" {
			t.Errorf("%s: %q has no Chinese", id, s)
		}
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

func TestT(t *testing.T) {
	c := mustCatalog(t)
	for _, tc := range []struct {
		name, lang, id string
		pairs          []any
		want           string
	}{
		{"given zh-CN, Chinese", ZhCN, "product.add_to_cart", nil, "加入购物车"},
		{"given en, English", En, "product.add_to_cart", nil, "Add to cart"},
		{"given an unknown language, the default", "fr", "product.buy_now", nil, "立即购买"},
		{"placeholders", En, "cart.price_changed", []any{"Was", "1.00", "Now", "2.00"}, "Price changed since you added it: was ¥1.00, now ¥2.00"},
		{"English plural: one", En, "orders.items", []any{"Count", 1}, "1 item"},
		{"English plural: other", En, "orders.items", []any{"Count", int64(3)}, "3 items"},
		{"Chinese plural", ZhCN, "orders.items", []any{"Count", 1}, "共 1 件商品"},
		{"an unknown id comes back", ZhCN, "no.such.message", nil, "no.such.message"},
		{"values are not templates", En, "shop.browse", []any{"Shop", "{{.X}} <b>"}, "Browse {{.X}} <b>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.T(tc.lang, tc.id, tc.pairs...); got != tc.want {
				t.Errorf("T(%s, %s) = %q, want %q", tc.lang, tc.id, got, tc.want)
			}
		})
	}
	if got := T(WithLang(context.Background(), En), "cart.title"); got != "Cart" {
		t.Errorf("T(ctx en) = %q", got)
	}
	if got := T(context.Background(), "cart.title"); got != "购物车" {
		t.Errorf("T(no language on ctx) = %q, want the default's", got)
	}
}

func TestLoadRefusesABrokenCatalog(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"a language missing": {"zh-CN.toml": {Data: []byte(`a = "甲"`)}},
		"bad TOML":           {"zh-CN.toml": {Data: []byte(`a = "甲`)}, "en.toml": {Data: []byte(`a = "A"`)}},
		"mixed keys":         {"zh-CN.toml": {Data: []byte("[a]\nother = \"x\"\nb = \"y\"")}, "en.toml": {Data: []byte(`a = "A"`)}},
	} {
		if _, err := Load(fsys); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"", ZhCN},
		{"zh-CN,zh;q=0.9", ZhCN},
		{"zh-TW", ZhCN},
		{"zh", ZhCN},
		{"en-US,en;q=0.9", En},
		{"en-GB", En},
		{"fr-FR", ZhCN},
		{"fr-FR, en;q=0.5", En},
		{"en;q=0.5, zh;q=0.8", ZhCN},
		{"*", ZhCN},
		{"%%%garbage", ZhCN},
	} {
		if got := Match(tc.header); got != tc.want {
			t.Errorf("Match(%q) = %s, want %s", tc.header, got, tc.want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	at := time.Date(2026, 12, 4, 17, 30, 0, 0, time.UTC) // 01:30 on the 5th in Shanghai
	sh := time.FixedZone("CST", 8*3600)
	for _, tc := range []struct{ got, want string }{
		{FormatDate(ZhCN, at, sh), "2026年12月5日"},
		{FormatDate(En, at, sh), "2026-12-05"},
		{FormatDateTime(ZhCN, at, sh), "2026年12月5日 01:30"},
		{FormatDateTime(En, at, sh), "2026-12-05 01:30"},
		{FormatMonth(ZhCN, at, sh), "2026年12月"},
		{FormatDate(En, at, nil), "2026-12-04"},
		{FormatDate(ZhCN, time.Time{}, sh), ""},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// serve runs one request through the middleware (and ShopDefault with
// shopLang, if given) and returns the recorder and the language the
// handler saw.
func serve(t *testing.T, req *http.Request, shopLang string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	e := echo.New()
	seen := ""
	h := func(c echo.Context) error {
		seen = FromContext(c.Request().Context())
		return c.String(http.StatusOK, seen)
	}
	mw := []echo.MiddlewareFunc{Middleware()}
	if shopLang != "" {
		mw = append(mw, ShopDefault(func(echo.Context) string { return shopLang }))
	}
	e.GET("/*", h, mw...)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec, seen
}

func TestMiddleware(t *testing.T) {
	get := func(target, accept, cookie string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		if accept != "" {
			r.Header.Set("Accept-Language", accept)
		}
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: Cookie, Value: cookie})
		}
		return r
	}
	for _, tc := range []struct {
		name           string
		accept, cookie string
		shop           string
		want           string
	}{
		{"given nothing, zh-CN", "", "", "", ZhCN},
		{"given Accept-Language en, en", "en-US,en;q=0.9", "", "", En},
		{"given the cookie, it wins over Accept-Language", "en-US", "zh-CN", "", ZhCN},
		{"given the cookie en, en", "zh-CN", "en", "", En},
		{"given a cookie we do not speak, Accept-Language", "en", "fr", "", En},
		{"given the shop's default, it wins over Accept-Language", "en", "", "zh-CN", ZhCN},
		{"given a choice, it wins over the shop's default", "", "en", "zh-CN", En},
		{"given a shop default we do not speak, Accept-Language", "en", "", "xx", En},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, seen := serve(t, get("/s/x/", tc.accept, tc.cookie), tc.shop)
			if seen != tc.want {
				t.Errorf("language %q, want %q", seen, tc.want)
			}
			if v := rec.Header().Values("Vary"); !slices.Contains(v, "Accept-Language") {
				t.Errorf("Vary %v", v)
			}
		})
	}
}

func TestSwitch(t *testing.T) {
	for _, tc := range []struct {
		name, target, wantLocation, wantCookie string
		wantMaxAge                             int // <0: deleted
	}{
		{"given ?lang=en, the cookie and back without it", "/s/tea/p/1?lang=en", "/s/tea/p/1", "en", 1},
		{"given other parameters, they stay", "/s/tea/?c=green&lang=zh-CN&page=2", "/s/tea/?c=green&page=2", "zh-CN", 1},
		{"given ?lang=auto, the choice is forgotten", "/s/tea/?lang=auto", "/s/tea/", "", -1},
		{"given a path that reads as another host, the root", "//evil.example/?lang=en", "/", "en", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, seen := serve(t, httptest.NewRequest(http.MethodGet, tc.target, nil), "")
			if rec.Code != http.StatusSeeOther || seen != "" {
				t.Fatalf("status %d, handler ran: %v", rec.Code, seen != "")
			}
			if loc := rec.Header().Get("Location"); loc != tc.wantLocation {
				t.Errorf("Location %q, want %q", loc, tc.wantLocation)
			}
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 || cookies[0].Name != Cookie {
				t.Fatalf("cookies %v", cookies)
			}
			ck := cookies[0]
			if ck.Value != tc.wantCookie || (tc.wantMaxAge > 0) != (ck.MaxAge > 0) || !ck.HttpOnly || ck.Path != "/" {
				t.Errorf("cookie %+v", ck)
			}
		})
	}
	t.Run("given a JSON call, no switch", func(t *testing.T) {
		rec, seen := serve(t, httptest.NewRequest(http.MethodGet, "/s/tea/api/cart?lang=en", nil), "")
		if rec.Code != http.StatusOK || seen != ZhCN {
			t.Errorf("status %d, language %q", rec.Code, seen)
		}
	})
}

func TestJS(t *testing.T) {
	c := mustCatalog(t)
	en := c.JS(En, "js.")
	if en["added"] != "Added to your cart." {
		t.Errorf("js added = %v", en["added"])
	}
	if f, ok := en["checked"].(map[string]string); !ok || f["one"] == "" || f["other"] == "" {
		t.Errorf("js checked = %#v, want its plural forms", en["checked"])
	}
	if zh := c.JS(ZhCN, "js."); zh["field.phone"] != "手机号码" {
		t.Errorf("js field.phone = %v", zh["field.phone"])
	}
}
