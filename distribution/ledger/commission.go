package ledger

import (
	"context"
	"fmt"
	"time"

	"microshop/tenants/fault"
)

// EarnID is the id of the earning of order at level for beneficiary: one
// per (order, level, beneficiary).
func EarnID(orderID string, level int, beneficiary string) string {
	return fmt.Sprintf("earn:%s:%d:%s", orderID, level, beneficiary)
}

// Earning is a commission to record for a paid order.
type Earning struct {
	OrderID     string
	FanID       string
	Level       int
	Beneficiary string
	Amount      int64
	Base        int64
	RateBps     int64
	// Test: the order was paid in test mode (see Entry.Test).
	Test bool
}

// Earn records a pending commission once per (order, level, beneficiary).
// A negative amount is refused: commission is never negative at creation.
func (l *Ledger) Earn(ctx context.Context, tenantID string, in Earning) (Entry, bool, error) {
	if err := checkEarning(in); err != nil {
		return Entry{}, false, err
	}
	return l.append(ctx, tenantID, in.Beneficiary, EarnID(in.OrderID, in.Level, in.Beneficiary), earnEntry(in))
}

// EarnAll records an order's earnings, one per level, as Earn does. On
// SQLite they are written in one transaction, so a second level costs two
// statements rather than a second transaction. Should that fail (one of
// them recorded already: a replay; a sequence taken meanwhile), each is
// recorded on its own by Earn, which is idempotent.
func (l *Ledger) EarnAll(ctx context.Context, tenantID string, ins []Earning) error {
	if len(ins) > 1 {
		items := make([]Appending, len(ins))
		for i, in := range ins {
			if err := checkEarning(in); err != nil {
				return err
			}
			items[i] = Appending{Beneficiary: in.Beneficiary,
				Next: l.next(EarnID(in.OrderID, in.Level, in.Beneficiary), in.Beneficiary, earnEntry(in))}
		}
		if _, err := l.store.AppendAll(ctx, tenantID, items); err == nil {
			return nil
		}
	}
	for _, in := range ins {
		if _, _, err := l.Earn(ctx, tenantID, in); err != nil {
			return fmt.Errorf("level %d: %w", in.Level, err)
		}
	}
	return nil
}

func checkEarning(in Earning) error {
	if in.Amount < 0 {
		return fault.Invalid("amount", "commission cannot be negative (got %d)", in.Amount)
	}
	if in.Level < 1 || in.OrderID == "" || in.Beneficiary == "" {
		return fmt.Errorf("earn: incomplete earning %+v", in)
	}
	return nil
}

func earnEntry(in Earning) func(Entry) (Entry, error) {
	return func(Entry) (Entry, error) {
		e := Entry{Type: TypeEarn, Class: ClassCommission, Status: Pending, OrderID: in.OrderID, FanID: in.FanID,
			Level: in.Level, Amount: in.Amount, Base: in.Base, RateBps: in.RateBps, DPending: in.Amount}
		if in.Test {
			e.Status, e.Test, e.DPending = Test, true, 0
		}
		return e, nil
	}
}

// Reverse records a refund's share of earn (amount > 0 is the part taken
// back) once per (refund, earning). Before the earning is settled it comes
// out of pending; after, out of available (which may go negative).
func (l *Ledger) Reverse(ctx context.Context, tenantID string, earn Entry, refundID string, amount int64) (Entry, bool, error) {
	if amount <= 0 {
		return Entry{}, false, nil
	}
	id := "reverse:" + refundID + ":" + earn.ID
	var settled bool
	return l.appendRead(ctx, tenantID, earn.Beneficiary, id, func() (err error) {
		settled, err = l.exists(ctx, tenantID, SettleID(earn.ID))
		return err
	}, func(Entry) (Entry, error) {
		e := Entry{Type: TypeReverse, Class: ClassCommission, Status: Pending, OrderID: earn.OrderID, FanID: earn.FanID,
			Level: earn.Level, Ref: earn.ID, Amount: -amount, Base: earn.Base, DPending: -amount}
		switch {
		case earn.Test:
			e.Status, e.Test, e.DPending = Test, true, 0
		case settled:
			e.Status, e.DPending, e.DAvailable = Available, 0, -amount
		}
		return e, nil
	})
}

