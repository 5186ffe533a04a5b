package tree

import (
	"context"
	"errors"
	"slices"
	"time"

	"microshop/tenants/fault"
)

// moveLock is how long a move may hold the tree of a shop.
const moveLock = 5 * time.Minute

// ErrCycle is a move under the distributor's own subtree.
var ErrCycle = fault.Conflict("a distributor cannot move under itself or anyone in its own team")

// Move makes parentID ("" for the top level) the parent of id, moving its
// whole subtree, and refuses a move that would create a cycle: the new
// parent is the distributor itself or has it on its path (one read).
// Moves of one shop run one at a time across replicas (a lease), so two
// moves cannot each pass the check and together close a loop.
func (t *Tree) Move(ctx context.Context, tenantID, id, parentID string) (Distributor, error) {
	var out Distributor
	ran, err := t.locker.Run(ctx, "distribution-tree:"+tenantID, moveLock, func(ctx context.Context) error {
		d, err := t.store.Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		var parent Distributor
		if parentID != "" {
			if parent, err = t.store.Get(ctx, tenantID, parentID); err != nil {
				if errors.Is(err, fault.ErrNotFound) {
					return fault.Invalid("parent_id", "no distributor %s in this shop", parentID)
				}
				return err
			}
			if parent.ID == d.ID || slices.Contains(parent.Path, d.ID) {
				return ErrCycle
			}
			if parent.Status != Active {
				return fault.Conflict("the new parent is %s, not active", parent.Status)
			}
		}
		if parent.ID == d.ParentID {
			out = d
			return nil
		}
		stats, err := t.store.Stats(ctx, tenantID, []string{d.ID})
		if err != nil {
			return err
		}
		st := stats[d.ID]
		oldPath := d.Path
		t.place(&d, parent)
		if err := t.store.SetPlace(ctx, tenantID, d.ID, d.ParentID, d.Path, d.Depth); err != nil {
			return err
		}
		// Twice: the second pass catches distributors that joined under the
		// subtree with an old path while the first ran.
		for range 2 {
			if err := t.store.MoveSubtree(ctx, tenantID, d.ID, oldPath, d.Path); err != nil {
				return err
			}
		}
		size := st.TeamSize
		if d.Status == Active {
			size++
		}
		if err := t.store.AddTeamSize(ctx, tenantID, oldPath, -size); err != nil {
			return err
		}
		if err := t.store.AddTeamSize(ctx, tenantID, d.Path, size); err != nil {
			return err
		}
		if err := t.store.AddTeamSales(ctx, tenantID, oldPath, -st.TeamSales); err != nil {
			return err
		}
		if err := t.store.AddTeamSales(ctx, tenantID, d.Path, st.TeamSales); err != nil {
			return err
		}
		out = d
		return nil
	})
	if err != nil {
		return Distributor{}, err
	}
	if !ran {
		return Distributor{}, fault.Conflict("another change to this shop's team tree is running; try again in a moment")
	}
	return out, nil
}
