package main

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// page parses an HTML body.
func page(t *testing.T, body []byte) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

func texts(sel *goquery.Selection) []string {
	var out []string
	sel.Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
	return out
}

func TestStorefront(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "tea-house")
	api := s.apiClient(t, srv.URL)
	green := api.createProduct(map[string]any{"title": "Green tea", "price": 3900, "stock": 3, "category": "Tea",
		"description": "Fresh <b>spring</b> leaves", "images": []string{"/static/demo/p01.svg"}})
	api.createProduct(map[string]any{"title": "Celadon cup", "price": 6800, "stock": 0, "category": "Teaware"})
	hidden := api.createProduct(map[string]any{"title": "Secret blend", "price": 100, "status": "off_sale", "category": "Hidden"})
	set := api.createProduct(map[string]any{"title": "Tea set", "category": "Teaware",
		// White is sold out: the set is listed at the cheapest option in stock.
		"skus": []map[string]any{{"name": "Blue", "price": 15800, "stock": 2}, {"name": "White", "price": 14800, "stock": 0}}})
	shopper := newClient(t, srv.URL)

	t.Run("home lists on-sale products and categories", func(t *testing.T) {
		status, body := shopper.do(http.MethodGet, "/s/tea-house/", nil, "")
		if status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		doc := page(t, body)
		titles := texts(doc.Find(".item .t"))
		if strings.Join(titles, ",") != "Tea set,Celadon cup,Green tea" {
			t.Errorf("titles = %q", titles)
		}
		if cats := texts(doc.Find(".cats a")); strings.Join(cats, ",") != "All,Tea,Teaware" {
			t.Errorf("categories = %q", cats)
		}
		if prices := texts(doc.Find(".item .price")); prices[0] != "¥158.00 and up" || prices[1] != "¥68.00 Sold out" || prices[2] != "¥39.00" {
			t.Errorf("prices = %q", prices)
		}
		if strings.Contains(string(body), "Secret blend") {
			t.Error("off-sale product on the storefront")
		}
	})

	t.Run("category and search", func(t *testing.T) {
		for _, tc := range []struct{ query, want string }{
			{"c=Teaware", "Tea set,Celadon cup"},
			{"q=green", "Green tea"},
			{"q=" + url.QueryEscape("<script>"), ""},
			{"c=Hidden", ""},
			{"page=2", ""},
			{"page=-3", "Tea set,Celadon cup,Green tea"},
		} {
			status, body := shopper.do(http.MethodGet, "/s/tea-house/?"+tc.query, nil, "")
			if status != http.StatusOK {
				t.Fatalf("%s: status %d", tc.query, status)
			}
			if got := strings.Join(texts(page(t, body).Find(".item .t")), ","); got != tc.want {
				t.Errorf("%s: titles %q, want %q", tc.query, got, tc.want)
			}
			if strings.Contains(string(body), "<script>") {
				t.Errorf("%s: query echoed unescaped", tc.query)
			}
		}
	})

	t.Run("product page", func(t *testing.T) {
		status, body := shopper.do(http.MethodGet, "/s/tea-house/p/"+green.ID, nil, "")
		if status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		doc := page(t, body)
		if h := strings.TrimSpace(doc.Find(".pd h1").Text()); h != "Green tea" {
			t.Errorf("title %q", h)
		}
		if p := strings.TrimSpace(doc.Find(".pd .price").Text()); p != "¥39.00" {
			t.Errorf("price %q", p)
		}
		if !strings.Contains(string(body), "Fresh &lt;b&gt;spring&lt;/b&gt; leaves") {
			t.Error("description not escaped")
		}
		_, body = shopper.do(http.MethodGet, "/s/tea-house/p/"+set.ID, nil, "")
		skus := page(t, body).Find(".skus input")
		if skus.Length() != 2 || skus.Eq(1).AttrOr("disabled", "none") == "none" {
			t.Errorf("sku options: %d, sold-out one disabled: %v", skus.Length(), skus.Eq(1).AttrOr("disabled", "none"))
		}
	})

	t.Run("not found pages", func(t *testing.T) {
		for _, path := range []string{"/s/no-such-shop/", "/s/tea-house/p/" + hidden.ID, "/s/tea-house/p/aaaaaaaaaaaaaaaa",
			"/s/tea-house/p/%00", "/s/AB/", "/s/tea-house/p/" + strings.Repeat("x", 500)} {
			status, body := shopper.do(http.MethodGet, path, nil, "")
			if status != http.StatusNotFound {
				t.Errorf("%s: status %d", path, status)
			}
			if !strings.Contains(string(body), "<html") || strings.Contains(string(body), "goroutine") {
				t.Errorf("%s: not a friendly page: %.200s", path, body)
			}
		}
	})

	t.Run("a change shows at once", func(t *testing.T) {
		api.json(http.MethodPatch, "/api/v1/products/"+green.ID, map[string]any{"title": "Jasmine green tea", "price": 4200}, nil)
		_, body := shopper.do(http.MethodGet, "/s/tea-house/p/"+green.ID, nil, "")
		if !strings.Contains(string(body), "Jasmine green tea") || !strings.Contains(string(body), "42.00") {
			t.Error("product page still shows the old title or price")
		}
		api.json(http.MethodPatch, "/api/v1/products/"+green.ID, map[string]any{"status": "off_sale"}, nil)
		if status, _ := shopper.do(http.MethodGet, "/s/tea-house/p/"+green.ID, nil, ""); status != http.StatusNotFound {
			t.Errorf("off-sale product page: %d", status)
		}
	})

	t.Run("QR code", func(t *testing.T) {
		status, body := shopper.do(http.MethodGet, "/s/tea-house/qr.png", nil, "")
		if status != http.StatusOK || !bytes.HasPrefix(body, []byte("\x89PNG")) {
			t.Errorf("qr: %d %.8q", status, body)
		}
	})
}

