package main

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"

	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/i18n"
)

type orderJSON struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Payable    int64  `json:"payable"`
	Paid       int64  `json:"paid"`
	Refunded   int64  `json:"refunded"`
	Refundable int64  `json:"refundable"`
	TrackingNo string `json:"tracking_no"`
	FanID      string `json:"fan_id"`
}

func TestOrderAPI(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "order-shop")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 5})
	shopper := newClient(t, srv.URL)
	body := map[string]any{"items": []map[string]any{{"product_id": tea.ID, "qty": 2}}, "address": testAddress}

	t.Run("idempotency key replays the answer", func(t *testing.T) {
		var first, again orderJSON
		post := func(b any, out any) int {
			return shopper.jsonWithHeader(http.MethodPost, "/s/order-shop/api/orders", b, out, "Idempotency-Key", "checkout-1")
		}
		if st := post(body, &first); st != http.StatusCreated || first.Status != "pending_payment" || first.Payable != 7800 {
			t.Fatalf("first: %d %+v", st, first)
		}
		if st := post(body, &again); st != http.StatusCreated || again.ID != first.ID {
			t.Fatalf("replay: %d %+v, want the same order %s", st, again, first.ID)
		}
		other := map[string]any{"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress}
		var e apiError
		if st := post(other, &e); st != http.StatusConflict || !strings.Contains(e.Error.Message, "different request") {
			t.Errorf("same key, other body: %d %+v", st, e)
		}
		var p productJSON
		api.json(http.MethodGet, "/api/v1/products/"+tea.ID, nil, &p)
		if p.Stock != 3 {
			t.Errorf("stock %d after one order of 2 (replayed), want 3", p.Stock)
		}
	})

	t.Run("the same key sent concurrently makes one order", func(t *testing.T) {
		c := newClient(t, srv.URL)
		c.do(http.MethodGet, "/s/order-shop/", nil, "") // get the fan cookie first
		var wg sync.WaitGroup
		ids := make(chan string, 10)
		one := map[string]any{"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress}
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var o orderJSON
				if st := c.jsonWithHeader(http.MethodPost, "/s/order-shop/api/orders", one, &o, "Idempotency-Key", "double-click"); st == http.StatusCreated {
					ids <- o.ID
				}
			}()
		}
		wg.Wait()
		close(ids)
		seen := map[string]bool{}
		for id := range ids {
			seen[id] = true
		}
		if len(seen) != 1 {
			t.Errorf("%d different orders for one key", len(seen))
		}
		var p productJSON
		api.json(http.MethodGet, "/api/v1/products/"+tea.ID, nil, &p)
		if p.Stock != 2 {
			t.Errorf("stock %d, want 2", p.Stock)
		}
	})

	var o orderJSON
	if st := shopper.json(http.MethodPost, "/s/order-shop/api/orders", map[string]any{
		"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress}, &o); st != http.StatusCreated {
		t.Fatalf("place: %d", st)
	}

	t.Run("sandbox payment", func(t *testing.T) {
		var start struct {
			Provider string `json:"provider"`
			PayURL   string `json:"pay_url"`
		}
		if st := shopper.json(http.MethodPost, "/s/order-shop/api/orders/"+o.ID+"/pay", nil, &start); st != 200 ||
			start.Provider != "sandbox" || start.PayURL != "/s/order-shop/pay/"+o.ID {
			t.Fatalf("start: %d %+v", st, start)
		}
		stranger := newClient(t, srv.URL)
		if st := stranger.json(http.MethodPost, "/s/order-shop/api/orders/"+o.ID+"/pay", map[string]bool{"sandbox_confirm": true}, nil); st != http.StatusNotFound {
			t.Errorf("another shopper pays: %d", st)
		}
		var done struct {
			Status string `json:"status"`
		}
		if st := shopper.json(http.MethodPost, "/s/order-shop/api/orders/"+o.ID+"/pay", map[string]bool{"sandbox_confirm": true}, &done); st != 200 || done.Status != "paid" {
			t.Fatalf("confirm: %d %+v", st, done)
		}
		if st := shopper.json(http.MethodPost, "/s/order-shop/api/orders/"+o.ID+"/pay", map[string]bool{"sandbox_confirm": true}, &done); st != 200 || done.Status != "paid" {
			t.Errorf("confirm twice: %d %+v", st, done)
		}
		forged := `{"provider":"sandbox","tenant_id":"` + s.ID + `","order_id":"` + o.ID + `","transaction_id":"x","amount":3900,"signature":"00"}`
		if st, _ := newClient(t, srv.URL).do(http.MethodPost, "/pay/notify/order-shop/sandbox", strings.NewReader(forged), "application/json"); st != http.StatusForbidden {
			t.Errorf("forged notify: %d", st)
		}
	})

	t.Run("merchant ships, refunds; invalid transitions are 409", func(t *testing.T) {
		var got orderJSON
		if st := api.json(http.MethodPost, "/api/v1/orders/"+o.ID+"/cancel", nil, &got); st != http.StatusConflict {
			t.Errorf("cancel paid: %d", st)
		}
		if st := api.json(http.MethodPost, "/api/v1/orders/"+o.ID+"/ship", map[string]string{"carrier": "SF", "tracking_no": "SF100"}, &got); st != 200 || got.Status != "shipped" {
			t.Fatalf("ship: %d %+v", st, got)
		}
		if st := api.json(http.MethodPost, "/api/v1/orders/"+o.ID+"/refund", map[string]any{"amount": 4000}, nil); st != http.StatusConflict {
			t.Errorf("over-refund: %d", st)
		}
		// The refund goes to WeChat Pay: answered processing, its amount
		// reserved; the simulator's notification then settles it.
		var asked struct {
			orderJSON
			Refund struct {
				ID     string `json:"id"`
				Amount int64  `json:"amount"`
				Status string `json:"status"`
			} `json:"refund"`
		}
		if st := api.json(http.MethodPost, "/api/v1/orders/"+o.ID+"/refund", map[string]any{"amount": 900, "reason": "late"}, &asked); st != 200 ||
			asked.Refund.ID == "" || asked.Refund.Amount != 900 || asked.Refundable != 3000 {
			t.Errorf("refund: %d %+v", st, asked)
		}
		a.settleRefunds()
		if st := api.json(http.MethodGet, "/api/v1/orders/"+o.ID, nil, &got); st != 200 || got.Refunded != 900 || got.Refundable != 3000 {
			t.Errorf("refund settled: %d %+v", st, got)
		}
		var list struct {
			Items []orderJSON `json:"items"`
			Total int64       `json:"total"`
		}
		if st := api.json(http.MethodGet, "/api/v1/orders?status=shipped", nil, &list); st != 200 || list.Total != 1 || list.Items[0].ID != o.ID {
			t.Errorf("list shipped: %d %+v", st, list)
		}
		if st := api.json(http.MethodGet, "/api/v1/orders?fan_id="+got.FanID+"&from=2020-01-01&to=2099-12-31", nil, &list); st != 200 || list.Total != 2 {
			t.Errorf("list by fan: %d %+v", st, list)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		cases := []struct {
			name, method, path, body string
			status                   int
		}{
			{"zero qty", "POST", "/s/order-shop/api/orders", `{"items":[{"product_id":"` + tea.ID + `","qty":0}],"address":{}}`, 400},
			{"qty as string", "POST", "/s/order-shop/api/orders", `{"items":[{"product_id":"` + tea.ID + `","qty":"2"}]}`, 400},
			{"unknown product", "POST", "/s/order-shop/api/orders", `{"items":[{"product_id":"aaaaaaaaaaaaaaaa","qty":1}],"address":{"name":"a","phone":"13800000000","province":"a","city":"b","district":"c","detail":"d"}}`, 400},
			{"malformed address", "POST", "/s/order-shop/api/orders", `{"items":[{"product_id":"` + tea.ID + `","qty":1}],"address":"Beijing"}`, 400},
			{"not JSON", "POST", "/s/order-shop/api/orders", `items=1`, 400},
			{"form content type", "POST", "/s/order-shop/api/cart/items", ``, 200},
			{"other's order", "GET", "/s/order-shop/api/orders/" + o.ID, ``, 404},
			{"malformed order id", "GET", "/api/v1/orders/zzz", ``, 400},
			{"refund negative", "POST", "/api/v1/orders/" + o.ID + "/refund", `{"amount":-1}`, 400},
			{"refund float", "POST", "/api/v1/orders/" + o.ID + "/refund", `{"amount":1.5}`, 400},
			{"bad status filter", "GET", "/api/v1/orders?status=lost", ``, 400},
			{"bad date", "GET", "/api/v1/orders?from=yesterday", ``, 400},
			{"settings negative fee", "PUT", "/api/v1/order-settings", `{"shipping_fee":-1}`, 400},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := newClient(t, srv.URL)
				if strings.HasPrefix(tc.path, "/api/") {
					c = api
				}
				status, b := c.do(tc.method, tc.path, strings.NewReader(tc.body), "application/json")
				if tc.name == "form content type" {
					status, b = c.do(tc.method, tc.path, strings.NewReader("product_id=x"), "application/x-www-form-urlencoded")
					tc.status = http.StatusUnsupportedMediaType
				}
				if status != tc.status {
					t.Errorf("status %d, want %d: %s", status, tc.status, b)
				}
			})
		}
	})
}

