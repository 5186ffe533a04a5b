package tree

import (
	"context"
)

// View is a distributor with its counters and direct children count (-1
// when not counted).
type View struct {
	Distributor
	TeamSize  int64 `json:"team_size"`
	TeamSales int64 `json:"team_sales"`
	OwnSales  int64 `json:"own_sales"`
	Children  int64 `json:"children"`
}

func newView(d Distributor, s Stats, children int64) View {
	return View{Distributor: d, TeamSize: s.TeamSize, TeamSales: s.TeamSales + s.OwnSales - s.Rolled, OwnSales: s.OwnSales, Children: children}
}

// View returns the distributor with its counters. Team sales include own
// sales not yet rolled up.
func (t *Tree) View(ctx context.Context, tenantID, id string) (View, error) {
	d, err := t.reads().Get(ctx, tenantID, id)
	if err != nil {
		return View{}, err
	}
	return t.view(ctx, tenantID, d)
}

func (t *Tree) view(ctx context.Context, tenantID string, d Distributor) (View, error) {
	stats, err := t.store.Stats(ctx, tenantID, []string{d.ID})
	if err != nil {
		return View{}, err
	}
	n, err := t.store.CountChildren(ctx, tenantID, d.ID)
	if err != nil {
		return View{}, err
	}
	if d.Path == nil {
		d.Path = []string{}
	}
	return newView(d, stats[d.ID], n), nil
}

// Children lists a distributor's direct children ("" for the top level)
// with their counters.
func (t *Tree) Children(ctx context.Context, tenantID, parentID string, limit, offset int) ([]View, error) {
	ds, err := t.store.Children(ctx, tenantID, parentID, limit, offset)
	if err != nil {
		return nil, err
	}
	return t.views(ctx, tenantID, ds)
}

// idsOf is the ids of xs, as id reads them.
func idsOf[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func (t *Tree) views(ctx context.Context, tenantID string, ds []Distributor) ([]View, error) {
	stats, err := t.store.Stats(ctx, tenantID, idsOf(ds, func(d Distributor) string { return d.ID }))
	if err != nil {
		return nil, err
	}
	out := make([]View, len(ds))
	for i, d := range ds {
		out[i] = newView(d, stats[d.ID], -1)
	}
	return out, nil
}

// Top lists the distributors with the largest team sales (by "sales") or
// team size (by "size").
func (t *Tree) Top(ctx context.Context, tenantID, by string, limit int) ([]View, error) {
	top, err := t.store.Top(ctx, tenantID, by, limit)
	if err != nil {
		return nil, err
	}
	ds, err := t.reads().Many(ctx, tenantID, idsOf(top, func(s Stats) string { return s.ID }))
	if err != nil {
		return nil, err
	}
	var out []View
	for _, s := range top {
		d, ok := ds[s.ID]
		if !ok {
			continue
		}
		out = append(out, newView(d, s, -1))
	}
	return out, nil
}

// List lists the distributors with status ("" for any), newest first,
// without paths.
func (t *Tree) List(ctx context.Context, tenantID, status string, limit, offset int) ([]Distributor, error) {
	return t.store.List(ctx, tenantID, status, limit, offset)
}

// ByFan returns the fan's distributor record, without its path.
func (t *Tree) ByFan(ctx context.Context, tenantID, fanID string) (Distributor, error) {
	return t.reads().ByFan(ctx, tenantID, fanID)
}

// Ancestors returns the distributors on path, root first; one missing from
// the records stands as its bare id.
func (t *Tree) Ancestors(ctx context.Context, tenantID string, path []string) ([]Distributor, error) {
	found, err := t.reads().Many(ctx, tenantID, path)
	if err != nil {
		return nil, err
	}
	var out []Distributor
	for _, id := range path {
		if a, ok := found[id]; ok {
			out = append(out, a)
		} else {
			out = append(out, Distributor{ID: id})
		}
	}
	return out, nil
}
