package distribution

import (
	"context"
	"errors"
	"strings"
	"time"

	"microshop/distribution/ledger"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Withdrawal is a withdrawal as the API shows it (its id without the
// ledger prefix).
type Withdrawal struct {
	ID          string    `json:"id"`
	Distributor string    `json:"distributor_id"`
	Status      string    `json:"status"`
	Amount      int64     `json:"amount"`
	Fee         int64     `json:"fee"`
	Payout      int64     `json:"payout"`
	Note        string    `json:"note,omitempty"`
	TransferRef string    `json:"transfer_ref,omitempty"`
	At          time.Time `json:"at"`
	DecidedAt   time.Time `json:"decided_at,omitzero"`
	PaidAt      time.Time `json:"paid_at,omitzero"`
}

func withdrawal(e ledger.Entry) Withdrawal {
	return Withdrawal{ID: strings.TrimPrefix(e.ID, "withdraw:"), Distributor: e.Beneficiary, Status: e.Status, Amount: e.Amount,
		Fee: e.Fee, Payout: e.Payout, Note: e.Note, TransferRef: e.TransferRef, At: e.At, DecidedAt: e.DecidedAt, PaidAt: e.PaidAt}
}

// Withdraw is a fan's request to withdraw amount (fen) of their
// commission, under the shop's minimum and fee: only an active
// distributor may.
func (s *Service) Withdraw(ctx context.Context, tenantID, fanID string, amount int64, note string) (Withdrawal, error) {
	note, err := fault.Text("note", note, 200)
	if err != nil {
		return Withdrawal{}, err
	}
	d, err := s.ActiveDistributor(ctx, tenantID, fanID)
	if errors.Is(err, fault.ErrNotFound) {
		return Withdrawal{}, fault.Forbidden("only active distributors can withdraw")
	}
	if err != nil {
		return Withdrawal{}, err
	}
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return Withdrawal{}, err
	}
	w, err := s.ledger.Withdraw(ctx, tenantID, d.ID, amount,
		ledger.WithdrawRules{Min: st.MinWithdrawal, FeeBps: st.WithdrawalFeeBps}, strings.TrimSpace(note))
	return withdrawal(w), err
}

// Withdrawals lists the withdrawals f selects (its class aside), newest
// first, never nil.
func (s *Service) Withdrawals(ctx context.Context, tenantID string, f ledger.Filter) ([]Withdrawal, error) {
	f.Class = ledger.ClassWithdrawal
	es, err := s.ledger.List(ctx, tenantID, f)
	out := make([]Withdrawal, len(es))
	for i, e := range es {
		out[i] = withdrawal(e)
	}
	return out, err
}

// Withdrawal returns the withdrawal with id (without the ledger prefix).
func (s *Service) Withdrawal(ctx context.Context, tenantID, id string) (Withdrawal, error) {
	if !engine.ValidID(id) {
		return Withdrawal{}, fault.NotFound("withdrawal")
	}
	w, err := s.ledger.Withdrawal(ctx, tenantID, ledger.WithdrawalID(id))
	return withdrawal(w), err
}

// Decide applies a merchant's decision (ledger.Approve, Reject or Pay, with
// the transfer's reference) to the withdrawal with id (see
// ledger.Ledger.Decide).
func (s *Service) Decide(ctx context.Context, tenantID, id, decision, ref string) (Withdrawal, error) {
	if !engine.ValidID(id) {
		return Withdrawal{}, fault.NotFound("withdrawal")
	}
	w, err := s.ledger.Decide(ctx, tenantID, ledger.WithdrawalID(id), decision, strings.TrimSpace(ref))
	return withdrawal(w), err
}
