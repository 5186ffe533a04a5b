package engine

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
)

// SQLScope is the tenant-scoped accessor to one tenant's SQLite database.
//
// Every statement must name tenant_id, and the scope binds the tenant's id
// itself, so callers pass only their own arguments:
//   - where the statement says `tenant_id = ?`, the tenant id goes to that
//     placeholder (the first such one): `UPDATE t SET a = ? WHERE tenant_id = ? AND id = ?`
//     is called with (a, id);
//   - otherwise (an INSERT) tenant_id must be the first column and the
//     first placeholder: `INSERT INTO t (tenant_id, id) VALUES (?, ?)` is
//     called with (id).
//
// Question marks inside SQL string literals would confuse the count: write
// literals as arguments instead.
//
// The scope names its tenant, not an open file: each call takes the file
// from the engine's pool for its own duration (opening it if the pool had
// closed it), so a scope stays valid however long it is kept.
type SQLScope struct {
	e        *Engine
	tenantID string
}

// TenantID is the tenant this scope reads and writes.
func (s *SQLScope) TenantID() string { return s.tenantID }

// tenantParam finds the placeholder the tenant id binds to.
var tenantParam = regexp.MustCompile(`\btenant_id\s*=\s*\?`)

// insertFirst matches an INSERT whose first column is tenant_id.
var insertFirst = regexp.MustCompile(`(?is)^\s*INSERT\s+(OR\s+\w+\s+)?INTO\s+\w+\s*\(\s*tenant_id\s*[,)]`)

// tenantArgs remembers, per query text, how many arguments come before the
// tenant id: finding it takes two regular expressions, a tenth of an
// order's CPU when run on every statement. Queries are a bounded set of
// texts (dynamic ones vary only in their placeholder lists), and the
// cache stops growing at maxTenantArgs all the same.
var (
	tenantArgs     sync.Map // query → int
	tenantArgsSize atomic.Int64
)

const maxTenantArgs = 10_000

// tenantArgAt is where the tenant id goes among query's arguments: the
// number of placeholders before its `tenant_id = ?`, or 0 for an INSERT
// whose first column is tenant_id.
func tenantArgAt(query string) (int, error) {
	if n, ok := tenantArgs.Load(query); ok {
		return n.(int), nil
	}
	at := 0
	if loc := tenantParam.FindStringIndex(query); loc != nil {
		at = loc[1] - 1
	} else if !insertFirst.MatchString(query) {
		return 0, fmt.Errorf("query is not tenant-scoped (no `tenant_id = ?`, not an INSERT with tenant_id first): %.80s", query)
	}
	n := strings.Count(query[:at], "?")
	if tenantArgsSize.Load() < maxTenantArgs {
		if _, loaded := tenantArgs.LoadOrStore(query, n); !loaded {
			tenantArgsSize.Add(1)
		}
	}
	return n, nil
}

func (s *SQLScope) args(query string, args []any) ([]any, error) {
	return BindTenant(query, s.tenantID, args)
}

// BindTenant is args with tenantID put where query's tenant_id takes it
// (see SQLScope): for a store that runs the same statements outside a
// tenant's file, keyed by another scope (shop/vote's market rounds in the
// platform database).
func BindTenant(query, tenantID string, args []any) ([]any, error) {
	n, err := tenantArgAt(query)
	if err != nil {
		return nil, err
	}
	if n > len(args) {
		return nil, fmt.Errorf("query has more placeholders than arguments: %.80s", query)
	}
	out := make([]any, 0, len(args)+1)
	out = append(out, args[:n]...)
	out = append(out, tenantID)
	return append(out, args[n:]...), nil
}

// Exec runs a write statement with the tenant id as its first argument,
// as a transaction of its own (group-committed: see fileWriter).
func (s *SQLScope) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.Tx(ctx, func(tx *SQLTx) error {
		var err error
		res, err = tx.Exec(ctx, query, args...)
		return err
	})
	return res, err
}

// Query runs a query with the tenant id as its first argument. The rows
// keep their connection until closed: the pool closes the file only after
// (see finishClose).
func (s *SQLScope) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	a, err := s.args(query, args)
	if err != nil {
		return nil, err
	}
	tf, err := s.e.acquire(s.tenantID, false)
	if err != nil {
		return nil, err
	}
	defer s.e.release(tf)
	if st := tf.stmts.get(ctx, query); st != nil {
		return st.QueryContext(ctx, a...)
	}
	return tf.db.QueryContext(ctx, query, a...)
}

