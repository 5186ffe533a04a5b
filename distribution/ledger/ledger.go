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
// concurrency, so these rules hold there too (DESIGN.md). On SQLite the
// tail read and the insert also run in one IMMEDIATE transaction of the
// tenant's file, inside the one store method Append: the write lock keeps
// the tail current, so a hot beneficiary's concurrent entries queue instead
// of clashing and retrying. The unique keys stay the rule; the
// transaction only saves the retries. Statuses on
// entries (an earning "pending" → "available", a withdrawal "requested" →
// "approved" → "paid") are single-record conditional updates; money moves
// only through entries.
//
// Refunds reverse commission pro rata as negative entries. Before
// settlement they come out of pending; after it, out of available, which
// may go negative: a negative balance blocks withdrawals and is netted
// against later earnings. Nothing is capped or dropped.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
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
)

// Entry classes, what lists select on.
const (
	ClassCommission = "commission" // earn, reverse
	ClassSettlement = "settlement" // settle
	ClassWithdrawal = "withdrawal" // withdraw (the withdrawal itself)
	ClassTransfer   = "transfer"   // withdraw_paid, withdraw_rejected
)

// Statuses. Commission entries are pending or available; withdrawals go
// requested → approved → paid, or → rejected.
const (
	Pending   = "pending"
	Available = "available"
	Requested = "requested"
	Approved  = "approved"
	Paid      = "paid"
	Rejected  = "rejected"
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

// Ledger appends entries and answers balances.
type Ledger struct {
	store Store
	now   func() time.Time
}

// New returns the ledger over store.
func New(store Store) *Ledger { return &Ledger{store: store, now: time.Now} }

// SetClock replaces the ledger's clock (tests).
func (l *Ledger) SetClock(now func() time.Time) { l.now = now }

// Store returns the ledger's store.
func (l *Ledger) Store() Store { return l.store }

func (l *Ledger) clock() time.Time { return l.now().UTC().Truncate(time.Millisecond) }

// maxAttempts bounds how often an append recomputes after losing the race
// for the next sequence number (a hot beneficiary under many concurrent
// writes).
const maxAttempts = 200

// append writes the entry id for beneficiary, computed by build from the
// beneficiary's latest entry, at the next sequence number. If id exists it
// returns that entry and false (a replay). Errors from build (a refused
// withdrawal) come back as they are.
func (l *Ledger) append(ctx context.Context, tenantID, beneficiary, id string, build func(tail Entry) (Entry, error)) (Entry, bool, error) {
	next := l.next(id, beneficiary, build)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		// No read of id first: the insert's unique id says whether the
		// fact is recorded (a replay pays one failed insert, not every
		// first delivery one read).
		e, err := l.store.Append(ctx, tenantID, beneficiary, next)
		if err == nil {
			return e, true, nil
		}
		if !engine.IsUniqueViolation(err) {
			var fe *fault.Error
			if errors.As(err, &fe) {
				return Entry{}, false, err
			}
			return Entry{}, false, fmt.Errorf("append %s: %w", id, err)
		}
		// Either id is recorded (a replay, or a concurrent delivery won)
		// or another entry took the sequence number: then recompute from
		// the new tail.
		if e, err := l.store.Get(ctx, tenantID, id); err == nil {
			return e, false, nil
		} else if !errors.Is(err, fault.ErrNotFound) {
			return Entry{}, false, err
		}
		backoff := time.Duration(rand.IntN(1+min(attempt, 20))) * 200 * time.Microsecond
		select {
		case <-ctx.Done():
			return Entry{}, false, ctx.Err()
		case <-time.After(backoff):
		}
	}
	return Entry{}, false, fmt.Errorf("append %s: beneficiary %s too busy, gave up after %d attempts", id, beneficiary, maxAttempts)
}

// next turns build (the entry's own fields, from the tail) into the chain's
// next entry: id, sequence number and running balances.
func (l *Ledger) next(id, beneficiary string, build func(tail Entry) (Entry, error)) func(tail Entry) (Entry, error) {
	return func(tail Entry) (Entry, error) {
		e, err := build(tail)
		if err != nil {
			return Entry{}, err
		}
		e.ID, e.Beneficiary, e.Seq = id, beneficiary, tail.Seq+1
		e.Pending = tail.Pending + e.DPending
		e.Available = tail.Available + e.DAvailable
		e.Frozen = tail.Frozen + e.DFrozen
		e.Withdrawn = tail.Withdrawn + e.DWithdrawn
		e.Earned = tail.Earned
		if e.Class == ClassCommission {
			e.Earned += e.Amount
		}
		if e.At.IsZero() {
			e.At = l.clock()
		}
		return e, nil
	}
}

// errMoved: the chain moved between the reads an entry was computed from
// and its write.
var errMoved = errors.New("the beneficiary's ledger moved")

