package engine

import (
	"context"
	"database/sql"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The shortcuts below open the tenant's scope and run one statement, so a
// SQLite store method that runs one statement is one call instead of the
// scope prelude and the statement. A tenant whose file is missing surfaces
// as the statement's error (ErrNotFound, wrapped).

// SQLExec runs one write on the tenant's SQLite database.
func (e *Engine) SQLExec(ctx context.Context, tenantID, query string, args ...any) (sql.Result, error) {
	db, err := e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return db.Exec(ctx, query, args...)
}

// SQLQueryRow runs one single-row query on the tenant's SQLite database.
func (e *Engine) SQLQueryRow(ctx context.Context, tenantID, query string, args ...any) *Row {
	db, err := e.SQL(tenantID)
	if err != nil {
		return &Row{err: err}
	}
	return db.QueryRow(ctx, query, args...)
}

// SQLTx runs fn atomically on the tenant's SQLite file (see SQLScope.Tx).
func (e *Engine) SQLTx(ctx context.Context, tenantID string, fn func(tx *SQLTx) error) error {
	db, err := e.SQL(tenantID)
	if err != nil {
		return err
	}
	return db.Tx(ctx, fn)
}

// SQLAll runs a query on the tenant's SQLite database and scans every row
// (see QueryAll).
func SQLAll[T any](ctx context.Context, e *Engine, tenantID string, scan func(func(...any) error) (T, error), query string, args ...any) ([]T, error) {
	db, err := e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return QueryAll(ctx, db, scan, query, args...)
}

// One is nil when the write (res, err) changed exactly one row, err when it
// failed, and missing when it changed none: the single-record conditional
// write whose "no row" means not found or not in the expected state.
func One(res sql.Result, err error, missing error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return missing
	}
	return nil
}

// SQLCountBy is CountBy on the tenant's SQLite database.
func SQLCountBy[K comparable](ctx context.Context, e *Engine, tenantID, query string, args ...any) (map[K]int64, error) {
	db, err := e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return CountBy[K](ctx, db, query, args...)
}

// Matched is One for a MongoDB update: nil when it matched a document, err
// when it failed, missing when it matched none.
func Matched(res *mongo.UpdateResult, err error, missing error) error {
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return missing
	}
	return nil
}

// FindAll runs a find on c, decodes every document as a D and converts each
// with conv: the Mongo twin of SQLAll, for stores whose documents are a
// storage shape of the domain type. c is a shop's Collection, or any
// collection that finds the same way (a platform one a store scopes
// itself, as shop/vote's market rounds).
func FindAll[D, T any](ctx context.Context, c Finder, filter bson.D, conv func(D) T, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, err
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		out[i] = conv(d)
	}
	return out, nil
}

// Finder is what FindAll needs of a collection.
type Finder interface {
	Find(ctx context.Context, f bson.D, opts ...options.Lister[options.FindOptions]) (*mongo.Cursor, error)
}

// Strings is ss as SQL arguments, for an IN list (see Placeholders).
func Strings(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Changed reports whether a SQLite write (res, err) changed exactly one row:
// false with no error is the conditional write that found nothing to do.
func Changed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
