package distribution_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"microshop/distribution"
	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/shop/catalog"
	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/wechat/paysim"
)

// transferSchemas add the order tables (the shop's WeChat Pay account
// lives in its order settings) to the distribution ones.
var transferSchemas = append(slices.Clone(schemas), order.Schema, catalog.Schema)

// transferFixture is a distribution fixture whose orders service pays
// through a WeChat Pay simulator (in sandbox mode: the shop's account is
// generated on first use), with a distributor met in WeChat holding
// available money and one never seen there.
func transferFixture(t *testing.T, e *engine.Engine) (f *fixture, sim *paysim.Simulator, inWeChat, browser tree.Distributor) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sim, err := paysim.New(paysim.Options{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cs := catalog.NewStore(e)
	fans := fan.NewStore(e)
	orders := order.NewService(order.NewStore(e), catalog.New(cs, catalog.NewShelf(cs, time.Hour)), fans, quiet)
	orders.SetWeChatPay(order.NewWeChatPay(paysim.RewriteClient(srv.URL), sim))
	c := &clock{t: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)}
	svc := distribution.New(e, distribution.Config{Locker: &locker{}, Fans: fans, Orders: orders})
	svc.SetClock(c.now)
	f = &fixture{t: t, ctx: context.Background(), svc: svc, clock: c, engine: e}
	f.shop.ID, f.shop.Slug, f.shop.TimeZone = enginetest.Tenant(t, e), "dist", "Asia/Shanghai"
	f.settings(func(s *distribution.Settings) { s.AfterSaleDays = 7; s.MinWithdrawal = 100 })
	const openID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
	fanID := fan.IDForOpenID(f.shop.ID, openID)
	if _, err := fans.Apply(f.ctx, f.shop.ID, fan.Event{FanID: fanID, OpenID: openID, Kind: fan.Subscribed, Source: "wechat",
		At: c.now()}); err != nil {
		t.Fatal(err)
	}
	inWeChat, _, err = svc.Join(f.ctx, f.shop.ID, fanID)
	if err != nil {
		t.Fatal(err)
	}
	browser = f.distributor(nil)
	for _, d := range []tree.Distributor{inWeChat, browser} {
		buyer := engine.NewID()
		f.visit(buyer, distribution.Touch{DistributorCode: d.Code, Via: "link"})
		o := f.paidOrder(buyer, 100000) // 10000 commission
		f.complete(&o)
	}
	f.clock.add(8 * 24 * time.Hour)
	f.jobs()
	if bal := f.balance(inWeChat); bal.Available != 10000 {
		t.Fatalf("balance before withdrawing %+v", bal)
	}
	return f, sim, inWeChat, browser
}

// approved is an approved withdrawal of amount by d.
func (f *fixture) approved(d tree.Distributor, amount int64) string {
	f.t.Helper()
	w, err := f.svc.Ledger().Withdraw(f.ctx, f.shop.ID, d.ID, amount, ledger.WithdrawRules{Min: 100}, "")
	if err != nil {
		f.t.Fatal(err)
	}
	id := w.ID[len("withdraw:"):]
	if _, err := f.svc.Decide(f.ctx, f.shop.ID, id, ledger.Approve, ""); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// TestWithdrawalTransferred: paying an approved withdrawal without a
// reference transfers the payout to the distributor's WeChat balance; it
// ends paid with WeChat Pay's bill number, the money withdrawn.
func TestWithdrawalTransferred(t *testing.T) {
	enginetest.Kinds(t, transferSchemas, func(t *testing.T, e *engine.Engine) {
		f, sim, d, _ := transferFixture(t, e)
		id := f.approved(d, 3000)
		w, err := f.svc.Decide(f.ctx, f.shop.ID, id, ledger.Pay, "")
		if err != nil {
			t.Fatal(err)
		}
		if w.Status != ledger.Paid || !w.ByWeChat || w.TransferRef == "" {
			t.Fatalf("after the transfer: %+v", w)
		}
		if bal := f.balance(d); bal.Available != 7000 || bal.Withdrawn != 3000 || bal.Frozen != 0 {
			t.Errorf("balance after the transfer %+v", bal)
		}
		// The bill at WeChat Pay is the one shown.
		if b, ok := sim.TransferOf(mchID(f), id); !ok || b.BatchID != w.TransferRef || b.SuccessAmount != 3000 ||
			b.OpenIDs[0] != "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" {
			t.Errorf("no matching batch at WeChat Pay for %+v", w)
		}
		// Paying again changes nothing.
		if _, err := f.svc.Decide(f.ctx, f.shop.ID, id, ledger.Pay, ""); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("paying a paid withdrawal again: %v", err)
		}
	})
}

