package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"microshop/shop/fan"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// shopper is a storefront visitor with their own fan cookie.
type shopper struct {
	*client
	slug string
}

func newShopper(t *testing.T, base, slug, query string) shopper {
	t.Helper()
	s := shopper{newClient(t, base), slug}
	if status, b := s.do(http.MethodGet, "/s/"+slug+"/"+query, nil, ""); status != http.StatusOK {
		t.Fatalf("visit /s/%s/%s: %d %.200s", slug, query, status, b)
	}
	return s
}

// buy places an order for qty units of product and pays it in the sandbox.
func (s shopper) buy(t *testing.T, productID string, qty int) string {
	t.Helper()
	var o orderJSON
	if st := s.json(http.MethodPost, "/s/"+s.slug+"/api/orders", map[string]any{
		"items": []map[string]any{{"product_id": productID, "qty": qty}}, "address": testAddress}, &o); st != http.StatusCreated {
		t.Fatalf("place: %d", st)
	}
	var paid orderJSON
	if st := s.json(http.MethodPost, "/s/"+s.slug+"/api/orders/"+o.ID+"/pay", map[string]bool{"sandbox_confirm": true}, &paid); st != http.StatusOK || paid.Status != "paid" {
		t.Fatalf("pay: %d %+v", st, paid)
	}
	return o.ID
}

type attributionJSON struct {
	Attribution struct {
		Channel       string   `json:"channel"`
		GuideID       string   `json:"guide_id"`
		StoreID       string   `json:"store_id"`
		DistributorID string   `json:"distributor_id"`
		Path          []string `json:"path"`
	} `json:"attribution"`
}

// TestGuideFlow: a guide's QR → a visit → an order → paid, and the guide's
// funnel counts it; the QR PNG, the CSV export, the console page and the
// printable card.
func TestGuideFlow(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		_, srv := startApp(t, e)
		s := signUp(t, srv.URL, "guide-shop")
		api := s.apiClient(t, srv.URL)
		tea := api.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 50})

		var store struct{ ID string }
		if st := api.json(http.MethodPost, "/api/v1/stores", map[string]string{"name": "West Lake", "address": "1 Hubin Rd"}, &store); st != http.StatusCreated {
			t.Fatalf("create store: %d", st)
		}
		var g struct{ ID, Code, Link, QRURL string }
		var raw map[string]any
		if st := api.json(http.MethodPost, "/api/v1/guides", map[string]string{"name": "Li Na", "phone": "13900001111", "store_id": store.ID}, &raw); st != http.StatusCreated {
			t.Fatalf("create guide: %d %v", st, raw)
		}
		g.ID, g.Code, g.Link, g.QRURL = raw["id"].(string), raw["code"].(string), raw["link"].(string), raw["qr_url"].(string)
		if !strings.HasSuffix(g.Link, "/s/guide-shop/?g="+g.Code) || g.QRURL != "/api/v1/guides/"+g.ID+"/qr.png" {
			t.Fatalf("guide answer %v", raw)
		}
		status, png := api.do(http.MethodGet, g.QRURL, nil, "")
		if status != http.StatusOK || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatalf("qr: %d %.20q", status, png)
		}

		// A shopper scans the code, comes back once more, buys twice.
		buyer := newShopper(t, srv.URL, s.Slug, "?g="+g.Code)
		buyer.do(http.MethodGet, "/s/"+s.Slug+"/p/"+tea.ID+"?g="+g.Code, nil, "")
		first := buyer.buy(t, tea.ID, 2)
		buyer.buy(t, tea.ID, 1)
		// Unknown and other codes are a plain visit.
		newShopper(t, srv.URL, s.Slug, "?g=zzzzzzzz&d=<script>&ch=x%20y")

		var o attributionJSON
		if st := api.json(http.MethodGet, "/api/v1/orders/"+first, nil, &o); st != http.StatusOK ||
			o.Attribution.GuideID != g.ID || o.Attribution.StoreID != store.ID || o.Attribution.Channel != "guide_qr" {
			t.Fatalf("order attribution: %d %+v", st, o)
		}
		var r struct {
			Rows []struct {
				Key          string  `json:"key"`
				Name         string  `json:"name"`
				Visits       int64   `json:"visits"`
				NewFans      int64   `json:"new_fans"`
				OrderingFans int64   `json:"ordering_fans"`
				Orders       int64   `json:"orders"`
				PaidGMV      int64   `json:"paid_gmv"`
				Conversion   float64 `json:"conversion"`
			} `json:"rows"`
		}
		if st := api.json(http.MethodGet, "/api/v1/guide-report?group=guide", nil, &r); st != http.StatusOK || len(r.Rows) != 1 {
			t.Fatalf("report: %d %+v", st, r)
		}
		if row := r.Rows[0]; row.Key != g.ID || row.Name != "Li Na" || row.Visits != 2 || row.NewFans != 1 || row.OrderingFans != 1 ||
			row.Orders != 2 || row.PaidGMV != 3*3900 || row.Conversion != 100 {
			t.Errorf("funnel row %+v", row)
		}
		if st := api.json(http.MethodGet, "/api/v1/guide-report?group=store&period=month", nil, &r); st != http.StatusOK || len(r.Rows) != 1 || r.Rows[0].Name != "West Lake" {
			t.Errorf("store report: %d %+v", st, r)
		}
		status, csv := api.do(http.MethodGet, "/api/v1/guide-report.csv?period=day", nil, "")
		if status != http.StatusOK || !strings.Contains(string(csv), "Li Na") || !strings.Contains(string(csv), "117.00") {
			t.Errorf("csv: %d %s", status, csv)
		}
		for _, bad := range []string{"?group=nobody", "?from=yesterday", "?from=2026-02-01&to=2026-01-01", "?guide_id=x"} {
			if st := api.json(http.MethodGet, "/api/v1/guide-report"+bad, nil, nil); st != http.StatusBadRequest {
				t.Errorf("report %s: %d", bad, st)
			}
		}

		// Console: the guides page, the printable card.
		console := s.consoleClient(t, srv.URL)
		doc := console.page("/admin/guides", http.StatusOK)
		wantIn(t, "guides page", text(doc.Find("#guide-"+g.ID)), "Li Na")
		wantIn(t, "funnel", text(doc.Find("#report table")), "¥117.00")
		card := console.page("/admin/guides/"+g.ID+"/card", http.StatusOK)
		wantIn(t, "card", text(card.Find("#card")), "Li Na")
		console.submit("/admin/guides", url.Values{"name": {""}, "store_id": {store.ID}}, http.StatusBadRequest)
	})
}

