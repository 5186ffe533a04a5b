package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"microshop/apidoc"
	"microshop/distribution"
	"microshop/distribution/guide"
	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/shop/catalog"
	"microshop/shop/fan"
	"microshop/shop/message"
	"microshop/shop/order"
	"microshop/shop/pcstore"
	"microshop/shop/points"
	"microshop/tenants"
	"microshop/tenants/wechat"
)

// TestOpenAPICoversEveryRoute holds the API document (apidoc/openapi.yaml)
// to the router both ways: every route Echo has registered under /api/v1
// is in the document with the same path parameters, and every operation
// the document names is a registered route. Routes added later fail here
// until they are described.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	doc := openAPIDocument(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	methods := map[string]bool{http.MethodGet: true, http.MethodPost: true, http.MethodPut: true,
		http.MethodPatch: true, http.MethodDelete: true}
	registered := map[string]bool{}
	for _, r := range a.echo.Routes() {
		if !methods[r.Method] || !strings.HasPrefix(r.Path, "/api/v1/") {
			continue // Echo's own not-found routes, pages
		}
		key := r.Method + " " + openAPIPath(r.Path)
		registered[key] = true
		if !documented[key] {
			t.Errorf("%s is a route but not in apidoc/openapi.yaml", key)
		}
	}
	var extra []string
	for key := range documented {
		if !registered[key] {
			extra = append(extra, key)
		}
	}
	sort.Strings(extra)
	for _, key := range extra {
		t.Errorf("apidoc/openapi.yaml names %s, which no route serves", key)
	}
	if len(registered) < 90 {
		t.Errorf("%d /api/v1 routes: is the route list right?", len(registered))
	}
	t.Logf("%d /api/v1 routes registered, %d operations documented", len(registered), len(documented))

	// The document is public, and is the embedded one; so is its page.
	anon := newClient(t, srv.URL)
	status, body := anon.do(http.MethodGet, "/api/v1/openapi.json", nil, "")
	var served struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &served); status != http.StatusOK || err != nil ||
		!strings.HasPrefix(anon.contentType, "application/json") {
		t.Fatalf("GET /api/v1/openapi.json without a key: %d %s %v", status, anon.contentType, err)
	}
	if served.OpenAPI != "3.1.0" || len(served.Paths) != doc.Paths.Len() {
		t.Errorf("served openapi %q with %d paths, want 3.1.0 with %d", served.OpenAPI, len(served.Paths), doc.Paths.Len())
	}
	// The document says which calls need the API key: without one, those
	// answer 401, the others do not.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			public := op.Security != nil && len(*op.Security) == 0
			target := strings.NewReplacer("{id}", "aaaaaaaaaaaaaaaa").Replace(path)
			var st int
			if method == http.MethodGet {
				st, _ = anon.do(method, target, nil, "")
			} else {
				st, _ = anon.do(method, target, strings.NewReader("{}"), "application/json")
			}
			if public == (st == http.StatusUnauthorized) {
				t.Errorf("%s %s without a key: %d, but the document says public=%v", method, path, st, public)
			}
		}
	}

	status, body = anon.do(http.MethodGet, apidoc.PagePath, nil, "")
	if status != http.StatusOK || !strings.Contains(string(body), `id="op-listProducts"`) {
		t.Errorf("GET %s: %d %.200s", apidoc.PagePath, status, body)
	}
}

// openAPIPath is an Echo route's path as the document writes it: /:id is
// /{id}.
func openAPIPath(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// --- Every answer of /api/v1 checked against the document ---------------
//
// client.do (client_test.go) hands every /api/v1 request and its answer to
// checkOpenAPI: the answer must be one the document gives the route for its
// status (a status the document does not list for the route fails), with a
// body matching the document's schema for it (openapi3filter).

var (
	loadOpenAPIOnce sync.Once
	openAPIDoc      *openapi3.T
	openAPIErr      error
)

// openAPIDocument is the embedded document, loaded and validated once.
func openAPIDocument(t testing.TB) *openapi3.T {
	t.Helper()
	loadOpenAPIOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("image/png", openapi3filter.FileBodyDecoder)
		openAPIDoc, openAPIErr = apidoc.Load()
		if openAPIErr == nil {
			openAPIErr = openAPIDoc.Validate(context.Background())
		}
	})
	if openAPIErr != nil {
		t.Fatalf("the API document: %v", openAPIErr)
	}
	return openAPIDoc
}

