package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestTenantIsolationEveryRoute walks every route Echo has registered, with
// tenant A's API key and console session, against tenant B's objects. Any
// route reaching B's object must answer 404 (or 403), none may answer 500,
// and B's data must be exactly as before. Routes added later are covered
// without editing this test: their path parameters are filled by name.
func TestTenantIsolationEveryRoute(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		shopA, shopB := signUp(t, srv.URL, "shop-a"), signUp(t, srv.URL, "shop-b")
		apiB := shopB.apiClient(t, srv.URL)
		productB := apiB.createProduct(map[string]any{"title": "B's tea", "price": 1000, "stock": 5,
			"skus": []map[string]any{{"name": "small", "price": 1000, "stock": 5}}})
		orderB := placeOrder(t, srv.URL, shopB.Slug, productB.ID, productB.SKUs[0].ID, 1)
		distB := distributionObjects(t, srv.URL, shopB) // B's store, guide, distributor and customer
		apiA := shopA.apiClient(t, srv.URL)
		consoleA := shopA.consoleClient(t, srv.URL)

		snapshot := func() string {
			status, b := apiB.do(http.MethodGet, "/api/v1/products?limit=100", nil, "")
			if status != http.StatusOK {
				t.Fatalf("B's products: %d %s", status, b)
			}
			return string(b)
		}
		before := snapshot()

		// :id is filled by the collection it follows: B's product under
		// /products, B's order under /orders.
		params := map[string]string{"id": productB.ID, "products": productB.ID, "orders": orderB, "slug": shopB.Slug, "*": "x"}
		for k, v := range distB {
			params[k] = v
		}
		for k, v := range messagingObjects(t, srv.URL, shopB, distB["customers"]) { // B's segment, campaign, fan
			params[k] = v
		}
		methods := map[string]bool{http.MethodGet: true, http.MethodPost: true, http.MethodPut: true,
			http.MethodPatch: true, http.MethodDelete: true}
		walked := 0
		for _, r := range a.echo.Routes() {
			if !methods[r.Method] {
				continue // Echo's internal not-found routes
			}
			path, targetsB := fillParams(r.Path, params)
			if strings.HasPrefix(path, "/static/") {
				continue
			}
			walked++
			for _, who := range []struct {
				name string
				c    *client
			}{{"api key", apiA}, {"console session", consoleA}} {
				var status int
				var body []byte
				switch {
				case r.Method == http.MethodGet:
					status, body = who.c.do(r.Method, path, nil, "")
				case strings.HasPrefix(path, "/api/"):
					b, _ := json.Marshal(map[string]any{"title": "hacked", "price": 1, "stock": 0, "status": "off_sale"})
					status, body = who.c.do(r.Method, path, strings.NewReader(string(b)), "application/json")
				default:
					status, body = who.c.form(path, url.Values{"title": {"hacked"}, "price": {"0.01"}, "stock": {"0"}, "status": {"off_sale"}})
				}
				if status >= 500 {
					t.Errorf("%s %s with A's %s: %d %.200s", r.Method, path, who.name, status, body)
				}
				if status == http.StatusSeeOther && strings.HasPrefix(who.c.location, "/login") {
					continue // not signed in to the console: sent to sign in
				}
				if targetsB && (strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/admin")) &&
					status != http.StatusNotFound && status != http.StatusForbidden && status != http.StatusUnauthorized {
					t.Errorf("%s %s with A's %s reached B's object: %d %.200s", r.Method, path, who.name, status, body)
				}
			}
		}
		if walked < 15 {
			t.Errorf("walked only %d routes; is the route list empty?", walked)
		}
		if after := snapshot(); after != before {
			t.Errorf("B's data changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// fillParams replaces :name and * path parameters, and says whether the
// path names one of B's objects (an id parameter).
func fillParams(path string, params map[string]string) (string, bool) {
	parts := strings.Split(path, "/")
	targetsB := false
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, ":"):
			name := p[1:]
			v, ok := params[name]
			if name == "id" && i > 0 {
				if byCollection, ok2 := params[parts[i-1]]; ok2 {
					v, ok = byCollection, true
				}
			}
			if !ok {
				v = params["id"] // any other id-like parameter gets B's product id
			}
			if name != "slug" {
				targetsB = true
			}
			parts[i] = v
		case p == "*":
			parts[i] = params["*"]
		}
	}
	return strings.Join(parts, "/"), targetsB
}
