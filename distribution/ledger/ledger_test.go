package ledger_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/distribution/ledger"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

var schemas = []engine.Schema{ledger.Schema}

func balance(t *testing.T, l *ledger.Ledger, tenant, who string) ledger.Balance {
	t.Helper()
	b, err := l.Balance(context.Background(), tenant, who)
	if err != nil {
		t.Fatalf("balance of %s: %v", who, err)
	}
	return b
}

func mustEarn(t *testing.T, l *ledger.Ledger, tenant string, in ledger.Earning) ledger.Entry {
	t.Helper()
	e, _, err := l.Earn(context.Background(), tenant, in)
	if err != nil {
		t.Fatalf("earn %+v: %v", in, err)
	}
	return e
}

// TestEarnOnce: replays of the same (order, level, beneficiary) create
// nothing new, sequentially and concurrently; a negative commission is
// refused at creation.
func TestEarnOnce(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		l := ledger.New(ledger.NewStore(e))
		tenant := enginetest.Tenant(t, e)
		in := ledger.Earning{OrderID: engine.NewID(), FanID: "fan", Level: 1, Beneficiary: "d1", Amount: 390, Base: 3900, RateBps: 1000}
		first, created, err := l.Earn(ctx, tenant, in)
		if err != nil || !created || first.Seq != 1 || first.Pending != 390 || first.Status != ledger.Pending {
			t.Fatalf("first earn: %+v %v %v", first, created, err)
		}
		for range 3 {
			again, created, err := l.Earn(ctx, tenant, in)
			if err != nil || created || again.ID != first.ID {
				t.Fatalf("replay: %+v %v %v", again, created, err)
			}
		}
		// Concurrent deliveries of another order's commission: one entry.
		// The rule rests on unique inserts only, so it runs on FerretDB too.
		in2 := in
		in2.OrderID = engine.NewID()
		var wg sync.WaitGroup
		var wins atomic.Int32
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, created, err := l.Earn(ctx, tenant, in2)
				if err != nil {
					t.Error(err)
				}
				if created {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d deliveries created the commission, want 1", wins.Load())
		}
		if b := balance(t, l, tenant, "d1"); b.Pending != 780 || b.Earned != 780 {
			t.Errorf("balance %+v, want pending 780", b)
		}
		hist, err := l.History(ctx, tenant, "d1", 10)
		if err != nil || len(hist) != 2 || hist[0].Seq != 2 || hist[1].Seq != 1 {
			t.Errorf("history: %d entries %v", len(hist), err)
		}
		neg := in
		neg.OrderID, neg.Amount = engine.NewID(), -1
		if _, _, err := l.Earn(ctx, tenant, neg); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("negative commission: %v", err)
		}
		// The other tenant sees nothing.
		if b := balance(t, l, enginetest.Tenant(t, e), "d1"); b != (ledger.Balance{}) {
			t.Errorf("other tenant's balance %+v", b)
		}
	})
}