type distributorJSON struct {
	ID        string   `json:"id"`
	Code      string   `json:"code"`
	Status    string   `json:"status"`
	ParentID  string   `json:"parent_id"`
	Depth     int      `json:"depth"`
	Path      []string `json:"path"`
	TeamSize  int64    `json:"team_size"`
	TeamSales int64    `json:"team_sales"`
	Balance   struct {
		Pending, Available, Frozen, Withdrawn int64
	} `json:"balance"`
}

type entryJSON struct {
	ID          string    `json:"id"`
	Beneficiary string    `json:"beneficiary"`
	Level       int       `json:"level"`
	Type        string    `json:"type"`
	Amount      int64     `json:"amount"`
	Status      string    `json:"status"`
	AvailableAt time.Time `json:"available_at"`
}

// TestDistributorFlow: a distributor's link → a sub-distributor → an order
// → two levels of commission → completed → the after-sale window → available
// → withdrawn and paid out; the centre, the console and bad input.
func TestDistributorFlow(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		s := signUp(t, srv.URL, "dist-shop")
		api := s.apiClient(t, srv.URL)
		tea := api.createProduct(map[string]any{"title": "Tea", "price": 10000, "stock": 50})
		ctx := context.Background()

		var settings map[string]any
		if st := api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true, "levels": []int{1000, 500},
			"after_sale_days": 7, "min_withdrawal": 500}, &settings); st != http.StatusOK || settings["enabled"] != true {
			t.Fatalf("settings: %d %v", st, settings)
		}
		var e400 apiError
		if st := api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"levels": []int{6000}}, &e400); st != http.StatusBadRequest ||
			!strings.Contains(e400.Error.Message, "cap") {
			t.Errorf("rate over the cap: %d %+v", st, e400)
		}

		// A joins; B joins through A's link; C buys through B's link.
		alice := newShopper(t, srv.URL, s.Slug, "")
		var da distributorJSON
		if st := alice.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, &da); st != http.StatusCreated || da.Status != "active" || len(da.Code) != 8 {
			t.Fatalf("alice joins: %d %+v", st, da)
		}
		if st := alice.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, &da); st != http.StatusOK {
			t.Errorf("joining again: %d", st)
		}
		bob := newShopper(t, srv.URL, s.Slug, "?d="+da.Code)
		var db distributorJSON
		if st := bob.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, &db); st != http.StatusCreated {
			t.Fatalf("bob joins: %d", st)
		}
		carol := newShopper(t, srv.URL, s.Slug, "?d="+db.Code)
		orderID := carol.buy(t, tea.ID, 1)

		var o attributionJSON
		api.json(http.MethodGet, "/api/v1/orders/"+orderID, nil, &o)
		if o.Attribution.DistributorID != db.ID || strings.Join(o.Attribution.Path, ",") != db.ID+","+da.ID || o.Attribution.Channel != "share_link" {
			t.Fatalf("attribution %+v", o.Attribution)
		}
		var list struct{ Items []entryJSON }
		api.json(http.MethodGet, "/api/v1/commissions?order_id="+orderID, nil, &list)
		if len(list.Items) != 2 {
			t.Fatalf("commissions %+v", list)
		}
		for _, en := range list.Items {
			want := map[string]int64{db.ID: 1000, da.ID: 500}[en.Beneficiary]
			if en.Amount != want || en.Status != "pending" || en.Type != "earn" {
				t.Errorf("entry %+v, want %d pending", en, want)
			}
		}
		var dA distributorJSON
		api.json(http.MethodGet, "/api/v1/distributors/"+da.ID, nil, &dA)
		if dA.TeamSize != 1 || dA.Balance.Pending != 500 || dA.Depth != 1 {
			t.Errorf("alice %+v", dA)
		}
		var dB distributorJSON
		api.json(http.MethodGet, "/api/v1/distributors/"+db.ID, nil, &dB)
		if dB.ParentID != da.ID || dB.Depth != 2 || strings.Join(dB.Path, ",") != da.ID || dB.Balance.Pending != 1000 {
			t.Errorf("bob %+v", dB)
		}

		// Completed: the commission is dated completion + 7 days, and
		// becomes available only after that.
		for _, step := range []struct {
			path string
			body any
		}{{"/ship", map[string]string{"carrier": "SF", "tracking_no": "SF1"}}, {"/complete", nil}} {
			if st := api.json(http.MethodPost, "/api/v1/orders/"+orderID+step.path, step.body, nil); st != http.StatusOK {
				t.Fatalf("%s: %d", step.path, st)
			}
		}
		api.json(http.MethodGet, "/api/v1/commissions?order_id="+orderID+"&beneficiary="+db.ID, nil, &list)
		if len(list.Items) != 1 || time.Until(list.Items[0].AvailableAt) < 6*24*time.Hour {
			t.Fatalf("expected date %+v", list.Items)
		}
		if r, err := a.dist.RunJobs(ctx, s.ID); err != nil || r.Settled != 0 {
			t.Fatalf("settled inside the window: %+v %v", r, err)
		}
		a.dist.SetClock(func() time.Time { return time.Now().Add(8 * 24 * time.Hour) })
		if r, err := a.dist.RunJobs(ctx, s.ID); err != nil || r.Settled != 2 {
			t.Fatalf("settle: %+v %v", r, err)
		}
		a.dist.SetClock(time.Now)
		api.json(http.MethodGet, "/api/v1/distributors/"+db.ID, nil, &dB)
		if dB.Balance.Available != 1000 || dB.Balance.Pending != 0 || dB.TeamSales != 10000 {
			t.Fatalf("bob after settlement %+v", dB)
		}
		api.json(http.MethodGet, "/api/v1/distributors/"+da.ID, nil, &dA)
		if dA.TeamSales != 10000 {
			t.Errorf("alice's team sales %d", dA.TeamSales)
		}

		// Bob's centre, then his withdrawal: too much, then 8 yuan.
		centre := bob.page("/s/"+s.Slug+"/distributor", http.StatusOK)
		wantIn(t, "centre balance", text(centre.Find("#balance")), "¥10.00")
		wantIn(t, "centre link", text(centre.Find("#mylink")), "?d="+db.Code)
		if cc := bob.lastCacheControl("/s/" + s.Slug + "/distributor"); !strings.Contains(cc, "no-store") {
			t.Errorf("centre Cache-Control %q", cc)
		}
		if st, png := bob.do(http.MethodGet, "/s/"+s.Slug+"/distributor/qr.png", nil, ""); st != http.StatusOK || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Errorf("centre qr: %d", st)
		}
		if st := bob.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor/withdrawals", map[string]int64{"amount": 5000}, &e400); st != http.StatusConflict {
			t.Errorf("over-withdrawal: %d %+v", st, e400)
		}
		if st := bob.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor/withdrawals", map[string]int64{"amount": 100}, &e400); st != http.StatusBadRequest {
			t.Errorf("below the minimum: %d", st)
		}
		if st, _ := bob.do(http.MethodPost, "/s/"+s.Slug+"/api/distributor/withdrawals", strings.NewReader("amount=800"), "application/x-www-form-urlencoded"); st != http.StatusUnsupportedMediaType {
			t.Errorf("a form post: %d", st)
		}
		if st := carol.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor/withdrawals", map[string]int64{"amount": 800}, nil); st != http.StatusForbidden {
			t.Errorf("a customer withdraws: %d", st)
		}
		var w struct{ ID, Status string }
		if st := bob.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor/withdrawals", map[string]int64{"amount": 800}, &w); st != http.StatusCreated || w.Status != "requested" {
			t.Fatalf("withdraw: %d %+v", st, w)
		}
		if st := api.json(http.MethodPost, "/api/v1/withdrawals/"+w.ID+"/pay", nil, nil); st != http.StatusConflict {
			t.Errorf("pay before approval: %d", st)
		}
		if st := api.json(http.MethodPost, "/api/v1/withdrawals/"+w.ID+"/approve", nil, &w); st != http.StatusOK || w.Status != "approved" {
			t.Fatalf("approve: %d %+v", st, w)
		}
		if st := api.json(http.MethodPost, "/api/v1/withdrawals/"+w.ID+"/pay", map[string]string{"transfer_ref": "BANK-1"}, &w); st != http.StatusOK || w.Status != "paid" {
			t.Fatalf("pay: %d %+v", st, w)
		}
		api.json(http.MethodGet, "/api/v1/distributors/"+db.ID, nil, &dB)
		if dB.Balance.Available != 200 || dB.Balance.Withdrawn != 800 || dB.Balance.Frozen != 0 {
			t.Errorf("bob after payout %+v", dB.Balance)
		}

		// A refund after the payout takes bob negative.
		if st := api.json(http.MethodPost, "/api/v1/orders/"+orderID+"/refund", map[string]any{"amount": 10000, "reason": "returned"}, nil); st != http.StatusOK {
			t.Fatalf("refund: %d", st)
		}
		a.settleRefunds()
		api.json(http.MethodGet, "/api/v1/distributors/"+db.ID, nil, &dB)
		if dB.Balance.Available != -800 || dB.Balance.Withdrawn != 800 {
			t.Errorf("bob after the refund %+v", dB.Balance)
		}
		centre = bob.page("/s/"+s.Slug+"/distributor", http.StatusOK)
		wantIn(t, "negative balance", text(centre.Find("#balance")), "netted")

		// The console: tree, path of the order, ledger, a refused cycle.
		console := s.consoleClient(t, srv.URL)
		doc := console.page("/admin/distribution?order="+orderID, http.StatusOK)
		wantIn(t, "order path", text(doc.Find("#order-path")), "L2 "+da.Code)
		doc = console.page("/admin/distribution/distributors/"+da.ID, http.StatusOK)
		wantIn(t, "tree", text(doc.Find("table").First()), db.Code)
		console.page("/admin/distribution/ledger", http.StatusOK)
		doc = console.submit("/admin/distribution/distributors/"+da.ID+"/move", url.Values{"parent_id": {db.ID}}, http.StatusConflict)
		wantIn(t, "cycle refused", text(doc.Find(".error")), "own team")
		if st := api.json(http.MethodPost, "/api/v1/distributors/"+da.ID+"/move", map[string]string{"parent_id": db.ID}, &e400); st != http.StatusConflict {
			t.Errorf("API cycle: %d", st)
		}
		console.submit("/admin/distribution/settings", url.Values{"levels": {"10, 5"}, "cap": {"120"}, "recruit": {"open"}, "binding": {"days"},
			"binding_days": {"30"}, "protection_days": {"0"}, "after_sale_days": {"7"}, "min_withdrawal": {"5"}, "withdrawal_fee": {"0"}}, http.StatusBadRequest)

		// The customer's binding and its audit trail.
		var cust struct {
			Binding struct {
				Distributor struct{ ID string } `json:"distributor"`
			} `json:"binding"`
			History []struct{ Kind, Code string } `json:"history"`
		}
		var ord struct {
			FanID string `json:"fan_id"`
		}
		api.json(http.MethodGet, "/api/v1/orders/"+orderID, nil, &ord)
		if st := api.json(http.MethodGet, "/api/v1/customers/"+ord.FanID, nil, &cust); st != http.StatusOK || cust.Binding.Distributor.ID != db.ID ||
			len(cust.History) != 1 || cust.History[0].Code != "d:"+db.Code {
			t.Errorf("customer: %d %+v", st, cust)
		}
	})
}

