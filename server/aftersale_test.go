package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"microshop/shop/image/imagetest"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// afterSaleJSON is an after-sale request as the API answers it.
type afterSaleJSON struct {
	ID           string `json:"id"`
	OrderID      string `json:"order_id"`
	Status       string `json:"status"`
	Amount       int64  `json:"amount"`
	DueKind      string `json:"due_kind"`
	RefundStatus string `json:"refund_status"`
	RefundID     string `json:"refund_id"`
	Messages     []struct {
		Author string `json:"author"`
		Text   string `json:"text"`
	} `json:"messages"`
}

// shippedOrder is an order a new shopper bought and paid, shipped by the
// merchant.
func shippedOrder(t *testing.T, base string, s shop, api *client, productID string) (shopper, string) {
	t.Helper()
	buyer := newShopper(t, base, s.Slug, "")
	id := buyer.buy(t, productID, 1)
	if st := api.json(http.MethodPost, "/api/v1/orders/"+id+"/ship", map[string]string{"carrier": "SF", "tracking_no": "SF1"}, nil); st != http.StatusOK {
		t.Fatalf("ship: %d", st)
	}
	return buyer, id
}

// settleAfterSaleRefunds settles the shop's refunds at WeChat Pay's
// simulator: a refund the after-sale service asked for outside a request
// (no --base-url: no notification address) is settled by the payments
// job's query, due 30 seconds after the refund.
func settleAfterSaleRefunds(t *testing.T, a *app, tenantID string) {
	t.Helper()
	a.settleRefunds()
	a.orders.SetClock(func() time.Time { return time.Now().Add(45 * time.Second) })
	defer a.orders.SetClock(time.Now)
	if _, err := a.paymentPass(context.Background(), tenantID); err != nil {
		t.Fatal(err)
	}
}

