package credit

import (
	"context"
	"net/http"

	"microshop/tenants/fault"
)

// Standing is what a shop may do now, by its penalties in force.
type Standing struct {
	Level          string
	NoOrders       *Penalty
	WithdrawalHold *Penalty
	OffMarket      bool
}

// Standing returns the shop's level and the penalties that restrict it now
// (read through a cache of a few seconds).
func (s *Service) Standing(ctx context.Context, tenantID string) (Standing, error) {
	r, err := s.cachedRecord(ctx, tenantID)
	if err != nil {
		return Standing{}, err
	}
	st := Standing{Level: r.Level}
	now := s.clock()
	for i := range r.Penalties {
		p := r.Penalties[i]
		if !p.InForce(now) {
			continue
		}
		switch p.Kind {
		case NoOrders:
			if st.NoOrders == nil || p.End.After(st.NoOrders.End) {
				st.NoOrders = &p
			}
		case WithdrawalHold:
			if st.WithdrawalHold == nil || p.End.After(st.WithdrawalHold.End) {
				st.WithdrawalHold = &p
			}
		case OffMarket:
			st.OffMarket = true
		}
	}
	return st, nil
}

// CanPlace is order.Gate: a shop under a "no new orders" penalty takes
// none until it ends.
func (s *Service) CanPlace(ctx context.Context, tenantID string) error {
	st, err := s.Standing(ctx, tenantID)
	if err != nil {
		return err
	}
	if p := st.NoOrders; p != nil {
		return fault.New(http.StatusForbidden, "orders_suspended",
			"this shop takes no new orders until %s (a platform penalty)", p.End.Format("2006-01-02 15:04 UTC"))
	}
	return nil
}

// CanWithdraw is ledger.Hold: a shop under a "withdrawal hold" penalty
// pays out no commission until it ends.
func (s *Service) CanWithdraw(ctx context.Context, tenantID string) error {
	st, err := s.Standing(ctx, tenantID)
	if err != nil {
		return err
	}
	if p := st.WithdrawalHold; p != nil {
		return fault.New(http.StatusForbidden, "withdrawals_held",
			"withdrawals from this shop are held until %s (a platform penalty)", p.End.Format("2006-01-02 15:04 UTC"))
	}
	return nil
}
