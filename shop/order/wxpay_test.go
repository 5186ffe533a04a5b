package order

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/wechat/paysim"
)

// testAccounts are merchant accounts of one simulator kept for tests that
// need valid credentials but never call WeChat Pay (testmode_test.go).
var testAccounts = sync.OnceValue(func() WeChatPaySettings {
	sim, err := paysim.New(paysim.Options{})
	if err != nil {
		panic(err)
	}
	c, err := sim.NewMerchant()
	if err != nil {
		panic(err)
	}
	return account(c)
})

// account is a merchant's own account (not generated) from credentials.
func account(c paysim.Credentials) WeChatPaySettings {
	return WeChatPaySettings{AppID: "wx0123456789abcdef", MchID: c.MchID, APIv3Key: c.APIv3Key, CertSerial: c.CertSerial,
		PrivateKey: strings.TrimSpace(c.PrivateKeyPEM), PublicKeyID: c.PublicKeyID, PublicKey: strings.TrimSpace(c.PublicKeyPEM)}
}

// payRig is a shop paying through a WeChat Pay simulator served on a local
// HTTP server, the SDK pointed at it; the simulator's notifications reach
// the shop's notify route (/pay/notify/s/wechat) through its handlers.
type payRig struct {
	*fixture
	sim       *paysim.Simulator
	acct      WeChatPaySettings // the shop's account (Sandbox when generated)
	buyer     string            // a fan met in WeChat
	openID    string
	notifyURL string
}