// TestRefundsAndSettlement: a refund before settlement comes out of
// pending; settlement moves the net; a refund after settlement, and after a
// withdrawal, takes available negative, which blocks withdrawals and is
// netted against later commission.
func TestRefundsAndSettlement(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		l := ledger.New(ledger.NewStore(e))
		l.SetClock(func() time.Time { return now })
		tenant := enginetest.Tenant(t, e)
		order := engine.NewID()
		earn := mustEarn(t, l, tenant, ledger.Earning{OrderID: order, Level: 1, Beneficiary: "d", Amount: 1000, Base: 10000})

		// Refund 20% before settlement: pending 800.
		if _, ok, err := l.Reverse(ctx, tenant, earn, "r1", 200); err != nil || !ok {
			t.Fatalf("reverse: %v %v", ok, err)
		}
		if _, ok, _ := l.Reverse(ctx, tenant, earn, "r1", 200); ok {
			t.Error("a replayed refund reversed twice")
		}
		if b := balance(t, l, tenant, "d"); b.Pending != 800 || b.Available != 0 || b.Earned != 800 {
			t.Fatalf("after early refund %+v", b)
		}

		// Not due until scheduled and the window passed.
		if n, err := l.SettleDue(ctx, tenant, 10); err != nil || n != 0 {
			t.Fatalf("settle before completion: %d %v", n, err)
		}
		if err := l.ScheduleOrder(ctx, tenant, order, now.Add(7*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := l.ScheduleOrder(ctx, tenant, order, now.Add(9*24*time.Hour)); err != nil { // a replay keeps the first date
			t.Fatal(err)
		}
		if next, err := l.NextAvailable(ctx, tenant, "d"); err != nil || !next.Equal(now.Add(7*24*time.Hour)) {
			t.Errorf("next available %v %v", next, err)
		}
		if n, _ := l.SettleDue(ctx, tenant, 10); n != 0 {
			t.Fatalf("settled %d before the window passed", n)
		}
		now = now.Add(8 * 24 * time.Hour)
		if n, err := l.SettleDue(ctx, tenant, 10); err != nil || n != 1 {
			t.Fatalf("settle due: %d %v", n, err)
		}
		if n, _ := l.SettleDue(ctx, tenant, 10); n != 0 {
			t.Fatalf("settled twice")
		}
		if b := balance(t, l, tenant, "d"); b.Pending != 0 || b.Available != 800 {
			t.Fatalf("after settlement %+v", b)
		}
		es, err := l.List(ctx, tenant, ledger.Filter{Class: ledger.ClassCommission, OrderID: order})
		if err != nil || len(es) != 2 || es[0].Status != ledger.Available || es[1].Status != ledger.Available {
			t.Fatalf("entries after settlement: %+v %v", es, err)
		}

		// Withdraw 700, pay it; then a refund of the rest of the order
		// (another 800) comes out of available: -700.
		rules := ledger.WithdrawRules{Min: 100, FeeBps: 100}
		w, err := l.Withdraw(ctx, tenant, "d", 700, rules, "")
		if err != nil || w.Fee != 7 || w.Payout != 693 || w.Status != ledger.Requested {
			t.Fatalf("withdraw: %+v %v", w, err)
		}
		for _, d := range []string{ledger.Approve, ledger.Pay} {
			if w, err = l.Decide(ctx, tenant, w.ID, d, "bank-1"); err != nil {
				t.Fatalf("%s: %v", d, err)
			}
		}
		if w.Status != ledger.Paid || w.TransferRef != "bank-1" {
			t.Fatalf("paid withdrawal %+v", w)
		}
		if b := balance(t, l, tenant, "d"); b.Available != 100 || b.Withdrawn != 700 || b.Frozen != 0 {
			t.Fatalf("after withdrawal %+v", b)
		}
		if _, ok, err := l.Reverse(ctx, tenant, earn, "r2", 800); err != nil || !ok {
			t.Fatalf("late reverse: %v", err)
		}
		if b := balance(t, l, tenant, "d"); b.Available != -700 || b.Earned != 0 || b.Withdrawn != 700 {
			t.Fatalf("after refund past withdrawal %+v", b)
		}
		if _, err := l.Withdraw(ctx, tenant, "d", 100, rules, ""); !errors.Is(err, ledger.ErrInsufficient) {
			t.Errorf("withdraw on a negative balance: %v", err)
		}
		// New commission nets against the debt.
		earn2 := mustEarn(t, l, tenant, ledger.Earning{OrderID: engine.NewID(), Level: 2, Beneficiary: "d", Amount: 1000})
		if err := l.ScheduleOrder(ctx, tenant, earn2.OrderID, now); err != nil {
			t.Fatal(err)
		}
		if n, err := l.SettleDue(ctx, tenant, 10); err != nil || n != 1 {
			t.Fatalf("settle second: %d %v", n, err)
		}
		if b := balance(t, l, tenant, "d"); b.Available != 300 {
			t.Fatalf("netted balance %+v, want available 300", b)
		}
		// Reject returns frozen money to available.
		w2, err := l.Withdraw(ctx, tenant, "d", 300, rules, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Decide(ctx, tenant, w2.ID, ledger.Pay, ""); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("pay before approval: %v", err)
		}
		if _, err := l.Decide(ctx, tenant, w2.ID, ledger.Reject, ""); err != nil {
			t.Fatal(err)
		}
		if b := balance(t, l, tenant, "d"); b.Available != 300 || b.Frozen != 0 {
			t.Fatalf("after rejection %+v", b)
		}
		if _, err := l.Withdrawal(ctx, tenant, "withdraw:"+engine.NewID()); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("unknown withdrawal: %v", err)
		}
		ws, err := l.List(ctx, tenant, ledger.Filter{Class: ledger.ClassWithdrawal, Status: ledger.Rejected})
		if err != nil || len(ws) != 1 || ws[0].ID != w2.ID {
			t.Errorf("rejected withdrawals %+v %v", ws, err)
		}
		if _, err := l.Withdraw(ctx, tenant, "d", 50, rules, ""); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("below minimum: %v", err)
		}
	})
}

// TestConcurrentWithdrawals: many requests racing for one balance never
// take more than it. The sequence number is a unique insert, so this holds
// on FerretDB too.
func TestConcurrentWithdrawals(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		l := ledger.New(ledger.NewStore(e))
		tenant := enginetest.Tenant(t, e)
		earn := mustEarn(t, l, tenant, ledger.Earning{OrderID: engine.NewID(), Level: 1, Beneficiary: "d", Amount: 1000})
		if err := l.ScheduleOrder(ctx, tenant, earn.OrderID, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := l.Settle(ctx, tenant, earn); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var granted atomic.Int64
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w, err := l.Withdraw(ctx, tenant, "d", 300, ledger.WithdrawRules{Min: 1}, "")
				switch {
				case err == nil:
					granted.Add(w.Amount)
				case !errors.Is(err, ledger.ErrInsufficient):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		b := balance(t, l, tenant, "d")
		if granted.Load() != 900 || b.Frozen != 900 || b.Available != 100 {
			t.Errorf("granted %d, balance %+v; want 900 frozen, 100 available", granted.Load(), b)
		}
	})
}

