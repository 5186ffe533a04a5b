package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/wechat/paysim"
)

// merchantAccount is a WeChat Pay merchant account (API v3) of a simulator
// of its own: valid credentials for forms and settings.
func merchantAccount(t testing.TB) paysim.Credentials {
	t.Helper()
	sim, err := paysim.New(paysim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := sim.NewMerchant()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type jsapiJSON struct {
	Provider       string `json:"provider"`
	SandboxConfirm bool   `json:"sandbox_confirm"`
	Status         string `json:"status"`
	JSAPI          *struct {
		AppID     string `json:"appId"`
		TimeStamp string `json:"timeStamp"`
		NonceStr  string `json:"nonceStr"`
		Package   string `json:"package"`
		SignType  string `json:"signType"`
		PaySign   string `json:"paySign"`
	} `json:"jsapi"`
}

// TestWeChatPayE2E: a sandbox server's shop pays through the WeChat Pay
// simulator on the live code path, over HTTP: JSAPI parameters whose
// paySign verifies with the merchant's public key; WeChat Pay's
// notification replayed 20 times at once pays once (one payment, one
// commission); {"sandbox_confirm":true} answers "paid"; a dropped
// notification is settled by the payments job; money for an order
// cancelled meanwhile is flagged for a refund on the console's order page;
// a tampered notification is refused.
func TestWeChatPayE2E(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		a, srv := startApp(t, e)
		s := signUp(t, srv.URL, "pay-shop")
		api := s.apiClient(t, srv.URL)
		tea := api.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 50})
		if st := api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true, "levels": []int{1000}}, nil); st != http.StatusOK {
			t.Fatalf("distribution settings: %d", st)
		}
		alice := newShopper(t, srv.URL, s.Slug, "")
		var da distributorJSON
		if st := alice.json(http.MethodPost, "/s/"+s.Slug+"/api/distributor", nil, &da); st != http.StatusCreated {
			t.Fatalf("alice joins: %d", st)
		}
		carol := newShopper(t, srv.URL, s.Slug, "?d="+da.Code)
		place := func() string {
			t.Helper()
			var o orderJSON
			if st := carol.json(http.MethodPost, "/s/"+s.Slug+"/api/orders", map[string]any{
				"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress}, &o); st != http.StatusCreated {
				t.Fatalf("place: %d", st)
			}
			return o.ID
		}
		prepay := func(id string) jsapiJSON {
			t.Helper()
			var start jsapiJSON
			if st := carol.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+id+"/pay", map[string]string{"method": "wechat"}, &start); st != http.StatusOK ||
				start.Provider != "wechat_pay" || start.JSAPI == nil || !start.SandboxConfirm {
				t.Fatalf("pay: %d %+v", st, start)
			}
			return start
		}
		orderOf := func(id string) orderJSON {
			t.Helper()
			var o orderJSON
			if st := api.json(http.MethodGet, "/api/v1/orders/"+id, nil, &o); st != http.StatusOK {
				t.Fatalf("order %s: %d", id, st)
			}
			return o
		}
		paymentsOf := func(id string) []order.Payment {
			t.Helper()
			ps, err := a.orders.OrderPayments(ctx, s.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			return ps
		}

		// JSAPI: the shop was given generated credentials; paySign is
		// RSA-SHA256 over appId, timeStamp, nonceStr and package.
		id := place()
		js := prepay(id).JSAPI
		st, err := a.orders.Settings(ctx, s.ID)
		if err != nil || !st.WeChatPay.Sandbox || !a.paysim.Enrolled(st.WeChatPay.MchID) {
			t.Fatalf("settings %+v %v", st.WeChatPay, err)
		}
		mch := st.WeChatPay.MchID
		tx, ok := a.paysim.Transaction(mch, id)
		if !ok || js.Package != "prepay_id="+tx.PrepayID || js.SignType != "RSA" || js.AppID != st.WeChatPay.AppID ||
			tx.NotifyURL != srv.URL+"/pay/notify/"+s.Slug+"/wechat" {
			t.Fatalf("jsapi %+v, simulator %+v", js, tx)
		}
		priv, err := utils.LoadPrivateKey(st.WeChatPay.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := base64.StdEncoding.DecodeString(js.PaySign)
		sum := sha256.Sum256([]byte(js.AppID + "\n" + js.TimeStamp + "\n" + js.NonceStr + "\n" + js.Package + "\n"))
		if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			t.Errorf("paySign: %v", err)
		}
		var masked struct {
			WeChatPay map[string]any `json:"wechat_pay"`
		}
		api.json(http.MethodGet, "/api/v1/order-settings", nil, &masked)
		if k, _ := masked.WeChatPay["api_v3_key"].(string); !strings.HasPrefix(k, "••••") || masked.WeChatPay["sandbox"] != true {
			t.Errorf("order settings in the API: %v", masked.WeChatPay)
		}

		// WeChat Pay pays, then its notification comes 20 times at once,
		// over HTTP.
		a.paysim.SetRule(mch, paysim.Rule{Drop: true})
		if tx, err = a.paysim.Pay(ctx, mch, id); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		codes := make([]int, 20)
		for i := range codes {
			req, err := a.paysim.NotificationRequest(ctx, mch, id, nil)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_ = resp.Body.Close()
				codes[i] = resp.StatusCode
			})
		}
		wg.Wait()
		for i, c := range codes {
			if c != http.StatusNoContent {
				t.Errorf("notification %d answered %d", i, c)
			}
		}
		if o := orderOf(id); o.Status != "paid" || o.Paid != 3900 {
			t.Errorf("after 20 notifications: %+v", o)
		}
		if ps := paymentsOf(id); len(ps) != 1 || ps[0].Provider != order.ProviderWeChat || ps[0].TransactionID != tx.TransactionID {
			t.Errorf("payments %+v", ps)
		}
		var list struct{ Items []entryJSON }
		api.json(http.MethodGet, "/api/v1/commissions?order_id="+id, nil, &list)
		if len(list.Items) != 1 || list.Items[0].Amount != 390 {
			t.Errorf("commissions %+v", list.Items)
		}

		// A tampered notification is refused.
		req, err := a.paysim.NotificationRequest(ctx, mch, id, func(tx *paysim.Transaction) { tx.Amount.Total = 1 })
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString([]byte("forged")))
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("tampered notification: %v %v", resp, err)
		}

		// {"sandbox_confirm":true}, no method: the simulator pays and
		// notifies /pay/notify/{slug}/wechat.
		a.paysim.SetRule(mch, paysim.Rule{})
		sent := a.paysim.Sent(mch)
		id2 := place()
		var done jsapiJSON
		if st := carol.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+id2+"/pay", map[string]bool{"sandbox_confirm": true}, &done); st != http.StatusOK || done.Status != "paid" {
			t.Fatalf("sandbox confirm: %d %+v", st, done)
		}
		if a.paysim.Sent(mch) != sent+1 || len(paymentsOf(id2)) != 1 || paymentsOf(id2)[0].Provider != order.ProviderWeChat {
			t.Errorf("confirm did not go through the notification: sent %d→%d, payments %+v", sent, a.paysim.Sent(mch), paymentsOf(id2))
		}
		doc := carol.page("/s/"+s.Slug+"/pay/"+place(), http.StatusOK)
		if doc.Find("[data-pay]").AttrOr("data-provider", "") != "sandbox" {
			t.Error("the sandbox pay page does not offer the sandbox confirm")
		}

		// The notification dropped: the payments job asks WeChat Pay.
		a.paysim.SetRule(mch, paysim.Rule{Drop: true})
		id3 := place()
		prepay(id3)
		if _, err := a.paysim.Pay(ctx, mch, id3); err != nil {
			t.Fatal(err)
		}
		if o := orderOf(id3); o.Status != "pending_payment" {
			t.Fatalf("paid without a notification: %s", o.Status)
		}
		a.orders.SetClock(func() time.Time { return time.Now().Add(time.Minute) })
		r, err := a.paymentPass(ctx, s.ID)
		a.orders.SetClock(time.Now)
		if rep, _ := r.(paymentReport); err != nil || rep.Settled != 1 {
			t.Errorf("payments job: %+v %v", r, err)
		}
		if o := orderOf(id3); o.Status != "paid" {
			t.Errorf("after the payments job: %s", o.Status)
		}

		// Paid while the merchant cancelled: flagged for a refund, shown
		// on the console's order page.
		a.paysim.SetRule(mch, paysim.Rule{Hold: true})
		id4 := place()
		prepay(id4)
		tx4, err := a.paysim.Pay(ctx, mch, id4)
		if err != nil {
			t.Fatal(err)
		}
		if st := api.json(http.MethodPost, "/api/v1/orders/"+id4+"/cancel", map[string]string{"reason": "out of stock"}, nil); st != http.StatusOK {
			t.Fatalf("cancel: %d", st)
		}
		a.paysim.Release(ctx, false)
		ps := paymentsOf(id4)
		if o := orderOf(id4); o.Status != "cancelled" || len(ps) != 1 || ps[0].Refund != order.PaymentToRefund || ps[0].TransactionID != tx4.TransactionID {
			t.Errorf("cancelled order %+v, payments %+v", o, ps)
		}
		console := s.consoleClient(t, srv.URL)
		if doc := console.page("/admin/orders/"+id4, http.StatusOK); doc.Find("[data-to-refund]").AttrOr("data-to-refund", "") != tx4.TransactionID {
			t.Error("the console's order page does not flag the payment for a refund")
		}
		// Cancelling closes the payment at WeChat Pay.
		id5 := place()
		prepay(id5)
		if st := api.json(http.MethodPost, "/api/v1/orders/"+id5+"/cancel", nil, nil); st != http.StatusOK {
			t.Fatalf("cancel: %d", st)
		}
		if tx, _ := a.paysim.Transaction(mch, id5); tx.TradeState != paysim.Closed {
			t.Errorf("WeChat Pay's order after cancelling: %s", tx.TradeState)
		}
	})
}

