package order

import (
	"context"
	"reflect"
	"testing"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/wechat/paysim"
)

// TestReconciliation: a trade bill with one payment missing on each side
// and one amount off lists exactly those three; the other payments and the
// refund match. The job stores the day once it is over, and asking again
// reads what it stored.
func TestReconciliation(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newPayRig(t, e, false)
		pay := func(price int64) Order {
			o, _ := r.prepay(price)
			if _, err := r.sim.Pay(ctx, r.acct.MchID, o.ID); err != nil {
				t.Fatal(err)
			}
			return o
		}
		a, b := pay(1000), pay(2000)
		pay(3000)
		if _, err := r.refund(a, 400, false); err != nil {
			t.Fatal(err)
		}
		r.sim.Wait()
		if got := r.get(a.ID); got.Refunded != 400 {
			t.Fatalf("refund: %+v", got.Refunds)
		}
		// Paid at WeChat, its notification lost and never asked about.
		r.sim.SetRule(r.acct.MchID, paysim.Rule{Drop: true})
		lost := pay(4000)
		r.sim.SetRule(r.acct.MchID, paysim.Rule{})
		// Recorded here, unknown to WeChat Pay.
		ghost, _ := r.prepay(5000)
		if err := r.svc.ConfirmPayment(ctx, r.tenant, Notification{Provider: ProviderWeChat, TenantID: r.tenant, OrderID: ghost.ID,
			TransactionID: "4200000000000000000000000001", Amount: 5000}); err != nil {
			t.Fatal(err)
		}
		// The bill says 19.99 for b.
		r.sim.MisstateAmount(r.acct.MchID, b.ID, 1999)

		date := r.clock.In(chinaTime).Format(time.DateOnly)
		got, err := r.svc.Reconciliation(ctx, r.tenant, date)
		if err != nil {
			t.Fatal(err)
		}
		if got.Date != date || got.Matched != 3 || len(got.MissingHere) != 1 || len(got.MissingAtWeChat) != 1 || len(got.AmountMismatches) != 1 {
			t.Fatalf("reconciliation: %+v", got)
		}
		if h := got.MissingHere[0]; h.Kind != ReconPayment || h.OrderID != lost.ID || h.WeChatAmount != 4000 || h.Amount != 0 || h.TransactionID == "" {
			t.Errorf("missing here: %+v", h)
		}
		if w := got.MissingAtWeChat[0]; w.Kind != ReconPayment || w.OrderID != ghost.ID || w.Amount != 5000 || w.WeChatAmount != 0 {
			t.Errorf("missing at WeChat: %+v", w)
		}
		if m := got.AmountMismatches[0]; m.Kind != ReconPayment || m.OrderID != b.ID || m.Amount != 2000 || m.WeChatAmount != 1999 {
			t.Errorf("mismatch: %+v", m)
		}
		// Today is not over: nothing stored yet.
		if _, found, err := r.svc.store.Reconciliation(ctx, r.tenant, date); err != nil || found {
			t.Fatalf("stored before the day ended: %v %v", found, err)
		}

		// The next day, before the bill is ready, the job waits; after, it
		// reconciles the day once.
		next := time.Date(r.clock.In(chinaTime).Year(), r.clock.In(chinaTime).Month(), r.clock.In(chinaTime).Day()+1, 9, 0, 0, 0, chinaTime)
		r.clock = next
		if rep, err := r.svc.ReconcileJob(ctx, r.tenant); err != nil || rep.Reconciled != 0 {
			t.Fatalf("job before 10:00: %+v %v", rep, err)
		}
		r.clock = next.Add(2 * time.Hour)
		rep, err := r.svc.ReconcileJob(ctx, r.tenant)
		if err != nil || rep != (ReconcileReport{Reconciled: 1, Matched: 3, Differences: 3}) {
			t.Fatalf("job: %+v %v", rep, err)
		}
		if rep, err := r.svc.ReconcileJob(ctx, r.tenant); err != nil || rep.Reconciled != 0 {
			t.Errorf("job again: %+v %v", rep, err)
		}
		stored, found, err := r.svc.store.Reconciliation(ctx, r.tenant, date)
		if err != nil || !found {
			t.Fatalf("stored: %v %v", found, err)
		}
		again, err := r.svc.Reconciliation(ctx, r.tenant, date)
		if err != nil {
			t.Fatal(err)
		}
		stored.CheckedAt, again.CheckedAt, got.CheckedAt = time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(stored, got) || !reflect.DeepEqual(again, got) {
			t.Errorf("stored %+v\nread %+v\nwant %+v", stored, again, got)
		}

		// An empty day matches nothing and lists nothing.
		empty, err := r.svc.Reconciliation(ctx, r.tenant, next.AddDate(0, 0, -3).Format(time.DateOnly))
		if err != nil || empty.Matched != 0 || len(empty.MissingHere)+len(empty.MissingAtWeChat)+len(empty.AmountMismatches) != 0 {
			t.Errorf("empty day: %+v %v", empty, err)
		}
		if _, err := r.svc.Reconciliation(ctx, r.tenant, "2026-13-01"); err == nil {
			t.Error("a malformed date was taken")
		}
	})
}

// TestParseTradeBill reads a bill as WeChat Pay writes it.
func TestParseTradeBill(t *testing.T) {
	bill := "\ufeff" + tradeBillHeaderForTest + "\r\n" +
		"`2026-12-04 10:00:00,`wx1,`1900000001,`0,`,`4200001,`order1,`o1,`JSAPI,`SUCCESS,`OTHERS,`CNY,`12.30,`0.00,`0,`0,`0.00,`0.00,`,`,`Tea, green,`,`0.07,`0.60%,`12.30,`0.00,`\r\n" +
		"`2026-12-04 11:00:00,`wx1,`1900000001,`0,`,`4200001,`order1,`o1,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`5030001,`r1,`2.05,`0.00,`ORIGINAL,`SUCCESS,`Tea,`,`0.00,`0.60%,`12.30,`2.05,`\r\n" +
		"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`2,`12.30,`2.05,`0.00,`0.07,`12.30,`2.05\r\n"
	items, err := parseTradeBill([]byte(bill))
	if err != nil {
		t.Fatal(err)
	}
	want := []ReconItem{
		{Kind: ReconPayment, OrderID: "order1", TransactionID: "4200001", WeChatAmount: 1230},
		{Kind: ReconRefund, OrderID: "order1", TransactionID: "4200001", RefundID: "r1", WeChatRefundID: "5030001", WeChatAmount: 205},
	}
	if !reflect.DeepEqual(items, want) {
		t.Errorf("items %+v, want %+v", items, want)
	}
}

const tradeBillHeaderForTest = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
	"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率," +
	"订单金额,申请退款金额,费率备注"
