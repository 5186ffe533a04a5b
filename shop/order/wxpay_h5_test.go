package order

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/wechat/paysim"
)

// TestWeChatPayH5: a buyer outside WeChat gets an h5_url (the simulator's
// cashier page, redirect_url back to the order page); asking again gives
// the same prepay; paying at the cashier page notifies the shop and pays
// the order once, and goes back to the order page.
func TestWeChatPayH5(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newPayRig(t, e, false)
		buyer := engine.NewID() // met outside WeChat: no openid
		p := r.product("Longjing", 32800, 10)
		o := r.mustPlace(buyer, CartItemRequest{ProductID: p.ID, Qty: 1})
		req := PayRequest{Method: MethodWeChatH5, ClientIP: "203.0.113.7", NotifyURL: r.notifyURL}
		start, err := r.svc.Pay(ctx, r.sandbox, r.tenant, buyer, o.ID, req)
		if err != nil || start.H5URL == "" || start.JSAPI != nil || start.Provider != ProviderWeChat || start.SandboxConfirm {
			t.Fatalf("h5 pay: %+v %v", start, err)
		}
		tx, ok := r.sim.Transaction(r.acct.MchID, o.ID)
		if !ok || tx.TradeType != "MWEB" || tx.TradeState != paysim.NotPay || tx.Amount.Total != 32800 || tx.NotifyURL != r.notifyURL {
			t.Fatalf("simulator's order: %+v", tx)
		}
		back := "https://shop.example/s/s/orders/" + o.ID
		if !strings.HasPrefix(start.H5URL, "https://wx.tenpay.com"+paysim.CashierPath+"?prepay_id="+tx.PrepayID+"&") ||
			!strings.HasSuffix(start.H5URL, "&redirect_url="+url.QueryEscape(back)) {
			t.Errorf("h5_url %s", start.H5URL)
		}
		again, err := r.svc.Pay(ctx, r.sandbox, r.tenant, buyer, o.ID, req)
		if err != nil || again.H5URL != start.H5URL {
			t.Errorf("second h5 pay: %+v %v", again, err)
		}

		// The buyer pays at the cashier page and comes back.
		browser := &http.Client{Transport: paysim.Handler(r.sim),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := browser.Get(start.H5URL)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("cashier page: %d", resp.StatusCode)
		}
		resp, err = browser.Post(start.H5URL, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != back {
			t.Errorf("after paying: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		tx, _ = r.sim.Transaction(r.acct.MchID, o.ID)
		got := r.get(o.ID)
		if got.Status != Paid || got.Provider != ProviderWeChat || got.TransactionID != tx.TransactionID || got.Paid != 32800 {
			t.Errorf("after paying: %+v", got)
		}
		// Paying again (the buyer's second tap) changes nothing.
		if _, err := r.sim.Pay(ctx, r.acct.MchID, o.ID); err != nil {
			t.Fatal(err)
		}
		if n := r.rec.count(o.ID + "/" + EventPaid); n != 1 {
			t.Errorf("paid delivered %d times", n)
		}
		if ps := r.payments(o.ID); len(ps) != 1 || ps[0].Refund != "" {
			t.Errorf("payments %+v", ps)
		}
		if n := r.sim.Sent(r.acct.MchID); n != 2 {
			t.Errorf("%d of 2 notifications acknowledged", n)
		}
		// A paid order is not prepaid again.
		if _, err := r.svc.Pay(ctx, r.sandbox, r.tenant, buyer, o.ID, req); err == nil {
			t.Errorf("h5 pay of a paid order")
		}
		if _, err := r.svc.Pay(ctx, r.sandbox, r.tenant, buyer, o.ID, PayRequest{Method: "alipay"}); faultCode(err) != "invalid" {
			t.Errorf("unknown method: %v", err)
		}
	})
}

// TestWeChatPayH5Sandbox: a sandbox shop (generated credentials) answers
// an h5_url too, with sandbox_confirm; the confirm pays the H5 prepay once.
func TestWeChatPayH5Sandbox(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newPayRig(t, e, true)
		buyer := engine.NewID()
		p := r.product("Tea", 1200, 10)
		o := r.mustPlace(buyer, CartItemRequest{ProductID: p.ID, Qty: 1})
		start, err := r.svc.Pay(ctx, r.sandbox, r.tenant, buyer, o.ID, PayRequest{Method: MethodWeChatH5, ClientIP: "127.0.0.1", NotifyURL: r.notifyURL})
		if err != nil || start.H5URL == "" || !start.SandboxConfirm {
			t.Fatalf("h5 pay: %+v %v", start, err)
		}
		start, err = r.svc.Pay(ctx, r.sandbox, r.tenant, buyer, o.ID, PayRequest{Method: "wechat", SandboxConfirm: true, NotifyURL: r.notifyURL})
		if err != nil || start.Status != Paid {
			t.Fatalf("sandbox confirm: %+v %v", start, err)
		}
		if ps := r.payments(o.ID); len(ps) != 1 {
			t.Errorf("payments %+v", ps)
		}
	})
}