// TestAfterSaleFlow: confirm receipt (twice), an after-sale request on the
// storefront, the merchant's API and console, the thread, bad input, and
// no other shop reaching it.
func TestAfterSaleFlow(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		s := signUp(t, srv.URL, "as-shop")
		api := s.apiClient(t, srv.URL)
		tea := api.createProduct(map[string]any{"title": "Tea", "price": 10000, "stock": 50})
		buyer, orderID := shippedOrder(t, srv.URL, s, api, tea.ID)
		base := "/s/" + s.Slug + "/api"

		// The order page offers confirm receipt and after-sale.
		if st, b := buyer.do(http.MethodGet, "/s/"+s.Slug+"/orders/"+orderID, nil, ""); st != http.StatusOK ||
			!strings.Contains(string(b), "data-confirm-receipt") || !strings.Contains(string(b), "/after-sale") {
			t.Fatalf("order page: %d", st)
		}
		var o orderJSON
		for range 2 { // a second confirmation answers the same
			if st := buyer.json(http.MethodPost, base+"/orders/"+orderID+"/confirm-receipt", nil, &o); st != http.StatusOK || o.Status != "completed" {
				t.Fatalf("confirm receipt: %d %+v", st, o)
			}
		}
		other := newShopper(t, srv.URL, s.Slug, "")
		if st := other.json(http.MethodPost, base+"/orders/"+orderID+"/confirm-receipt", nil, nil); st != http.StatusNotFound {
			t.Errorf("another shopper confirmed: %d", st)
		}

		// Bad input.
		for _, tc := range []struct {
			name string
			body string
			want int
		}{
			{"unknown type", `{"type":"gift","reason":"x","amount":1}`, 400},
			{"too much", `{"type":"refund_only","reason":"x","amount":10001}`, 400},
			{"unknown field", `{"type":"refund_only","reason":"x","amount":1,"extra":1}`, 400},
			{"not JSON", `{"type":`, 400},
			{"a line that is not there", `{"type":"refund_only","reason":"x","amount":1,"lines":[{"line":3}]}`, 400},
		} {
			if st := buyer.json(http.MethodPost, base+"/orders/"+orderID+"/after-sales", tc.body, nil); st != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, st, tc.want)
			}
		}
		if st := other.json(http.MethodPost, base+"/orders/"+orderID+"/after-sales", `{"type":"refund_only","reason":"x","amount":1}`, nil); st != http.StatusNotFound {
			t.Errorf("another shopper's request: %d", st)
		}

		var r afterSaleJSON
		if st := buyer.json(http.MethodPost, base+"/orders/"+orderID+"/after-sales",
			map[string]any{"type": "return_refund", "reason": "too big", "amount": 10000, "lines": []map[string]any{{"line": 0, "quantity": 1}}}, &r); st != http.StatusCreated ||
			r.Status != "pending" || r.ID == "" || r.DueKind != "answer" {
			t.Fatalf("create: %d %+v", st, r)
		}
		if st := buyer.json(http.MethodPost, base+"/orders/"+orderID+"/after-sales",
			map[string]any{"type": "exchange", "reason": "again"}, nil); st != http.StatusConflict {
			t.Errorf("a second open request on the line: %d", st)
		}
		if st := buyer.json(http.MethodPost, base+"/after-sales/"+r.ID+"/messages", map[string]string{"text": "它太大了"}, nil); st != http.StatusCreated {
			t.Errorf("shopper message: %d", st)
		}
		if st := other.json(http.MethodGet, base+"/after-sales/"+r.ID, nil, nil); st != http.StatusNotFound {
			t.Errorf("another shopper read the request: %d", st)
		}
		if st := buyer.json(http.MethodPost, base+"/after-sales/"+r.ID+"/escalate", nil, nil); st != http.StatusConflict {
			t.Errorf("escalated before a rejection: %d", st)
		}

		// The merchant.
		var list struct {
			Items []afterSaleJSON `json:"items"`
			Total int64           `json:"total"`
		}
		if st := api.json(http.MethodGet, "/api/v1/after-sales?status=pending", nil, &list); st != http.StatusOK || list.Total != 1 || list.Items[0].ID != r.ID {
			t.Fatalf("list: %d %+v", st, list)
		}
		if st := api.json(http.MethodGet, "/api/v1/after-sales?status=lost", nil, nil); st != http.StatusBadRequest {
			t.Errorf("unknown status: %d", st)
		}
		if st := api.json(http.MethodPost, "/api/v1/after-sales/"+r.ID+"/messages", map[string]string{"text": "Please send it back."}, nil); st != http.StatusCreated {
			t.Errorf("merchant message: %d", st)
		}
		var got afterSaleJSON
		if st := api.json(http.MethodGet, "/api/v1/after-sales/"+r.ID, nil, &got); st != http.StatusOK || len(got.Messages) != 2 ||
			got.Messages[1].Author != "merchant" {
			t.Fatalf("get: %d %+v", st, got)
		}
		if st := api.json(http.MethodPost, "/api/v1/after-sales/"+r.ID+"/reject", map[string]string{}, nil); st != http.StatusBadRequest {
			t.Errorf("reject without a reason: %d", st)
		}
		if st := api.json(http.MethodPost, "/api/v1/after-sales/"+r.ID+"/approve", nil, &got); st != http.StatusOK || got.Status != "awaiting_return" {
			t.Fatalf("approve: %d %+v", st, got)
		}
		if st := api.json(http.MethodPost, "/api/v1/after-sales/"+r.ID+"/approve", nil, nil); st != http.StatusConflict {
			t.Errorf("approve twice: %d", st)
		}
		if st := buyer.json(http.MethodPost, base+"/after-sales/"+r.ID+"/return", map[string]string{"carrier": "SF", "tracking_no": "SF9"}, &got); st != http.StatusOK || got.Status != "returned" {
			t.Fatalf("return: %d %+v", st, got)
		}
		if st := api.json(http.MethodPost, "/api/v1/after-sales/"+r.ID+"/confirm-return", nil, &got); st != http.StatusOK ||
			got.Status != "refunded" || got.RefundStatus != "sent" || got.RefundID == "" {
			t.Fatalf("confirm return: %d %+v", st, got)
		}
		settleAfterSaleRefunds(t, a, s.ID)
		if st := api.json(http.MethodGet, "/api/v1/orders/"+orderID, nil, &o); st != http.StatusOK || o.Status != "refunded" {
			t.Errorf("order after the refund: %+v", o)
		}
		// The returned unit is back on the product, once (50 - 1 bought + 1).
		if _, err := a.aftersale.RunJobs(context.Background(), s.ID); err != nil {
			t.Fatal(err)
		}
		var p productJSON
		if st := api.json(http.MethodGet, "/api/v1/products/"+tea.ID, nil, &p); st != http.StatusOK || p.Stock != 50 {
			t.Errorf("stock after the return: %d %d, want 50", st, p.Stock)
		}
		if st, b := s.consoleClient(t, srv.URL).do(http.MethodGet, "/admin/after-sales/"+r.ID, nil, ""); st != http.StatusOK ||
			!strings.Contains(string(b), "data-restocked") {
			t.Errorf("the merchant's page of the return does not say the units are back in stock: %d", st)
		}

		// Another shop reaches none of it.
		s2 := signUp(t, srv.URL, "as-other")
		api2 := s2.apiClient(t, srv.URL)
		for _, path := range []string{"/api/v1/after-sales/" + r.ID, "/api/v1/after-sales/" + r.ID + "/approve"} {
			method := http.MethodGet
			if strings.HasSuffix(path, "approve") {
				method = http.MethodPost
			}
			if st := api2.json(method, path, nil, nil); st != http.StatusNotFound {
				t.Errorf("%s %s by another shop: %d", method, path, st)
			}
		}
		var list2 struct {
			Total int64 `json:"total"`
		}
		if api2.json(http.MethodGet, "/api/v1/after-sales", nil, &list2); list2.Total != 0 {
			t.Errorf("another shop lists %d requests", list2.Total)
		}
		if st, _ := buyer.do(http.MethodGet, "/s/"+s2.Slug+"/after-sales/"+r.ID, nil, ""); st != http.StatusNotFound {
			t.Errorf("the request's page under another shop: %d", st)
		}

		// The pages.
		for _, path := range []string{"/s/" + s.Slug + "/after-sales/" + r.ID, "/s/" + s.Slug + "/orders/" + orderID + "/after-sale"} {
			if st, b := buyer.do(http.MethodGet, path, nil, ""); st != http.StatusOK {
				t.Errorf("%s: %d %.300s", path, st, b)
			}
		}
		console := s.consoleClient(t, srv.URL)
		if st, b := console.do(http.MethodGet, "/admin/after-sales", nil, ""); st != http.StatusOK || !strings.Contains(string(b), r.ID) {
			t.Errorf("console list: %d", st)
		}
		if st, _ := console.do(http.MethodGet, "/admin/after-sales/"+r.ID, nil, ""); st != http.StatusOK {
			t.Errorf("console request: %d", st)
		}
		console.fetchCSRF("/admin/after-sales")
		if st, _ := console.form("/admin/after-sales/settings", url.Values{"window_days": {"7"}, "answer_hours": {"72"}, "unshipped_hours": {"24"},
			"return_days": {"7"}, "confirm_days": {"7"}, "escalate_days": {"7"}}); st != http.StatusBadRequest {
			t.Errorf("a longer deadline saved: %d", st)
		}
		if st := api.json(http.MethodPut, "/api/v1/after-sale-settings", map[string]int{"answer_hours": 24}, nil); st != http.StatusOK {
			t.Errorf("a shorter deadline: %d", st)
		}
	})
}

