package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// client drives the app over HTTP the way a merchant's program or browser
// would: an API key, or a cookie jar holding a console session.
type client struct {
	t    testing.TB
	base string
	key  string
	http *http.Client
	csrf string
	// location is the Location header of the last response.
	location string
	// contentType is the Content-Type header of the last response.
	contentType string
	// header holds headers sent with every request (a browser's
	// Accept-Language).
	header http.Header
}

func newClient(t testing.TB, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request with the client's API key (if any) and returns the
// status and body.
func (c *client) do(method, path string, body io.Reader, contentType string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatalf("request %s %s: %v", method, path, err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	c.location = resp.Header.Get("Location")
	c.contentType = resp.Header.Get("Content-Type")
	b, _ := io.ReadAll(resp.Body)
	// OpenAPI: every /api/v1 answer must be one apidoc/openapi.yaml
	// describes for its route and status (apidoc_test.go).
	checkOpenAPI(c.t, req, resp.StatusCode, resp.Header, b)
	return resp.StatusCode, b
}

// json sends v as JSON (a string is sent as is) and decodes the answer into out.
func (c *client) json(method, path string, v any, out any) int {
	c.t.Helper()
	var body io.Reader
	if s, ok := v.(string); ok {
		body = strings.NewReader(s)
	} else if v != nil {
		b, _ := json.Marshal(v)
		body = bytes.NewReader(b)
	}
	status, b := c.do(method, path, body, "application/json")
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return status
}

// form posts form values, adding the console's CSRF token.
func (c *client) form(path string, v url.Values) (int, []byte) {
	c.t.Helper()
	if v == nil {
		v = url.Values{}
	}
	v.Set("_csrf", c.csrf)
	return c.do(http.MethodPost, path, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// fetchCSRF loads a page with a form and keeps its CSRF token.
func (c *client) fetchCSRF(path string) {
	c.t.Helper()
	status, b := c.do(http.MethodGet, path, nil, "")
	m := csrfField.FindSubmatch(b)
	if status != http.StatusOK || m == nil {
		c.t.Fatalf("GET %s: %d, no CSRF token in %.200s", path, status, b)
	}
	c.csrf = string(m[1])
}

// shop is a signed-up tenant as the tests see it.
type shop struct {
	ID, Slug, Name, Key, Email, Password string
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// signUp opens a shop through POST /api/v1/tenants.
func signUp(t testing.TB, base, slug string) shop {
	t.Helper()
	c := newClient(t, base)
	var out struct {
		Tenant struct{ ID, Slug, Name string } `json:"tenant"`
		APIKey string                          `json:"api_key"`
	}
	s := shop{Slug: slug, Name: "Shop " + slug, Email: slug + "@example.com", Password: "correct horse " + slug}
	status := c.json(http.MethodPost, "/api/v1/tenants", map[string]string{
		"name": s.Name, "slug": slug, "email": s.Email, "password": s.Password}, &out)
	if status != http.StatusCreated || out.APIKey == "" || out.Tenant.Slug != slug {
		t.Fatalf("sign up %s: %d %+v", slug, status, out)
	}
	s.ID, s.Key = out.Tenant.ID, out.APIKey
	return s
}

// apiClient is a client holding the shop's API key.
func (s shop) apiClient(t testing.TB, base string) *client {
	c := newClient(t, base)
	c.key = s.Key
	return c
}

// consoleClient signs in to the console and holds the session and CSRF token.
func (s shop) consoleClient(t testing.TB, base string) *client {
	t.Helper()
	c := newClient(t, base)
	c.fetchCSRF("/login")
	status, b := c.form("/login", url.Values{"email": {s.Email}, "password": {s.Password}})
	if status != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d %.300s", s.Email, status, b)
	}
	c.fetchCSRF("/admin/products/new")
	return c
}

type productJSON struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Price    int64    `json:"price"`
	Stock    int64    `json:"stock"`
	Status   string   `json:"status"`
	Category string   `json:"category"`
	Code     string   `json:"code"`
	Images   []string `json:"images"`
	Rev      int64    `json:"rev"`
	SKUs     []struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Price int64  `json:"price"`
		Stock int64  `json:"stock"`
	} `json:"skus"`
}

// createProduct adds a product through the API.
func (c *client) createProduct(body map[string]any) productJSON {
	c.t.Helper()
	var p productJSON
	if status := c.json(http.MethodPost, "/api/v1/products", body, &p); status != http.StatusCreated {
		c.t.Fatalf("create product: %d", status)
	}
	return p
}

// placeOrder places an order as a new shopper of the shop and returns its id.
func placeOrder(t testing.TB, base, slug, productID, skuID string, qty int) string {
	t.Helper()
	shopper := newClient(t, base)
	var o struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	status := shopper.json(http.MethodPost, "/s/"+slug+"/api/orders", map[string]any{
		"items":   []map[string]any{{"product_id": productID, "sku_id": skuID, "qty": qty}},
		"address": testAddress,
	}, &o)
	if status != http.StatusCreated || o.Status != "pending_payment" {
		t.Fatalf("place order: %d %+v", status, o)
	}
	return o.ID
}

var testAddress = map[string]string{"name": "Li Lei", "phone": "13812345678", "province": "Zhejiang",
	"city": "Hangzhou", "district": "Xihu", "detail": "1 Longjing Road"}

// jsonWithHeader is json with one extra request header.
func (c *client) jsonWithHeader(method, path string, v, out any, name, value string) int {
	c.t.Helper()
	b, _ := json.Marshal(v)
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(name, value)
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	checkOpenAPI(c.t, req, resp.StatusCode, resp.Header, body) // OpenAPI, as in do
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			c.t.Fatalf("decode %q: %v", body, err)
		}
	}
	return resp.StatusCode
}