// QueryRow runs a single-row query with the tenant id as its first
// argument (its connection is held until Scan, as Query's rows are).
func (s *SQLScope) QueryRow(ctx context.Context, query string, args ...any) *Row {
	a, err := s.args(query, args)
	if err != nil {
		return &Row{err: err}
	}
	tf, err := s.e.acquire(s.tenantID, false)
	if err != nil {
		return &Row{err: err}
	}
	defer s.e.release(tf)
	if st := tf.stmts.get(ctx, query); st != nil {
		return &Row{row: st.QueryRowContext(ctx, a...)}
	}
	return &Row{row: tf.db.QueryRowContext(ctx, query, a...)}
}

// Row is a single-row result; Scan returns sql.ErrNoRows when there is none.
type Row struct {
	row *sql.Row
	err error
}

// Scan copies the row's columns into dest.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.row.Scan(dest...)
}

// Tx runs fn atomically on the tenant's file: its writes are kept if it
// returns nil and undone if it returns an error. Stores use it to make one
// store method atomic on SQLite (the Mongo side of the same method is a
// single-document update); it is never used to span store methods. fn may
// share its SQLite transaction with other callers' (group commit, see
// fileWriter), so it must touch the database only through tx: a call on
// the scope from inside fn would wait for itself.
//
// The file is held until the commit carrying fn's work is done, so the
// pool never closes it with a write queued: nothing is lost to an eviction.
func (s *SQLScope) Tx(ctx context.Context, fn func(tx *SQLTx) error) error {
	tf, err := s.e.acquire(s.tenantID, false)
	if err != nil {
		return err
	}
	defer s.e.release(tf)
	err = tf.writer.do(ctx, func(tx *sql.Tx) error {
		return fn(&SQLTx{tx: tx, scope: s, stmts: tf.stmts})
	})
	if err == nil {
		s.e.wrote(s.tenantID)
	}
	return err
}

// SQLTx is a transaction with the same tenant binding as SQLScope.
type SQLTx struct {
	tx    *sql.Tx
	scope *SQLScope
	stmts *stmtCache // the file's, which the transaction holds
}

// Exec runs a statement in the transaction (tenant bound as in SQLScope).
// The statement runs to its end even if ctx is cancelled: interrupting it
// would make SQLite roll back the whole transaction, which other callers'
// work may share.
func (t *SQLTx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	a, err := t.scope.args(query, args)
	if err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	if st := t.stmts.get(ctx, query); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, a...)
	}
	return t.tx.ExecContext(ctx, query, a...)
}

// QueryRow runs a single-row query in the transaction (to its end, as Exec).
func (t *SQLTx) QueryRow(ctx context.Context, query string, args ...any) *Row {
	a, err := t.scope.args(query, args)
	if err != nil {
		return &Row{err: err}
	}
	ctx = context.WithoutCancel(ctx)
	if st := t.stmts.get(ctx, query); st != nil {
		return &Row{row: t.tx.StmtContext(ctx, st).QueryRowContext(ctx, a...)}
	}
	return &Row{row: t.tx.QueryRowContext(ctx, query, a...)}
}

// CountBy runs a tenant-scoped `SELECT key, count(*) … GROUP BY key` and
// returns the counts by key.
func CountBy[K comparable](ctx context.Context, db *SQLScope, query string, args ...any) (map[K]int64, error) {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[K]int64{}
	for rows.Next() {
		var k K
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// QueryAll runs a tenant-scoped query and scans every row with scan (a
// store's scanX function, called with rows.Scan), so stores do not each
// write the rows loop again.
func QueryAll[T any](ctx context.Context, db *SQLScope, scan func(func(...any) error) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, query, args...)
	return ScanAll(rows, err, scan)
}

// ScanAll scans every row of a query's answer (rows, err) with scan and
// closes them: QueryAll's loop, for a store that queries another scope.
func ScanAll[T any](rows *sql.Rows, err error, scan func(func(...any) error) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
