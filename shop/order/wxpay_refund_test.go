package order

import (
	"context"
	"sync"
	"testing"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/wechat/paysim"
)

// keyedStock stands in for the catalog's stock return (which it does not
// offer yet): units come back once per key.
type keyedStock struct {
	mu   sync.Mutex
	keys map[string]int64
}

func (k *keyedStock) Restock(_ context.Context, _, key, _, _ string, qty int64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[key]; !ok {
		k.keys[key] = qty
	}
	return nil
}

func (k *keyedStock) units() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	var n int64
	for _, q := range k.keys {
		n += q
	}
	return n
}

// paidRig is a pay rig with an order of price paid at WeChat Pay (its
// notification taken), refund notifications going to the shop's refund
// route, and a keyed restocker.
func paidRig(t *testing.T, e *engine.Engine, price int64) (*payRig, Order, *keyedStock) {
	t.Helper()
	r := newPayRig(t, e, false)
	ks := &keyedStock{keys: map[string]int64{}}
	r.svc.SetRestocker(ks)
	o, _ := r.prepay(price)
	if _, err := r.sim.Pay(context.Background(), r.acct.MchID, o.ID); err != nil {
		t.Fatal(err)
	}
	if got := r.get(o.ID); got.Status != Paid {
		t.Fatalf("order %s after paying", got.Status)
	}
	return r, o, ks
}

const refundNotifyURL = "https://shop.example/pay/notify/s/wechat-refund"

// refund asks for a refund of o through WeChat Pay.
func (r *payRig) refund(o Order, amount int64, restock bool) (RefundResult, error) {
	return r.svc.Refund(context.Background(), r.tenant, o.ID, RefundRequest{Amount: amount, Reason: "broken", Restock: restock,
		NotifyURL: refundNotifyURL})
}

// TestWeChatRefundProcessingThenSucceeded: a refund is answered
// processing with nothing counted; its notification settles it once: the
// money refunded, the order closed when all is back, one event, the units
// restocked once.
func TestWeChatRefundProcessingThenSucceeded(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r, o, ks := paidRig(t, e, 5000)
		r.sim.SetRule(r.acct.MchID, paysim.Rule{HoldRefunds: true})
		res, err := r.refund(o, 5000, true)
		if err != nil {
			t.Fatal(err)
		}
		if res.Refund.Status != RefundProcessing || res.Refunded != 0 || res.Refundable != 0 || res.Status != Paid || res.Refunding != 1 {
			t.Fatalf("answer: refund %+v, order %s refunded %d refundable %d", res.Refund, res.Status, res.Refunded, res.Refundable)
		}
		if _, err := r.refund(o, 1, false); err == nil {
			t.Error("a refund beyond what a processing one reserved was taken")
		}
		if n := r.rec.count(o.ID + "/refund:" + res.Refund.ID); n != 0 {
			t.Errorf("refund event delivered %d times while processing", n)
		}
		r.sim.SettleRefunds(ctx, r.acct.MchID)
		got := r.get(o.ID)
		if got.Status != Refunded || got.Refunded != 5000 || got.Refunding != 0 || got.Refunds[0].State() != RefundSucceeded ||
			got.Refunds[0].RefundID == "" {
			t.Fatalf("after the notification: %s refunded %d refunds %+v", got.Status, got.Refunded, got.Refunds)
		}
		if n := r.rec.count(o.ID + "/refund:" + res.Refund.ID); n != 1 {
			t.Errorf("refund event delivered %d times", n)
		}
		if ks.units() != 1 || len(ks.keys) != 1 {
			t.Errorf("restocked %v", ks.keys)
		}
		// The notification again changes nothing.
		if err := r.sim.NotifyRefund(ctx, r.acct.MchID, res.Refund.ID); err != nil {
			t.Fatal(err)
		}
		if n := r.rec.count(o.ID + "/refund:" + res.Refund.ID); n != 1 || r.get(o.ID).Refunded != 5000 {
			t.Errorf("after a repeated notification: event %d times, refunded %d", n, r.get(o.ID).Refunded)
		}
	})
}

