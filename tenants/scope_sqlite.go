package tenants

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// SQLScope is the tenant-scoped accessor to one tenant's SQLite database.
//
// Every statement must name tenant_id, and its first placeholder must be the
// tenant's: the scope prepends the tenant id to the arguments, so a query is
// written `... WHERE tenant_id = ? AND id = ?` and called with the id alone.
type SQLScope struct {
	db       *sql.DB
	tenantID string
}

// TenantID is the tenant this scope reads and writes.
func (s *SQLScope) TenantID() string { return s.tenantID }

func (s *SQLScope) args(query string, args []any) ([]any, error) {
	if !strings.Contains(query, "tenant_id") {
		return nil, fmt.Errorf("query is not tenant-scoped (no tenant_id): %.80s", query)
	}
	return append([]any{s.tenantID}, args...), nil
}

// Exec runs a statement with the tenant id as its first argument.
func (s *SQLScope) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	a, err := s.args(query, args)
	if err != nil {
		return nil, err
	}
	return s.db.ExecContext(ctx, query, a...)
}

// Query runs a query with the tenant id as its first argument.
func (s *SQLScope) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	a, err := s.args(query, args)
	if err != nil {
		return nil, err
	}
	return s.db.QueryContext(ctx, query, a...)
}

// QueryRow runs a single-row query with the tenant id as its first argument.
func (s *SQLScope) QueryRow(ctx context.Context, query string, args ...any) *Row {
	a, err := s.args(query, args)
	if err != nil {
		return &Row{err: err}
	}
	return &Row{row: s.db.QueryRowContext(ctx, query, a...)}
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
