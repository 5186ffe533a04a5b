package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"microshop/shop/fan"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/wechat/paysim"
)

// TestWeChatRefundAndTransferE2E: in a sandbox shop paying through the
// WeChat Pay v3 simulator, a refund is answered processing and shown so,
// its notification settles it (commission clawed back once); a refund the
// simulator fails changes nothing; a withdrawal paid without a reference
// is transferred to the distributor's WeChat balance and shows WeChat
// Pay's bill number to the merchant and to the distributor.
func TestWeChatRefundAndTransferE2E(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		a, srv := startApp(t, e)
		s := signUp(t, srv.URL, "refund-shop")
		api := s.apiClient(t, srv.URL)
		tea := api.createProduct(map[string]any{"title": "Tea", "price": 10000, "stock": 50})
		if st := api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true, "levels": []int{1000},
			"after_sale_days": 7, "min_withdrawal": 100}, nil); st != http.StatusOK {
			t.Fatalf("distribution settings: %d", st)
		}
		alice := newShopper(t, srv.URL, s.Slug, "")
		var da distributorJSON
		if st := alice.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, &da); st != http.StatusCreated {
			t.Fatalf("alice joins: %d", st)
		}
		carol := newShopper(t, srv.URL, s.Slug, "?d="+da.Code)
		paid := func() string {
			t.Helper()
			var o orderJSON
			if st := carol.json(http.MethodPost, "/s/"+s.Slug+"/api/orders", map[string]any{
				"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress}, &o); st != http.StatusCreated {
				t.Fatalf("place: %d", st)
			}
			var done struct {
				Status string `json:"status"`
			}
			if st := carol.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+o.ID+"/pay", map[string]bool{"sandbox_confirm": true}, &done); st != http.StatusOK || done.Status != "paid" {
				t.Fatalf("pay: %d %+v", st, done)
			}
			return o.ID
		}
		balance := func() distributorJSON {
			t.Helper()
			var d distributorJSON
			if st := api.json(http.MethodGet, "/api/v1/distributors/"+da.ID, nil, &d); st != http.StatusOK {
				t.Fatalf("alice: %d", st)
			}
			return d
		}
		type refundJSON struct {
			orderJSON
			Refund struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"refund"`
		}
		st, err := a.orders.Settings(ctx, s.ID)
		first := paid()
		if st, err = a.orders.Settings(ctx, s.ID); err != nil || !st.WeChatPay.Sandbox {
			t.Fatalf("settings %+v %v", st.WeChatPay, err)
		}
		mch := st.WeChatPay.MchID
		if b := balance(); b.Balance.Pending != 1000 {
			t.Fatalf("alice after the order %+v", b.Balance)
		}

		// Held at WeChat Pay: processing, shown so, nothing clawed back.
		a.paysim.SetRule(mch, paysim.Rule{HoldRefunds: true})
		var r refundJSON
		if code := api.json(http.MethodPost, "/api/v1/orders/"+first+"/refund", map[string]any{"amount": 4000, "reason": "broken"}, &r); code != http.StatusOK ||
			r.Refund.Status != "processing" || r.Refunded != 0 || r.Refundable != 6000 {
			t.Fatalf("refund: %d %+v", code, r)
		}
		console := s.consoleClient(t, srv.URL)
		doc := console.page("/admin/orders/"+first, http.StatusOK)
		if got := doc.Find(`tr[data-refund="`+r.Refund.ID+`"]`).AttrOr("data-refund-status", ""); got != "processing" {
			t.Errorf("console shows the refund %q", got)
		}
		if b := balance(); b.Balance.Pending != 1000 {
			t.Errorf("clawed back while processing %+v", b.Balance)
		}
		a.paysim.SettleRefunds(ctx, mch)
		var o orderJSON
		api.json(http.MethodGet, "/api/v1/orders/"+first, nil, &o)
		if o.Refunded != 4000 || o.Refundable != 6000 || a.paysim.Refunded(mch, first) != 4000 {
			t.Errorf("after the notification: %+v", o)
		}
		if b := balance(); b.Balance.Pending != 600 {
			t.Errorf("alice after the refund %+v", b.Balance)
		}

		// Failed at WeChat Pay: nothing moves.
		a.paysim.SetRule(mch, paysim.Rule{FailRefunds: true})
		if code := api.json(http.MethodPost, "/api/v1/orders/"+first+"/refund", map[string]any{"amount": 1000}, &r); code != http.StatusOK {
			t.Fatalf("refund: %d", code)
		}
		a.settleRefunds()
		api.json(http.MethodGet, "/api/v1/orders/"+first, nil, &o)
		if o.Refunded != 4000 || o.Refundable != 6000 {
			t.Errorf("after a failed refund: %+v", o)
		}
		if b := balance(); b.Balance.Pending != 600 {
			t.Errorf("alice after a failed refund %+v", b.Balance)
		}
		a.paysim.SetRule(mch, paysim.Rule{})

		// Alice's commission settles; she is a WeChat user (her openid
		// known), so her withdrawal is transferred.
		for _, step := range []struct {
			path string
			body any
		}{{"/ship", map[string]string{"carrier": "SF", "tracking_no": "SF1"}}, {"/complete", nil}} {
			if code := api.json(http.MethodPost, "/api/v1/orders/"+first+step.path, step.body, nil); code != http.StatusOK {
				t.Fatalf("%s: %d", step.path, code)
			}
		}
		a.dist.SetClock(func() time.Time { return time.Now().Add(8 * 24 * time.Hour) })
		if _, err := a.dist.RunJobs(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		a.dist.SetClock(time.Now)
		d, err := a.dist.Tree().Store().Get(ctx, s.ID, da.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fan.NewStore(e).Apply(ctx, s.ID, fan.Event{FanID: d.FanID, OpenID: "oAlice0000000000000000000000", Kind: fan.Subscribed,
			Source: "wechat", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		var w struct {
			ID             string `json:"id"`
			Status         string `json:"status"`
			TransferRef    string `json:"transfer_ref"`
			WeChatTransfer bool   `json:"wechat_transfer"`
		}
		if code := alice.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor/withdrawals", map[string]int64{"amount": 500}, &w); code != http.StatusCreated {
			t.Fatalf("withdraw: %d", code)
		}
		api.json(http.MethodPost, "/api/v1/withdrawals/"+w.ID+"/approve", nil, &w)
		if code := api.json(http.MethodPost, "/api/v1/withdrawals/"+w.ID+"/pay", nil, &w); code != http.StatusOK || w.Status != "paid" ||
			!w.WeChatTransfer || w.TransferRef == "" {
			t.Fatalf("transfer: %d %+v", code, w)
		}
		if b, ok := a.paysim.TransferOf(mch, w.ID); !ok || b.BatchID != w.TransferRef || b.SuccessAmount != 500 {
			t.Errorf("batch at WeChat Pay %+v", b)
		}
		if b := balance(); b.Balance.Available != 100 || b.Balance.Withdrawn != 500 {
			t.Errorf("alice after the transfer %+v", b.Balance)
		}
		doc = console.page("/admin/distribution/ledger?withdrawals=paid", http.StatusOK)
		wantIn(t, "bill on the console", text(doc.Find(`tr[data-withdrawal="`+w.ID+`"] [data-wechat-bill]`)), w.TransferRef)
		centre := alice.page("/s/"+s.Slug+"/distributor", http.StatusOK)
		wantIn(t, "bill in the centre", text(centre.Find("#withdraw")), w.TransferRef)
	})
}