// TestAfterSaleDispute: a request rejected, escalated, queued for the
// platform; a merchant's key gets nowhere on the operator API; the operator
// decides through /api/ops/v1 twice at once: one refund.
func TestAfterSaleDispute(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		ctx := context.Background()
		s := signUp(t, srv.URL, "dispute-shop")
		api := s.apiClient(t, srv.URL)
		tea := api.createProduct(map[string]any{"title": "Tea", "price": 8000, "stock": 50})
		buyer, orderID := shippedOrder(t, srv.URL, s, api, tea.ID)
		base := "/s/" + s.Slug + "/api"
		var r afterSaleJSON
		if st := buyer.json(http.MethodPost, base+"/orders/"+orderID+"/after-sales",
			map[string]any{"type": "refund_only", "reason": "never arrived", "amount": 8000}, &r); st != http.StatusCreated {
			t.Fatalf("create: %d", st)
		}
		if st := api.json(http.MethodPost, "/api/v1/after-sales/"+r.ID+"/reject", map[string]string{"reason": "it was delivered"}, &r); st != http.StatusOK || r.Status != "rejected" {
			t.Fatalf("reject: %d %+v", st, r)
		}
		if st := buyer.json(http.MethodPost, base+"/after-sales/"+r.ID+"/escalate", nil, &r); st != http.StatusOK || r.Status != "escalated" {
			t.Fatalf("escalate: %d %+v", st, r)
		}

		enginetest.AllowFullScan(t, e, "aftersale_dispute_queue", "the open dispute queue is read whole")
		merchant := newClient(t, srv.URL)
		merchant.key = s.Key
		for _, path := range []string{"/api/ops/v1/disputes", "/api/ops/v1/disputes/" + r.ID} {
			if st := merchant.json(http.MethodGet, path, nil, nil); st != http.StatusUnauthorized && st != http.StatusForbidden {
				t.Errorf("a merchant's key on %s: %d", path, st)
			}
		}
		if st := merchant.json(http.MethodPost, "/api/ops/v1/disputes/"+r.ID+"/decide", map[string]any{"outcome": "refund"}, nil); st != http.StatusUnauthorized && st != http.StatusForbidden {
			t.Errorf("a merchant's key deciding: %d", st)
		}

		op, err := a.tenants.CreateOperator(ctx, "judge@example.com")
		if err != nil {
			t.Fatal(err)
		}
		ops := newClient(t, srv.URL)
		ops.key = op.APIKey
		var queue struct {
			Items []struct {
				ID       string    `json:"id"`
				ShopSlug string    `json:"shop_slug"`
				TargetAt time.Time `json:"target_at"`
			} `json:"items"`
		}
		if st := ops.json(http.MethodGet, "/api/ops/v1/disputes?status=open", nil, &queue); st != http.StatusOK || len(queue.Items) != 1 ||
			queue.Items[0].ID != r.ID || queue.Items[0].ShopSlug != s.Slug || time.Until(queue.Items[0].TargetAt) < 47*time.Hour {
			t.Fatalf("queue: %d %+v", st, queue)
		}
		if st := ops.json(http.MethodPost, "/api/ops/v1/disputes/"+r.ID+"/decide", map[string]any{"outcome": "maybe"}, nil); st != http.StatusBadRequest {
			t.Errorf("a decision that is neither: %d", st)
		}
		if st := ops.json(http.MethodGet, "/api/ops/v1/disputes/"+engine.NewID(), nil, nil); st != http.StatusNotFound {
			t.Errorf("no such dispute: %d", st)
		}
		done := make(chan int, 2)
		for range 2 {
			go func() {
				done <- ops.json(http.MethodPost, "/api/ops/v1/disputes/"+r.ID+"/decide", map[string]any{"outcome": "refund", "note": "no proof of delivery"}, nil)
			}()
		}
		for range 2 {
			if st := <-done; st != http.StatusOK {
				t.Errorf("decide: %d", st)
			}
		}
		settleAfterSaleRefunds(t, a, s.ID)
		var o orderJSON
		api.json(http.MethodGet, "/api/v1/orders/"+orderID, nil, &o)
		var refunds struct {
			Refunds []struct {
				Amount int64  `json:"amount"`
				Reason string `json:"reason"`
			} `json:"refunds"`
		}
		api.json(http.MethodGet, "/api/v1/orders/"+orderID, nil, &refunds)
		if len(refunds.Refunds) != 1 || refunds.Refunds[0].Amount != 8000 || o.Status != "refunded" {
			t.Fatalf("refunds after two decisions: %+v (order %s)", refunds.Refunds, o.Status)
		}
		var v struct {
			Dispute struct {
				Status  string `json:"status"`
				Outcome string `json:"outcome"`
			} `json:"dispute"`
		}
		if st := ops.json(http.MethodGet, "/api/ops/v1/disputes/"+r.ID, nil, &v); st != http.StatusOK || v.Dispute.Status != "decided" || v.Dispute.Outcome != "refund" {
			t.Errorf("dispute after the decision: %d %+v", st, v)
		}
		if st := ops.json(http.MethodGet, "/api/ops/v1/disputes?status=open", nil, &queue); st != http.StatusOK || len(queue.Items) != 0 {
			t.Errorf("queue after the decision: %+v", queue)
		}
	})
}

