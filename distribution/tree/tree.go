// Package tree is a shop's team tree: who recruited which distributor.
//
// Each distributor stores its ancestor path (root first), its depth and its
// nearest ancestors (the upline, at most MaxUpline), so:
//   - a cycle check before a move is one read: the new parent's path must
//     not contain the distributor;
//   - the commission path of an order is the bound distributor plus its
//     upline, read with the distributor: O(levels), whatever the depth;
//   - a subtree is one indexed query (a multikey index on the path array
//     on MongoDB, a range over the path text on SQLite).
//
// The team tree is not the customer binding (who earns on a customer's
// orders; see package distribution): joining through a distributor's link
// sets the parent once, and only a merchant's move changes it afterwards.
//
// Counters: team size (active distributors below) is maintained at write
// time along the path: one multi-document increment of the ancestors when a
// distributor becomes active or a subtree moves (O(depth) documents, one
// command). Team sales would cost the same on every paid order, which would
// make orders slower the deeper the buyer's distributor sits; instead an
// order adds to its distributor's own sales (one document) and marks it
// dirty, and Rollup pushes each dirty distributor's accumulated sales up its
// path in one increment, however many orders came in between. A
// distributor's own sales show at once; its ancestors' team sales within one
// cron pass. Rebuild recomputes paths and every counter from the records.
// A crash between two of these writes leaves a counter short until then;
// money never rests on them (see package ledger).
package tree

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// MaxUpline is how many nearest ancestors a distributor carries: the
// deepest commission (3 levels) needs the distributor and two above.
const MaxUpline = 3

// Distributor statuses.
const (
	Pending  = "pending" // applied; the shop approves applications
	Active   = "active"
	Rejected = "rejected"
)

// Distributor is one member of the team tree.
type Distributor struct {
	ID       string `json:"id"`
	FanID    string `json:"fan_id"`
	Code     string `json:"code"`
	ParentID string `json:"parent_id,omitempty"`
	// Path is every ancestor, root first (empty for a top-level
	// distributor). Lookups that do not need it leave it nil.
	Path []string `json:"path,omitempty"`
	// Upline is the nearest ancestors, parent first, at most MaxUpline.
	Upline      []string  `json:"upline"`
	Depth       int       `json:"depth"` // 1 for a top-level distributor
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	ActivatedAt time.Time `json:"activated_at,omitzero"`
}

// Stats are a distributor's counters.
type Stats struct {
	ID string `json:"-"`
	// TeamSize counts the active distributors below.
	TeamSize int64 `json:"team_size"`
	// TeamSales is the paid goods amount (less refunds) of orders
	// attributed to the distributor or anyone below.
	TeamSales int64 `json:"team_sales"`
	// OwnSales is that amount for the distributor alone.
	OwnSales int64 `json:"own_sales"`
	// Rolled is the part of OwnSales already added to the path's
	// TeamSales (the rest waits for Rollup).
	Rolled int64 `json:"-"`
}

// Tree runs the team tree.
type Tree struct {
	store  Store
	locker Locker
	now    func() time.Time
}

// Locker runs fn while holding a named lock that spans replicas
// (tenants.Leaser does).
type Locker interface {
	Run(ctx context.Context, name string, ttl time.Duration, fn func(ctx context.Context) error) (bool, error)
}

// New returns the tree over store; moves lock through locker.
func New(store Store, locker Locker) *Tree { return &Tree{store: store, locker: locker, now: time.Now} }

// SetClock replaces the tree's clock (tests).
func (t *Tree) SetClock(now func() time.Time) { t.now = now }

// Store returns the tree's store.
func (t *Tree) Store() Store { return t.store }

func (t *Tree) clock() time.Time { return t.now().UTC().Truncate(time.Millisecond) }

// upline is the nearest MaxUpline ancestors of path (root first), parent
// first.
func upline(path []string) []string {
	n := min(len(path), MaxUpline)
	out := make([]string, n)
	for i := range n {
		out[i] = path[len(path)-1-i]
	}
	return out
}

// NewCode returns a fresh share code: 8 lower-case base32 characters, safe
// in a URL and in a WeChat scene ("d:" + code).
func NewCode() string { return engine.NewSecret(8) }

// ValidCode reports whether s has the shape NewCode produces.
func ValidCode(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// Join makes fan a distributor under parentID ("" or an inactive parent:
// top level) with status (Active or Pending). A fan joins once: of
// concurrent requests one inserts (the fan id is unique) and the others get
// that distributor back with created false.
func (t *Tree) Join(ctx context.Context, tenantID, fanID, parentID, status string) (Distributor, bool, error) {
	if existing, err := t.store.ByFan(ctx, tenantID, fanID); err == nil {
		return existing, false, nil
	} else if !errors.Is(err, fault.ErrNotFound) {
		return Distributor{}, false, err
	}
	var parent Distributor
	if parentID != "" {
		p, err := t.store.Get(ctx, tenantID, parentID)
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
		if existing, gerr := t.store.ByFan(ctx, tenantID, fanID); gerr == nil {
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
		if p, err := t.store.Get(ctx, tenantID, parent.ID); err == nil && !slices.Equal(p.Path, parent.Path) {
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

func (t *Tree) place(d *Distributor, parent Distributor) {
	d.ParentID, d.Path, d.Depth = "", []string{}, 1
	if parent.ID != "" {
		d.ParentID = parent.ID
		d.Path = append(slices.Clone(parent.Path), parent.ID)
		d.Depth = parent.Depth + 1
	}
	d.Upline = upline(d.Path)
}

// Decide approves (pending → active) or rejects (pending → rejected) an
// application, once.
func (t *Tree) Decide(ctx context.Context, tenantID, id string, approve bool) (Distributor, error) {
	d, err := t.store.Get(ctx, tenantID, id)
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
		cur, err := t.store.Get(ctx, tenantID, id)
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
	return t.store.Get(ctx, tenantID, id)
}

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
func (t *Tree) Rollup(ctx context.Context, tenantID string, limit int) (int, error) {
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
		d, err := t.store.Get(ctx, tenantID, s.ID)
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
	d, err := t.store.Get(ctx, tenantID, id)
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

func (t *Tree) views(ctx context.Context, tenantID string, ds []Distributor) ([]View, error) {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	stats, err := t.store.Stats(ctx, tenantID, ids)
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
	ids := make([]string, len(top))
	for i, s := range top {
		ids[i] = s.ID
	}
	ds, err := t.store.Many(ctx, tenantID, ids)
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

// RebuildReport says what Rebuild corrected.
type RebuildReport struct {
	Distributors, Paths, Counters int
}

// Rebuild recomputes every path from the parent links and every counter
// from the records: team size by counting, team sales from own (the
// distributors' own sales from the sales records; nil keeps the stored own
// sales). It is the operator's repair after a crash between two counter
// writes; run it when the shop is quiet (increments made while it runs may
// be overwritten, and the next rebuild restores them).
func (t *Tree) Rebuild(ctx context.Context, tenantID string, own map[string]int64) (RebuildReport, error) {
	var r RebuildReport
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
	ids := make([]string, len(order))
	for i, d := range order {
		ids[i] = d.ID
	}
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