// TestPaymentToRefund: money notified for an order cancelled meanwhile is
// answered "success" to the provider, leaves the order cancelled, and is
// shown to the merchant (API and console) until marked given back.
func TestPaymentToRefund(t *testing.T) {
	engine := sqliteEngine(t)
	_, srv := startApp(t, engine)
	s := signUp(t, srv.URL, "late-pay")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 5})
	id := placeOrder(t, srv.URL, "late-pay", tea.ID, "", 1)
	if st := api.json(http.MethodPost, "/api/v1/orders/"+id+"/cancel", map[string]string{"reason": "customer called"}, nil); st != http.StatusOK {
		t.Fatalf("cancel: %d", st)
	}

	// The provider's notification, signed as the sandbox provider signs it.
	secret, err := tenants.NewStore(engine).Secret(context.Background(), "session", func() string { return "not-the-stored-one" })
	if err != nil {
		t.Fatal(err)
	}
	body := order.NewSandbox([]byte("sandbox-pay:" + secret)).Sign(order.Notification{TenantID: s.ID, OrderID: id, TransactionID: "late-1", Amount: 3900})
	for range 2 {
		if st, out := newClient(t, srv.URL).do(http.MethodPost, "/pay/notify/late-pay/sandbox", strings.NewReader(string(body)), "application/json"); st != http.StatusOK {
			t.Fatalf("notify: %d %s", st, out)
		}
	}

	var got struct {
		orderJSON
		Payments []struct {
			Provider      string `json:"provider"`
			TransactionID string `json:"transaction_id"`
			Refund        string `json:"refund"`
			Reason        string `json:"reason"`
		} `json:"payments"`
	}
	if st := api.json(http.MethodGet, "/api/v1/orders/"+id, nil, &got); st != 200 || got.Status != "cancelled" || len(got.Payments) != 1 ||
		got.Payments[0].Refund != "to_refund" || !strings.Contains(got.Payments[0].Reason, "cancelled") {
		t.Fatalf("order: %d %+v", st, got)
	}
	var list struct {
		Items []struct {
			OrderID string `json:"order_id"`
			Amount  int64  `json:"amount"`
		} `json:"items"`
	}
	if st := api.json(http.MethodGet, "/api/v1/payments", nil, &list); st != 200 || len(list.Items) != 1 || list.Items[0].OrderID != id || list.Items[0].Amount != 3900 {
		t.Fatalf("payments to refund: %d %+v", st, list)
	}
	if st := api.json(http.MethodGet, "/api/v1/payments?refund=maybe", nil, nil); st != http.StatusBadRequest {
		t.Errorf("bad refund filter: %d", st)
	}

	console := s.consoleClient(t, srv.URL)
	st, page := console.do(http.MethodGet, "/admin/orders/"+id, nil, "")
	if st != 200 || !strings.Contains(string(page), "Money to give back") || !strings.Contains(string(page), "late-1") {
		t.Fatalf("console order page: %d, warning shown: %v", st, strings.Contains(string(page), "Money to give back"))
	}
	if st, page := console.do(http.MethodGet, "/admin/orders", nil, ""); st != 200 || !strings.Contains(string(page), "must be given back") {
		t.Errorf("console order list does not warn: %d", st)
	}

	for _, c := range []struct {
		body map[string]string
		want int
	}{
		{map[string]string{"provider": "sandbox"}, http.StatusBadRequest},
		{map[string]string{"provider": "sandbox", "transaction_id": "nope"}, http.StatusNotFound},
		{map[string]string{"provider": "sandbox", "transaction_id": "late-1"}, http.StatusOK},
		{map[string]string{"provider": "sandbox", "transaction_id": "late-1"}, http.StatusConflict},
	} {
		if st := api.json(http.MethodPost, "/api/v1/orders/"+id+"/payments/refunded", c.body, nil); st != c.want {
			t.Errorf("mark refunded %v: %d, want %d", c.body, st, c.want)
		}
	}
	if st := api.json(http.MethodGet, "/api/v1/payments", nil, &list); st != 200 || len(list.Items) != 0 {
		t.Errorf("still to refund after marking: %+v", list)
	}
}