// mchID is the shop's merchant id at the simulator (generated).
func mchID(f *fixture) string {
	f.t.Helper()
	s, err := order.NewStore(f.engine).Settings(f.ctx, f.shop.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return s.WeChatPay.MchID
}

// TestWithdrawalTransferFails: a transfer WeChat Pay fails returns the
// money to the available balance exactly once, however many queries and
// retries race over it.
func TestWithdrawalTransferFails(t *testing.T) {
	enginetest.Kinds(t, transferSchemas, func(t *testing.T, e *engine.Engine) {
		f, sim, d, _ := transferFixture(t, e)
		id := f.approved(d, 4000)
		// The first answer is lost (the shop's account is generated on the
		// first call: make it now, then fail its transfers).
		if _, err := f.svc.Decide(f.ctx, f.shop.ID, f.approved(d, 100), ledger.Pay, ""); err != nil {
			t.Fatal(err)
		}
		sim.SetRule(mchID(f), paysim.Rule{FailTransfers: true})
		if _, err := f.svc.Ledger().StartTransfer(f.ctx, f.shop.ID, ledger.WithdrawalID(id)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				if i%2 == 0 {
					_, _ = f.svc.Decide(f.ctx, f.shop.ID, id, ledger.Pay, "")
				} else if _, err := f.svc.QueryTransfers(f.ctx, f.shop.ID); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		w, err := f.svc.Withdrawal(f.ctx, f.shop.ID, id)
		if err != nil || w.Status != ledger.Failed || !w.ByWeChat {
			t.Fatalf("after the failed transfer: %+v %v", w, err)
		}
		if bal := f.balance(d); bal.Available != 10000-100 || bal.Frozen != 0 || bal.Withdrawn != 100 {
			t.Errorf("balance after the failed transfer %+v", bal)
		}
		es, err := f.svc.Ledger().History(f.ctx, f.shop.ID, d.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, en := range es {
			if en.Type == ledger.TypeWithdrawFailed {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d failure entries, want 1", n)
		}
		if r, err := f.svc.QueryTransfers(f.ctx, f.shop.ID); err != nil || r.Queried != 0 {
			t.Errorf("a failed transfer is asked about again: %+v %v", r, err)
		}
	})
}

// TestWithdrawalNoOpenID: a distributor never seen in WeChat cannot be
// paid by transfer; paying by hand with a reference still works.
func TestWithdrawalNoOpenID(t *testing.T) {
	enginetest.Kinds(t, transferSchemas, func(t *testing.T, e *engine.Engine) {
		f, _, _, d := transferFixture(t, e)
		id := f.approved(d, 2000)
		if _, err := f.svc.Decide(f.ctx, f.shop.ID, id, ledger.Pay, ""); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("transfer to a distributor without openid: %v", err)
		}
		w, err := f.svc.Decide(f.ctx, f.shop.ID, id, ledger.Pay, "BANK-7")
		if err != nil || w.Status != ledger.Paid || w.TransferRef != "BANK-7" || w.ByWeChat {
			t.Errorf("paid by hand: %+v %v", w, err)
		}
	})
}
