package tree

import (
	"context"
	"slices"
	"time"

	"microshop/tenants/engine"
)

// PendingMove is a subtree move begun and not yet finished: written before
// the first distributor is touched and cleared after the last counter, so
// a crash in between leaves it behind for Resume (the distribution job) to
// finish. While it is there, reads of the tree (Tree.Store, ByFan, View)
// apply it, so the subtree is seen in its new place at once, not
// distributor by distributor as its paths are rewritten.
//
// A shop has at most one: a move finishes the pending one before it begins.
type PendingMove struct {
	// ID is the moved distributor ("" : no move pending).
	ID string `json:"id" bson:"id"`
	// ParentID is its new parent ("" : the top level).
	ParentID string `json:"parent_id" bson:"parent_id"`
	// OldPath and NewPath are its path before and after.
	OldPath []string `json:"old_path" bson:"old_path"`
	NewPath []string `json:"new_path" bson:"new_path"`
	// TeamSize and TeamSales are what leaves the old path's counters for
	// the new path's (the distributor itself counted if active).
	TeamSize  int64 `json:"team_size" bson:"team_size"`
	TeamSales int64 `json:"team_sales" bson:"team_sales"`
	// Counted is set before the counters move, so a resumed move never
	// moves them twice (a crash among those writes leaves them off until
	// Rebuild, as any counter write does).
	Counted   bool      `json:"counted" bson:"counted"`
	StartedAt time.Time `json:"started_at" bson:"started_at"`
}

// moveDoc is where a shop's pending move is kept: one document, read by
// its key, so the check costs one indexed read.
var moveDoc = engine.Doc{Table: "tree_move"}

// apply returns d as it is once m is done. A full read (Path set) gets its
// path rebuilt; a light one its upline, when the moved distributor is on
// it (deeper in the subtree the upline does not change, and the depth
// stays as stored until the move is finished).
func (m PendingMove) apply(d Distributor) Distributor {
	if m.ID == "" || d.ID == "" {
		return d
	}
	if d.ID == m.ID {
		d.ParentID, d.Upline, d.Depth = m.ParentID, upline(m.NewPath), len(m.NewPath)+1
		if d.Path != nil {
			d.Path = slices.Clone(m.NewPath)
		}
		return d
	}
	if d.Path != nil {
		if at := slices.Index(d.Path, m.ID); at >= 0 {
			d.Path = append(append(slices.Clone(m.NewPath), m.ID), d.Path[at+1:]...)
			d.Upline, d.Depth = upline(d.Path), len(d.Path)+1
		}
		return d
	}
	if at := slices.Index(d.Upline, m.ID); at >= 0 {
		up := append(slices.Clone(d.Upline[:at+1]), upline(m.NewPath)...)
		d.Upline, d.Depth = up[:min(len(up), MaxUpline)], len(m.NewPath)+2+at
	}
	return d
}

// current is the tree's store as readers see it: a pending move applied to
// every distributor it reads. The move is read first: a move writes its
// record before it touches a distributor and clears it after the last, so
// a distributor read after a missing record is either not yet touched by a
// move that had not begun, or already rewritten.
type current struct{ Store }

func (c current) Get(ctx context.Context, tenantID, id string) (Distributor, error) {
	return c.one(ctx, tenantID, id, c.Store.Get)
}

func (c current) Light(ctx context.Context, tenantID, id string) (Distributor, error) {
	return c.one(ctx, tenantID, id, c.Store.Light)
}

func (c current) ByFan(ctx context.Context, tenantID, fanID string) (Distributor, error) {
	return c.one(ctx, tenantID, fanID, c.Store.ByFan)
}

func (c current) one(ctx context.Context, tenantID, key string, read func(context.Context, string, string) (Distributor, error)) (Distributor, error) {
	m, err := c.PendingMove(ctx, tenantID)
	if err != nil {
		return Distributor{}, err
	}
	d, err := read(ctx, tenantID, key)
	return m.apply(d), err
}

func (c current) Many(ctx context.Context, tenantID string, ids []string) (map[string]Distributor, error) {
	if len(ids) == 0 {
		return map[string]Distributor{}, nil
	}
	m, err := c.PendingMove(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out, err := c.Store.Many(ctx, tenantID, ids)
	for id, d := range out {
		out[id] = m.apply(d)
	}
	return out, err
}