// TestConcurrentDecisions: pay and reject racing on one approved
// withdrawal; one wins and the money moves once. Conditional updates are
// not atomic on FerretDB.
func TestConcurrentDecisions(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		l := ledger.New(ledger.NewStore(e))
		tenant := enginetest.Tenant(t, e)
		earn := mustEarn(t, l, tenant, ledger.Earning{OrderID: engine.NewID(), Level: 1, Beneficiary: "d", Amount: 500})
		if _, _, err := l.Settle(ctx, tenant, earn); err != nil {
			t.Fatal(err)
		}
		w, err := l.Withdraw(ctx, tenant, "d", 500, ledger.WithdrawRules{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Decide(ctx, tenant, w.ID, ledger.Approve, ""); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := []string{ledger.Pay, ledger.Reject}[i%2]
				if _, err := l.Decide(ctx, tenant, w.ID, d, "x"); err != nil && !errors.Is(err, fault.ErrConflict) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		b := balance(t, l, tenant, "d")
		if b.Frozen != 0 || b.Available+b.Withdrawn != 500 {
			t.Errorf("balance %+v: the money moved more than once", b)
		}
		if n, err := l.CloseDecided(ctx, tenant, 10); err != nil || n != 0 {
			t.Errorf("close decided: %d %v", n, err)
		}
	})
}

// TestEarnAll: an order's levels are recorded together, once, whether the
// delivery is the first, a replay, a replay after one level was recorded on
// its own, or one of many concurrent deliveries; the running balances of a
// beneficiary with other entries stay exact.
func TestEarnAll(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		l := ledger.New(ledger.NewStore(e))
		tenant := enginetest.Tenant(t, e)
		levels := func(order string) []ledger.Earning {
			return []ledger.Earning{
				{OrderID: order, FanID: "fan", Level: 1, Beneficiary: "child", Amount: 1000, Base: 10000, RateBps: 1000},
				{OrderID: order, FanID: "fan", Level: 2, Beneficiary: "parent", Amount: 500, Base: 10000, RateBps: 500},
			}
		}
		entries := func(order string) []ledger.Entry {
			all, err := l.Store().ByOrder(ctx, tenant, order)
			if err != nil {
				t.Fatal(err)
			}
			return all
		}
		mustEarn(t, l, tenant, ledger.Earning{OrderID: engine.NewID(), FanID: "x", Level: 1, Beneficiary: "parent", Amount: 7, Base: 70, RateBps: 1000})

		a := engine.NewID()
		for range 3 { // first delivery, then replays
			if err := l.EarnAll(ctx, tenant, levels(a)); err != nil {
				t.Fatal(err)
			}
		}
		if got := entries(a); len(got) != 2 || got[0].Beneficiary != "child" || got[0].Seq != 1 || got[1].Beneficiary != "parent" || got[1].Seq != 2 || got[1].Pending != 507 {
			t.Fatalf("entries %+v", got)
		}

		// One level recorded on its own (a delivery that stopped half-way on
		// MongoDB), then the whole set: the other level is added.
		b := engine.NewID()
		mustEarn(t, l, tenant, levels(b)[1])
		if err := l.EarnAll(ctx, tenant, levels(b)); err != nil {
			t.Fatal(err)
		}
		if got := entries(b); len(got) != 2 {
			t.Fatalf("after a partial delivery: %+v", got)
		}

		// A negative level refuses the whole set before anything is written.
		bad := levels(engine.NewID())
		bad[1].Amount = -1
		if err := l.EarnAll(ctx, tenant, bad); !errors.Is(err, fault.ErrInvalid) {
			t.Fatalf("negative level: %v", err)
		}
		if got := entries(bad[0].OrderID); len(got) != 0 {
			t.Fatalf("a refused set wrote %+v", got)
		}

		if e.Kind() == engine.SQLite { // concurrency: SQLite only (docs/ARCHITECTURE.md)
			c := engine.NewID()
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					if err := l.EarnAll(ctx, tenant, levels(c)); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if got := entries(c); len(got) != 2 {
				t.Fatalf("16 concurrent deliveries: %d entries", len(got))
			}
		}
		wantChild, wantParent := int64(1000*2), int64(7+500*2)
		if e.Kind() == engine.SQLite {
			wantChild, wantParent = wantChild+1000, wantParent+500
		}
		if bc, bp := balance(t, l, tenant, "child"), balance(t, l, tenant, "parent"); bc.Pending != wantChild || bp.Pending != wantParent {
			t.Fatalf("balances child %+v parent %+v, want pending %d and %d", bc, bp, wantChild, wantParent)
		}
	})
}
