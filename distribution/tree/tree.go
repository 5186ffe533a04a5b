// Package tree is a shop's team tree: who recruited which distributor.
//
// Each distributor stores its ancestor path (root first), its depth and its
// nearest ancestors (the upline, at most MaxUpline), so:
//   - a cycle check before a move is one read: the new parent's path must
//     not contain the distributor;
//   - the commission path of an order is the bound distributor plus its
//     upline, read with the distributor (and the shop's PendingMove, one
//     read by key): O(levels), whatever the depth;
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
//
// Moves: a subtree move rewrites the path of every descendant, one by one
// on MongoDB. It is recorded first (PendingMove) and every read applies
// the record, so orders pay the new upline from the start; a crash part-way
// leaves the record, and the distribution job (Resume) finishes the move.
package tree

import (
	"context"
	"slices"
	"time"

	"microshop/tenants/engine"
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

// Store returns the tree's store as readers see it: its reads of single
// distributors (Get, Light, ByFan) and Many apply a move in progress (see
// PendingMove).
func (t *Tree) Store() Store { return t.reads() }

// reads is the store with a move in progress applied to what it reads.
func (t *Tree) reads() current { return current{t.store} }

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

func (t *Tree) place(d *Distributor, parent Distributor) {
	d.ParentID, d.Path, d.Depth = "", []string{}, 1
	if parent.ID != "" {
		d.ParentID = parent.ID
		d.Path = append(slices.Clone(parent.Path), parent.ID)
		d.Depth = parent.Depth + 1
	}
	d.Upline = upline(d.Path)
}