// newPayRig returns a shop with its own merchant account at the
// simulator, or with generated is true a sandbox-mode service that
// generates one on the shop's first payment.
func newPayRig(t *testing.T, e *engine.Engine, generated bool) *payRig {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t, e)
	sim, err := paysim.New(paysim.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Wait)
	ec := echo.New()
	ec.HTTPErrorHandler = fault.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	shop := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tenants.WithTenant(c, tenants.Tenant{ID: f.tenant, Slug: "s", TimeZone: "Asia/Shanghai"})
			return next(c)
		}
	}
	NewHandlers(f.svc, f.sandbox, "", tenants.Counters{}).NotifyRoutes(ec.Group("/pay/notify/:slug", shop))
	sim.SetNotifier(paysim.Handler(ec))
	r := &payRig{fixture: f, sim: sim, openID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", notifyURL: "https://shop.example/pay/notify/s/wechat"}
	if generated {
		f.svc.SetWeChatPay(NewWeChatPay(paysim.RewriteClient(srv.URL), sim))
	} else {
		c, err := sim.NewMerchant()
		if err != nil {
			t.Fatal(err)
		}
		r.acct = account(c)
		st := DefaultSettings()
		st.WeChatPay = r.acct
		if err := f.svc.SaveSettings(ctx, f.tenant, st); err != nil {
			t.Fatal(err)
		}
		f.svc.SetWeChatPay(NewWeChatPay(paysim.RewriteClient(srv.URL), nil))
	}
	r.buyer = fan.IDForOpenID(f.tenant, r.openID)
	if _, err := fan.NewStore(e).Apply(ctx, f.tenant, fan.Event{FanID: r.buyer, OpenID: r.openID, Kind: fan.Subscribed,
		Source: "wechat", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return r
}

// prepay places an order for the buyer and starts paying it with WeChat
// Pay, returning the order and the JSAPI parameters.
func (r *payRig) prepay(price int64) (Order, WeChatPayStart) {
	r.t.Helper()
	p := r.product("Longjing", price, 100)
	o := r.mustPlace(r.buyer, CartItemRequest{ProductID: p.ID, Qty: 1})
	start, err := r.svc.Pay(context.Background(), r.sandbox, r.tenant, r.buyer, o.ID, PayRequest{Method: "wechat", NotifyURL: r.notifyURL})
	if err != nil || start.JSAPI == nil {
		r.t.Fatalf("pay: %+v %v", start, err)
	}
	if !r.acct.Enabled() { // generated on the first payment
		st, err := r.svc.Settings(context.Background(), r.tenant)
		if err != nil {
			r.t.Fatal(err)
		}
		r.acct = st.WeChatPay
	}
	return o, *start.JSAPI
}

// payments lists the order's payments.
func (r *payRig) payments(id string) []Payment {
	r.t.Helper()
	ps, err := r.svc.OrderPayments(context.Background(), r.tenant, id)
	if err != nil {
		r.t.Fatal(err)
	}
	return ps
}

// notify sends req (a notification) to the shop's notify route and returns
// the answer's status.
func (r *payRig) notify(req *http.Request) int {
	r.t.Helper()
	resp, err := paysim.Handler(r.notifyMux()).RoundTrip(req)
	if err != nil {
		r.t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// notifyMux is the shop's notify route alone.
func (r *payRig) notifyMux() http.Handler {
	ec := echo.New()
	ec.HTTPErrorHandler = fault.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	shop := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tenants.WithTenant(c, tenants.Tenant{ID: r.tenant, Slug: "s", TimeZone: "Asia/Shanghai"})
			return next(c)
		}
	}
	NewHandlers(r.svc, r.sandbox, "", tenants.Counters{}).NotifyRoutes(ec.Group("/pay/notify/:slug", shop))
	return ec
}

// TestWeChatPayJSAPI: the pay call answers WeixinJSBridge's parameters
// for the simulator's prepay id, paySign verifying with the merchant's
// public key over appId, timeStamp, nonceStr and package; a buyer met
// outside WeChat has no openid to pay with.
func TestWeChatPayJSAPI(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		r := newPayRig(t, e, false)
		o, js := r.prepay(32800)
		tx, ok := r.sim.Transaction(r.acct.MchID, o.ID)
		if !ok || tx.TradeState != paysim.NotPay || tx.Amount.Total != 32800 || tx.Payer.OpenID != r.openID || tx.NotifyURL != r.notifyURL {
			t.Fatalf("simulator's order: %+v", tx)
		}
		if js.AppID != r.acct.AppID || js.SignType != "RSA" || js.Package != "prepay_id="+tx.PrepayID || js.NonceStr == "" || js.TimeStamp == "" {
			t.Errorf("jsapi %+v", js)
		}
		priv, err := utils.LoadPrivateKey(r.acct.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := base64.StdEncoding.DecodeString(js.PaySign)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(js.AppID + "\n" + js.TimeStamp + "\n" + js.NonceStr + "\n" + js.Package + "\n"))
		if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			t.Errorf("paySign does not verify with the merchant's public key: %v", err)
		}
		// Asking again gives the same prepay order.
		start, err := r.svc.Pay(context.Background(), r.sandbox, r.tenant, r.buyer, o.ID, PayRequest{Method: "wechat", NotifyURL: r.notifyURL})
		if err != nil || start.JSAPI == nil || start.JSAPI.Package != js.Package || start.SandboxConfirm {
			t.Errorf("second pay: %+v %v", start, err)
		}

		stranger := engine.NewID()
		p := r.product("Tea", 100, 5)
		o2 := r.mustPlace(stranger, CartItemRequest{ProductID: p.ID, Qty: 1})
		_, err = r.svc.Pay(context.Background(), r.sandbox, r.tenant, stranger, o2.ID, PayRequest{Method: "wechat", NotifyURL: r.notifyURL})
		if !errors.Is(err, fault.ErrConflict) || !strings.Contains(err.Error(), "inside WeChat") {
			t.Errorf("buyer outside WeChat: %v", err)
		}
		// Real money moves only in WeChat: no sandbox confirm.
		if _, err := r.svc.Pay(context.Background(), r.sandbox, r.tenant, r.buyer, o.ID, PayRequest{SandboxConfirm: true}); faultCode(err) != "sandbox_off" {
			t.Errorf("sandbox confirm with a real account: %v", err)
		}
		if got := r.get(o.ID); got.Status != PendingPayment {
			t.Errorf("order %s", got.Status)
		}
	})
}

// TestWeChatPayNotificationReplayed: WeChat Pay's notification delivered
// 20 times at once pays the order once: one payment, one paid event.
func TestWeChatPayNotificationReplayed(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		r := newPayRig(t, e, false)
		o, _ := r.prepay(32800)
		r.sim.SetRule(r.acct.MchID, paysim.Rule{Repeat: 20})
		tx, err := r.sim.Pay(context.Background(), r.acct.MchID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := r.get(o.ID)
		if got.Status != Paid || got.Provider != ProviderWeChat || got.TransactionID != tx.TransactionID || got.Paid != 32800 {
			t.Errorf("after 20 notifications: %+v", got)
		}
		if n := r.rec.count(o.ID + "/" + EventPaid); n != 1 {
			t.Errorf("paid delivered %d times", n)
		}
		if ps := r.payments(o.ID); len(ps) != 1 || ps[0].Refund != "" {
			t.Errorf("payments %+v", ps)
		}
		if n := r.sim.Sent(r.acct.MchID); n != 20 {
			t.Errorf("%d of 20 notifications acknowledged", n)
		}
	})
}

