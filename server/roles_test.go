package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"microshop/tenants"
)

// walkDo sends a request as c.do does (JSON body for the API, a form with
// the CSRF token for pages) and returns the answer. An /api/v1 answer is
// checked against the API document as every answer is (checkOpenAPI), but
// a 403, which any keyed call may answer to a key whose role does not
// allow it, is checked only to be the shared error body.
func walkDo(t *testing.T, c *client, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	contentType := ""
	switch v := body.(type) {
	case nil:
	case url.Values:
		v.Set("_csrf", c.csrf)
		r, contentType = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	default:
		b, _ := json.Marshal(v)
		r, contentType = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	c.location = resp.Header.Get("Location")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden {
		checkOpenAPI(t, req, resp.StatusCode, resp.Header, b)
	} else if strings.HasPrefix(path, "/api/") {
		var v any
		schema := openAPIDocument(t).Components.Schemas["Error"].Value
		if err := json.Unmarshal(b, &v); err != nil || schema.VisitJSON(v, openapi3.EnableJSONSchema2020()) != nil {
			t.Errorf("%s %s: 403 %.200s is not the error body", method, path, b)
		}
	}
	return resp.StatusCode, b
}

// TestRolesEveryRoute walks every route Echo has registered under /api/v1
// and /admin for every role, by console session and by API key scoped to
// the role: each answers 403 exactly when the role may not (the policy of
// server/roles.go, itself spot-checked against the roles' definitions
// below), never 500, and never reaches another shop's object (path
// parameters name shop B's objects, as in the isolation test). Routes
// added later are walked without editing this test: a route nobody listed
// in the policy must be refused to service, finance and guide staff.
func TestRolesEveryRoute(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	shopA, shopB := signUp(t, srv.URL, "roles-a"), signUp(t, srv.URL, "roles-b")
	apiB := shopB.apiClient(t, srv.URL)
	productB := apiB.createProduct(map[string]any{"title": "B's tea", "price": 1000, "stock": 5,
		"skus": []map[string]any{{"name": "small", "price": 1000, "stock": 5}}})
	orderB := placeOrder(t, srv.URL, shopB.Slug, productB.ID, productB.SKUs[0].ID, 1)
	params := map[string]string{"id": productB.ID, "products": productB.ID, "orders": orderB, "slug": shopB.Slug, "*": "x",
		"token": strings.Repeat("a", 40)}
	for k, v := range distributionObjects(t, srv.URL, shopB) {
		params[k] = v
	}

	ownerKey := shopA.apiClient(t, srv.URL)
	objsA := distributionObjects(t, srv.URL, shopA)
	keyFor := func(role string) *client {
		var out struct {
			APIKey string `json:"api_key"`
		}
		if st := ownerKey.json(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": role, "role": role}, &out); st != http.StatusCreated {
			t.Fatalf("a %s key: %d", role, st)
		}
		c := newClient(t, srv.URL)
		c.key = out.APIKey
		return c
	}
	type walker struct {
		name string
		who  tenants.Principal
		c    *client
		api  bool // walks /api/v1 (a key), else /admin (a session)
	}
	walkers := []walker{
		{"owner key", tenants.Principal{Role: tenants.RoleOwner}, ownerKey, true},
		{"owner session", tenants.Principal{Role: tenants.RoleOwner}, shopA.consoleClient(t, srv.URL), false},
	}
	for _, role := range []string{"manager", "service", "finance"} {
		m := newStaff(t, srv.URL, ownerKey, role+"@example.com", role, "")
		walkers = append(walkers,
			walker{role + " key", tenants.Principal{Role: tenants.Role(role)}, keyFor(role), true},
			walker{role + " session", tenants.Principal{Role: tenants.Role(role)}, m.c, false})
	}
	g := newStaff(t, srv.URL, ownerKey, "guide@example.com", "guide", objsA["guides"])
	walkers = append(walkers, walker{"guide session", tenants.Principal{Role: tenants.RoleGuide, GuideID: objsA["guides"]}, g.c, false})

	// Routes that would end the walker's session are walked elsewhere
	// (TestStaffRolesAndNav); public routes take no key.
	skip := map[string]bool{
		"POST /admin/account/sign-out-everywhere": true,
		"POST /api/v1/tenants":                    true, "GET /api/v1/openapi.json": true,
	}
	methods := map[string]bool{http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true}
	refused := map[string]int{}
	walked := 0
	for _, r := range a.echo.Routes() {
		isAPI, isAdmin := strings.HasPrefix(r.Path, "/api/v1/"), r.Path == "/admin" || strings.HasPrefix(r.Path, "/admin/")
		if !methods[r.Method] || (!isAPI && !isAdmin) || skip[r.Method+" "+r.Path] {
			continue
		}
		walked++
		path, targetsB := fillParams(r.Path, params)
		for _, w := range walkers {
			if w.api != isAPI {
				continue
			}
			var body any
			switch {
			case r.Method == http.MethodGet:
			case isAPI:
				body = map[string]any{"title": "hacked", "price": 1, "stock": 0, "status": "off_sale"}
			default:
				body = url.Values{"title": {"hacked"}, "price": {"0.01"}, "stock": {"0"}, "status": {"off_sale"}}
			}
			st, b := walkDo(t, w.c, r.Method, path, body)
			want403 := !allowed(w.who, r.Method, r.Path)
			switch {
			case st >= 500:
				t.Errorf("%s %s by %s: %d %.200s", r.Method, path, w.name, st, b)
			case st == http.StatusSeeOther && strings.HasPrefix(w.c.location, "/login"):
				t.Fatalf("%s %s by %s: signed out", r.Method, path, w.name)
			case want403 && st == http.StatusSeeOther && r.Path == "/admin" && w.c.location == landing[w.who.Role]:
				// a narrow role's home opens its first page
			case want403 && st != http.StatusForbidden:
				t.Errorf("%s %s by %s: %d, want 403 %.200s", r.Method, path, w.name, st, b)
			case !want403 && st == http.StatusForbidden:
				t.Errorf("%s %s by %s: 403, but the role may %.200s", r.Method, path, w.name, b)
			case targetsB && st < 300:
				t.Errorf("%s %s by %s reached B's object: %d %.200s", r.Method, path, w.name, st, b)
			}
			if st == http.StatusForbidden {
				refused[w.name]++
			}
		}
	}
	if walked < 150 {
		t.Errorf("walked only %d routes", walked)
	}
	if refused["owner key"]+refused["owner session"] > 0 {
		t.Errorf("the owner was refused %d routes", refused["owner key"]+refused["owner session"])
	}
	for _, w := range []string{"service key", "finance key", "service session", "finance session", "guide session"} {
		if refused[w] < walked/4 {
			t.Errorf("%s refused only %d routes", w, refused[w])
		}
	}
	t.Logf("%d routes walked; refused: %v", walked, refused)
}

// TestRolePolicy holds the policy table to the roles' definitions, route
// by route, independently of how the table is written: what each role may
// and may not do.
func TestRolePolicy(t *testing.T) {
	may := map[tenants.Role][]string{
		tenants.RoleManager: {"GET /api/v1/products", "POST /admin/products", "PUT /api/v1/shop", "GET /api/v1/audit",
			"POST /api/v1/orders/:id/refund", "GET /admin/guides", "POST /api/v1/images", "GET /api/v1/dashboard"},
		tenants.RoleService: {"GET /api/v1/fans", "GET /api/v1/fans/:id", "POST /api/v1/fans/:id/messages", "POST /admin/fans/:id/reply",
			"GET /api/v1/segments", "POST /api/v1/campaigns", "GET /admin/messages", "PUT /api/v1/fans/:id/tags",
			"GET /api/v1/after-sales", "POST /api/v1/after-sales/:id/approve", "GET /admin/after-sales/:id", "GET /api/v1/reviews",
			"POST /admin/reviews/:id/reply", "GET /api/v1/orders/:id", "GET /admin/account", "POST /admin/account/password"},
		tenants.RoleFinance: {"GET /api/v1/orders", "POST /api/v1/orders/:id/refund", "POST /admin/orders/:id/refund",
			"POST /api/v1/orders/:id/payments/refunded", "GET /api/v1/payments", "GET /api/v1/payments/reconciliation",
			"GET /admin/orders/reconciliation", "GET /api/v1/withdrawals", "POST /api/v1/withdrawals/:id/approve",
			"POST /admin/distribution/withdrawals/:id/pay", "GET /api/v1/commissions", "GET /admin/distribution/ledger"},
		tenants.RoleGuide: {"GET /admin/guide/me", "GET /admin/guide/me/qr.png", "GET /admin/account"},
	}
	mayNot := map[tenants.Role][]string{
		tenants.RoleManager: {"GET /api/v1/staff", "POST /admin/staff", "POST /api/v1/api-keys", "DELETE /api/v1/api-keys/:id",
			"POST /admin/account/api-keys", "POST /api/v1/account/password", "GET /api/v1/billing"},
		tenants.RoleService: {"GET /api/v1/products", "PUT /api/v1/shop", "POST /api/v1/orders/:id/refund", "GET /api/v1/payments",
			"GET /admin/orders/reconciliation", "POST /api/v1/orders/:id/ship", "GET /api/v1/audit", "POST /api/v1/fans/:id/points/adjustments",
			"PUT /api/v1/message-settings", "GET /api/v1/dashboard", "POST /api/v1/images", "GET /admin", "GET /api/v1/staff",
			"PUT /api/v1/after-sale-settings", "POST /admin/after-sales/settings"},
		tenants.RoleFinance: {"GET /api/v1/fans", "POST /api/v1/orders/:id/ship", "POST /api/v1/orders/:id/cancel", "PUT /api/v1/order-settings",
			"GET /api/v1/after-sales", "PUT /api/v1/distribution/settings", "GET /admin/distribution", "GET /api/v1/products", "GET /api/v1/audit"},
		tenants.RoleGuide: {"GET /admin/guides", "GET /admin/guides/:id/card", "GET /admin/orders", "GET /admin/fans", "GET /admin",
			"GET /api/v1/guide-report", "GET /admin/products"},
	}
	for role, routes := range may {
		for _, r := range routes {
			method, pattern, _ := strings.Cut(r, " ")
			if !allowed(tenants.Principal{Role: role}, method, pattern) {
				t.Errorf("%s may not %s", role, r)
			}
		}
	}
	for role, routes := range mayNot {
		for _, r := range routes {
			method, pattern, _ := strings.Cut(r, " ")
			if allowed(tenants.Principal{Role: role}, method, pattern) {
				t.Errorf("%s may %s", role, r)
			}
		}
	}
	for _, r := range []string{"GET /api/v1/staff", "DELETE /api/v1/products/:id", "GET /admin/anything/added/later"} {
		method, pattern, _ := strings.Cut(r, " ")
		if !allowed(tenants.Principal{Role: tenants.RoleOwner}, method, pattern) {
			t.Errorf("the owner may not %s", r)
		}
	}
}