// TestAfterSaleCommissionWaits: commission of an order with an open
// after-sale request stays pending past the after-sale window, and settles
// once the request ends.
func TestAfterSaleCommissionWaits(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		ctx := context.Background()
		s := signUp(t, srv.URL, "as-dist")
		api := s.apiClient(t, srv.URL)
		tea := api.createProduct(map[string]any{"title": "Tea", "price": 10000, "stock": 50})
		if st := api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true, "levels": []int{1000},
			"after_sale_days": 7, "min_withdrawal": 500}, nil); st != http.StatusOK {
			t.Fatalf("settings: %d", st)
		}
		alice := newShopper(t, srv.URL, s.Slug, "")
		var da distributorJSON
		if st := alice.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, &da); st != http.StatusCreated {
			t.Fatalf("join: %d", st)
		}
		carol := newShopper(t, srv.URL, s.Slug, "?d="+da.Code)
		orderID := carol.buy(t, tea.ID, 1)
		if st := api.json(http.MethodPost, "/api/v1/orders/"+orderID+"/ship", map[string]string{"carrier": "SF", "tracking_no": "SF1"}, nil); st != http.StatusOK {
			t.Fatalf("ship: %d", st)
		}
		if st := carol.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+orderID+"/confirm-receipt", nil, nil); st != http.StatusOK {
			t.Fatalf("confirm receipt: %d", st)
		}
		var r afterSaleJSON
		if st := carol.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+orderID+"/after-sales",
			map[string]any{"type": "exchange", "reason": "wrong flavour"}, &r); st != http.StatusCreated {
			t.Fatalf("create: %d", st)
		}
		a.dist.SetClock(func() time.Time { return time.Now().Add(8 * 24 * time.Hour) })
		defer a.dist.SetClock(time.Now)
		if rep, err := a.dist.RunJobs(ctx, s.ID); err != nil || rep.Settled != 0 {
			t.Fatalf("settled with the request open: %+v %v", rep, err)
		}
		var dA distributorJSON
		api.json(http.MethodGet, "/api/v1/distributors/"+da.ID, nil, &dA)
		if dA.Balance.Pending != 1000 || dA.Balance.Available != 0 {
			t.Fatalf("with the request open: %+v", dA.Balance)
		}
		if st := carol.json(http.MethodPost, "/s/"+s.Slug+"/api/after-sales/"+r.ID+"/withdraw", nil, nil); st != http.StatusOK {
			t.Fatalf("withdraw: %d", st)
		}
		if rep, err := a.dist.RunJobs(ctx, s.ID); err != nil || rep.Settled != 1 {
			t.Fatalf("settle after the request closed: %+v %v", rep, err)
		}
	})
}