// openAPIRoute finds the document's operation for a request's method and
// escaped path, and the path's parameters; a literal segment wins over a
// parameter (/segments/count over /segments/{id}).
func openAPIRoute(doc *openapi3.T, method, path string) (*routers.Route, map[string]string) {
	segs := strings.Split(path, "/")
	var best *routers.Route
	var bestParams map[string]string
	for tmpl, item := range doc.Paths.Map() {
		op := item.GetOperation(method)
		if op == nil {
			continue
		}
		parts := strings.Split(tmpl, "/")
		if len(parts) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, p := range parts {
			if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
				if segs[i] == "" {
					ok = false
					break
				}
				v, err := url.PathUnescape(segs[i])
				if err != nil {
					v = segs[i]
				}
				params[p[1:len(p)-1]] = v
			} else if p != segs[i] {
				ok = false
				break
			}
		}
		if ok && (best == nil || len(params) < len(bestParams)) {
			best = &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: method, Operation: op}
			bestParams = params
		}
	}
	return best, bestParams
}

// checkOpenAPI fails the test when an /api/v1 answer is not one the
// document describes for its route and status.
func checkOpenAPI(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/v1/") || req.Method == http.MethodHead {
		return
	}
	doc := openAPIDocument(t)
	route, params := openAPIRoute(doc, req.Method, req.URL.EscapedPath())
	if route == nil {
		// No route serves it: the router's own 404 or 405, with the shared
		// error body. A path with dot segments (which clients remove, RFC
		// 3986) may reach a route the document's templates do not match:
		// any error, with the shared body.
		dots := strings.Contains(req.URL.Path+"/", "/../") || strings.Contains(req.URL.Path+"/", "/./")
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed && !(dots && status >= 400 && status < 500) {
			t.Errorf("%s %s answered %d but is not in the API document", req.Method, req.URL.Path, status)
			return
		}
		schema := doc.Components.Schemas["Error"].Value
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("%s %s: %d %.200s: not the error body: %v", req.Method, req.URL.Path, status, body, err)
		} else if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("%s %s: %d %.200s: not the error body: %v", req.Method, req.URL.Path, status, body, err)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "\nSchema:"); i > 0 {
			msg = msg[:i] // the reason, without the schema it quotes
		}
		t.Errorf("%s %s: answer %d does not match apidoc/openapi.yaml (%s %s): %s\nbody: %.400s",
			req.Method, req.URL.RequestURI(), status, route.Method, route.Path, msg, body)
	}
}