// TestWeChatRefundQueryJob: a refund whose notification never comes is
// settled by the query pass, with the payments' back-off.
func TestWeChatRefundQueryJob(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r, o, _ := paidRig(t, e, 3000)
		r.sim.SetRule(r.acct.MchID, paysim.Rule{Drop: true})
		res, err := r.refund(o, 1200, false)
		if err != nil {
			t.Fatal(err)
		}
		r.sim.Wait()
		if got := r.get(o.ID); got.Refunds[0].Status != RefundProcessing {
			t.Fatalf("refund %s with its notification dropped", got.Refunds[0].Status)
		}
		if rep, err := r.svc.QueryPayments(ctx, r.tenant); err != nil || rep.RefundsQueried != 0 {
			t.Fatalf("query pass before the first query's time: %+v %v", rep, err)
		}
		r.clock = r.clock.Add(40 * time.Second)
		rep, err := r.svc.QueryPayments(ctx, r.tenant)
		if err != nil || rep.RefundsQueried != 1 || rep.Refunds != 1 {
			t.Fatalf("query pass: %+v %v", rep, err)
		}
		got := r.get(o.ID)
		if got.Refunds[0].Status != RefundSucceeded || got.Refunded != 1200 || got.Refundable != 1800 || got.Status != Paid {
			t.Errorf("after the query: %+v", got)
		}
		if n := r.rec.count(o.ID + "/refund:" + res.Refund.ID); n != 1 {
			t.Errorf("refund event delivered %d times", n)
		}
		r.clock = r.clock.Add(time.Hour)
		if rep, err := r.svc.QueryPayments(ctx, r.tenant); err != nil || rep.RefundsQueried != 0 {
			t.Errorf("a settled refund was asked about again: %+v %v", rep, err)
		}
	})
}

// TestWeChatRefundFails: a refund WeChat Pay ends ABNORMAL changes no
// money, sends no event (no clawback, no points) and restocks nothing; the
// amount can be refunded again.
func TestWeChatRefundFails(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		r, o, ks := paidRig(t, e, 4000)
		r.sim.SetRule(r.acct.MchID, paysim.Rule{FailRefunds: true})
		res, err := r.refund(o, 4000, true)
		if err != nil {
			t.Fatal(err)
		}
		r.sim.Wait()
		got := r.get(o.ID)
		if got.Refunds[0].Status != RefundFailed || got.Refunded != 0 || got.Refundable != 4000 || got.Status != Paid || got.Refunding != 0 {
			t.Fatalf("after a failed refund: %s refunded %d refundable %d refunds %+v", got.Status, got.Refunded, got.Refundable, got.Refunds)
		}
		if n := r.rec.count(o.ID + "/refund:" + res.Refund.ID); n != 0 || ks.units() != 0 {
			t.Errorf("failed refund: event %d times, restocked %v", n, ks.keys)
		}
		r.sim.SetRule(r.acct.MchID, paysim.Rule{})
		if _, err := r.refund(o, 4000, false); err != nil {
			t.Fatal(err)
		}
		r.sim.Wait()
		if got := r.get(o.ID); got.Status != Refunded || got.Refunded != 4000 {
			t.Errorf("second refund: %s refunded %d", got.Status, got.Refunded)
		}
	})
}