// TestPlaceErrorInShoppersLanguage: an order refused for bad input answers
// in the shopper's language whether the checkout sent an Idempotency-Key
// or not (the checkout page always does), and a retry with the key gets
// the same words.
func TestPlaceErrorInShoppersLanguage(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "lang-order")
	p := s.apiClient(t, srv.URL).createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 5})
	buyer := newShopper(t, srv.URL, s.Slug, "")
	switchTo(t, buyer.client, "/s/"+s.Slug+"/", i18n.ZhCN)
	addr := maps.Clone(testAddress)
	addr["phone"] = "1381234"
	body := map[string]any{"items": []map[string]any{{"product_id": p.ID, "qty": 1}}, "address": addr}
	path := "/s/" + s.Slug + "/api/orders"
	var plain, keyed, replayed apiError
	st1 := buyer.json(http.MethodPost, path, body, &plain)
	st2 := buyer.jsonWithHeader(http.MethodPost, path, body, &keyed, "Idempotency-Key", "lang-key")
	st3 := buyer.jsonWithHeader(http.MethodPost, path, body, &replayed, "Idempotency-Key", "lang-key")
	if st1 != http.StatusBadRequest || st2 != st1 || st3 != st1 {
		t.Fatalf("statuses %d %d %d, want 400 each", st1, st2, st3)
	}
	if !strings.Contains(plain.Error.Message, "不是有效的电话号码") || keyed.Error != plain.Error || replayed.Error != keyed.Error {
		t.Errorf("answers:\n without a key %+v\n with a key    %+v\n replayed      %+v\nwant the same, in Chinese", plain.Error, keyed.Error, replayed.Error)
	}
}