// TestOpenAPIAnswersEveryRoute calls, with valid input, the routes the
// other server tests reach only with errors, so that each of their
// successful answers is checked against the document too (client.do's
// check). With the rest of the package's tests, every /api/v1 operation
// has a successful answer checked.
func TestOpenAPIAnswersEveryRoute(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "openapi-shop")
	api := s.apiClient(t, srv.URL)
	objs := distributionObjects(t, srv.URL, s) // a store, a guide, a distributor and their customer
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 5})
	// A customer of the guide and the distributor, who ordered and checked in.
	var g, d struct{ Code string }
	api.json(http.MethodGet, "/api/v1/guides/"+objs["guides"], nil, &g)
	api.json(http.MethodGet, "/api/v1/distributors/"+objs["distributors"], nil, &d)
	buyer := newShopper(t, srv.URL, s.Slug, "?d="+d.Code+"&g="+g.Code)
	orderID := buyer.buy(t, tea.ID, 1)
	buyer.json(http.MethodPost, "/s/"+s.Slug+"/api/checkin", nil, nil)
	u, _ := url.Parse(srv.URL + "/s/" + s.Slug + "/")
	for _, c := range buyer.http.Jar.Cookies(u) {
		if c.Name == fan.Cookie {
			objs["customers"], _, _ = strings.Cut(c.Value, ".")
		}
	}
	var other struct{ ID string }
	api.json(http.MethodPost, "/api/v1/guides", map[string]string{"name": "Second guide", "store_id": objs["stores"]}, &other)
	var second struct{ ID string }
	if st := newShopper(t, srv.URL, s.Slug, "").json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, &second); st != http.StatusCreated {
		t.Fatalf("a second distributor: %d", st)
	}
	msgs := messagingObjects(t, srv.URL, s, objs["customers"])
	var settings map[string]any
	api.json(http.MethodGet, "/api/v1/message-settings", nil, &settings)
	tsv, err := os.ReadFile("../shop/pcstore/testdata/feed.tsv")
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/api/v1/stores/" + objs["stores"], nil, 200},
		{"PATCH", "/api/v1/stores/" + objs["stores"], map[string]any{"name": "Lakeside", "active": true}, 200},
		{"GET", "/api/v1/guides/" + objs["guides"], nil, 200},
		{"PATCH", "/api/v1/guides/" + objs["guides"], map[string]any{"name": "Guide Wang", "store_id": objs["stores"], "active": true}, 200},
		{"POST", "/api/v1/guides/" + objs["guides"] + "/handover", map[string]string{"to_guide_id": other.ID}, 200},
		{"GET", "/api/v1/distributors/" + objs["distributors"] + "/children", nil, 200},
		{"POST", "/api/v1/distributors/" + second.ID + "/move", map[string]string{"parent_id": objs["distributors"]}, 200},
		{"GET", "/api/v1/distribution/orders/" + orderID, nil, 200},
		{"PUT", "/api/v1/customers/" + objs["customers"] + "/binding", map[string]string{"slot": "guide", "id": other.ID}, 200},
		{"PUT", "/api/v1/fans/" + objs["customers"] + "/tags", map[string][]string{"tags": {"vip"}}, 200},
		{"GET", "/api/v1/fans/" + objs["customers"] + "/audience", nil, 200},
		{"GET", "/api/v1/fans/" + objs["customers"] + "/inbox", nil, 200},
		{"POST", "/api/v1/fans/" + objs["customers"] + "/points/rebuild", nil, 200},
		{"POST", "/api/v1/segments/count", map[string]any{"tags": []string{"vip"}}, 200},
		{"GET", "/api/v1/segments/" + msgs["segments"], nil, 200},
		{"DELETE", "/api/v1/segments/" + msgs["segments"], nil, 204},
		{"GET", "/api/v1/campaigns/" + msgs["campaigns"] + "/deliveries", nil, 200},
		{"POST", "/api/v1/campaigns/" + msgs["campaigns"] + "/cancel", nil, 200},
		{"PUT", "/api/v1/message-settings", settings, 200},
	} {
		if st := api.json(c.method, c.path, c.body, nil); st != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, st, c.want)
		}
	}
	// A withdrawal: a distributor's commission on a completed order,
	// settled past the after-sale days, withdrawn, then read and rejected.
	seller := newShopper(t, srv.URL, s.Slug, "")
	var sd struct{ ID, Code string }
	if st := seller.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, &sd); st != http.StatusCreated {
		t.Fatalf("join: %d", st)
	}
	pot := api.createProduct(map[string]any{"title": "Teapot", "price": 10000, "stock": 5})
	sold := newShopper(t, srv.URL, s.Slug, "?d="+sd.Code).buy(t, pot.ID, 1)
	api.json(http.MethodPost, "/api/v1/orders/"+sold+"/ship", map[string]string{"carrier": "SF", "tracking_no": "SF1"}, nil)
	api.json(http.MethodPost, "/api/v1/orders/"+sold+"/complete", nil, nil)
	a.dist.SetClock(func() time.Time { return time.Now().Add(8 * 24 * time.Hour) })
	_, err = a.dist.RunJobs(context.Background(), s.ID)
	a.dist.SetClock(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var w struct{ ID string }
	if st := seller.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor/withdrawals", map[string]int64{"amount": 800}, &w); st != http.StatusCreated {
		t.Fatalf("withdraw: %d", st)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/api/v1/withdrawals/" + w.ID}, {"POST", "/api/v1/withdrawals/" + w.ID + "/reject"}} {
		if st := api.json(c.method, c.path, nil, nil); st != http.StatusOK {
			t.Errorf("%s %s: %d", c.method, c.path, st)
		}
	}

	// A distributor's application, approved and rejected (the settings ask
	// for approval).
	api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true, "recruit": "approval"}, nil)
	for _, decision := range []string{"approve", "reject"} {
		var d struct{ ID string }
		if st := newShopper(t, srv.URL, s.Slug, "").json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, &d); st != http.StatusCreated && st != http.StatusAccepted {
			t.Fatalf("apply: %d", st)
		}
		if st := api.json(http.MethodPost, "/api/v1/distributors/"+d.ID+"/"+decision, nil, nil); st != http.StatusOK {
			t.Errorf("%s an application: %d", decision, st)
		}
	}
	// The PC store: an uploaded feed, then unlinked.
	if st, b := api.do(http.MethodPost, "/api/v1/pcstore/feed?name=catalog.tsv", bytes.NewReader(tsv), "text/tab-separated-values"); st != http.StatusOK {
		t.Fatalf("upload a feed: %d %.300s", st, b)
	}
	if st, _ := api.do(http.MethodDelete, "/api/v1/pcstore/link", nil, ""); st != http.StatusNoContent {
		t.Errorf("unlink: %d", st)
	}
}