// TestWeChatRefundNotificationsRace: the refund's notification arriving
// five times at once, a query pass and the held notifications released in
// reverse, all together: refunded once, one event, restocked once.
func TestWeChatRefundNotificationsRace(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r, o, ks := paidRig(t, e, 2500)
		r.sim.SetRule(r.acct.MchID, paysim.Rule{Hold: true, Repeat: 5})
		a, err := r.refund(o, 1000, true)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.refund(o, 1500, true)
		if err != nil {
			t.Fatal(err)
		}
		r.sim.Wait()
		r.clock = r.clock.Add(40 * time.Second)
		// Subscribers down: the outbox then shows every event written.
		r.rec.fail.Store(true)
		var wg sync.WaitGroup
		wg.Go(func() { r.sim.Release(ctx, true) })
		wg.Go(func() {
			if _, err := r.svc.QueryPayments(ctx, r.tenant); err != nil {
				t.Error(err)
			}
		})
		for _, id := range []string{a.Refund.ID, b.Refund.ID} {
			wg.Go(func() { _ = r.sim.NotifyRefund(ctx, r.acct.MchID, id) })
		}
		wg.Wait()
		got := r.get(o.ID)
		if got.Status != Refunded || got.Refunded != 2500 || got.Refundable != 0 || got.Refunding != 0 {
			t.Fatalf("after the race: %s refunded %d refundable %d refunding %d", got.Status, got.Refunded, got.Refundable, got.Refunding)
		}
		written := map[string]int{}
		for _, ev := range got.Events {
			written[ev.ID]++
		}
		if len(got.Events) != 2 || written["refund:"+a.Refund.ID] != 1 || written["refund:"+b.Refund.ID] != 1 {
			t.Errorf("events written %v", written)
		}
		r.rec.fail.Store(false)
		if _, err := r.svc.RunJobs(ctx, r.tenant); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{a.Refund.ID, b.Refund.ID} {
			if n := r.rec.count(o.ID + "/refund:" + id); n != 1 {
				t.Errorf("refund %s: event delivered %d times", id, n)
			}
		}
		if ks.units() != 1 {
			t.Errorf("restocked %v, want the line once", ks.keys)
		}
	})
}

// TestWeChatRefundsRace: 20 refunds at once never add up to more than
// was paid, here or at WeChat Pay.
func TestWeChatRefundsRace(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		r, o, _ := paidRig(t, e, 4200)
		var wg sync.WaitGroup
		var mu sync.Mutex
		taken := 0
		for range 20 {
			wg.Go(func() {
				if _, err := r.refund(o, 300, false); err == nil {
					mu.Lock()
					taken++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		r.sim.Wait()
		got := r.get(o.ID)
		if taken != 14 || got.Refunded != 4200 || got.Refundable != 0 || got.Status != Refunded {
			t.Errorf("%d refunds taken; order %s refunded %d refundable %d", taken, got.Status, got.Refunded, got.Refundable)
		}
		if at := r.sim.Refunded(r.acct.MchID, o.ID); at != got.Refunded {
			t.Errorf("WeChat Pay refunded %d, the order says %d", at, got.Refunded)
		}
	})
}

// TestTestModeRefundAtOnce: an order paid in the sandbox's test mode is
// refunded locally and succeeds at once.
func TestTestModeRefundAtOnce(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		p := f.product("Cup", 1500, 10)
		o := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 1})
		if err := f.pay(o); err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.Refund(context.Background(), f.tenant, o.ID, RefundRequest{Amount: 500})
		if err != nil {
			t.Fatal(err)
		}
		if res.Refund.Status != RefundSucceeded || res.Refunded != 500 || res.Refunding != 0 {
			t.Errorf("test-mode refund: %+v, refunded %d", res.Refund, res.Refunded)
		}
		if _, err := f.svc.Refund(context.Background(), f.tenant, o.ID, RefundRequest{Amount: 500, Restock: true}); err == nil {
			t.Error("a restock was taken with nothing to restock with")
		}
	})
}

