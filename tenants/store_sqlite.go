package tenants

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ db *sql.DB }

// insert runs an INSERT of what; a unique violation is taken (a conflict
// saying which value is in use).
func (s *sqliteStore) insert(ctx context.Context, what string, taken error, query string, args ...any) error {
	_, err := s.db.ExecContext(ctx, query, args...)
	if engine.IsUniqueViolation(err) && taken != nil {
		return taken
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", what, err)
	}
	return nil
}

// exec runs a write that needs no answer; doing says what it does.
func (s *sqliteStore) exec(ctx context.Context, doing, query string, args ...any) error {
	if _, err := s.db.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return nil
}

// row scans the row query finds into dest and its last column, a time
// written by TimeText, into at; no row is fault.NotFound(what).
func (s *sqliteStore) row(ctx context.Context, what string, at *time.Time, query string, arg any, dest ...any) error {
	var text string
	err := s.db.QueryRowContext(ctx, query, arg).Scan(append(dest, &text)...)
	if errors.Is(err, sql.ErrNoRows) {
		return fault.NotFound(what)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	*at = engine.ParseTimeText(text)
	return nil
}

func (s *sqliteStore) CreateTenant(ctx context.Context, t Tenant) error {
	return s.insert(ctx, "shop", errSlugTaken(t.Slug),
		`INSERT INTO tenants (id, slug, name, time_zone, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.Slug, t.Name, t.TimeZone, engine.TimeText(t.CreatedAt))
}

func (s *sqliteStore) DeleteTenant(ctx context.Context, id string) error {
	return s.exec(ctx, "delete shop "+id, `DELETE FROM tenants WHERE id = ?`, id)
}

func (s *sqliteStore) tenant(ctx context.Context, where string, arg any) (Tenant, error) {
	var t Tenant
	err := s.row(ctx, "shop", &t.CreatedAt,
		`SELECT id, slug, name, time_zone, created_at FROM tenants WHERE `+where+` = ?`, arg,
		&t.ID, &t.Slug, &t.Name, &t.TimeZone)
	return t, err
}

func (s *sqliteStore) TenantByID(ctx context.Context, id string) (Tenant, error) {
	return s.tenant(ctx, "id", id)
}

func (s *sqliteStore) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	return s.tenant(ctx, "slug", slug)
}

func (s *sqliteStore) TenantIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM tenants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list shops: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list shops: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list shops: %w", err)
	}
	return ids, nil
}

func (s *sqliteStore) CountTenants(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM tenants`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count shops: %w", err)
	}
	return n, nil
}

func (s *sqliteStore) CreateUser(ctx context.Context, u User) error {
	return s.insert(ctx, "user", errEmailTaken(u.Email),
		`INSERT INTO users (id, tenant_id, email, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, u.TenantID, u.Email, u.PasswordHash, engine.TimeText(u.CreatedAt))
}

func (s *sqliteStore) DeleteUser(ctx context.Context, id string) error {
	return s.exec(ctx, "delete user "+id, `DELETE FROM users WHERE id = ?`, id)
}

func (s *sqliteStore) user(ctx context.Context, where string, arg any) (User, error) {
	var u User
	err := s.row(ctx, "user", &u.CreatedAt,
		`SELECT id, tenant_id, email, password_hash, created_at FROM users WHERE `+where+` = ?`, arg,
		&u.ID, &u.TenantID, &u.Email, &u.PasswordHash)
	return u, err
}

func (s *sqliteStore) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.user(ctx, "email", email)
}

func (s *sqliteStore) UserByID(ctx context.Context, id string) (User, error) {
	return s.user(ctx, "id", id)
}

func (s *sqliteStore) CreateAPIKey(ctx context.Context, k APIKey) error {
	return s.insert(ctx, "api key", nil,
		`INSERT INTO api_keys (id, tenant_id, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.TenantID, k.Hash, k.Prefix, engine.TimeText(k.CreatedAt))
}

func (s *sqliteStore) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	var k APIKey
	err := s.row(ctx, "api key", &k.CreatedAt,
		`SELECT id, tenant_id, hash, prefix, created_at FROM api_keys WHERE hash = ?`, hash,
		&k.ID, &k.TenantID, &k.Hash, &k.Prefix)
	return k, err
}

func (s *sqliteStore) Secret(ctx context.Context, name string, generate func() string) (string, error) {
	// INSERT OR IGNORE then read: whoever inserted first wins, everyone reads it.
	if err := s.exec(ctx, "store secret "+name, `INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)`, name, generate()); err != nil {
		return "", err
	}
	var v string
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return "", fmt.Errorf("read secret %s: %w", name, err)
	}
	return v, nil
}

func (s *sqliteStore) TryLease(ctx context.Context, name, holder string, now, expires time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.expires_at <= ? OR leases.holder = excluded.holder`,
		name, holder, engine.TimeText(expires), engine.TimeText(now))
	return changedOne(res, err, "lease "+name)
}

func (s *sqliteStore) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.exec(ctx, "release lease "+name, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
}

func (s *sqliteStore) CacheGet(ctx context.Context, key string, now time.Time) (string, time.Time, error) {
	var v, exp string
	err := s.db.QueryRowContext(ctx, `SELECT value, expires_at FROM cache WHERE key = ? AND expires_at > ?`,
		key, engine.TimeText(now)).Scan(&v, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, fault.NotFound("cache entry")
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("cache get %s: %w", key, err)
	}
	return v, engine.ParseTimeText(exp), nil
}

func (s *sqliteStore) CachePut(ctx context.Context, key, value string, expires time.Time) error {
	return s.exec(ctx, "cache put "+key, `INSERT INTO cache (key, value, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
		key, value, engine.TimeText(expires))
}

func (s *sqliteStore) CacheDelete(ctx context.Context, key string) error {
	return s.exec(ctx, "cache delete "+key, `DELETE FROM cache WHERE key = ?`, key)
}

func (s *sqliteStore) CacheDeleteValue(ctx context.Context, key, value string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM cache WHERE key = ? AND value = ?`, key, value)
	return changedOne(res, err, "cache delete "+key)
}

// changedOne reports whether the conditional write (res, err) changed its
// row; doing says what it did.
func changedOne(res sql.Result, err error, doing string) (bool, error) {
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil {
			return n == 1, nil
		}
	}
	return false, fmt.Errorf("%s: %w", doing, err)
}