// recordingTB is a testing.TB that keeps the errors reported to it.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestOpenAPICheckCatchesMismatch: the check client.do runs fails on an
// answer the document does not describe (a wrong type, a missing field, a
// status the route does not list, a route it does not name) and passes the
// one it does.
func TestOpenAPICheckCatchesMismatch(t *testing.T) {
	product := `{"id":"aaaaaaaaaaaaaaaa","title":"Tea","description":"","price":3900,"original_price":0,"code":"","stock":1,` +
		`"images":[],"category":"","status":"on_sale","skus":[],"rev":1,"created_at":"2026-12-05T08:00:00Z","updated_at":"2026-12-05T08:00:00Z"}`
	for _, c := range []struct {
		name, method, path string
		status             int
		body               string
		ok                 bool
	}{
		{"a product", "GET", "/api/v1/products/aaaaaaaaaaaaaaaa", 200, product, true},
		{"an error", "GET", "/api/v1/products/aaaaaaaaaaaaaaaa", 404, `{"error":{"code":"not_found","message":"product not found"}}`, true},
		{"price as a string", "GET", "/api/v1/products/aaaaaaaaaaaaaaaa", 200, strings.Replace(product, `3900`, `"39.00"`, 1), false},
		{"no title", "GET", "/api/v1/products/aaaaaaaaaaaaaaaa", 200, strings.Replace(product, `"title":"Tea",`, ``, 1), false},
		{"a status not listed", "GET", "/api/v1/products/aaaaaaaaaaaaaaaa", 409, `{"error":{"code":"conflict","message":"x"}}`, false},
		{"an error without its code", "GET", "/api/v1/products/aaaaaaaaaaaaaaaa", 404, `{"error":{"message":"x"}}`, false},
		{"a route not in the document", "GET", "/api/v1/no-such-route", 200, `{}`, false},
		{"the router's 404", "GET", "/api/v1/no-such-route", 404, `{"error":{"code":"not_found","message":"Not Found"}}`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, "http://example.com"+c.path, nil)
			rec := &recordingTB{TB: t}
			header := http.Header{"Content-Type": {"application/json; charset=UTF-8"}}
			checkOpenAPI(rec, req, c.status, header, []byte(c.body))
			if ok := len(rec.errors) == 0; ok != c.ok {
				t.Errorf("passed %v, want %v: %q", ok, c.ok, rec.errors)
			}
		})
	}
}