// TestWeChatPayRemoteSimulator: a sandbox server given
// MICROSHOP_WECHAT_PAY_SIM pays through the simulator in another process
// (here an HTTP server of its own): credentials generated there, the
// prepay signed and checked there, its notification back over HTTP, and
// {"sandbox_confirm":true} answers "paid".
func TestWeChatPayRemoteSimulator(t *testing.T) {
	ctx := context.Background()
	sim, err := paysim.New(paysim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	t.Setenv(paySimEnv, simSrv.URL)
	a, srv := startApp(t, sqliteEngine(t))
	if a.paysim != nil {
		t.Fatal("the server started its own simulator too")
	}
	s := signUp(t, srv.URL, "remote-pay")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 5})
	buyer := newShopper(t, srv.URL, s.Slug, "")
	var o orderJSON
	if st := buyer.json(http.MethodPost, "/s/"+s.Slug+"/api/orders", map[string]any{
		"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress}, &o); st != http.StatusCreated {
		t.Fatalf("place: %d", st)
	}
	var done jsapiJSON
	if st := buyer.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+o.ID+"/pay", map[string]bool{"sandbox_confirm": true}, &done); st != http.StatusOK || done.Status != "paid" {
		t.Fatalf("sandbox confirm: %d %+v", st, done)
	}
	st, err := a.orders.Settings(ctx, s.ID)
	if err != nil || !st.WeChatPay.Sandbox || !sim.Enrolled(st.WeChatPay.MchID) || st.WeChatPay.PublicKeyID != sim.PublicKeyID() {
		t.Fatalf("settings %+v %v", st.WeChatPay, err)
	}
	tx, ok := sim.Transaction(st.WeChatPay.MchID, o.ID)
	if !ok || tx.TradeState != paysim.Success || tx.NotifyURL != srv.URL+"/pay/notify/"+s.Slug+"/wechat" {
		t.Errorf("simulator's order %+v", tx)
	}
	if n := sim.Sent(st.WeChatPay.MchID); n != 1 {
		t.Errorf("%d notifications acknowledged over HTTP", n)
	}
	ps, err := a.orders.OrderPayments(ctx, s.ID, o.ID)
	if err != nil || len(ps) != 1 || ps[0].TransactionID != tx.TransactionID {
		t.Errorf("payments %+v %v", ps, err)
	}
}
