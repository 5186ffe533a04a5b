package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"microshop/shop/credit"
)

type creditJSON struct {
	Score   int    `json:"score"`
	Level   string `json:"level"`
	Factors map[string]struct {
		Score   float64 `json:"score"`
		Neutral bool    `json:"neutral"`
	} `json:"factors"`
	Inputs struct {
		Shipping struct{ Paid, Due, OnTime int64 } `json:"shipping"`
		Reviews  int64                             `json:"reviews"`
	} `json:"inputs"`
	PromisedHours int `json:"promised_hours"`
	Formula       struct {
		WindowDays int `json:"window_days"`
	} `json:"formula"`
}

type penaltyJSON struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Appeal *struct {
		Text     string `json:"text"`
		Decision string `json:"decision"`
	} `json:"appeal"`
}

// TestCredit: a new shop is neutral; a shipped and reviewed order moves the
// score by the published formula; the badge shows the level.
func TestCredit(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "credit-shop")
	api := s.apiClient(t, srv.URL)
	var cr creditJSON
	if st := api.json(http.MethodGet, "/api/v1/credit", nil, &cr); st != http.StatusOK || cr.Score != 80 || cr.Level != "good" ||
		cr.PromisedHours != 48 || cr.Formula.WindowDays != 90 || len(cr.Factors) != 5 {
		t.Fatalf("new shop's credit: %d %+v", st, cr)
	}
	if st := api.json(http.MethodPut, "/api/v1/credit/promise", map[string]int{"promised_hours": 72}, nil); st != http.StatusBadRequest {
		t.Fatalf("a 72-hour promise: %d", st)
	}
	if st := api.json(http.MethodPut, "/api/v1/credit/promise", map[string]int{"promised_hours": 24}, &cr); st != http.StatusOK || cr.PromisedHours != 24 {
		t.Fatalf("a 24-hour promise: %d %+v", st, cr)
	}

	tea := api.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 10})
	buyer := newShopper(t, srv.URL, s.Slug, "")
	id := receivedOrder(t, api, buyer, tea.ID)
	if st := buyer.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+id+"/reviews", map[string]any{"product_id": tea.ID, "rating": 5}, nil); st != http.StatusCreated {
		t.Fatalf("review: %d", st)
	}
	if _, err := a.creditPass(context.Background(), s.ID); err != nil {
		t.Fatal(err)
	}
	// On time 1/1 = 100 (×30), after-sale 0/1 = 100 (×20), no dispute = 100
	// (×20), answer time without data 80 (×10), 5 stars = 100 (×20):
	// (3000 + 2000 + 2000 + 800 + 2000) / 100 = 98, excellent.
	if st := api.json(http.MethodGet, "/api/v1/credit", nil, &cr); st != http.StatusOK || cr.Score != 98 || cr.Level != "excellent" ||
		cr.Inputs.Shipping.Paid != 1 || cr.Inputs.Reviews != 1 || !cr.Factors["answer_time"].Neutral {
		t.Fatalf("credit after one good order: %d %+v", st, cr)
	}
	if _, page := newClient(t, srv.URL).do(http.MethodGet, "/s/"+s.Slug+"/", nil, ""); !strings.Contains(string(page), `data-credit-level="excellent"`) {
		t.Errorf("the shop's home page has no excellent badge")
	}
	console := s.consoleClient(t, srv.URL)
	if st, page := console.do(http.MethodGet, "/admin/credit", nil, ""); st != http.StatusOK || !strings.Contains(string(page), "98") {
		t.Fatalf("console credit page: %d", st)
	}

	// A second order comes back through after-sale, answered at once.
	second := receivedOrder(t, api, buyer, tea.ID)
	var r struct{ ID string }
	if st := buyer.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+second+"/after-sales", map[string]any{"type": "return_refund",
		"reason": "too big", "amount": 3900, "lines": []map[string]any{{"line": 0, "quantity": 1}}}, &r); st != http.StatusCreated {
		t.Fatalf("after-sale request: %d", st)
	}
	if st := api.json(http.MethodPost, "/api/v1/after-sales/"+r.ID+"/approve", nil, nil); st != http.StatusOK {
		t.Fatalf("approve: %d", st)
	}
	if _, err := a.creditPass(context.Background(), s.ID); err != nil {
		t.Fatal(err)
	}
	// On time 2/2 = 100 (×30), after-sale 1/2 → 100 − 250, held at 0 (×20),
	// no dispute 100 (×20), answered within 12 h 100 (×10), 5 stars 100
	// (×20): (3000 + 0 + 2000 + 1000 + 2000) / 100 = 80, good.
	if st := api.json(http.MethodGet, "/api/v1/credit", nil, &cr); st != http.StatusOK || cr.Score != 80 || cr.Level != "good" ||
		cr.Factors["after_sale"].Score != 0 || cr.Factors["answer_time"].Neutral {
		t.Fatalf("credit after an after-sale request: %d %+v", st, cr)
	}
}