// SettleID is the id of the settlement of an earning.
func SettleID(earnID string) string { return "settle:" + earnID }

// Settle moves an earning, net of the reversals recorded against it so far,
// from pending to available, once. Later reversals of it come out of
// available. A test earning is never settled (false, no error).
func (l *Ledger) Settle(ctx context.Context, tenantID string, earn Entry) (Entry, bool, error) {
	if earn.Type != TypeEarn {
		return Entry{}, false, fmt.Errorf("settle %s: not an earning", earn.ID)
	}
	if earn.Test {
		return Entry{}, false, nil
	}
	var reversals []Entry
	net := earn.Amount
	e, appended, err := l.appendRead(ctx, tenantID, earn.Beneficiary, SettleID(earn.ID), func() error {
		var err error
		if reversals, err = l.reversals(ctx, tenantID, earn); err != nil {
			return err
		}
		net = earn.Amount
		for _, r := range reversals {
			net += r.Amount
		}
		return nil
	}, func(Entry) (Entry, error) {
		return Entry{Type: TypeSettle, Class: ClassSettlement, OrderID: earn.OrderID, FanID: earn.FanID, Level: earn.Level,
			Ref: earn.ID, Amount: net, DPending: -net, DAvailable: net}, nil
	})
	if err != nil {
		return Entry{}, false, err
	}
	// The statuses follow the money (informational; a crash here is
	// repaired by the next settlement pass, which finds the earning still
	// pending and the settlement already written).
	if _, err := l.store.SetStatus(ctx, tenantID, earn.ID, []string{Pending}, Available, Change{}); err != nil {
		return Entry{}, false, err
	}
	if !appended {
		if reversals, err = l.reversals(ctx, tenantID, earn); err != nil {
			return Entry{}, false, err
		}
	}
	for _, r := range reversals {
		if _, err := l.store.SetStatus(ctx, tenantID, r.ID, []string{Pending}, Available, Change{}); err != nil {
			return Entry{}, false, err
		}
	}
	return e, appended, nil
}

// reversals are the reversals recorded against earn.
func (l *Ledger) reversals(ctx context.Context, tenantID string, earn Entry) ([]Entry, error) {
	all, err := l.store.ByOrder(ctx, tenantID, earn.OrderID)
	var out []Entry
	for _, r := range all {
		if r.Type == TypeReverse && r.Ref == earn.ID {
			out = append(out, r)
		}
	}
	return out, err
}

// SettleDue settles up to limit earnings whose available date has passed,
// but for those of orders with an open after-sale request (AfterSale).
func (l *Ledger) SettleDue(ctx context.Context, tenantID string, limit int) (int, error) {
	due, err := l.store.Due(ctx, tenantID, l.clock(), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range due {
		if open, err := l.openAfterSale(ctx, tenantID, e.OrderID); err != nil {
			return n, err
		} else if open {
			continue // settles on a later pass, once the request ends
		}
		if _, ok, err := l.Settle(ctx, tenantID, e); err != nil {
			return n, err
		} else if ok {
			n++
		}
	}
	return n, nil
}

// ScheduleOrder sets the date an order's pending earnings become available
// (its completion plus the after-sale window: the shop's, when the
// plugged AfterSale knows it, see settleAt; else at). Replays are no-ops;
// test earnings never become available.
func (l *Ledger) ScheduleOrder(ctx context.Context, tenantID, orderID string, at time.Time) error {
	all, err := l.store.ByOrder(ctx, tenantID, orderID)
	if err != nil {
		return err
	}
	asked := false
	for _, e := range all {
		if e.Type == TypeEarn && !e.Test && e.AvailableAt.IsZero() {
			if !asked {
				if at, err = l.settleAt(ctx, tenantID, orderID, at); err != nil {
					return err
				}
				asked = true
			}
			if err := l.store.SetAvailableAt(ctx, tenantID, e.ID, at); err != nil {
				return err
			}
		}
	}
	return nil
}