func TestConsole(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "console-shop")

	t.Run("signed out is sent to sign in", func(t *testing.T) {
		c := newClient(t, srv.URL)
		status, _ := c.do(http.MethodGet, "/admin/products", nil, "")
		if status != http.StatusSeeOther || c.location != "/login?next=%2Fadmin%2Fproducts" {
			t.Errorf("status %d location %q", status, c.location)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		c := newClient(t, srv.URL)
		c.fetchCSRF("/login")
		status, body := c.form("/login", url.Values{"email": {s.Email}, "password": {"wrong password"}})
		if status != http.StatusUnauthorized || !strings.Contains(string(body), "wrong email or password") {
			t.Errorf("status %d", status)
		}
	})

	t.Run("form without CSRF token is refused", func(t *testing.T) {
		c := s.consoleClient(t, srv.URL)
		c.csrf = "forged"
		status, _ := c.form("/admin/products", url.Values{"title": {"x"}, "price": {"1"}, "stock": {"1"}, "status": {"on_sale"}})
		if status != http.StatusForbidden && status != http.StatusBadRequest {
			t.Errorf("status %d", status)
		}
	})

	t.Run("create, edit and delete a product", func(t *testing.T) {
		c := s.consoleClient(t, srv.URL)
		status, _ := c.form("/admin/products", url.Values{"title": {"Pu-erh"}, "price": {"¥268"}, "stock": {"15"},
			"category": {"Tea"}, "status": {"on_sale"}, "images": {"/static/demo/p02.svg\n"}, "skus": {""}})
		if status != http.StatusSeeOther {
			t.Fatalf("create: %d", status)
		}
		_, body := c.do(http.MethodGet, "/admin/products", nil, "")
		doc := page(t, body)
		link, ok := doc.Find("td a[href$='/edit']").First().Attr("href")
		if !ok || !strings.Contains(doc.Text(), "¥268.00") {
			t.Fatalf("product not listed: %.500s", body)
		}
		_, body = c.do(http.MethodGet, link, nil, "")
		if v, _ := page(t, body).Find("#price").Attr("value"); v != "268.00" {
			t.Errorf("edit form price %q", v)
		}
		id := strings.Split(link, "/")[3]
		status, body = c.form("/admin/products/"+id, url.Values{"title": {"Pu-erh"}, "price": {"12.345"}, "stock": {"1"}, "status": {"on_sale"}})
		if status != http.StatusBadRequest || !strings.Contains(string(body), "two decimals") || !strings.Contains(string(body), `value="Pu-erh"`) {
			t.Errorf("bad price: %d", status)
		}
		status, _ = c.form("/admin/products/"+id, url.Values{"title": {"Pu-erh 2018"}, "status": {"on_sale"},
			"skus": {"357 g | 268 | 10\n100 g | 88.5 | 4"}})
		if status != http.StatusSeeOther {
			t.Fatalf("save with options: %d", status)
		}
		api := s.apiClient(t, srv.URL)
		var p productJSON
		api.json(http.MethodGet, "/api/v1/products/"+id, nil, &p)
		if p.Title != "Pu-erh 2018" || len(p.SKUs) != 2 || p.SKUs[1].Price != 8850 || p.Price != 8850 || p.Stock != 14 {
			t.Errorf("after edit: %+v", p)
		}
		if status, _ := c.form("/admin/products/"+id+"/delete", nil); status != http.StatusSeeOther {
			t.Errorf("delete: %d", status)
		}
		if status, _ := api.do(http.MethodGet, "/api/v1/products/"+id, nil, ""); status != http.StatusNotFound {
			t.Errorf("after delete: %d", status)
		}
	})

	t.Run("dashboard shows the storefront link and QR", func(t *testing.T) {
		c := s.consoleClient(t, srv.URL)
		_, body := c.do(http.MethodGet, "/admin", nil, "")
		doc := page(t, body)
		if href, _ := doc.Find("#shopurl").Attr("href"); href != srv.URL+"/s/console-shop/" {
			t.Errorf("storefront link %q", href)
		}
		if src, _ := doc.Find("img.qr").Attr("src"); src != "/s/console-shop/qr.png" {
			t.Errorf("qr src %q", src)
		}
	})

	t.Run("web sign-up shows the key once and signs in", func(t *testing.T) {
		c := newClient(t, srv.URL)
		c.fetchCSRF("/signup")
		status, body := c.form("/signup", url.Values{"name": {"Web shop"}, "slug": {"Web-Shop"}, "email": {"web@example.com"}, "password": {"long enough"}})
		if status != http.StatusCreated || !strings.Contains(string(body), "msk_") {
			t.Fatalf("sign-up: %d %.300s", status, body)
		}
		if status, _ := c.do(http.MethodGet, "/admin", nil, ""); status != http.StatusOK {
			t.Errorf("console after sign-up: %d", status)
		}
		c2 := newClient(t, srv.URL)
		c2.fetchCSRF("/signup")
		status, body = c2.form("/signup", url.Values{"name": {"Again"}, "slug": {"web-shop"}, "email": {"other@example.com"}, "password": {"long enough"}})
		if status != http.StatusConflict || !strings.Contains(string(body), "taken") || !strings.Contains(string(body), `value="Again"`) {
			t.Errorf("taken slug: %d", status)
		}
	})
}
