package tree

import (
	"context"
	"errors"
	"slices"

	"microshop/tenants/fault"
)

// AddSales adds amount (negative for a refund) to the distributor's own
// sales; Rollup carries it up the path.
func (t *Tree) AddSales(ctx context.Context, tenantID, id string, amount int64) error {
	if amount == 0 || id == "" {
		return nil
	}
	return t.store.AddOwnSales(ctx, tenantID, id, amount)
}

// Rollup carries up to limit distributors' new own sales into their own
// and every ancestor's team sales, each with one claim (a conditional
// update of the distributor's counters) and one increment along its path.
// It first finishes a move a crash interrupted (Resume), so the sales go up
// the paths as they are.
func (t *Tree) Rollup(ctx context.Context, tenantID string, limit int) (int, error) {
	if _, err := t.Resume(ctx, tenantID); err != nil {
		return 0, err
	}
	dirty, err := t.store.Dirty(ctx, tenantID, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range dirty {
		delta := s.OwnSales - s.Rolled
		ok, err := t.store.Claim(ctx, tenantID, s.ID, s.OwnSales, s.Rolled)
		if err != nil {
			return n, err
		}
		if !ok || delta == 0 {
			continue // changed meanwhile: the next pass takes it
		}
		d, err := t.reads().Get(ctx, tenantID, s.ID)
		if errors.Is(err, fault.ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		if err := t.store.AddTeamSales(ctx, tenantID, append(slices.Clone(d.Path), d.ID), delta); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
