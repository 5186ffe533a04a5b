package distribution

import (
	"context"
	"errors"
	"strings"
	"time"

	"microshop/distribution/ledger"
	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Withdrawal is a withdrawal as the API shows it (its id without the
// ledger prefix).
type Withdrawal struct {
	ID          string `json:"id"`
	Distributor string `json:"distributor_id"`
	Status      string `json:"status"`
	Amount      int64  `json:"amount"`
	Fee         int64  `json:"fee"`
	Payout      int64  `json:"payout"`
	Note        string `json:"note,omitempty"`
	// TransferRef is the merchant's reference of a payment made by hand,
	// or WeChat Pay's batch (bill) number of a transfer.
	TransferRef string `json:"transfer_ref,omitempty"`
	// ByWeChat: paid (or being paid, or failed) by WeChat Pay's transfer.
	ByWeChat  bool      `json:"wechat_transfer,omitempty"`
	At        time.Time `json:"at"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	PaidAt    time.Time `json:"paid_at,omitzero"`
}

func withdrawal(e ledger.Entry) Withdrawal {
	w := Withdrawal{ID: strings.TrimPrefix(e.ID, "withdraw:"), Distributor: e.Beneficiary, Status: e.Status, Amount: e.Amount,
		Fee: e.Fee, Payout: e.Payout, Note: e.Note, TransferRef: e.TransferRef, At: e.At, DecidedAt: e.DecidedAt, PaidAt: e.PaidAt}
	w.TransferRef, w.ByWeChat = strings.CutPrefix(w.TransferRef, wechatRef)
	if e.Status == ledger.Transferring || e.Status == ledger.Failed {
		w.ByWeChat = true
	}
	return w
}

// wechatRef prefixes the stored reference of a WeChat Pay transfer.
const wechatRef = "wechat:"

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
// ledger.Ledger.Decide). Paying without a reference, in a shop whose
// orders service transfers with WeChat Pay, transfers the payout to the
// distributor's WeChat balance (see PayByTransfer); with a reference it
// records a payment made by hand.
func (s *Service) Decide(ctx context.Context, tenantID, id, decision, ref string) (Withdrawal, error) {
	if !engine.ValidID(id) {
		return Withdrawal{}, fault.NotFound("withdrawal")
	}
	ref = strings.TrimSpace(ref)
	if _, ok := s.orders.(Transferer); ok && decision == ledger.Pay && ref == "" {
		return s.PayByTransfer(ctx, tenantID, id)
	}
	w, err := s.ledger.Decide(ctx, tenantID, ledger.WithdrawalID(id), decision, ref)
	return withdrawal(w), err
}

// Transferer transfers money to a WeChat user's balance with the shop's
// WeChat Pay account; order.Service is one (and the distribution service
// finds it as its Orders).
type Transferer interface {
	Transfer(ctx context.Context, tenantID string, t order.Transfer) (order.TransferState, error)
	QueryTransfer(ctx context.Context, tenantID, outBatchNo string) (order.TransferState, error)
}

// PayByTransfer pays an approved withdrawal by WeChat Pay's transfer to
// the distributor's WeChat balance (their openid): the withdrawal moves to
// transferring, WeChat Pay is asked (the withdrawal's id is the batch
// number, so asking again never pays twice), and its answer, or the
// payments job's query later, ends it paid (with WeChat Pay's bill
// number) or failed (the money back to the distributor's available
// balance, once). A distributor never seen in WeChat has no openid: they
// are paid by hand, with a reference.
func (s *Service) PayByTransfer(ctx context.Context, tenantID, id string) (Withdrawal, error) {
	tr, ok := s.orders.(Transferer)
	if !ok {
		return Withdrawal{}, fault.Conflict("this shop cannot transfer with WeChat Pay; pay by hand and enter the reference")
	}
	if !engine.ValidID(id) {
		return Withdrawal{}, fault.NotFound("withdrawal")
	}
	lid := ledger.WithdrawalID(id)
	w, err := s.ledger.Withdrawal(ctx, tenantID, lid)
	if err != nil {
		return Withdrawal{}, err
	}
	if w.Status != ledger.Approved && w.Status != ledger.Transferring {
		return Withdrawal{}, fault.Conflict("cannot pay a withdrawal that is %s", fault.Word(w.Status))
	}
	d, err := s.tree.Store().Get(ctx, tenantID, w.Beneficiary)
	if err != nil {
		return Withdrawal{}, err
	}
	f, err := s.fans.Get(ctx, tenantID, d.FanID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return Withdrawal{}, err
	}
	if f.OpenID == "" {
		return Withdrawal{}, fault.Conflict("this distributor was never seen in WeChat, so WeChat Pay cannot transfer to them: pay by hand and enter the reference")
	}
	if w, err = s.ledger.StartTransfer(ctx, tenantID, lid); err != nil {
		return Withdrawal{}, err
	}
	st, err := tr.Transfer(ctx, tenantID, order.Transfer{OutBatchNo: id, OpenID: f.OpenID, Amount: w.Payout, Remark: "佣金提现"})
	if errors.Is(err, order.ErrTransferRefused) {
		if _, _, ferr := s.ledger.FinishTransfer(ctx, tenantID, lid, false, wechatRef+st.BatchID); ferr != nil {
			return Withdrawal{}, ferr
		}
		return Withdrawal{}, err
	}
	if err != nil {
		// No answer: the payments job asks WeChat Pay how it went.
		s.log.Warn("wechat pay transfer not confirmed; the payments job asks again", "tenant", tenantID, "withdrawal", id, "err", err)
		return s.Withdrawal(ctx, tenantID, id)
	}
	return s.finishTransfer(ctx, tenantID, id, st)
}

// finishTransfer ends withdrawal id's transfer as st says, if it ended.
func (s *Service) finishTransfer(ctx context.Context, tenantID, id string, st order.TransferState) (Withdrawal, error) {
	if st.Status == order.TransferProcessing {
		return s.Withdrawal(ctx, tenantID, id)
	}
	w, finished, err := s.ledger.FinishTransfer(ctx, tenantID, ledger.WithdrawalID(id), st.Status == order.TransferSucceeded, wechatRef+st.BatchID)
	if err != nil {
		return Withdrawal{}, err
	}
	if finished && st.Status == order.TransferFailed {
		s.log.Warn("wechat pay transfer failed; the money is available again", "tenant", tenantID, "withdrawal", id, "why", st.Failure)
	}
	return withdrawal(w), nil
}

// transferGrace is how long after a transfer started the query pass waits
// before it takes WeChat Pay's "no such batch" as a failure (a create
// still on its way would otherwise pay money the ledger gave back).
const transferGrace = 5 * time.Minute

// TransferReport counts what one transfer query pass did.
type TransferReport struct {
	Queried, Paid, Failed, Errors int
}

// QueryTransfers asks WeChat Pay about the shop's withdrawals still
// transferring and ends those it says ended (the payments job runs it).
func (s *Service) QueryTransfers(ctx context.Context, tenantID string) (TransferReport, error) {
	var r TransferReport
	tr, ok := s.orders.(Transferer)
	if !ok {
		return r, nil
	}
	ws, err := s.ledger.List(ctx, tenantID, ledger.Filter{Class: ledger.ClassWithdrawal, Status: ledger.Transferring, Limit: 200})
	if err != nil {
		return r, err
	}
	for _, e := range ws {
		id := strings.TrimPrefix(e.ID, "withdraw:")
		r.Queried++
		st, err := tr.QueryTransfer(ctx, tenantID, id)
		if err != nil {
			s.log.Warn("query wechat pay transfer", "tenant", tenantID, "withdrawal", id, "err", err)
			r.Errors++
			continue
		}
		if st.Unknown && s.now().Sub(e.DecidedAt) < transferGrace {
			continue // its create may still be on its way
		}
		w, err := s.finishTransfer(ctx, tenantID, id, st)
		if err != nil {
			return r, err
		}
		switch w.Status {
		case ledger.Paid:
			r.Paid++
		case ledger.Failed:
			r.Failed++
		}
	}
	return r, nil
}
