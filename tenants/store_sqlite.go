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

func (s *sqliteStore) CreateTenant(ctx context.Context, t Tenant) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO tenants (id, slug, name, time_zone, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.Slug, t.Name, t.TimeZone, engine.TimeText(t.CreatedAt))
	if engine.IsUniqueViolation(err) {
		return fault.Conflict("the shop address %q is taken; choose another", t.Slug)
	}
	return err
}

func (s *sqliteStore) DeleteTenant(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM tenants WHERE id = ?`, id)
	return err
}

func (s *sqliteStore) tenant(ctx context.Context, where string, arg any) (Tenant, error) {
	var t Tenant
	var created string
	err := s.db.QueryRowContext(ctx,
		`SELECT id, slug, name, time_zone, created_at FROM tenants WHERE `+where+` = ?`, arg).
		Scan(&t.ID, &t.Slug, &t.Name, &t.TimeZone, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, fault.NotFound("shop")
	}
	t.CreatedAt = engine.ParseTimeText(created)
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
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (s *sqliteStore) CountTenants(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM tenants`).Scan(&n)
	return n, err
}

func (s *sqliteStore) CreateUser(ctx context.Context, u User) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO users (id, tenant_id, email, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, u.TenantID, u.Email, u.PasswordHash, engine.TimeText(u.CreatedAt))
	if engine.IsUniqueViolation(err) {
		return fault.Conflict("an account with email %s already exists; sign in instead", u.Email)
	}
	return err
}

func (s *sqliteStore) DeleteUser(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	return err
}

func (s *sqliteStore) user(ctx context.Context, where string, arg any) (User, error) {
	var u User
	var created string
	err := s.db.QueryRowContext(ctx,
		`SELECT id, tenant_id, email, password_hash, created_at FROM users WHERE `+where+` = ?`, arg).
		Scan(&u.ID, &u.TenantID, &u.Email, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fault.NotFound("user")
	}
	u.CreatedAt = engine.ParseTimeText(created)
	return u, err
}

func (s *sqliteStore) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.user(ctx, "email", email)
}

func (s *sqliteStore) UserByID(ctx context.Context, id string) (User, error) {
	return s.user(ctx, "id", id)
}

func (s *sqliteStore) CreateAPIKey(ctx context.Context, k APIKey) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO api_keys (id, tenant_id, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.TenantID, k.Hash, k.Prefix, engine.TimeText(k.CreatedAt))
	return err
}

func (s *sqliteStore) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	var k APIKey
	var created string
	err := s.db.QueryRowContext(ctx,
		`SELECT id, tenant_id, hash, prefix, created_at FROM api_keys WHERE hash = ?`, hash).
		Scan(&k.ID, &k.TenantID, &k.Hash, &k.Prefix, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, fault.NotFound("api key")
	}
	k.CreatedAt = engine.ParseTimeText(created)
	return k, err
}

func (s *sqliteStore) Secret(ctx context.Context, name string, generate func() string) (string, error) {
	// INSERT OR IGNORE then read: whoever inserted first wins, everyone reads it.
	if _, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)`, name, generate()); err != nil {
		return "", fmt.Errorf("store secret %s: %w", name, err)
	}
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	return v, err
}

func (s *sqliteStore) TryLease(ctx context.Context, name, holder string, now, expires time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.expires_at <= ? OR leases.holder = excluded.holder`,
		name, holder, engine.TimeText(expires), engine.TimeText(now))
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
	return err
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
	_, err := s.db.ExecContext(ctx, `INSERT INTO cache (key, value, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
		key, value, engine.TimeText(expires))
	if err != nil {
		return fmt.Errorf("cache put %s: %w", key, err)
	}
	return nil
}

func (s *sqliteStore) CacheDelete(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM cache WHERE key = ?`, key)
	return err
}

func (s *sqliteStore) CacheDeleteValue(ctx context.Context, key, value string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM cache WHERE key = ? AND value = ?`, key, value)
	if err != nil {
		return false, fmt.Errorf("cache delete %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
