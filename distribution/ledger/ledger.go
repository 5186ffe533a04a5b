// Package ledger is the commission ledger: every amount a distributor
// earns, loses to a refund, sees settled, withdraws or has paid out is one
// append-only entry, and every entry carries the beneficiary's running
// balances after it (pending, available, frozen, withdrawn).
//
// # Exactly once, on every engine, without transactions
//
// Two unique keys hold every rule:
//
//   - the entry's id is its natural key: "earn:<order>:<level>:<beneficiary>",
//     "reverse:<refund>:<earn id>", "settle:<earn id>", "withdraw:<id>",
//     "withdraw_paid:<id>", "withdraw_rejected:<id>". A replayed or
//     concurrent delivery of the same fact inserts the same id and loses:
//     nothing is created twice.
//   - (beneficiary, seq): each entry takes the next sequence number of its
//     beneficiary. An entry is computed from the beneficiary's latest entry
//     (the tail) and inserted at tail.seq+1; a writer that raced another
//     loses the insert and recomputes from the new tail. So a beneficiary's
//     entries form one chain, each balance derived from the one before:
//     two withdrawals cannot both spend the same available balance, and a
//     refund's reversal and a settlement never miss each other.
//
// Both are unique inserts, the one write FerretDB keeps exact under
// concurrency, so these rules hold there too (docs/ARCHITECTURE.md, "The
// two engines"). On SQLite the tail read and the insert also run in one
// IMMEDIATE transaction of the tenant's file, inside the one store method
// Append: the write lock keeps the tail current, so a hot beneficiary's
// concurrent entries queue instead of clashing and retrying. The unique
// keys stay the rule; the transaction only saves the retries. Statuses on
// entries (an earning "pending" → "available", a withdrawal "requested" →
// "approved" → "paid") are single-record conditional updates; money moves
// only through entries.
//
// Commission of a test order (Earning.Test) is recorded like any other,
// with status test and no money moved: its entries change no balance, are
// never scheduled or settled, and so can never be withdrawn.
//
// Refunds reverse commission pro rata as negative entries. Before
// settlement they come out of pending; after it, out of available, which
// may go negative: a negative balance blocks withdrawals and is netted
// against later earnings. Nothing is capped or dropped.
package ledger