// distributionObjects gives shop a store, a guide, a distributor and a
// customer bound to it, for the isolation test: the :id of routes under
// /stores, /guides, /distributors and /customers is filled with them.
func distributionObjects(t *testing.T, base string, s shop) map[string]string {
	t.Helper()
	api := s.apiClient(t, base)
	var store, g, d struct{ ID, Code string }
	api.json(http.MethodPost, "/api/v1/stores", map[string]string{"name": "B's store"}, &store)
	api.json(http.MethodPost, "/api/v1/guides", map[string]string{"name": "B's guide", "store_id": store.ID}, &g)
	api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true}, nil)
	if st := newShopper(t, base, s.Slug, "").json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, &d); st != http.StatusCreated || store.ID == "" || g.ID == "" {
		t.Fatalf("%s's distribution objects: %d %v %v %v", s.Slug, st, store, g, d)
	}
	customer := newShopper(t, base, s.Slug, "?d="+d.Code+"&g="+g.Code)
	out := map[string]string{"stores": store.ID, "guides": g.ID, "distributors": d.ID}
	u, _ := url.Parse(base + "/s/" + s.Slug + "/")
	for _, c := range customer.http.Jar.Cookies(u) {
		if c.Name == fan.Cookie {
			out["customers"], _, _ = strings.Cut(c.Value, ".")
		}
	}
	if out["customers"] == "" {
		t.Fatalf("no fan cookie for %s's customer", s.Slug)
	}
	return out
}