// TestCommissionSettlesAfterShopWindow: the shop's after-sale window is
// the one number settlement follows. A shop that never saved after-sale
// settings starts from its old distribution after_sale_days (10); once
// the merchant sets the window to 3 days, commission settles 3 days after
// the order completed, and the distribution setting changes nothing.
func TestCommissionSettlesAfterShopWindow(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		ctx := context.Background()
		s := signUp(t, srv.URL, "as-window")
		api := s.apiClient(t, srv.URL)
		tea := api.createProduct(map[string]any{"title": "Tea", "price": 10000, "stock": 50})
		if st := api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true, "levels": []int{1000},
			"after_sale_days": 10, "min_withdrawal": 500}, nil); st != http.StatusOK {
			t.Fatalf("distribution settings: %d", st)
		}
		var w struct {
			WindowDays int `json:"window_days"`
		}
		if st := api.json(http.MethodGet, "/api/v1/after-sale-settings", nil, &w); st != http.StatusOK || w.WindowDays != 10 {
			t.Fatalf("after-sale window before the merchant set it: %d %+v, want the old 10 days", st, w)
		}
		if st := api.json(http.MethodPut, "/api/v1/after-sale-settings", map[string]any{"window_days": 3}, &w); st != http.StatusOK || w.WindowDays != 3 {
			t.Fatalf("set the window: %d %+v", st, w)
		}
		if st := api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true, "levels": []int{1000},
			"after_sale_days": 20, "min_withdrawal": 500}, nil); st != http.StatusOK {
			t.Fatalf("distribution settings: %d", st)
		}
		alice := newShopper(t, srv.URL, s.Slug, "")
		var da distributorJSON
		if st := alice.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, &da); st != http.StatusCreated {
			t.Fatalf("join: %d", st)
		}
		carol := newShopper(t, srv.URL, s.Slug, "?d="+da.Code)
		orderID := carol.buy(t, tea.ID, 1)
		if st := api.json(http.MethodPost, "/api/v1/orders/"+orderID+"/ship", map[string]string{"carrier": "SF", "tracking_no": "SF1"}, nil); st != http.StatusOK {
			t.Fatalf("ship: %d", st)
		}
		if st := carol.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+orderID+"/confirm-receipt", nil, nil); st != http.StatusOK {
			t.Fatalf("confirm receipt: %d", st)
		}
		defer a.dist.SetClock(time.Now)
		a.dist.SetClock(func() time.Time { return time.Now().Add(2 * 24 * time.Hour) })
		if rep, err := a.dist.RunJobs(ctx, s.ID); err != nil || rep.Settled != 0 {
			t.Fatalf("settled inside the 3-day window: %+v %v", rep, err)
		}
		a.dist.SetClock(func() time.Time { return time.Now().Add(3*24*time.Hour + time.Hour) })
		if rep, err := a.dist.RunJobs(ctx, s.ID); err != nil || rep.Settled != 1 {
			t.Fatalf("after the 3-day window: %+v %v", rep, err)
		}
		var d distributorJSON
		api.json(http.MethodGet, "/api/v1/distributors/"+da.ID, nil, &d)
		if d.Balance.Pending != 0 || d.Balance.Available != 1000 {
			t.Fatalf("after the window: %+v", d.Balance)
		}
	})
}

