package tree

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Join makes fan a distributor under parentID ("" or an inactive parent:
// top level) with status (Active or Pending). A fan joins once: of
// concurrent requests one inserts (the fan id is unique) and the others get
// that distributor back with created false.
func (t *Tree) Join(ctx context.Context, tenantID, fanID, parentID, status string) (Distributor, bool, error) {
	if existing, err := t.reads().ByFan(ctx, tenantID, fanID); err == nil {
		return existing, false, nil
	} else if !errors.Is(err, fault.ErrNotFound) {
		return Distributor{}, false, err
	}
	var parent Distributor
	if parentID != "" {
		p, err := t.reads().Get(ctx, tenantID, parentID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return Distributor{}, false, err
		}
		if err == nil && p.Status == Active && p.FanID != fanID {
			parent = p
		}
	}
	now := t.clock()
	d := Distributor{ID: engine.NewID(), FanID: fanID, Status: status, CreatedAt: now}
	t.place(&d, parent)
	if status == Active {
		d.ActivatedAt = now
	}
	for attempt := 0; ; attempt++ {
		d.Code = NewCode()
		err := t.store.Insert(ctx, tenantID, d)
		if err == nil {
			break
		}
		if !engine.IsUniqueViolation(err) {
			return Distributor{}, false, err
		}
		if existing, gerr := t.reads().ByFan(ctx, tenantID, fanID); gerr == nil {
			return existing, false, nil // another request made the fan a distributor
		}
		if attempt > 5 {
			return Distributor{}, false, fmt.Errorf("join: %w", err)
		}
		// a share code clashed: draw another
	}
	if parent.ID != "" {
		// A merchant's move may have rewritten the parent's path while
		// this one was computed from the old: take the current one.
		if p, err := t.reads().Get(ctx, tenantID, parent.ID); err == nil && !slices.Equal(p.Path, parent.Path) {
			t.place(&d, p)
			if err := t.store.SetPlace(ctx, tenantID, d.ID, d.ParentID, d.Path, d.Depth); err != nil {
				return Distributor{}, false, err
			}
		}
	}
	if status == Active {
		if err := t.store.AddTeamSize(ctx, tenantID, d.Path, 1); err != nil {
			return Distributor{}, false, err
		}
	}
	return d, true, nil
}

// Decide approves (pending → active) or rejects (pending → rejected) an
// application, once.
func (t *Tree) Decide(ctx context.Context, tenantID, id string, approve bool) (Distributor, error) {
	d, err := t.reads().Get(ctx, tenantID, id)
	if err != nil {
		return Distributor{}, err
	}
	to := Rejected
	if approve {
		to = Active
	}
	ok, err := t.store.SetStatus(ctx, tenantID, id, Pending, to, t.clock())
	if err != nil {
		return Distributor{}, err
	}
	if !ok {
		cur, err := t.reads().Get(ctx, tenantID, id)
		if err != nil {
			return Distributor{}, err
		}
		if cur.Status == to {
			return cur, nil
		}
		return Distributor{}, fault.Conflict("the distributor is %s, not pending", cur.Status)
	}
	if approve {
		if err := t.store.AddTeamSize(ctx, tenantID, d.Path, 1); err != nil {
			return Distributor{}, err
		}
	}
	return t.reads().Get(ctx, tenantID, id)
}