import (
	"context"
	"slices"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Entry types.
const (
	TypeEarn             = "earn"              // commission on a paid order, pending
	TypeReverse          = "reverse"           // a refund's share of an earning (negative)
	TypeSettle           = "settle"            // an earning (net of its reversals) moves pending → available
	TypeWithdraw         = "withdraw"          // a withdrawal request: available → frozen
	TypeWithdrawPaid     = "withdraw_paid"     // the transfer was made: frozen → withdrawn
	TypeWithdrawRejected = "withdraw_rejected" // the merchant refused: frozen → available
	TypeWithdrawFailed   = "withdraw_failed"   // WeChat Pay's transfer failed: frozen → available
)

// Entry classes, what lists select on.
const (
	ClassCommission = "commission" // earn, reverse
	ClassSettlement = "settlement" // settle
	ClassWithdrawal = "withdrawal" // withdraw (the withdrawal itself)
	ClassTransfer   = "transfer"   // withdraw_paid, withdraw_rejected, withdraw_failed
)

// Statuses. Commission entries are pending or available, or test (the
// commission of a test order: recorded, never payable); withdrawals go
// requested → approved → paid, or → rejected; one paid by WeChat Pay's
// transfer goes approved → transferring → paid, or → failed (the money
// returns to available).
const (
	Pending   = "pending"
	Available = "available"
	Test      = "test"
	Requested = "requested"
	Approved  = "approved"
	Paid      = "paid"
	Rejected  = "rejected"
	// Transferring: WeChat Pay was asked to transfer the payout.
	Transferring = "transferring"
	// Failed: the transfer failed; the money is available again.
	Failed = "failed"
)

// Entry is one ledger line. Amount is the entry's own amount (negative for
// a reversal); the D* fields are what it moves between the buckets, and the
// balance fields are the beneficiary's balances after it.
type Entry struct {
	ID          string    `json:"id"`
	Beneficiary string    `json:"beneficiary"`
	Seq         int64     `json:"seq"`
	Type        string    `json:"type"`
	Class       string    `json:"class"`
	Status      string    `json:"status,omitempty"`
	OrderID     string    `json:"order_id,omitempty"`
	FanID       string    `json:"fan_id,omitempty"` // the buyer of the order
	Level       int       `json:"level,omitempty"`  // 1 = the distributor the customer is bound to
	Ref         string    `json:"ref,omitempty"`    // the earning a reversal or settlement is about; the withdrawal a transfer closes
	Amount      int64     `json:"amount"`
	Base        int64     `json:"base,omitempty"`     // commission base of the order (paid goods, no shipping)
	RateBps     int64     `json:"rate_bps,omitempty"` // the level's rate, when a rate applied
	AvailableAt time.Time `json:"available_at,omitzero"`
	// Test marks the commission of a test order (paid in the sandbox in
	// test mode): it moves no money, so it is never settled or withdrawn
	// and counts in no balance.
	Test bool `json:"test"`

	DPending   int64 `json:"-"`
	DAvailable int64 `json:"-"`
	DFrozen    int64 `json:"-"`
	DWithdrawn int64 `json:"-"`
	Balance

	// Withdrawals.
	Fee         int64     `json:"fee,omitempty"`
	Payout      int64     `json:"payout,omitempty"`
	Note        string    `json:"note,omitempty"`
	TransferRef string    `json:"transfer_ref,omitempty"`
	DecidedAt   time.Time `json:"decided_at,omitzero"`
	PaidAt      time.Time `json:"paid_at,omitzero"`
	// Open: the withdrawal's money is frozen and its closing transfer
	// entry not yet written.
	Open bool `json:"-"`

	At time.Time `json:"at"`
}

// Balance is a beneficiary's balances after an entry.
type Balance struct {
	Pending   int64 `json:"pending"`
	Available int64 `json:"available"` // may be negative after a refund of settled commission
	Frozen    int64 `json:"frozen"`    // requested withdrawals not yet paid or rejected
	Withdrawn int64 `json:"withdrawn"`
	Earned    int64 `json:"earned"` // commission earned less reversals, all time
}

// Filter selects entries for a list.
type Filter struct {
	Class       string // required: ClassCommission or ClassWithdrawal (or any other class)
	OrderID     string
	Beneficiary string
	Status      string
	Limit       int
	Offset      int
}

// Statuses lists the statuses entries of class can have.
func Statuses(class string) []string {
	switch class {
	case ClassCommission:
		return []string{Pending, Available, Test}
	case ClassWithdrawal:
		return []string{Requested, Approved, Transferring, Paid, Rejected, Failed}
	}
	return nil
}

// Check says what is wrong with a filter a client sent: an order or
// beneficiary that is no id, a status entries of the class cannot have.
func (f Filter) Check() error {
	for _, id := range []struct{ field, what, id string }{{"order_id", "order", f.OrderID}, {"beneficiary", "distributor", f.Beneficiary}} {
		if id.id != "" {
			if err := engine.CheckID(id.field, id.what, id.id); err != nil {
				return err
			}
		}
	}
	if statuses := Statuses(f.Class); f.Status != "" && !slices.Contains(statuses, f.Status) {
		return fault.Invalid("status", "must be one of %s", strings.Join(statuses, ", "))
	}
	return nil
}

// Ledger appends entries and answers balances.
type Ledger struct {
	store Store
	now   func() time.Time
	// hold may stop withdrawals (SetHold, hold.go; nil: never).
	hold Hold
	// afterSale keeps commission of orders with an open after-sale
	// request from settling (SetAfterSale, aftersale.go; nil: never).
	afterSale AfterSale
}

// New returns the ledger over store.
func New(store Store) *Ledger { return &Ledger{store: store, now: time.Now} }

// SetClock replaces the ledger's clock (tests).
func (l *Ledger) SetClock(now func() time.Time) { l.now = now }

// Store returns the ledger's store.
func (l *Ledger) Store() Store { return l.store }

func (l *Ledger) clock() time.Time { return l.now().UTC().Truncate(time.Millisecond) }

// List lists entries.
func (l *Ledger) List(ctx context.Context, tenantID string, f Filter) ([]Entry, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	return l.store.List(ctx, tenantID, f)
}

// History lists a beneficiary's entries, newest first.
func (l *Ledger) History(ctx context.Context, tenantID, beneficiary string, limit int) ([]Entry, error) {
	return l.store.History(ctx, tenantID, beneficiary, limit)
}

// ByOrder lists an order's entries.
func (l *Ledger) ByOrder(ctx context.Context, tenantID, orderID string) ([]Entry, error) {
	return l.store.ByOrder(ctx, tenantID, orderID)
}

// Balance returns the beneficiary's current balances.
func (l *Ledger) Balance(ctx context.Context, tenantID, beneficiary string) (Balance, error) {
	t, err := l.store.Tail(ctx, tenantID, beneficiary)
	return t.Balance, err
}

// NextAvailable is the earliest date a pending earning of beneficiary
// becomes available (zero: none scheduled yet).
func (l *Ledger) NextAvailable(ctx context.Context, tenantID, beneficiary string) (time.Time, error) {
	es, err := l.store.List(ctx, tenantID, Filter{Class: ClassCommission, Beneficiary: beneficiary, Status: Pending, Limit: 200})
	if err != nil {
		return time.Time{}, err
	}
	var next time.Time
	for _, e := range es {
		if e.Type == TypeEarn && !e.AvailableAt.IsZero() && (next.IsZero() || e.AvailableAt.Before(next)) {
			next = e.AvailableAt
		}
	}
	return next, nil
}