// openAPITypes are the Go types the document's named schemas describe:
// what handlers answer and decode. TestOpenAPISchemasMatchGoTypes follows
// them into the schemas they refer to.
var openAPITypes = map[string]any{
	"Reconciliation": order.Reconciliation{}, "ReconItem": order.ReconItem{},
	"Product": catalog.Product{}, "ProductInput": catalog.Input{}, "ProductList": catalog.ProductList{},
	"Order": order.Order{}, "MerchantOrder": order.MerchantOrder{}, "OrderList": order.OrderList{},
	"Payment": order.Payment{}, "PaymentList": order.PaymentList{}, "PaymentRef": order.PaymentRef{},
	"RefundRequest": order.RefundRequest{}, "OrderSettings": order.Settings{},
	"LinkView": pcstore.LinkView{}, "Preview": pcstore.Preview{}, "LinkAnswer": pcstore.LinkAnswer{},
	"LinkInput": pcstore.LinkInput{}, "RunView": pcstore.RunView{}, "RunList": pcstore.RunList{}, "Widget": pcstore.Widget{},
	"Rules": points.Rules{}, "PointsStats": points.Stats{}, "LedgerPage": points.LedgerPage{},
	"AdjustRequest": points.AdjustRequest{}, "PointsEntry": points.Entry{}, "PointsAccount": points.Account{},
	"Fan": fan.Fan{}, "FanList": fan.List{}, "FanDetail": fan.Detail{}, "FanMessage": fan.Message{},
	"Segment": message.Segment{}, "SegmentRequest": message.SegmentRequest{}, "Rule": message.Rule{},
	"Campaign": message.Campaign{}, "CampaignRequest": message.CampaignRequest{}, "Delivery": message.Delivery{},
	"MessageSettings": message.Settings{}, "Profile": message.Profile{}, "InboxItem": message.InboxItem{},
	"Location": guide.Location{}, "LocationInput": guide.LocationInput{}, "GuideInput": guide.GuideInput{},
	"GuideJSON": distribution.GuideJSON{}, "HandoverReport": distribution.HandoverReport{}, "Funnel": distribution.Report{},
	"DistributionSettingsAnswer": distribution.SettingsJSON{}, "DistributionSettings": distribution.Settings{},
	"OrderPath": distribution.OrderPath{}, "RebuildReport": tree.RebuildReport{}, "TreeView": tree.View{},
	"DistributorJSON": distribution.DistributorJSON{}, "LedgerEntry": ledger.Entry{},
	"Withdrawal": distribution.Withdrawal{}, "Customer": distribution.Customer{},
	"ShopSettings": tenants.ShopSettings{}, "SignUp": tenants.SignUp{}, "PasswordChange": tenants.PasswordChange{},
	"WeChatView": wechat.View{}, "WeChatInput": wechat.Input{}, "QRView": wechat.QRView{},
	"StaffMember": tenants.StaffJSON{}, "StaffInput": tenants.StaffInput{}, "RoleChange": tenants.RoleChange{},
	"StaffInvitation": tenants.StaffInvitationJSON{}, "AuditEntry": tenants.AuditEntry{}, "AuditPage": tenants.AuditPage{},
}

// TestOpenAPISchemasMatchGoTypes: each named schema has exactly the JSON
// fields of the Go type it describes, and so do the schemas its fields
// refer to. A field added to an answer and not to apidoc/openapi.yaml
// fails here (the answer checks would let it pass: objects may carry
// more than the document says).
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	doc := openAPIDocument(t)
	checked := map[string]bool{}
	var check func(name string, typ reflect.Type)
	check = func(name string, typ reflect.Type) {
		if checked[name] {
			return
		}
		checked[name] = true
		ref, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s in apidoc/openapi.yaml (Go %s)", name, typ)
			return
		}
		props := ref.Value.Properties
		fields := map[string]reflect.Type{}
		jsonFields(typ, fields)
		for field, ft := range fields {
			prop, ok := props[field]
			if !ok {
				t.Errorf("schema %s has no %q, a field of Go %s", name, field, typ)
				continue
			}
			if sub := schemaRef(prop); sub != "" {
				for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map {
					ft = ft.Elem()
				}
				check(sub, ft)
			}
		}
		for field := range props {
			if _, ok := fields[field]; !ok {
				t.Errorf("schema %s has %q, which Go %s does not", name, field, typ)
			}
		}
	}
	for name, v := range openAPITypes {
		check(name, reflect.TypeOf(v))
	}
	t.Logf("%d schemas checked against their Go types", len(checked))
}

// jsonFields adds the JSON fields of struct type typ to fields, as
// encoding/json names them (embedded structs flattened).
func jsonFields(typ reflect.Type, fields map[string]reflect.Type) {
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			jsonFields(ft, fields)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
}

// schemaRef is the named schema a property refers to (itself, its items,
// its map values or one of its alternatives); "" for none.
func schemaRef(p *openapi3.SchemaRef) string {
	name := func(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }
	switch {
	case p.Ref != "":
		return name(p.Ref)
	case p.Value.Items != nil && p.Value.Items.Ref != "":
		return name(p.Value.Items.Ref)
	case p.Value.AdditionalProperties.Schema != nil && p.Value.AdditionalProperties.Schema.Ref != "":
		return name(p.Value.AdditionalProperties.Schema.Ref)
	}
	for _, alt := range p.Value.OneOf {
		if alt.Ref != "" {
			return name(alt.Ref)
		}
	}
	return ""
}