// TestAfterSalePagesInBothLanguages: the shopper's, the merchant's and the
// operator's after-sale pages speak Chinese and English, leaving no message
// id behind; the operator decides through the ops console's form.
func TestAfterSalePagesInBothLanguages(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	for _, lang := range []string{"zh-CN", "en"} {
		t.Run(lang, func(t *testing.T) {
			s := signUp(t, srv.URL, "as-lang-"+strings.ToLower(lang))
			api := s.apiClient(t, srv.URL)
			tea := api.createProduct(map[string]any{"title": "龙井", "price": 5000, "stock": 10})
			buyer, orderID := shippedOrder(t, srv.URL, s, api, tea.ID)
			u, _ := url.Parse(srv.URL)
			buyer.http.Jar.SetCookies(u, []*http.Cookie{{Name: "ms_lang", Value: lang, Path: "/"}})
			base := "/s/" + s.Slug
			var r, ret afterSaleJSON
			if st := buyer.json(http.MethodPost, base+"/api/orders/"+orderID+"/after-sales",
				map[string]any{"type": "refund_only", "reason": "碎了", "amount": 2000}, &r); st != http.StatusCreated {
				t.Fatalf("create: %d", st)
			}
			buyer.json(http.MethodPost, base+"/api/after-sales/"+r.ID+"/messages", map[string]string{"text": "请看照片"}, nil)
			if st := api.json(http.MethodPost, "/api/v1/after-sales/"+r.ID+"/reject", map[string]string{"reason": "完好"}, nil); st != http.StatusOK {
				t.Fatalf("reject: %d", st)
			}
			if st := buyer.json(http.MethodPost, base+"/api/after-sales/"+r.ID+"/escalate", nil, nil); st != http.StatusOK {
				t.Fatalf("escalate: %d", st)
			}
			other, otherOrder := shippedOrder(t, srv.URL, s, api, tea.ID)
			if st := other.json(http.MethodPost, base+"/api/orders/"+otherOrder+"/after-sales",
				map[string]any{"type": "return_refund", "reason": "太大", "amount": 5000}, &ret); st != http.StatusCreated {
				t.Fatalf("create: %d", st)
			}
			console := s.consoleClient(t, srv.URL)
			console.http.Jar.SetCookies(u, []*http.Cookie{{Name: "ms_lang", Value: lang, Path: "/"}})
			op := newOperator(t, a, "judge-"+strings.ToLower(lang)+"@example.com")
			ops := opsClient(t, srv.URL, op, "a long new password "+lang)
			ops.http.Jar.SetCookies(u, []*http.Cookie{{Name: "ms_lang", Value: lang, Path: "/"}})

			data := []string{s.Name, s.Slug, s.Email, srv.URL, "龙井", "碎了", "请看照片", "完好", "太大", r.ID, ret.ID, orderID, otherOrder,
				"SF", "SF1", op.Operator.Email}
			for _, v := range testAddress {
				data = append(data, v)
			}
			paths := map[string]*client{
				base + "/orders/" + orderID:                 buyer.client,
				base + "/orders/" + orderID + "/after-sale": buyer.client,
				base + "/after-sales/" + r.ID:               buyer.client,
				"/admin/after-sales":                        console,
				"/admin/after-sales/" + r.ID:                console,
				"/admin/after-sales/" + ret.ID:              console,
				"/ops/disputes":                             ops,
				"/ops/disputes?status=decided":              ops,
				"/ops/disputes/" + r.ID:                     ops,
			}
			if n := checkPages(t, paths, lang, data); n != len(paths) {
				t.Errorf("checked %d pages of %d", n, len(paths))
			}
			ops.fetchCSRF("/ops/disputes/" + r.ID)
			if st, b := ops.form("/ops/disputes/"+r.ID+"/decide", url.Values{"outcome": {"refund"}, "amount": {"20.00"}, "note": {"证据充分"}}); st != http.StatusSeeOther {
				t.Fatalf("decide through the console: %d %.300s", st, b)
			}
			var got afterSaleJSON
			if api.json(http.MethodGet, "/api/v1/after-sales/"+r.ID, nil, &got); got.Status != "decided" || got.RefundStatus != "sent" {
				t.Errorf("after the console's decision: %+v", got)
			}
		})
	}
}