// TestWeChatPayNotificationsOutOfOrder: notifications of several orders
// held, then released last first, each twice at once: every order is paid
// once by its own transaction.
func TestWeChatPayNotificationsOutOfOrder(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newPayRig(t, e, false)
		var orders []Order
		for i := range 3 {
			o, _ := r.prepay(int64(1000 * (i + 1)))
			orders = append(orders, o)
		}
		r.sim.SetRule(r.acct.MchID, paysim.Rule{Hold: true, Repeat: 2})
		txs := map[string]string{}
		for _, o := range orders {
			tx, err := r.sim.Pay(ctx, r.acct.MchID, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			txs[o.ID] = tx.TransactionID
		}
		// The buyer's second tap: the simulator holds that one too.
		if _, err := r.sim.Pay(ctx, r.acct.MchID, orders[0].ID); err != nil {
			t.Fatal(err)
		}
		for _, o := range orders {
			if got := r.get(o.ID); got.Status != PendingPayment {
				t.Fatalf("order paid before any notification: %s", got.Status)
			}
		}
		r.sim.Release(ctx, true)
		for i, o := range orders {
			got := r.get(o.ID)
			if got.Status != Paid || got.TransactionID != txs[o.ID] || got.Paid != int64(1000*(i+1)) {
				t.Errorf("order %d: %+v", i, got)
			}
			if n := r.rec.count(o.ID + "/" + EventPaid); n != 1 {
				t.Errorf("order %d: paid delivered %d times", i, n)
			}
			if ps := r.payments(o.ID); len(ps) != 1 {
				t.Errorf("order %d: payments %+v", i, ps)
			}
		}
	})
}

// TestWeChatPayCancelled: money that arrives for an order cancelled
// meanwhile is kept as a payment flagged for a refund, never silently;
// cancelling an order closes its payment at WeChat Pay.
func TestWeChatPayCancelled(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newPayRig(t, e, false)
		// The buyer pays while the merchant cancels: WeChat Pay's
		// notification comes after the cancellation.
		o, _ := r.prepay(5000)
		r.sim.SetRule(r.acct.MchID, paysim.Rule{Hold: true})
		tx, err := r.sim.Pay(ctx, r.acct.MchID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Cancel(ctx, r.tenant, o.ID, "out of stock"); err != nil {
			t.Fatal(err)
		}
		// The close found the order paid and asked: already flagged.
		r.sim.Release(ctx, false)
		got := r.get(o.ID)
		if got.Status != Cancelled || got.Paid != 0 {
			t.Errorf("order %+v", got)
		}
		ps := r.payments(o.ID)
		if len(ps) != 1 || ps[0].TransactionID != tx.TransactionID || ps[0].Refund != PaymentToRefund || !strings.Contains(ps[0].Reason, "cancelled") {
			t.Fatalf("payments %+v", ps)
		}
		if n := r.rec.count(o.ID + "/" + EventPaid); n != 0 {
			t.Errorf("paid delivered %d times", n)
		}
		list, err := r.svc.PaymentsToRefund(ctx, r.tenant, "", 0)
		if err != nil || len(list) != 1 {
			t.Errorf("to refund: %+v %v", list, err)
		}

		// An order cancelled before the buyer paid is closed at WeChat Pay:
		// the buyer can no longer pay it.
		o2, _ := r.prepay(6000)
		if _, err := r.svc.CancelForFan(ctx, r.tenant, r.buyer, o2.ID); err != nil {
			t.Fatal(err)
		}
		if tx, _ := r.sim.Transaction(r.acct.MchID, o2.ID); tx.TradeState != paysim.Closed {
			t.Errorf("after cancelling, WeChat Pay's order is %s", tx.TradeState)
		}
		if _, err := r.sim.Pay(ctx, r.acct.MchID, o2.ID); err == nil {
			t.Error("the simulator let the buyer pay a closed order")
		}
	})
}

