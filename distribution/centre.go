package distribution

import (
	"context"
	"errors"

	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/tenants/fault"
)

// Centre is the distributor centre of one fan.
type Centre struct {
	Distributor *DistributorJSON `json:"distributor"`
	Link        string           `json:"link,omitempty"`
	QRURL       string           `json:"qr_url,omitempty"`
	Team        []tree.View      `json:"team"`
	Customers   []Binding        `json:"customers"`
	Orders      []Sale           `json:"orders"`
	Ledger      []ledger.Entry   `json:"ledger"`
	Withdrawals []Withdrawal     `json:"withdrawals"`
	// Joinable says whether the fan may become a distributor now, and
	// JoinRule how (open, first_purchase, approval).
	Joinable bool   `json:"joinable"`
	JoinRule string `json:"join_rule"`
	Enabled  bool   `json:"enabled"`
}

// Centre is what the fan sees of their own distribution: whether they may
// join, or their record, team, customers, orders, ledger and withdrawals
// (the latest of each), with the shop's settings. Link and QRURL are the
// caller's to fill in.
func (s *Service) Centre(ctx context.Context, tenantID, fanID string) (Centre, Settings, error) {
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return Centre{}, st, err
	}
	out := Centre{Team: []tree.View{}, Customers: []Binding{}, Orders: []Sale{}, Ledger: []ledger.Entry{}, Withdrawals: []Withdrawal{},
		JoinRule: st.Recruit, Enabled: st.Enabled}
	d, err := s.tree.ByFan(ctx, tenantID, fanID)
	if errors.Is(err, fault.ErrNotFound) {
		out.Joinable = st.Enabled
		if st.Recruit == RecruitFirstPurchase {
			b, err := s.store.Binding(ctx, tenantID, fanID)
			out.Joinable = st.Enabled && err == nil && b.PaidOrders > 0
		}
		return out, st, nil
	}
	if err != nil {
		return out, st, err
	}
	dj, err := s.Distributor(ctx, tenantID, d.ID)
	if err != nil {
		return out, st, err
	}
	out.Distributor = &dj
	if d.Status != tree.Active {
		return out, st, nil
	}
	if out.Team, err = s.tree.Children(ctx, tenantID, d.ID, 50, 0); err != nil {
		return out, st, err
	}
	if out.Customers, err = s.store.BoundTo(ctx, tenantID, "distributor", d.ID, 50, 0); err != nil {
		return out, st, err
	}
	if out.Orders, err = s.store.Sales(ctx, tenantID, d.ID, 50, 0); err != nil {
		return out, st, err
	}
	if out.Ledger, err = s.ledger.History(ctx, tenantID, d.ID, 50); err != nil {
		return out, st, err
	}
	if out.Withdrawals, err = s.Withdrawals(ctx, tenantID, ledger.Filter{Beneficiary: d.ID, Limit: 20}); err != nil {
		return out, st, err
	}
	out.Team, out.Customers, out.Orders, out.Ledger = orEmpty(out.Team), orEmpty(out.Customers), orEmpty(out.Orders), orEmpty(out.Ledger)
	return out, st, nil
}

// orEmpty is s, or an empty list for nil (a JSON [] rather than null).
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
