package engine

import (
	"context"
	"database/sql"
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