// appendRead is append for an entry computed from other reads (whether an
// earning is settled, its reversals so far). read runs after a read of the
// tail, outside any transaction, and the entry is written only if the tail
// is still that one: then no entry was added in between, so read saw every
// entry the new one must account for. Otherwise both run again. (build
// itself never reads: on SQLite it runs while the write lock is held.)
func (l *Ledger) appendRead(ctx context.Context, tenantID, beneficiary, id string, read func() error, build func(tail Entry) (Entry, error)) (Entry, bool, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		seen, err := l.store.Tail(ctx, tenantID, beneficiary)
		if err != nil {
			return Entry{}, false, err
		}
		if err := read(); err != nil {
			return Entry{}, false, err
		}
		e, ok, err := l.append(ctx, tenantID, beneficiary, id, func(tail Entry) (Entry, error) {
			if tail.Seq != seen.Seq {
				return Entry{}, errMoved
			}
			return build(tail)
		})
		if !errors.Is(err, errMoved) {
			return e, ok, err
		}
	}
	return Entry{}, false, fmt.Errorf("append %s: beneficiary %s too busy, gave up after %d attempts", id, beneficiary, maxAttempts)
}

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
		return Entry{Type: TypeEarn, Class: ClassCommission, Status: Pending, OrderID: in.OrderID, FanID: in.FanID,
			Level: in.Level, Amount: in.Amount, Base: in.Base, RateBps: in.RateBps, DPending: in.Amount}, nil
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
		if settled {
			e.Status, e.DPending, e.DAvailable = Available, 0, -amount
		}
		return e, nil
	})
}