// TestWeChatPayQueryJob: a notification that never comes is made up for by
// the query job, with back-off; an order about to expire is asked about
// before it is cancelled.
func TestWeChatPayQueryJob(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newPayRig(t, e, false)
		r.sim.SetRule(r.acct.MchID, paysim.Rule{Drop: true})
		o, _ := r.prepay(4200)
		tx, err := r.sim.Pay(ctx, r.acct.MchID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		unpaid, _ := r.prepay(1000) // never paid: asked about, stays unpaid
		rep, err := r.svc.QueryPayments(ctx, r.tenant)
		if err != nil || rep.Queried != 0 {
			t.Fatalf("query pass before the first query's time: %+v %v", rep, err)
		}
		r.clock = r.clock.Add(40 * time.Second)
		rep, err = r.svc.QueryPayments(ctx, r.tenant)
		if err != nil || rep.Queried != 2 || rep.Settled != 1 || rep.Failed != 0 {
			t.Fatalf("query pass: %+v %v", rep, err)
		}
		got := r.get(o.ID)
		if got.Status != Paid || got.TransactionID != tx.TransactionID || got.Paid != 4200 {
			t.Errorf("after the query: %+v", got)
		}
		if n := r.rec.count(o.ID + "/" + EventPaid); n != 1 {
			t.Errorf("paid delivered %d times", n)
		}
		// The late notification changes nothing.
		if err := r.sim.Notify(ctx, r.acct.MchID, o.ID); err != nil {
			t.Fatal(err)
		}
		if n := r.rec.count(o.ID + "/" + EventPaid); n != 1 || len(r.payments(o.ID)) != 1 {
			t.Errorf("after the late notification: paid delivered %d times, payments %+v", n, r.payments(o.ID))
		}
		if got := r.get(unpaid.ID); got.Status != PendingPayment {
			t.Errorf("unpaid order %s", got.Status)
		}

		// Back-off: the unpaid order is asked about at 1 min, 2 min, 4 min
		// of age (passes at 85 s, 125 s, 185 s, 245 s).
		for _, step := range []struct {
			by   time.Duration
			want int
		}{{45 * time.Second, 1}, {40 * time.Second, 1}, {time.Minute, 0}, {time.Minute, 1}} {
			r.clock = r.clock.Add(step.by)
			if rep, err := r.svc.QueryPayments(ctx, r.tenant); err != nil || rep.Queried != step.want {
				t.Errorf("at %s: %+v %v, want %d queried", r.clock.Sub(unpaid.CreatedAt), rep, err, step.want)
			}
		}

		// Paid at the last minute, notification lost: the expiry pass asks
		// before cancelling, and the order is paid, not cancelled.
		late, _ := r.prepay(3000)
		if _, err := r.sim.Pay(ctx, r.acct.MchID, late.ID); err != nil {
			t.Fatal(err)
		}
		r.clock = r.clock.Add(31 * time.Minute)
		jr, err := r.svc.RunJobs(ctx, r.tenant)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.get(late.ID); got.Status != Paid {
			t.Errorf("late payment: order %s", got.Status)
		}
		if got := r.get(unpaid.ID); got.Status != Cancelled || jr.Expired != 1 {
			t.Errorf("unpaid order %s, report %+v", got.Status, jr)
		}
	})
}

