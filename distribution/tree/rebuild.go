package tree

import (
	"context"
	"slices"

	"microshop/tenants/fault"
)

// RebuildReport says what Rebuild corrected.
type RebuildReport struct {
	Distributors, Paths, Counters int
}

// Rebuild recomputes every path from the parent links and every counter
// from the records: team size by counting, team sales from own (the
// distributors' own sales from the sales records; nil keeps the stored own
// sales). It is the operator's repair after a crash between two counter
// writes; run it when the shop is quiet (increments made while it runs may
// be overwritten, and the next rebuild restores them). A move in progress
// is finished first.
func (t *Tree) Rebuild(ctx context.Context, tenantID string, own map[string]int64) (RebuildReport, error) {
	var r RebuildReport
	if _, err := t.Resume(ctx, tenantID); err != nil {
		return r, err
	}
	if m, err := t.store.PendingMove(ctx, tenantID); err != nil {
		return r, err
	} else if m.ID != "" {
		return r, fault.Conflict("a team move is being carried out; rebuild when it is done")
	}
	var all []Distributor
	for after := ""; ; {
		page, err := t.store.All(ctx, tenantID, after, 1000)
		if err != nil {
			return r, err
		}
		all = append(all, page...)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	r.Distributors = len(all)
	byID := make(map[string]*Distributor, len(all))
	children := map[string][]*Distributor{}
	for i := range all {
		d := &all[i]
		byID[d.ID] = d
	}
	for i := range all {
		d := &all[i]
		parent := d.ParentID
		if _, ok := byID[parent]; !ok {
			parent = "" // a dangling parent: the distributor is top level
		}
		children[parent] = append(children[parent], d)
	}
	// Walk from the top level: correct paths, and list nodes parents first.
	type item struct {
		d    *Distributor
		path []string
	}
	order := make([]*Distributor, 0, len(all))
	want := map[string][]string{}
	stack := []item{}
	for _, d := range children[""] {
		stack = append(stack, item{d, []string{}})
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		order = append(order, it.d)
		want[it.d.ID] = it.path
		for _, c := range children[it.d.ID] {
			stack = append(stack, item{c, append(slices.Clone(it.path), it.d.ID)})
		}
	}
	for _, d := range order {
		p := want[d.ID]
		parent := ""
		if len(p) > 0 {
			parent = p[len(p)-1]
		}
		if !slices.Equal(p, d.Path) || d.Depth != len(p)+1 || parent != d.ParentID {
			if err := t.store.SetPlace(ctx, tenantID, d.ID, parent, p, len(p)+1); err != nil {
				return r, err
			}
			d.Path, d.ParentID = p, parent
			r.Paths++
		}
	}
	// Counters, children before parents.
	ids := idsOf(order, func(d *Distributor) string { return d.ID })
	stored := map[string]Stats{}
	for i := 0; i < len(ids); i += 500 {
		m, err := t.store.Stats(ctx, tenantID, ids[i:min(i+500, len(ids))])
		if err != nil {
			return r, err
		}
		for k, v := range m {
			stored[k] = v
		}
	}
	size := map[string]int64{}
	sales := map[string]int64{}
	for i := len(order) - 1; i >= 0; i-- {
		d := order[i]
		o := stored[d.ID].OwnSales
		if own != nil {
			o = own[d.ID]
		}
		sales[d.ID] += o
		if d.ParentID != "" {
			if d.Status == Active {
				size[d.ParentID]++
			}
			size[d.ParentID] += size[d.ID]
			sales[d.ParentID] += sales[d.ID]
		}
		s := stored[d.ID]
		o2 := Stats{ID: d.ID, TeamSize: size[d.ID], TeamSales: sales[d.ID], OwnSales: o, Rolled: o}
		if s.TeamSize != o2.TeamSize || s.TeamSales != o2.TeamSales || s.OwnSales != o2.OwnSales || s.Rolled != o2.Rolled {
			if err := t.store.SetStats(ctx, tenantID, o2); err != nil {
				return r, err
			}
			r.Counters++
		}
	}
	return r, nil
}

// SubtreeSize counts every distributor below d (any status) with one
// query on the path index: what Rebuild's counting checks against, and a
// check on the team size counter.
func (t *Tree) SubtreeSize(ctx context.Context, tenantID, id string) (int64, error) {
	d, err := t.store.Get(ctx, tenantID, id)
	if err != nil {
		return 0, err
	}
	return t.store.CountSubtree(ctx, tenantID, d)
}
