package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// chunkedBody hides its length, so the request goes out chunked.
type chunkedBody struct{ io.Reader }

// TestOverLimitBody: a body over the limit is a 413 on every kind of route,
// whether its length is announced or it comes chunked.
func TestOverLimitBody(t *testing.T) {
	cfg := testConfig()
	cfg.BodyLimit = 4 << 10
	_, srv := startAppWith(t, sqliteEngine(t), cfg)
	s := signUp(t, srv.URL, "limit-shop")
	big := `{"title":"` + strings.Repeat("x", 8<<10) + `","price":100}`
	form := "email=a%40example.com&password=" + strings.Repeat("x", 8<<10)
	tests := []struct {
		name, path, contentType, body string
	}{
		{"merchant API", "/api/v1/products", "application/json", big},
		{"sign-up", "/api/v1/tenants", "application/json", big},
		{"storefront JSON", "/s/limit-shop/api/orders", "application/json", big},
		{"feed upload", "/api/v1/pcstore/feed", "text/tab-separated-values", strings.Repeat("x\t", 8<<10)},
		{"a page's form", "/login", "application/x-www-form-urlencoded", form},
	}
	for _, tt := range tests {
		for _, chunked := range []bool{false, true} {
			name := tt.name + map[bool]string{false: ", announced", true: ", chunked"}[chunked]
			t.Run(name, func(t *testing.T) {
				var body io.Reader = strings.NewReader(tt.body)
				if chunked {
					body = chunkedBody{body}
				}
				req, _ := http.NewRequest(http.MethodPost, srv.URL+tt.path, body)
				req.Header.Set("Content-Type", tt.contentType)
				req.Header.Set("Authorization", "Bearer "+s.Key)
				req.Header.Set("Accept", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var out apiError
				_ = json.NewDecoder(resp.Body).Decode(&out)
				if resp.StatusCode != http.StatusRequestEntityTooLarge || out.Error.Code != "too_large" {
					t.Errorf("%d %+v, want 413 too_large", resp.StatusCode, out.Error)
				}
			})
		}
	}
}

// TestJSONCallsNeedContentType: every state-changing JSON call must say
// Content-Type: application/json, even with no body (a cross-site form can
// post an empty body with the shopper's cookies); pages' forms, which carry
// a CSRF token, and the feed upload, whose body is a file, are not JSON.
func TestJSONCallsNeedContentType(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "ct-shop")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 50})
	shopper := newClient(t, srv.URL)
	var o struct{ ID string }
	if st := shopper.json(http.MethodPost, "/s/ct-shop/api/orders", map[string]any{
		"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress}, &o); st != http.StatusCreated {
		t.Fatalf("place order: %d", st)
	}
	tests := []struct {
		name        string
		who         *client
		method      string
		path        string
		contentType string
		body        string
		refused     bool
	}{
		{"storefront, empty body, no type", shopper, http.MethodPost, "/s/ct-shop/api/orders/" + o.ID + "/cancel", "", "", true},
		{"storefront, empty form", shopper, http.MethodPost, "/s/ct-shop/api/checkin", "application/x-www-form-urlencoded", "", true},
		{"storefront, JSON as text/plain", shopper, http.MethodPost, "/s/ct-shop/api/distributor", "text/plain", `{"a":"="}`, true},
		{"storefront, PUT without a type", shopper, http.MethodPut, "/s/ct-shop/api/points/reminder", "", "", true},
		{"storefront, pay without a type", shopper, http.MethodPost, "/s/ct-shop/api/orders/" + o.ID + "/pay", "", "", true},
		{"merchant API, empty body, no type", api, http.MethodPost, "/api/v1/orders/" + o.ID + "/cancel", "", "", true},
		{"merchant API, form", api, http.MethodPost, "/api/v1/products", "application/x-www-form-urlencoded", "title=Tea&price=1", true},
		{"sign-up as text/plain", newClient(t, srv.URL), http.MethodPost, "/api/v1/tenants", "text/plain", `{"name":"x"}`, true},
		{"storefront, empty JSON call", shopper, http.MethodPost, "/s/ct-shop/api/orders/" + o.ID + "/pay", "application/json", "", false},
		{"merchant API, empty JSON call", api, http.MethodPost, "/api/v1/orders/" + o.ID + "/cancel", "application/json", "", false},
		{"feed upload", api, http.MethodPost, "/api/v1/pcstore/feed?name=f.tsv", "text/tab-separated-values", "id\ttitle\n", false},
		{"a page's form", newClient(t, srv.URL), http.MethodPost, "/login", "application/x-www-form-urlencoded", url.Values{"email": {"x"}}.Encode(), false},
		{"a read", shopper, http.MethodGet, "/s/ct-shop/api/cart", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			status, b := tt.who.do(tt.method, tt.path, body, tt.contentType)
			if (status == http.StatusUnsupportedMediaType) != tt.refused {
				t.Errorf("%s %s (%q): %d %.200s", tt.method, tt.path, tt.contentType, status, b)
			}
		})
	}
}

// TestSecurityHeaders: pages cannot be framed, move their base URL or post
// forms to another site.
func TestSecurityHeaders(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	for _, path := range []string{"/login", "/no-such-page", "/api/v1/products"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", path, csp, want)
			}
		}
	}
}

// TestNamesRefuseControlCharacters: a shop's name with a control or
// bidirectional-override character is a 400 naming the field, through the
// API and the sign-up page.
func TestNamesRefuseControlCharacters(t *testing.T) {
	cfg := testConfig()
	cfg.TrustProxy = true // each case from its own address, under the sign-up limit
	_, srv := startAppWith(t, sqliteEngine(t), cfg)
	tests := []struct {
		name  string
		given string
		ok    bool
	}{
		{"CJK and emoji", "西湖茶馆 🍵 Tea House", true},
		{"NUL", "Tea\x00House", false},
		{"newline", "Tea\nHouse", false},
		{"escape sequence", "Tea\x1b[2JHouse", false},
		{"C1 control", "Tea\u0085House", false},
		{"right-to-left override", "Tea \u202egpj.exe", false},
		{"isolate", "Tea \u2067House", false},
		{"right-to-left mark", "Tea\u200fHouse", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slug := "name-shop-" + string(rune('a'+i))
			from := "198.51.100." + strconv.Itoa(i+1)
			var out apiError
			c := newClient(t, srv.URL)
			status := c.jsonWithHeader(http.MethodPost, "/api/v1/tenants", map[string]string{
				"name": tt.given, "slug": slug, "email": slug + "@example.com", "password": "correct horse battery"}, &out,
				echo.HeaderXForwardedFor, from)
			if tt.ok != (status == http.StatusCreated) || (!tt.ok && (status != http.StatusBadRequest || out.Error.Field != "name")) {
				t.Errorf("API sign-up %q: %d %+v", tt.given, status, out.Error)
			}
			if tt.ok {
				return
			}
			c.fetchCSRF("/signup")
			form := url.Values{"name": {tt.given}, "slug": {slug}, "email": {slug + "@example.com"},
				"password": {"correct horse battery"}, "_csrf": {c.csrf}}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/signup", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(echo.HeaderXForwardedFor, from)
			resp, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "name: must not contain") {
				t.Errorf("sign-up page %q: %d %.300s", tt.given, resp.StatusCode, b)
			}
		})
	}
}