// TestPenalties: "no new orders" stops placing orders (in both languages),
// "withdrawal hold" stops withdrawals; the merchant sees and appeals; the
// operator revokes; the shop takes orders again. A merchant's key reaches
// none of the operator's calls.
func TestPenalties(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "penalty-shop")
	other := signUp(t, srv.URL, "penalty-other")
	api, otherAPI := s.apiClient(t, srv.URL), other.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 10})
	ctx := context.Background()

	stop, err := a.credit.Penalize(ctx, s.ID, credit.NoOrders, "late_shipping_severe", "test", "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.credit.Penalize(ctx, s.ID, credit.WithdrawalHold, "disputes_lost", "test", "", 30); err != nil {
		t.Fatal(err)
	}
	order := map[string]any{"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress}
	for lang, want := range map[string]string{"en": "takes no new orders", "zh-CN": "暂停接单"} {
		shopper := newShopper(t, srv.URL, s.Slug, "")
		shopper.header = http.Header{"Accept-Language": {lang}}
		var e apiError
		if st := shopper.json(http.MethodPost, "/s/"+s.Slug+"/api/orders", order, &e); st != http.StatusForbidden ||
			e.Error.Code != "orders_suspended" || !strings.Contains(e.Error.Message, want) {
			t.Errorf("placing an order under the penalty in %s: %d %+v", lang, st, e)
		}
	}
	otherTea := otherAPI.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 10})
	newShopper(t, srv.URL, other.Slug, "").buy(t, otherTea.ID, 1) // another shop is open

	// The hold: a distributor's withdrawal is refused before its balance is looked at.
	if st := api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true, "recruit": "open"}, nil); st != http.StatusOK {
		t.Fatalf("distribution settings: %d", st)
	}
	seller := newShopper(t, srv.URL, s.Slug, "")
	if st := seller.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, nil); st != http.StatusCreated && st != http.StatusAccepted {
		t.Fatalf("join: %d", st)
	}
	var e apiError
	if st := seller.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor/withdrawals", map[string]int64{"amount": 800}, &e); st != http.StatusForbidden || e.Error.Code != "withdrawals_held" {
		t.Errorf("withdrawal under a hold: %d %+v", st, e)
	}

	// The merchant sees both and appeals the first; another shop cannot.
	var list struct{ Items []penaltyJSON }
	if st := api.json(http.MethodGet, "/api/v1/penalties", nil, &list); st != http.StatusOK || len(list.Items) != 2 {
		t.Fatalf("penalties: %d %+v", st, list)
	}
	if st := otherAPI.json(http.MethodGet, "/api/v1/penalties", nil, &list); st != http.StatusOK || len(list.Items) != 0 {
		t.Fatalf("another shop's penalties: %d %+v", st, list)
	}
	if st := otherAPI.json(http.MethodPost, "/api/v1/penalties/"+stop.ID+"/appeal", map[string]string{"text": "x"}, nil); st != http.StatusNotFound {
		t.Fatalf("another shop appeals: %d", st)
	}
	var p penaltyJSON
	if st := api.json(http.MethodPost, "/api/v1/penalties/"+stop.ID+"/appeal", map[string]string{"text": "物流停运，已附证明"}, &p); st != http.StatusOK || p.Appeal == nil {
		t.Fatalf("appeal: %d %+v", st, p)
	}
	if st := api.json(http.MethodPost, "/api/v1/penalties/"+stop.ID+"/appeal", map[string]string{"text": "again"}, nil); st != http.StatusConflict {
		t.Fatalf("second appeal: %d", st)
	}

	// The merchant's key and session never reach the operator's calls.
	for _, c := range []struct{ method, path string }{{"GET", "/api/ops/v1/credit"}, {"GET", "/api/ops/v1/penalties"},
		{"POST", "/api/ops/v1/penalties/" + stop.ID + "/appeal/decide"}} {
		if st := api.json(c.method, c.path, map[string]string{"decision": "revoke"}, nil); st != http.StatusUnauthorized && st != http.StatusForbidden {
			t.Errorf("merchant key on %s %s: %d", c.method, c.path, st)
		}
	}
	if st, _ := s.consoleClient(t, srv.URL).do(http.MethodGet, "/ops/credit", nil, ""); st == http.StatusOK {
		t.Errorf("merchant session on /ops/credit: %d", st)
	}

	// The operator sees the appeal and revokes the penalty.
	op := newOperator(t, a, "credit-ops@example.com")
	ops := newClient(t, srv.URL)
	ops.key = op.APIKey
	var queue struct {
		Items []struct {
			ID       string `json:"id"`
			TenantID string `json:"tenant_id"`
		} `json:"items"`
	}
	if st := ops.json(http.MethodGet, "/api/ops/v1/penalties?status=appealed", nil, &queue); st != http.StatusOK || len(queue.Items) != 1 ||
		queue.Items[0].ID != stop.ID || queue.Items[0].TenantID != s.ID {
		t.Fatalf("appeal queue: %d %+v", st, queue)
	}
	if st := ops.json(http.MethodPost, "/api/ops/v1/penalties/"+stop.ID+"/appeal/decide", map[string]string{"decision": "revoke", "note": "属实"}, &p); st != http.StatusOK ||
		p.Status != "revoked" || p.Appeal.Decision != "revoked" {
		t.Fatalf("decide: %d %+v", st, p)
	}
	if st := ops.json(http.MethodPost, "/api/ops/v1/penalties/"+stop.ID+"/appeal/decide", map[string]string{"decision": "uphold"}, nil); st != http.StatusConflict {
		t.Fatalf("second decision: %d", st)
	}
	newShopper(t, srv.URL, s.Slug, "").buy(t, tea.ID, 1) // open again (the deciding replica dropped its cache)

	// The ops page lists every shop's credit and penalties, in both languages.
	opc := opsClient(t, srv.URL, op, "a long operator password")
	for lang, want := range map[string]string{"en": "Withdrawal hold", "zh-CN": "暂停提现"} {
		opc.header = http.Header{"Accept-Language": {lang}}
		if st, page := opc.do(http.MethodGet, "/ops/credit", nil, ""); st != http.StatusOK || !strings.Contains(string(page), want) {
			t.Errorf("ops credit page in %s: %d, want %q", lang, st, want)
		}
	}
}
