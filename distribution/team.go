package distribution

import (
	"context"
	"errors"
	"fmt"
	"time"

	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Join makes the fan a distributor under the shop's recruit rule: at once
// (open), once they have a paid order (first_purchase), or as an
// application the merchant approves (approval). The parent is the
// distributor whose link brought the fan. One fan, one distributor, however
// many requests race.
func (s *Service) Join(ctx context.Context, tenantID, fanID string) (tree.Distributor, bool, error) {
	if existing, err := s.tree.ByFan(ctx, tenantID, fanID); err == nil {
		return existing, false, nil
	}
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return tree.Distributor{}, false, err
	}
	if !st.Enabled {
		return tree.Distributor{}, false, fault.Conflict("this shop has no distributor programme")
	}
	b, err := s.store.Binding(ctx, tenantID, fanID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return tree.Distributor{}, false, err
	}
	status := tree.Active
	switch st.Recruit {
	case RecruitFirstPurchase:
		if b.PaidOrders == 0 {
			return tree.Distributor{}, false, fault.Conflict("distributors of this shop join after their first purchase")
		}
	case RecruitApproval:
		status = tree.Pending
	}
	if s.fans != nil {
		if _, err := s.fans.Ensure(ctx, tenantID, fanID, "direct", s.clock()); err != nil {
			return tree.Distributor{}, false, fmt.Errorf("record fan %s: %w", fanID, err)
		}
	}
	return s.tree.Join(ctx, tenantID, fanID, b.ReferrerID, status)
}

// DistributorJSON is a distributor with its counters and balance.
type DistributorJSON struct {
	tree.View
	Balance       ledger.Balance `json:"balance"`
	NextAvailable time.Time      `json:"next_available_at,omitzero"`
}

// Distributor returns one distributor with counters and balance.
func (s *Service) Distributor(ctx context.Context, tenantID, id string) (DistributorJSON, error) {
	if !engine.ValidID(id) {
		return DistributorJSON{}, fault.NotFound("distributor")
	}
	v, err := s.tree.View(ctx, tenantID, id)
	if err != nil {
		return DistributorJSON{}, err
	}
	b, err := s.ledger.Balance(ctx, tenantID, id)
	if err != nil {
		return DistributorJSON{}, err
	}
	next, err := s.ledger.NextAvailable(ctx, tenantID, id)
	return DistributorJSON{View: v, Balance: b, NextAvailable: next}, err
}

// DistributorQuery selects distributors for a list: the largest teams
// by Top ("sales" or "size"), those with Status (newest first), or else
// the children of ParentID ("" for the top level).
type DistributorQuery struct {
	Top, Status, ParentID string
	Limit, Offset         int
}

// Distributors lists the distributors q selects, with their counters
// (those listed by status without them), never nil.
func (s *Service) Distributors(ctx context.Context, tenantID string, q DistributorQuery) ([]tree.View, error) {
	var items []tree.View
	var err error
	switch {
	case q.Top != "":
		if q.Top != "sales" && q.Top != "size" {
			return nil, fault.Invalid("top", "must be sales or size")
		}
		items, err = s.tree.Top(ctx, tenantID, q.Top, q.Limit)
	case q.Status != "":
		if q.Status != tree.Active && q.Status != tree.Pending && q.Status != tree.Rejected {
			return nil, fault.Invalid("status", "must be active, pending or rejected")
		}
		var ds []tree.Distributor
		ds, err = s.tree.List(ctx, tenantID, q.Status, q.Limit, q.Offset)
		for _, d := range ds {
			items = append(items, tree.View{Distributor: d, Children: -1})
		}
	default:
		if q.ParentID != "" {
			if err := engine.CheckID("parent_id", "distributor", q.ParentID); err != nil {
				return nil, err
			}
		}
		items, err = s.tree.Children(ctx, tenantID, q.ParentID, q.Limit, q.Offset)
	}
	if items == nil {
		items = []tree.View{}
	}
	return items, err
}

// Move makes parentID ("" for the top level) the parent of distributor id
// (see tree.Tree.Move): orders pay the new upline from the moment the move
// is recorded, and a move a crash interrupted is finished by RunJobs.
func (s *Service) Move(ctx context.Context, tenantID, id, parentID string) (tree.Distributor, error) {
	if parentID != "" {
		if err := engine.CheckID("parent_id", "distributor", parentID); err != nil {
			return tree.Distributor{}, err
		}
	}
	return s.tree.Move(ctx, tenantID, id, parentID)
}

// ActiveDistributor returns the fan's distributor record, not found unless
// it is active.
func (s *Service) ActiveDistributor(ctx context.Context, tenantID, fanID string) (tree.Distributor, error) {
	d, err := s.tree.ByFan(ctx, tenantID, fanID)
	if err == nil && d.Status != tree.Active {
		err = fault.NotFound("distributor")
	}
	return d, err
}
