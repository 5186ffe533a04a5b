package ledger

import (
	"context"
	"fmt"
	"net/http"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// WithdrawRules are a shop's withdrawal rules.
type WithdrawRules struct {
	Min    int64 // fen
	FeeBps int64 // fee in basis points of the amount, kept from the payout
}

// ErrInsufficient is a withdrawal beyond the available balance.
var ErrInsufficient = &fault.Error{Status: http.StatusConflict, Code: "insufficient_balance", Message: "insufficient available balance"}

// insufficient is ErrInsufficient saying why.
func insufficient(format string, args ...any) error {
	return &fault.Error{Status: ErrInsufficient.Status, Code: ErrInsufficient.Code, Message: fmt.Sprintf(format, args...)}
}

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
	if err := l.held(ctx, tenantID); err != nil {
		return Entry{}, err
	}
	id := engine.NewID()
	e, _, err := l.append(ctx, tenantID, beneficiary, WithdrawalID(id), func(tail Entry) (Entry, error) {
		if tail.Available < 0 {
			return Entry{}, insufficient("the balance is negative (%d fen) after refunds; it is netted against future commission before any withdrawal", tail.Available)
		}
		if tail.Available < amount {
			return Entry{}, insufficient("only %d fen is available to withdraw; you asked for %d", tail.Available, amount)
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
		var err error
		if ref, err = fault.Text("transfer_ref", ref, 64); err != nil {
			return Entry{}, err
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
		return Entry{}, fault.Conflict("cannot %s a withdrawal that is %s", fault.Word(decision), fault.Word(cur.Status))
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
	case Failed:
		typ, dAvail = TypeWithdrawFailed, w.Amount
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
		if w.Status != Paid && w.Status != Rejected && w.Status != Failed {
			continue
		}
		if err := l.close(ctx, tenantID, w); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// StartTransfer marks an approved withdrawal as being transferred by
// WeChat Pay (approved → transferring, one conditional update: of two
// racing payments one starts it). A withdrawal transferring already is
// returned as it is, so the caller may ask WeChat Pay again with the same
// batch number.
func (l *Ledger) StartTransfer(ctx context.Context, tenantID, id string) (Entry, error) {
	now := l.clock()
	ok, err := l.store.SetStatus(ctx, tenantID, id, []string{Approved}, Transferring, Change{DecidedAt: &now})
	if err != nil {
		return Entry{}, err
	}
	cur, err := l.Withdrawal(ctx, tenantID, id)
	if err != nil {
		return Entry{}, err
	}
	if !ok && cur.Status != Transferring {
		return Entry{}, fault.Conflict("cannot pay a withdrawal that is %s", fault.Word(cur.Status))
	}
	return cur, nil
}

// FinishTransfer ends a transferring withdrawal as WeChat Pay says:
// succeeded moves it to paid (the money to withdrawn), otherwise to
// failed (the money back to available). billNo is WeChat Pay's batch
// number. Of any number of racing answers (queries, retries) one moves
// it; the closing entry is keyed by the withdrawal, so the money moves
// once. finished reports whether this call moved it.
func (l *Ledger) FinishTransfer(ctx context.Context, tenantID, id string, succeeded bool, billNo string) (w Entry, finished bool, err error) {
	now := l.clock()
	to, ch := Failed, Change{TransferRef: &billNo}
	if succeeded {
		to, ch.PaidAt = Paid, &now
	}
	ok, err := l.store.SetStatus(ctx, tenantID, id, []string{Transferring}, to, ch)
	if err != nil {
		return Entry{}, false, err
	}
	cur, err := l.Withdrawal(ctx, tenantID, id)
	if err != nil {
		return Entry{}, false, err
	}
	if !ok {
		if cur.Status == to {
			return cur, false, nil
		}
		return Entry{}, false, fault.Conflict("cannot finish the transfer of a withdrawal that is %s", fault.Word(cur.Status))
	}
	if err := l.close(ctx, tenantID, cur); err != nil {
		return Entry{}, true, err
	}
	cur, err = l.Withdrawal(ctx, tenantID, id)
	return cur, true, err
}