// TestAfterSalePhotos: the request form offers photos; what its script
// does (upload each to the shop's image store, then name them in the
// request) attaches them; another shop's picture is refused.
func TestAfterSalePhotos(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "as-photos")
	other := signUp(t, srv.URL, "as-photos-b")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 10000, "stock": 50})
	buyer, orderID := shippedOrder(t, srv.URL, s, api, tea.ID)
	if st, b := buyer.do(http.MethodGet, "/s/"+s.Slug+"/orders/"+orderID+"/after-sale", nil, ""); st != http.StatusOK ||
		!strings.Contains(string(b), `type="file" name="photos"`) {
		t.Fatalf("the request form has no photo field: %d", st)
	}
	buyer.header = http.Header{"Origin": {srv.URL}}
	st, photo := buyer.uploadImage("/s/"+s.Slug+"/api/images", imagetest.JPEG(120, 80, 3))
	if st != http.StatusCreated {
		t.Fatalf("upload a photo: %d", st)
	}
	_, foreign := other.apiClient(t, srv.URL).uploadImage("/api/v1/images", imagetest.PNG(20, 20, 4))
	base := "/s/" + s.Slug + "/api/orders/" + orderID + "/after-sales"
	body := func(images ...string) map[string]any {
		return map[string]any{"type": "refund_only", "reason": "破损", "amount": 1000,
			"lines": []map[string]any{{"line": 0, "quantity": 1}}, "images": images}
	}
	if st := buyer.json(http.MethodPost, base, body(foreign.ID), nil); st != http.StatusBadRequest {
		t.Errorf("another shop's picture: %d, want 400", st)
	}
	var r struct {
		ID     string   `json:"id"`
		Images []string `json:"images"`
	}
	if st := buyer.json(http.MethodPost, base, body(photo.ID), &r); st != http.StatusCreated || len(r.Images) != 1 {
		t.Fatalf("a request with a photo: %d %+v", st, r)
	}
	if _, b := buyer.do(http.MethodGet, "/s/"+s.Slug+"/after-sales/"+r.ID, nil, ""); !strings.Contains(string(b), photo.ID) {
		t.Errorf("the request page does not show its photo")
	}
}