// TestShareInvitationOnlyWhenDistributionIsOn: the storefront's footer
// invites shoppers to share and earn only in a shop that runs
// distribution (the invitation led to a page saying it was not open); a
// page drawn once and kept (the home, a product) follows the setting too.
func TestShareInvitationOnlyWhenDistributionIsOn(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "share-footer")
	api := s.apiClient(t, srv.URL)
	p := api.createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 5})
	buyer := newClient(t, srv.URL)
	pages := []string{"/s/" + s.Slug + "/", "/s/" + s.Slug + "/p/" + p.ID, "/s/" + s.Slug + "/cart"}
	invited := func(path string) bool {
		return buyer.page(path, http.StatusOK).Find(`footer a[href="/s/`+s.Slug+`/distributor"]`).Length() == 1
	}
	for _, path := range pages {
		if invited(path) {
			t.Errorf("%s invites to share and earn while distribution is off", path)
		}
	}
	if st := api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true}, nil); st != http.StatusOK {
		t.Fatalf("turn distribution on: %d", st)
	}
	for _, path := range pages {
		if !invited(path) {
			t.Errorf("%s does not invite to share and earn once distribution is on", path)
		}
	}
}

// TestMePageWaysIn: the shopper's own page leads to their orders by status,
// the shop's group-deal votes and its messages, and to sharing to earn only
// when the shop runs distribution.
func TestMePageWaysIn(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "me-ways")
	buyer := newShopper(t, srv.URL, s.Slug, "")
	base := "/s/" + s.Slug
	doc := buyer.page(base+"/me", http.StatusOK)
	for _, href := range []string{"/orders", "/orders?status=pending_payment", "/orders?status=paid", "/orders?status=shipped",
		"/orders?status=refunded", "/vote", "/inbox"} {
		if doc.Find(`[data-me-orders] a[href="`+base+href+`"]`).Length() != 1 {
			t.Errorf("the me page has no way to %s", href)
		}
	}
	if doc.Find(`[data-me-orders] a[href="`+base+`/distributor"]`).Length() != 0 {
		t.Error("the me page invites to share and earn while distribution is off")
	}
	if st := s.apiClient(t, srv.URL).json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true}, nil); st != http.StatusOK {
		t.Fatalf("turn distribution on: %d", st)
	}
	if buyer.page(base+"/me", http.StatusOK).Find(`[data-me-orders] a[href="`+base+`/distributor"]`).Length() != 1 {
		t.Error("the me page does not invite to share and earn once distribution is on")
	}
}