func (l *Ledger) exists(ctx context.Context, tenantID, id string) (bool, error) {
	_, err := l.store.Get(ctx, tenantID, id)
	if errors.Is(err, fault.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// SettleID is the id of the settlement of an earning.
func SettleID(earnID string) string { return "settle:" + earnID }

// Settle moves an earning, net of the reversals recorded against it so far,
// from pending to available, once. Later reversals of it come out of
// available.
func (l *Ledger) Settle(ctx context.Context, tenantID string, earn Entry) (Entry, bool, error) {
	if earn.Type != TypeEarn {
		return Entry{}, false, fmt.Errorf("settle %s: not an earning", earn.ID)
	}
	var reversals []Entry
	net := earn.Amount
	e, appended, err := l.appendRead(ctx, tenantID, earn.Beneficiary, SettleID(earn.ID), func() error {
		all, err := l.store.ByOrder(ctx, tenantID, earn.OrderID)
		if err != nil {
			return err
		}
		net, reversals = earn.Amount, reversals[:0]
		for _, r := range all {
			if r.Type == TypeReverse && r.Ref == earn.ID {
				net += r.Amount
				reversals = append(reversals, r)
			}
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
		all, err := l.store.ByOrder(ctx, tenantID, earn.OrderID)
		if err != nil {
			return Entry{}, false, err
		}
		reversals = reversals[:0]
		for _, r := range all {
			if r.Type == TypeReverse && r.Ref == earn.ID {
				reversals = append(reversals, r)
			}
		}
	}
	for _, r := range reversals {
		if _, err := l.store.SetStatus(ctx, tenantID, r.ID, []string{Pending}, Available, Change{}); err != nil {
			return Entry{}, false, err
		}
	}
	return e, appended, nil
}

// SettleDue settles up to limit earnings whose available date has passed.
func (l *Ledger) SettleDue(ctx context.Context, tenantID string, limit int) (int, error) {
	due, err := l.store.Due(ctx, tenantID, l.clock(), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range due {
		if _, ok, err := l.Settle(ctx, tenantID, e); err != nil {
			return n, err
		} else if ok {
			n++
		}
	}
	return n, nil
}

// ScheduleOrder sets the date an order's pending earnings become available
// (its completion plus the after-sale window). Replays are no-ops.
func (l *Ledger) ScheduleOrder(ctx context.Context, tenantID, orderID string, at time.Time) error {
	all, err := l.store.ByOrder(ctx, tenantID, orderID)
	if err != nil {
		return err
	}
	for _, e := range all {
		if e.Type == TypeEarn && e.AvailableAt.IsZero() {
			if err := l.store.SetAvailableAt(ctx, tenantID, e.ID, at); err != nil {
				return err
			}
		}
	}
	return nil
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

// WithdrawRules are a shop's withdrawal rules.
type WithdrawRules struct {
	Min    int64 // fen
	FeeBps int64 // fee in basis points of the amount, kept from the payout
}

// ErrInsufficient is a withdrawal beyond the available balance.
var ErrInsufficient = &fault.Error{Status: http.StatusConflict, Code: "insufficient_balance", Message: "insufficient available balance"}

// Withdraw requests a withdrawal of amount from the available balance,
// freezing it until the merchant pays or rejects it. Concurrent requests
// are serialised by the beneficiary's sequence: together they never take
// more than the available balance.
func (l *Ledger) Withdraw(ctx context.Context, tenantID, beneficiary string, amount int64, rules WithdrawRules, note string) (Entry, error) {
	if amount <= 0 {
		return Entry{}, fault.Invalid("amount", "must be a positive number of fen")
	}
	if amount < rules.Min {
		return Entry{}, fault.Invalid("amount", "the minimum withdrawal is %d fen", rules.Min)
	}
	id := engine.NewID()
	e, _, err := l.append(ctx, tenantID, beneficiary, WithdrawalID(id), func(tail Entry) (Entry, error) {
		if tail.Available < 0 {
			return Entry{}, &fault.Error{Status: ErrInsufficient.Status, Code: ErrInsufficient.Code,
				Message: fmt.Sprintf("the balance is negative (%d fen) after refunds; it is netted against future commission before any withdrawal", tail.Available)}
		}
		if tail.Available < amount {
			return Entry{}, &fault.Error{Status: ErrInsufficient.Status, Code: ErrInsufficient.Code,
				Message: fmt.Sprintf("only %d fen is available to withdraw; you asked for %d", tail.Available, amount)}
		}
		fee := amount * rules.FeeBps / 10000
		return Entry{Type: TypeWithdraw, Class: ClassWithdrawal, Status: Requested, Amount: amount, Fee: fee, Payout: amount - fee,
			Note: note, Open: true, DAvailable: -amount, DFrozen: amount}, nil
	})
	return e, err
}

// WithdrawalID is the ledger id of withdrawal id.
func WithdrawalID(id string) string { return "withdraw:" + id }

// Withdrawal returns one withdrawal by its id (as WithdrawalID).
func (l *Ledger) Withdrawal(ctx context.Context, tenantID, id string) (Entry, error) {
	e, err := l.store.Get(ctx, tenantID, id)
	if err != nil || e.Type != TypeWithdraw {
		return Entry{}, fault.NotFound("withdrawal")
	}
	return e, nil
}

// Decisions on a withdrawal.
const (
	Approve = "approve"
	Reject  = "reject"
	Pay     = "pay"
)

// Decide applies a merchant's decision to a withdrawal: approve
// (requested → approved), reject (requested or approved → rejected, the
// money returns to available) or pay (approved → paid, ref is the transfer's
// reference). Each is one conditional update, so of two racing decisions
// one wins; the money then moves by a closing entry keyed by the
// withdrawal, written once.
func (l *Ledger) Decide(ctx context.Context, tenantID, id, decision, ref string) (Entry, error) {
	w, err := l.Withdrawal(ctx, tenantID, id)
	if err != nil {
		return Entry{}, err
	}
	now := l.clock()
	var from []string
	var to string
	ch := Change{DecidedAt: &now}
	switch decision {
	case Approve:
		from, to = []string{Requested}, Approved
	case Reject:
		from, to = []string{Requested, Approved}, Rejected
	case Pay:
		if len(ref) > 64 {
			return Entry{}, fault.Invalid("transfer_ref", "must be at most 64 characters")
		}
		from, to = []string{Approved}, Paid
		ch = Change{PaidAt: &now, TransferRef: &ref}
	default:
		return Entry{}, fault.Invalid("decision", "must be approve, reject or pay")
	}
	ok, err := l.store.SetStatus(ctx, tenantID, w.ID, from, to, ch)
	if err != nil {
		return Entry{}, err
	}
	if !ok {
		cur, err := l.Withdrawal(ctx, tenantID, id)
		if err != nil {
			return Entry{}, err
		}
		if cur.Status == to {
			return cur, nil // a repeated decision
		}
		return Entry{}, fault.Conflict("cannot %s a withdrawal that is %s", decision, cur.Status)
	}
	w.Status = to
	if to == Paid || to == Rejected {
		if err := l.close(ctx, tenantID, w); err != nil {
			return Entry{}, err
		}
	}
	return l.Withdrawal(ctx, tenantID, id)
}

// close writes the entry that releases a decided withdrawal's frozen money
// (to withdrawn when paid, back to available when rejected), once, and
// marks the withdrawal closed.
func (l *Ledger) close(ctx context.Context, tenantID string, w Entry) error {
	var typ string
	var dAvail, dWithdrawn int64
	switch w.Status {
	case Paid:
		typ, dWithdrawn = TypeWithdrawPaid, w.Amount
	case Rejected:
		typ, dAvail = TypeWithdrawRejected, w.Amount
	default:
		return nil
	}
	base := w.ID[len("withdraw:"):]
	_, _, err := l.append(ctx, tenantID, w.Beneficiary, typ+":"+base, func(Entry) (Entry, error) {
		return Entry{Type: typ, Class: ClassTransfer, Ref: w.ID, Amount: w.Amount, DFrozen: -w.Amount,
			DAvailable: dAvail, DWithdrawn: dWithdrawn}, nil
	})
	if err != nil {
		return err
	}
	return l.store.Close(ctx, tenantID, w.ID)
}

// CloseDecided repairs withdrawals decided but not closed (a crash between
// the decision and its closing entry): up to limit of them.
func (l *Ledger) CloseDecided(ctx context.Context, tenantID string, limit int) (int, error) {
	ws, err := l.store.Unclosed(ctx, tenantID, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, w := range ws {
		if w.Status != Paid && w.Status != Rejected {
			continue
		}
		if err := l.close(ctx, tenantID, w); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

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
