package tree

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"microshop/tenants/fault"
)

// moveLock is how long a move may hold the tree of a shop.
const moveLock = 5 * time.Minute

// ErrCycle is a move under the distributor's own subtree.
var ErrCycle = fault.Conflict("a distributor cannot move under itself or anyone in its own team")

// lockName is the lock a shop's moves (and their resumption) hold.
func lockName(tenantID string) string { return "distribution-tree:" + tenantID }

// Move makes parentID ("" for the top level) the parent of id, moving its
// whole subtree, and refuses a move that would create a cycle: the new
// parent is the distributor itself or has it on its path (one read).
// Moves of one shop run one at a time across replicas (a lease), so two
// moves cannot each pass the check and together close a loop.
//
// The move is recorded (PendingMove) before any distributor is touched,
// and readers apply the record, so the subtree is in its new place for
// attribution from that moment; on MongoDB the descendants' paths are then
// rewritten one by one. A crash part-way leaves the record for Resume.
func (t *Tree) Move(ctx context.Context, tenantID, id, parentID string) (Distributor, error) {
	var out Distributor
	ran, err := t.locker.Run(ctx, lockName(tenantID), moveLock, func(ctx context.Context) error {
		if err := t.finish(ctx, tenantID); err != nil {
			return err
		}
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
		m := PendingMove{ID: d.ID, OldPath: d.Path, TeamSize: stats[d.ID].TeamSize, TeamSales: stats[d.ID].TeamSales, StartedAt: t.clock()}
		if d.Status == Active {
			m.TeamSize++
		}
		t.place(&d, parent)
		m.ParentID, m.NewPath = d.ParentID, d.Path
		if err := t.store.SetPendingMove(ctx, tenantID, m); err != nil {
			return fmt.Errorf("record the move of %s: %w", d.ID, err)
		}
		out = d
		return t.carry(ctx, tenantID, m)
	})
	if err != nil {
		return Distributor{}, err
	}
	if !ran {
		return Distributor{}, fault.Conflict("another change to this shop's team tree is running; try again in a moment")
	}
	return out, nil
}

// Resume finishes a move a crash interrupted, if there is one and no
// replica is still carrying it out; done says it finished one. The
// distribution job runs it (through Rollup).
func (t *Tree) Resume(ctx context.Context, tenantID string) (done bool, err error) {
	m, err := t.store.PendingMove(ctx, tenantID)
	if err != nil || m.ID == "" {
		return false, err
	}
	ran, err := t.locker.Run(ctx, lockName(tenantID), moveLock, func(ctx context.Context) error { return t.finish(ctx, tenantID) })
	return ran && err == nil, err
}

// finish carries out the pending move, if any; the caller holds the lock.
func (t *Tree) finish(ctx context.Context, tenantID string) error {
	m, err := t.store.PendingMove(ctx, tenantID)
	if err != nil || m.ID == "" {
		return err
	}
	if err := t.carry(ctx, tenantID, m); err != nil {
		return fmt.Errorf("finish the move of %s begun %s: %w", m.ID, m.StartedAt.Format(time.RFC3339), err)
	}
	return nil
}

// carry does what the recorded move m says, each step safe to repeat:
// the distributor's place, its descendants' paths, the counters (once),
// then clears the record.
func (t *Tree) carry(ctx context.Context, tenantID string, m PendingMove) error {
	if err := t.store.SetPlace(ctx, tenantID, m.ID, m.ParentID, m.NewPath, len(m.NewPath)+1); err != nil {
		return err
	}
	// Twice: the second pass catches distributors that joined under the
	// subtree with an old path while the first ran.
	for range 2 {
		if err := t.store.MoveSubtree(ctx, tenantID, m.ID, m.OldPath, m.NewPath); err != nil {
			return err
		}
	}
	if !m.Counted {
		m.Counted = true
		if err := t.store.SetPendingMove(ctx, tenantID, m); err != nil {
			return err
		}
		for _, step := range []struct {
			add   func(context.Context, string, []string, int64) error
			path  []string
			delta int64
		}{
			{t.store.AddTeamSize, m.OldPath, -m.TeamSize}, {t.store.AddTeamSize, m.NewPath, m.TeamSize},
			{t.store.AddTeamSales, m.OldPath, -m.TeamSales}, {t.store.AddTeamSales, m.NewPath, m.TeamSales},
		} {
			if err := step.add(ctx, tenantID, step.path, step.delta); err != nil {
				return err
			}
		}
	}
	return t.store.SetPendingMove(ctx, tenantID, PendingMove{})
}
