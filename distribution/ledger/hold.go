package ledger

import "context"

// Hold says whether a shop's distributors may withdraw now: a penalty of
// the platform's credit rules (shop/credit's "withdrawal hold") stops
// them. Its error is what the distributor gets (a 4xx saying why). server
// plugs shop/credit in; without one withdrawals are never held.
type Hold interface {
	CanWithdraw(ctx context.Context, tenantID string) error
}

// SetHold plugs in what may hold a shop's withdrawals (wired by server).
func (l *Ledger) SetHold(h Hold) { l.hold = h }

// held is nil when the shop's distributors may withdraw (see Hold).
func (l *Ledger) held(ctx context.Context, tenantID string) error {
	if l.hold == nil {
		return nil
	}
	return l.hold.CanWithdraw(ctx, tenantID)
}
