package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestSignUpAPI(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	signUp(t, srv.URL, "taken-shop")
	cases := []struct {
		name   string
		body   string
		status int
		field  string
	}{
		{"slug too short", `{"name":"A","slug":"ab","email":"a@example.com","password":"12345678"}`, 400, "slug"},
		{"slug upper case", `{"name":"A","slug":"My-Shop","email":"a@example.com","password":"12345678"}`, 201, ""},
		{"slug with underscore", `{"name":"A","slug":"my_shop","email":"b@example.com","password":"12345678"}`, 400, "slug"},
		{"slug with double hyphen", `{"name":"A","slug":"my--shop","email":"b@example.com","password":"12345678"}`, 400, "slug"},
		{"slug too long", `{"name":"A","slug":"` + strings.Repeat("a", 33) + `","email":"b@example.com","password":"12345678"}`, 400, "slug"},
		{"reserved slug", `{"name":"A","slug":"admin","email":"b@example.com","password":"12345678"}`, 400, "slug"},
		{"reserved slug api", `{"name":"A","slug":"api","email":"b@example.com","password":"12345678"}`, 400, "slug"},
		{"taken slug", `{"name":"A","slug":"taken-shop","email":"c@example.com","password":"12345678"}`, 409, ""},
		{"taken email", `{"name":"A","slug":"other-shop","email":"taken-shop@example.com","password":"12345678"}`, 409, ""},
		{"bad email", `{"name":"A","slug":"shop-x","email":"not-an-email","password":"12345678"}`, 400, "email"},
		{"short password", `{"name":"A","slug":"shop-x","email":"x@example.com","password":"1234"}`, 400, "password"},
		{"missing name", `{"slug":"shop-x","email":"x@example.com","password":"12345678"}`, 400, "name"},
		{"wrong type", `{"name":1,"slug":"shop-x","email":"x@example.com","password":"12345678"}`, 400, "name"},
		{"unknown field", `{"name":"A","slug":"shop-x","email":"x@example.com","password":"12345678","plan":"gold"}`, 400, "plan"},
		{"malformed JSON", `{"name":`, 400, ""},
		{"empty body", ``, 400, ""},
		{"array", `[]`, 400, ""},
	}
	c := newClient(t, srv.URL)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiError
			status := c.json(http.MethodPost, "/api/v1/tenants", tc.body, &e)
			if status != tc.status {
				t.Fatalf("status %d, want %d (%+v)", status, tc.status, e)
			}
			if status >= 400 && (e.Error.Message == "" || e.Error.Field != tc.field) {
				t.Errorf("error = %+v, want a message about field %q", e.Error, tc.field)
			}
		})
	}
}