// TestWeChatRefundNotificationBeforePayment: WeChat Pay's notifications
// arrive out of order — the refund's before the payment's. The payment's
// notification is held at WeChat Pay, the query job learns of the payment,
// the merchant refunds it all, and then the refund's notification comes
// first and the payment's after it, each twice at once. The end state is
// the right one: the order refunded once (money, event, restock), the
// payment recorded once and not flagged for a refund (it paid this order;
// its late notice is a repeat), the order never back to paid.
func TestWeChatRefundNotificationBeforePayment(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newPayRig(t, e, false)
		ks := &keyedStock{keys: map[string]int64{}}
		r.svc.SetRestocker(ks)
		o, _ := r.prepay(5000)
		r.sim.SetRule(r.acct.MchID, paysim.Rule{Hold: true, Repeat: 2})
		tx, err := r.sim.Pay(ctx, r.acct.MchID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.get(o.ID); got.Status != PendingPayment {
			t.Fatalf("paid before any notification or query: %s", got.Status)
		}
		// No notification: the query job asks (the prepay scheduled it).
		r.clock = r.clock.Add(40 * time.Second)
		if rep, err := r.svc.QueryPayments(ctx, r.tenant); err != nil || rep.Settled != 1 {
			t.Fatalf("query pass: %+v %v", rep, err)
		}
		res, err := r.refund(o, 5000, true)
		if err != nil || res.Refund.Status != RefundProcessing {
			t.Fatalf("refund: %+v %v", res.Refund, err)
		}
		// Both notifications were held: the refund's goes first (the
		// simulator settles a refund in the background: wait for it to
		// hold the refund's notification).
		r.sim.Wait()
		if got := r.get(o.ID); got.Status != Paid || got.Refunds[0].State() != RefundProcessing {
			t.Fatalf("before the notifications: %s, refund %s", got.Status, got.Refunds[0].State())
		}
		r.sim.Release(ctx, true)

		got := r.get(o.ID)
		if got.Status != Refunded || got.Paid != 5000 || got.Refunded != 5000 || got.Refundable != 0 || got.Refunding != 0 ||
			got.TransactionID != tx.TransactionID || len(got.Refunds) != 1 || got.Refunds[0].State() != RefundSucceeded {
			t.Fatalf("end state: %s paid %d refunded %d refundable %d refunding %d refunds %+v",
				got.Status, got.Paid, got.Refunded, got.Refundable, got.Refunding, got.Refunds)
		}
		if ps := r.payments(o.ID); len(ps) != 1 || ps[0].TransactionID != tx.TransactionID || ps[0].Refund != "" {
			t.Errorf("payments %+v", ps)
		}
		if list, err := r.svc.PaymentsToRefund(ctx, r.tenant, "", 0); err != nil || len(list) != 0 {
			t.Errorf("flagged for a refund: %+v %v", list, err)
		}
		if n := r.rec.count(o.ID + "/" + EventPaid); n != 1 {
			t.Errorf("paid delivered %d times", n)
		}
		if n := r.rec.count(o.ID + "/refund:" + res.Refund.ID); n != 1 {
			t.Errorf("refund event delivered %d times", n)
		}
		if ks.units() != 1 || len(ks.keys) != 1 {
			t.Errorf("restocked %v", ks.keys)
		}
		// WeChat Pay knew of both; nothing is left to ask about.
		if tx, _ := r.sim.Transaction(r.acct.MchID, o.ID); tx.TradeState != paysim.Success {
			t.Errorf("simulator's order %s", tx.TradeState)
		}
		r.clock = r.clock.Add(10 * time.Minute)
		if rep, err := r.svc.QueryPayments(ctx, r.tenant); err != nil || rep.Queried != 0 || rep.RefundsQueried != 0 {
			t.Errorf("a later query pass: %+v %v", rep, err)
		}
	})
}

// TestWeChatRefundReasonForThePayer: the payer reads a refund's reason in
// WeChat Pay's notice: an after-sale request's refund says 售后退款, not
// the request's id; another reason goes as the merchant wrote it.
func TestWeChatRefundReasonForThePayer(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		r, o, _ := paidRig(t, e, 5000)
		for _, c := range []struct{ reason, payerReads string }{
			{AfterSaleRefundPrefix + engine.NewID(), "售后退款"},
			{"broken in transit", "broken in transit"},
		} {
			res, err := r.svc.Refund(context.Background(), r.tenant, o.ID, RefundRequest{Amount: 1000, Reason: c.reason, NotifyURL: refundNotifyURL})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.sim.RefundReason(r.acct.MchID, res.Refund.ID); got != c.payerReads {
				t.Errorf("refund for %q: the payer reads %q, want %q", c.reason, got, c.payerReads)
			}
		}
	})
}
