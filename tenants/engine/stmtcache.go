package engine

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the prepared statements kept per tenant file; the
// stores' statements fit many times over, and queries built on the fly
// (filters, IN lists) beyond the bound simply run unprepared.
const maxCachedStmts = 256

// stmtCache keeps a tenant file's prepared statements: parsing and planning
// a statement is a fifth of an order's cost in SQLite when every call does
// it again.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

// get returns the prepared statement for query, preparing it the first
// time; nil when the cache is full (the caller runs the query unprepared).
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st := c.m[query]
	full := len(c.m) >= maxCachedStmts
	c.mu.RUnlock()
	if st != nil || full {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // let the unprepared call report the error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if have := c.m[query]; have != nil {
		st.Close()
		return have
	}
	if len(c.m) >= maxCachedStmts {
		st.Close()
		return nil
	}
	c.m[query] = st
	return st
}

// close finalizes every cached statement (the file is closing).
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}