func TestProductAPI(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "api-shop")
	c := s.apiClient(t, srv.URL)
	p := c.createProduct(map[string]any{"title": "Longjing", "description": "Spring tea", "price": 32800, "stock": 20,
		"images": []string{"https://img.example.com/lj.png"}, "category": "Tea"})
	if p.Status != "on_sale" || p.Price != 32800 || p.Rev != 1 || len(p.SKUs) != 0 {
		t.Fatalf("created %+v", p)
	}

	t.Run("get, patch, list, delete", func(t *testing.T) {
		var got productJSON
		if status := c.json(http.MethodGet, "/api/v1/products/"+p.ID, nil, &got); status != 200 || got.Title != "Longjing" {
			t.Fatalf("get: %d %+v", status, got)
		}
		if status := c.json(http.MethodPatch, "/api/v1/products/"+p.ID, map[string]any{"stock": 7, "status": "off_sale"}, &got); status != 200 {
			t.Fatalf("patch: %d", status)
		}
		if got.Stock != 7 || got.Status != "off_sale" || got.Title != "Longjing" || got.Rev != 2 {
			t.Errorf("after patch %+v", got)
		}
		var list struct {
			Items []productJSON `json:"items"`
			Total int64         `json:"total"`
			Limit int           `json:"limit"`
		}
		c.createProduct(map[string]any{"title": "Cup", "price": 100, "category": "Teaware"})
		if status := c.json(http.MethodGet, "/api/v1/products?status=off_sale", nil, &list); status != 200 || list.Total != 1 || list.Items[0].ID != p.ID {
			t.Errorf("list off sale: %d %+v", status, list)
		}
		if status := c.json(http.MethodGet, "/api/v1/products?limit=1", nil, &list); status != 200 || list.Total != 2 || len(list.Items) != 1 || list.Limit != 1 {
			t.Errorf("list limit 1: %d %+v", status, list)
		}
		if status, _ := c.do(http.MethodDelete, "/api/v1/products/"+p.ID, nil, ""); status != http.StatusNoContent {
			t.Errorf("delete: %d", status)
		}
		if status, _ := c.do(http.MethodGet, "/api/v1/products/"+p.ID, nil, ""); status != http.StatusNotFound {
			t.Errorf("get after delete: %d", status)
		}
	})

	t.Run("bad input is a 4xx that says what is wrong", func(t *testing.T) {
		target := c.createProduct(map[string]any{"title": "Target", "price": 100, "stock": 1})
		cases := []struct {
			name, method, path, body string
			status                   int
			field                    string
		}{
			{"negative price", "POST", "/api/v1/products", `{"title":"x","price":-1}`, 400, "price"},
			{"negative stock", "POST", "/api/v1/products", `{"title":"x","price":1,"stock":-5}`, 400, "stock"},
			{"price as float", "POST", "/api/v1/products", `{"title":"x","price":19.9}`, 400, "price"},
			{"price as string", "POST", "/api/v1/products", `{"title":"x","price":"19"}`, 400, "price"},
			{"price overflows int64", "POST", "/api/v1/products", `{"title":"x","price":99999999999999999999}`, 400, "price"},
			{"absurd price", "POST", "/api/v1/products", `{"title":"x","price":10000000000000}`, 400, "price"},
			{"missing title", "POST", "/api/v1/products", `{"price":1}`, 400, "title"},
			{"blank title", "POST", "/api/v1/products", `{"title":"   ","price":1}`, 400, "title"},
			{"missing price", "POST", "/api/v1/products", `{"title":"x"}`, 400, "price"},
			{"oversized title", "POST", "/api/v1/products", `{"title":"` + strings.Repeat("茶", 121) + `","price":1}`, 400, "title"},
			{"bad status", "POST", "/api/v1/products", `{"title":"x","price":1,"status":"sold"}`, 400, "status"},
			{"bad image url", "POST", "/api/v1/products", `{"title":"x","price":1,"images":["javascript:alert(1)"]}`, 400, "images"},
			{"too many images", "POST", "/api/v1/products", `{"title":"x","price":1,"images":[` + strings.Repeat(`"/a.png",`, 12) + `"/a.png"]}`, 400, "images"},
			{"sku without name", "POST", "/api/v1/products", `{"title":"x","skus":[{"price":1,"stock":1}]}`, 400, "skus[0].name"},
			{"duplicate sku names", "POST", "/api/v1/products", `{"title":"x","skus":[{"name":"a","price":1},{"name":"a","price":2}]}`, 400, "skus[1].name"},
			{"negative sku stock", "POST", "/api/v1/products", `{"title":"x","skus":[{"name":"a","price":1,"stock":-1}]}`, 400, "skus[0].stock"},
			{"unknown field", "POST", "/api/v1/products", `{"title":"x","price":1,"stok":3}`, 400, "stok"},
			{"malformed JSON", "POST", "/api/v1/products", `{"title":`, 400, ""},
			{"trailing data", "POST", "/api/v1/products", `{"title":"x","price":1} {}`, 400, ""},
			{"malformed id", "GET", "/api/v1/products/not-an-id", ``, 400, "id"},
			{"malformed id patch", "PATCH", "/api/v1/products/../../x", `{"title":"y"}`, 400, "id"},
			{"unknown id", "GET", "/api/v1/products/aaaaaaaaaaaaaaaa", ``, 404, ""},
			{"unknown id patch", "PATCH", "/api/v1/products/aaaaaaaaaaaaaaaa", `{"title":"y"}`, 404, ""},
			{"unknown id delete", "DELETE", "/api/v1/products/aaaaaaaaaaaaaaaa", ``, 404, ""},
			{"patch negative price", "PATCH", "/api/v1/products/" + target.ID, `{"price":-3}`, 400, "price"},
			{"patch null body", "PATCH", "/api/v1/products/" + target.ID, `null`, 200, ""},
			{"limit too large", "GET", "/api/v1/products?limit=1000", ``, 400, "limit"},
			{"limit zero", "GET", "/api/v1/products?limit=0", ``, 400, "limit"},
			{"limit not a number", "GET", "/api/v1/products?limit=ten", ``, 400, "limit"},
			{"negative offset", "GET", "/api/v1/products?offset=-1", ``, 400, "offset"},
			{"bad status filter", "GET", "/api/v1/products?status=gone", ``, 400, "status"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var e apiError
				status := c.json(tc.method, tc.path, tc.body, &e)
				if status != tc.status {
					t.Fatalf("status %d, want %d: %+v", status, tc.status, e)
				}
				if status >= 400 && status != 404 && (e.Error.Message == "" || e.Error.Field != tc.field) {
					t.Errorf("error %+v, want a message about %q", e.Error, tc.field)
				}
			})
		}
		var got productJSON
		c.json(http.MethodGet, "/api/v1/products/"+target.ID, nil, &got)
		if got.Price != 100 || got.Title != "Target" {
			t.Errorf("bad input changed the product: %+v", got)
		}
	})

	t.Run("authentication", func(t *testing.T) {
		anon := newClient(t, srv.URL)
		if status, _ := anon.do(http.MethodGet, "/api/v1/products", nil, ""); status != http.StatusUnauthorized {
			t.Errorf("no key: %d", status)
		}
		anon.key = "msk_wrong"
		var e apiError
		if status := anon.json(http.MethodGet, "/api/v1/products", nil, &e); status != http.StatusUnauthorized || e.Error.Code != "unauthorized" {
			t.Errorf("wrong key: %d %+v", status, e)
		}
	})

	t.Run("body over the limit is a 413", func(t *testing.T) {
		big := `{"title":"x","price":1,"description":"` + strings.Repeat("a", 2<<20) + `"}`
		var e apiError
		if status := c.json(http.MethodPost, "/api/v1/products", big, &e); status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d %+v", status, e)
		}
	})
}
