package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"microshop/distribution/ledger"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestTestOrderCommission: the commission of a test order is recorded,
// marked test, and moves no money: no balance counts it, its refunds are
// test too, it is never scheduled or settled, and it cannot be withdrawn,
// alone or beside paidOrder commission.
func TestTestOrderCommission(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		l := ledger.New(ledger.NewStore(e))
		l.SetClock(func() time.Time { return now })
		tenant := enginetest.Tenant(t, e)
		test, paidOrder := engine.NewID(), engine.NewID()
		earn := mustEarn(t, l, tenant, ledger.Earning{OrderID: test, Level: 1, Beneficiary: "d", Amount: 5000, Base: 50000, Test: true})
		if !earn.Test || earn.Status != ledger.Test || earn.Amount != 5000 {
			t.Fatalf("test earning: %+v", earn)
		}
		mustEarn(t, l, tenant, ledger.Earning{OrderID: paidOrder, Level: 1, Beneficiary: "d", Amount: 300, Base: 3000})
		if b := balance(t, l, tenant, "d"); b != (ledger.Balance{Pending: 300, Earned: 300}) {
			t.Fatalf("balance %+v, want only the paidOrder order's 300 pending", b)
		}
		rev, _, err := l.Reverse(ctx, tenant, earn, "r1", 1000)
		if err != nil || !rev.Test || rev.Status != ledger.Test || rev.Amount != -1000 {
			t.Fatalf("reversal of a test earning: %+v %v", rev, err)
		}
		for _, o := range []string{test, paidOrder} {
			if err := l.ScheduleOrder(ctx, tenant, o, now); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(time.Hour)
		if n, err := l.SettleDue(ctx, tenant, 10); err != nil || n != 1 {
			t.Fatalf("settled %d (%v), want 1: the paidOrder order's only", n, err)
		}
		if _, ok, err := l.Settle(ctx, tenant, earn); err != nil || ok {
			t.Fatalf("settling a test earning: %v %v", ok, err)
		}
		if b := balance(t, l, tenant, "d"); b != (ledger.Balance{Available: 300, Earned: 300}) {
			t.Fatalf("balance %+v, want 300 available", b)
		}
		if _, err := l.Withdraw(ctx, tenant, "d", 301, ledger.WithdrawRules{}, ""); !errors.Is(err, ledger.ErrInsufficient) {
			t.Errorf("withdrawing test commission: %v", err)
		}
		entries, err := l.List(ctx, tenant, ledger.Filter{Class: ledger.ClassCommission, Status: ledger.Test})
		if err != nil || len(entries) != 2 {
			t.Fatalf("test entries: %d %v", len(entries), err)
		}
		for _, en := range entries {
			if !en.Test || en.OrderID != test || !en.AvailableAt.IsZero() {
				t.Errorf("listed test entry %+v", en)
			}
		}
		if err := (ledger.Filter{Class: ledger.ClassCommission, Status: ledger.Test}).Check(); err != nil {
			t.Errorf("filtering by status test: %v", err)
		}
	})
}