// TestWeChatPayRefused: a notification whose signature or body was
// tampered with, or that pays another amount, is refused and the order
// stays unpaid.
func TestWeChatPayRefused(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newPayRig(t, e, false)
		r.sim.SetRule(r.acct.MchID, paysim.Rule{Drop: true})
		o, _ := r.prepay(32800)
		if _, err := r.sim.Pay(ctx, r.acct.MchID, o.ID); err != nil {
			t.Fatal(err)
		}
		build := func(edit func(*paysim.Transaction)) *http.Request {
			req, err := r.sim.NotificationRequest(ctx, r.acct.MchID, o.ID, edit)
			if err != nil {
				t.Fatal(err)
			}
			return req
		}
		for _, tc := range []struct {
			name string
			req  func() *http.Request
			want int
		}{
			{"forged signature", func() *http.Request {
				req := build(nil)
				sig := []byte(req.Header.Get("Wechatpay-Signature"))
				sig[10] ^= 1
				req.Header.Set("Wechatpay-Signature", string(sig))
				return req
			}, http.StatusForbidden},
			{"no signature", func() *http.Request {
				req := build(nil)
				req.Header.Del("Wechatpay-Signature")
				return req
			}, http.StatusForbidden},
			{"another key's serial", func() *http.Request {
				req := build(nil)
				req.Header.Set("Wechatpay-Serial", "PUB_KEY_ID_0000")
				return req
			}, http.StatusForbidden},
			{"tampered body", func() *http.Request {
				req := build(nil)
				body, _ := io.ReadAll(req.Body)
				req.Body = io.NopCloser(strings.NewReader(strings.Replace(string(body), "支付成功", "支付失败", 1)))
				return req
			}, http.StatusForbidden},
			{"wrong amount", func() *http.Request { return build(func(tx *paysim.Transaction) { tx.Amount.Total = 1 }) }, http.StatusConflict},
			{"another merchant", func() *http.Request {
				return build(func(tx *paysim.Transaction) { tx.MchID = "1900000000" })
			}, http.StatusForbidden},
			{"not JSON", func() *http.Request {
				req := build(nil)
				req.Body = io.NopCloser(strings.NewReader(`<xml></xml>`))
				return req
			}, http.StatusForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if st := r.notify(tc.req()); st != tc.want {
					t.Errorf("answered %d, want %d", st, tc.want)
				}
				if got := r.get(o.ID); got.Status != PendingPayment || got.Paid != 0 {
					t.Errorf("order became %s", got.Status)
				}
				if ps := r.payments(o.ID); len(ps) != 0 {
					t.Errorf("payments %+v", ps)
				}
			})
		}
		// The genuine one pays it.
		if st := r.notify(build(nil)); st != http.StatusNoContent {
			t.Fatalf("genuine notification answered %d", st)
		}
		if got := r.get(o.ID); got.Status != Paid {
			t.Errorf("order %s", got.Status)
		}
	})
}

// TestWeChatPaySandbox: in sandbox mode a shop without an account is given
// generated credentials on its first payment, pays through the simulator
// on the live code path, and {"sandbox_confirm":true} answers "paid" once
// the payment is confirmed, even when the notification is dropped.
func TestWeChatPaySandbox(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newPayRig(t, e, true)
		stranger := engine.NewID() // a browser outside WeChat
		p := r.product("Cup", 2500, 10)
		o := r.mustPlace(stranger, CartItemRequest{ProductID: p.ID, Qty: 1})
		start, err := r.svc.Pay(ctx, r.sandbox, r.tenant, stranger, o.ID, PayRequest{Method: "wechat", NotifyURL: r.notifyURL})
		if err != nil || start.JSAPI == nil || !start.SandboxConfirm || start.Provider != ProviderWeChat {
			t.Fatalf("pay: %+v %v", start, err)
		}
		st, err := r.svc.Settings(ctx, r.tenant)
		if err != nil || !st.WeChatPay.Enabled() || !st.WeChatPay.Sandbox || st.WeChatPay.Real() || !r.sim.Enrolled(st.WeChatPay.MchID) {
			t.Fatalf("generated settings %+v %v", st.WeChatPay, err)
		}
		if m := st.Masked().WeChatPay; strings.Contains(m.PrivateKey, "PRIVATE") || m.APIv3Key == st.WeChatPay.APIv3Key {
			t.Errorf("masked %+v", m)
		}
		start, err = r.svc.Pay(ctx, r.sandbox, r.tenant, stranger, o.ID, PayRequest{SandboxConfirm: true, NotifyURL: r.notifyURL})
		if err != nil || start.Status != Paid {
			t.Fatalf("sandbox confirm: %+v %v", start, err)
		}
		got := r.get(o.ID)
		if got.Provider != ProviderWeChat || got.Test || r.rec.count(o.ID+"/"+EventPaid) != 1 {
			t.Errorf("order %+v", got)
		}
		// A double tap is the same payment.
		if start, err := r.svc.Pay(ctx, r.sandbox, r.tenant, stranger, o.ID, PayRequest{SandboxConfirm: true, NotifyURL: r.notifyURL}); err != nil || start.Status != Paid {
			t.Errorf("second confirm: %+v %v", start, err)
		}
		if ps := r.payments(o.ID); len(ps) != 1 {
			t.Errorf("payments %+v", ps)
		}

		// The notification dropped: the confirm asks WeChat Pay itself.
		r.sim.SetRule(st.WeChatPay.MchID, paysim.Rule{Drop: true})
		o2 := r.mustPlace(stranger, CartItemRequest{ProductID: p.ID, Qty: 1})
		start, err = r.svc.Pay(ctx, r.sandbox, r.tenant, stranger, o2.ID, PayRequest{Method: "wechat", SandboxConfirm: true, NotifyURL: r.notifyURL})
		if err != nil || start.Status != Paid {
			t.Fatalf("confirm without notification: %+v %v", start, err)
		}

		// Test mode keeps the test provider: orders marked test.
		st.TestMode = true
		if err := r.svc.SaveSettings(ctx, r.tenant, st); err != nil {
			t.Fatal(err)
		}
		if st, _ := r.svc.Settings(ctx, r.tenant); !st.WeChatPay.Sandbox {
			t.Error("saving the settings unchanged lost the generated mark")
		}
		o3 := r.mustPlace(stranger, CartItemRequest{ProductID: p.ID, Qty: 1})
		start, err = r.svc.Pay(ctx, r.sandbox, r.tenant, stranger, o3.ID, PayRequest{SandboxConfirm: true})
		if err != nil || start.Status != Paid {
			t.Fatalf("test mode confirm: %+v %v", start, err)
		}
		if got := r.get(o3.ID); got.Provider != ProviderSandbox || !got.Test {
			t.Errorf("test mode order %+v", got)
		}

		// A live server ignores generated credentials.
		r.svc.SetLive(true)
		st.TestMode, st.Rev = false, st.Rev+1 // saved once more
		if err := r.svc.SaveSettings(ctx, r.tenant, st); err != nil {
			t.Fatal(err)
		}
		o4 := r.mustPlace(stranger, CartItemRequest{ProductID: p.ID, Qty: 1})
		if _, err := r.svc.Pay(ctx, r.sandbox, r.tenant, stranger, o4.ID, PayRequest{}); faultCode(err) != "payments_unavailable" {
			t.Errorf("live server with generated credentials: %v", err)
		}
	})
}

