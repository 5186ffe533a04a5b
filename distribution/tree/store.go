package tree

import (
	"context"
	_ "embed"
	"time"

	"microshop/tenants/engine"
)

// Store keeps the team tree (distributors) and its counters
// (distributor_stats, one small record per distributor, so counter writes
// never rewrite a long path).
type Store interface {
	// Insert writes a new distributor and its zero counters; a taken fan
	// or code is a unique violation.
	Insert(ctx context.Context, tenantID string, d Distributor) error
	// Get returns the distributor with its path.
	Get(ctx context.Context, tenantID, id string) (Distributor, error)
	// Light returns the distributor without its path (Path nil).
	Light(ctx context.Context, tenantID, id string) (Distributor, error)
	// ByFan and ByCode return a distributor without its path.
	ByFan(ctx context.Context, tenantID, fanID string) (Distributor, error)
	ByCode(ctx context.Context, tenantID, code string) (Distributor, error)
	// Many returns the distributors with ids, without paths.
	Many(ctx context.Context, tenantID string, ids []string) (map[string]Distributor, error)
	// Children lists parentID's children ("" : the top level), oldest
	// first, without paths.
	Children(ctx context.Context, tenantID, parentID string, limit, offset int) ([]Distributor, error)
	CountChildren(ctx context.Context, tenantID, parentID string) (int64, error)
	// List lists distributors by status ("" for any), newest first.
	List(ctx context.Context, tenantID, status string, limit, offset int) ([]Distributor, error)
	// SetStatus moves a distributor from status from to to.
	SetStatus(ctx context.Context, tenantID, id, from, to string, at time.Time) (bool, error)
	// SetPlace writes one distributor's parent, path (and upline) and depth.
	SetPlace(ctx context.Context, tenantID, id, parentID string, path []string, depth int) error
	// MoveSubtree rewrites the paths of every distributor below id, whose
	// path was oldPath and is now newPath.
	MoveSubtree(ctx context.Context, tenantID, id string, oldPath, newPath []string) error
	// CountSubtree counts every distributor below d.
	CountSubtree(ctx context.Context, tenantID string, d Distributor) (int64, error)
	// All pages through every distributor by id, with paths.
	All(ctx context.Context, tenantID, afterID string, limit int) ([]Distributor, error)

	// Stats returns the counters of ids (missing ones are zero).
	Stats(ctx context.Context, tenantID string, ids []string) (map[string]Stats, error)
	// AddTeamSize and AddTeamSales add delta to each of ids, in one write.
	AddTeamSize(ctx context.Context, tenantID string, ids []string, delta int64) error
	AddTeamSales(ctx context.Context, tenantID string, ids []string, delta int64) error
	// AddOwnSales adds delta to one distributor's own sales and marks it
	// for Rollup.
	AddOwnSales(ctx context.Context, tenantID, id string, delta int64) error
	// Dirty returns up to limit counters with own sales not rolled up.
	Dirty(ctx context.Context, tenantID string, limit int) ([]Stats, error)
	// Claim marks own as rolled up if the counters are still (own, rolled).
	Claim(ctx context.Context, tenantID, id string, own, rolled int64) (bool, error)
	// Top returns the largest counters by "sales" (team sales) or "size".
	Top(ctx context.Context, tenantID, by string, limit int) ([]Stats, error)
	// SetStats overwrites one distributor's counters (Rebuild).
	SetStats(ctx context.Context, tenantID string, s Stats) error

	// PendingMove returns the shop's move in progress (ID "" when none).
	PendingMove(ctx context.Context, tenantID string) (PendingMove, error)
	// SetPendingMove records m as the move in progress (the zero
	// PendingMove: none).
	SetPendingMove(ctx context.Context, tenantID string, m PendingMove) error
}

// NewStore returns the tree store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	sq, mg := &sqliteStore{}, &mongoStore{}
	sq.common = common{e: e, idKey: "id", lookup: sq.lookup, inc: sq.inc}
	mg.common = common{e: e, idKey: "_id", lookup: mg.lookup, inc: mg.inc}
	return engine.ByKind[Store](e, sq, mg)
}

// common is what the stores of both engines do alike, through their own
// lookup by a key (the id, fan_id or code column or field; full: with the
// path) and counter increment: the lookups, the team counters, and the
// pending move (one document, kept the same way on both engines).
type common struct {
	e      *engine.Engine
	idKey  string
	lookup func(ctx context.Context, tenantID, key, v string, full bool) (Distributor, error)
	inc    func(ctx context.Context, tenantID, key string, ids []string, delta int64) error
}

func (c common) Get(ctx context.Context, tenantID, id string) (Distributor, error) {
	return c.lookup(ctx, tenantID, c.idKey, id, true)
}

func (c common) Light(ctx context.Context, tenantID, id string) (Distributor, error) {
	return c.lookup(ctx, tenantID, c.idKey, id, false)
}

func (c common) ByFan(ctx context.Context, tenantID, fanID string) (Distributor, error) {
	return c.lookup(ctx, tenantID, "fan_id", fanID, false)
}

func (c common) ByCode(ctx context.Context, tenantID, code string) (Distributor, error) {
	return c.lookup(ctx, tenantID, "code", code, false)
}

func (c common) AddTeamSize(ctx context.Context, tenantID string, ids []string, delta int64) error {
	return c.inc(ctx, tenantID, "team_size", ids, delta)
}

func (c common) AddTeamSales(ctx context.Context, tenantID string, ids []string, delta int64) error {
	return c.inc(ctx, tenantID, "team_sales", ids, delta)
}

func (c common) PendingMove(ctx context.Context, tenantID string) (PendingMove, error) {
	var m PendingMove
	_, err := c.e.LoadDoc(ctx, tenantID, moveDoc, &m)
	return m, err
}

func (c common) SetPendingMove(ctx context.Context, tenantID string, m PendingMove) error {
	return c.e.SaveDoc(ctx, tenantID, moveDoc, m)
}

// Schema is the tree's tables and indexes in each tenant database.
//
// SQLite keeps the path as text, "/<root>/.../<parent>/" (ids are fixed
// length), so the subtree of d is the range of paths starting with d's path
// plus "<d>/" on an ordinary index; MongoDB keeps it as an array under a
// multikey index, so the subtree is {path: d}.
var Schema = engine.NewSchema("tree", schemaSQL,
	engine.Coll("distributors",
		engine.Unique("fan_id"), engine.Unique("code"), engine.Index("parent_id", "created_at", "_id"),
		engine.Index("path", "_id"), engine.Index("status", "-created_at", "-_id"),
		engine.Index("-created_at", "-_id")),
	engine.Coll("distributor_stats",
		engine.Index("dirty"), engine.Index("-team_sales"), engine.Index("-team_size")),
	engine.Coll("tree_move"),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string