// TestWeChatPaySettings: the secrets are masked as the WeChat settings
// are, kept when sent back masked, checked when typed; a merchant's own
// credentials clear the generated mark.
func TestWeChatPaySettings(t *testing.T) {
	ctx := context.Background()
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		acct := testAccounts()
		st := DefaultSettings()
		st.WeChatPay = acct
		st.WeChatPay.Sandbox = true // an API client cannot claim it
		if err := f.svc.SaveSettings(ctx, f.tenant, st); err != nil {
			t.Fatal(err)
		}
		got, _ := f.svc.Settings(ctx, f.tenant)
		if got.WeChatPay != acct || !got.WeChatPay.Real() {
			t.Fatalf("saved %+v", got.WeChatPay)
		}
		m := got.Masked().WeChatPay
		if !strings.HasPrefix(m.APIv3Key, "••••") || !strings.HasSuffix(m.APIv3Key, acct.APIv3Key[28:]) ||
			!strings.HasPrefix(m.PrivateKey, "••••") || len(m.PrivateKey) > 16 || m.PublicKey != acct.PublicKey {
			t.Errorf("masked %+v", m)
		}
		// Sent back masked: kept.
		back := got.Masked()
		back.ShippingFee = 500
		if err := f.svc.SaveSettings(ctx, f.tenant, back); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.svc.Settings(ctx, f.tenant); got.WeChatPay != acct || got.ShippingFee != 500 {
			t.Errorf("after saving masked: %+v", got.WeChatPay)
		}
		for _, tc := range []struct {
			name  string
			edit  func(*WeChatPaySettings)
			field string
		}{
			{"short v3 key", func(w *WeChatPaySettings) { w.APIv3Key = "abc" }, "wechat_pay.api_v3_key"},
			{"mch_id letters", func(w *WeChatPaySettings) { w.MchID = "mch" }, "wechat_pay.mch_id"},
			{"private key not PEM", func(w *WeChatPaySettings) {
				w.PrivateKey = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"
			}, "wechat_pay.private_key"},
			{"public key not PEM", func(w *WeChatPaySettings) { w.PublicKey = "nope" }, "wechat_pay.public_key"},
			{"serial not hex", func(w *WeChatPaySettings) { w.CertSerial = "not hex!" }, "wechat_pay.cert_serial"},
		} {
			bad := DefaultSettings()
			bad.WeChatPay = acct
			tc.edit(&bad.WeChatPay)
			var fe *fault.Error
			if err := f.svc.SaveSettings(ctx, f.tenant, bad); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
	})
}

// TestDueForQuery: queries at 30 s, 1, 2, 4, 8 … minutes of age, for a
// pass every minute.
func TestDueForQuery(t *testing.T) {
	var due []int
	for s := 0; s <= 20*60; s += 60 {
		if dueForQuery(time.Duration(s)*time.Second+10*time.Second, time.Minute) {
			due = append(due, s/60)
		}
	}
	// Ages 10 s, 70 s, 130 s …: the passes at 70 s (30 s, 1 min), 130 s
	// (2 min), 250 s (4 min), 490 s (8 min), 970 s (16 min).
	want := []int{1, 2, 4, 8, 16}
	if len(due) != len(want) {
		t.Fatalf("due at %v, want %v", due, want)
	}
	for i := range want {
		if due[i] != want[i] {
			t.Fatalf("due at %v, want %v", due, want)
		}
	}
}

// TestWeChatPayQueryBackOffEnds: the query job asks only about orders
// whose buyer started paying at WeChat Pay (a prepay), at 30 s, 1, 2, 4, 8
// and 16 minutes of age, and then no more (the next would be past the
// 30-minute expiry): the expiry pass asks a last time, cancels the order
// and closes it at WeChat Pay. An order abandoned before paying is never
// asked about.
func TestWeChatPayQueryBackOffEnds(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newPayRig(t, e, false)
		r.sim.SetRule(r.acct.MchID, paysim.Rule{Drop: true})
		p := r.product("Tea", 800, 10)
		abandoned := r.mustPlace(r.buyer, CartItemRequest{ProductID: p.ID, Qty: 1})
		if got := r.get(abandoned.ID); got.NextQueryAt != nil {
			t.Fatalf("an order never prepaid is to be asked about at %s", got.NextQueryAt)
		}
		unpaid, _ := r.prepay(1000)
		if got := r.get(unpaid.ID); got.NextQueryAt == nil || !got.NextQueryAt.Equal(unpaid.CreatedAt.Add(30*time.Second)) {
			t.Fatalf("after the prepay: next query at %v", got.NextQueryAt)
		}
		start := r.clock
		var askedAt []time.Duration
		for pass := 1; pass < 30; pass++ { // a pass a minute, up to the expiry
			r.clock = start.Add(time.Duration(pass)*time.Minute - 20*time.Second)
			rep, err := r.svc.QueryPayments(ctx, r.tenant)
			if err != nil || rep.Failed != 0 || rep.Settled != 0 {
				t.Fatalf("pass %d: %+v %v", pass, rep, err)
			}
			for range rep.Queried {
				askedAt = append(askedAt, r.clock.Sub(unpaid.CreatedAt))
			}
		}
		want := []time.Duration{40 * time.Second, 100 * time.Second, 160 * time.Second, 280 * time.Second, 520 * time.Second, 1000 * time.Second}
		if len(askedAt) != len(want) {
			t.Fatalf("asked at ages %v, want %v", askedAt, want)
		}
		for i := range want {
			if askedAt[i] != want[i] {
				t.Fatalf("asked at ages %v, want %v", askedAt, want)
			}
		}
		if got := r.get(unpaid.ID); got.NextQueryAt != nil || got.Status != PendingPayment {
			t.Errorf("after the back-off: %s, next query at %v", got.Status, got.NextQueryAt)
		}
		// The expiry pass asks a last time, cancels, and closes it at WeChat Pay.
		r.clock = start.Add(31 * time.Minute)
		jr, err := r.svc.RunJobs(ctx, r.tenant)
		if err != nil || jr.Expired != 2 {
			t.Fatalf("expiry pass: %+v %v", jr, err)
		}
		for _, id := range []string{abandoned.ID, unpaid.ID} {
			if got := r.get(id); got.Status != Cancelled {
				t.Errorf("order %s: %s", id, got.Status)
			}
		}
		if tx, _ := r.sim.Transaction(r.acct.MchID, unpaid.ID); tx.TradeState != paysim.Closed {
			t.Errorf("WeChat Pay's order is %s after the expiry", tx.TradeState)
		}
		if rep, err := r.svc.QueryPayments(ctx, r.tenant); err != nil || rep.Queried != 0 {
			t.Errorf("after the expiry: %+v %v", rep, err)
		}
	})
}
