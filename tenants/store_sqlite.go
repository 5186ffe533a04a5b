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
		`INSERT INTO tenants (id, slug, name, time_zone, lang, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Slug, t.Name, t.TimeZone, t.Lang, engine.TimeText(t.CreatedAt))
}

func (s *sqliteStore) UpdateTenant(ctx context.Context, t Tenant) error {
	res, err := s.db.ExecContext(ctx, `UPDATE tenants SET name = ?, lang = ?, time_zone = ? WHERE id = ?`,
		t.Name, t.Lang, t.TimeZone, t.ID)
	return engine.One(res, err, fault.NotFound("shop"))
}

func (s *sqliteStore) DeleteTenant(ctx context.Context, id string) error {
	return s.exec(ctx, "delete shop "+id, `DELETE FROM tenants WHERE id = ?`, id)
}

func (s *sqliteStore) tenant(ctx context.Context, where string, arg any) (Tenant, error) {
	var t Tenant
	err := s.row(ctx, "shop", &t.CreatedAt,
		`SELECT id, slug, name, time_zone, lang, created_at FROM tenants WHERE `+where+` = ?`, arg,
		&t.ID, &t.Slug, &t.Name, &t.TimeZone, &t.Lang)
	return t, err
}

func (s *sqliteStore) TenantByID(ctx context.Context, id string) (Tenant, error) {
	return s.tenant(ctx, "id", id)
}

func (s *sqliteStore) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	return s.tenant(ctx, "slug", slug)
}

func (s *sqliteStore) TenantIDs(ctx context.Context) ([]string, error) {
	return all(ctx, s.db, "list shops", func(scan func(...any) error) (id string, err error) {
		return id, scan(&id)
	}, `SELECT id FROM tenants ORDER BY id`)
}

// all scans every row query returns with scan; doing says what it reads.
func all[T any](ctx context.Context, db *sql.DB, doing string, scan func(func(...any) error) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", doing, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", doing, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", doing, err)
	}
	return out, nil
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

func (s *sqliteStore) UsersOfTenant(ctx context.Context, tenantID string) ([]User, error) {
	return all(ctx, s.db, "list users", func(scan func(...any) error) (User, error) {
		var u User
		var at string
		err := scan(&u.ID, &u.TenantID, &u.Email, &u.PasswordHash, &at)
		u.CreatedAt = engine.ParseTimeText(at)
		return u, err
	}, `SELECT id, tenant_id, email, password_hash, created_at FROM users WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
}

func (s *sqliteStore) SetPasswordHash(ctx context.Context, userID, hash string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
	if err := engine.One(res, err, fault.NotFound("user")); err != nil {
		return fmt.Errorf("set password of user %s: %w", userID, err)
	}
	return nil
}

func (s *sqliteStore) CreateAPIKey(ctx context.Context, k APIKey) error {
	return s.insert(ctx, "api key", nil,
		`INSERT INTO api_keys (id, tenant_id, hash, prefix, created_at, name, role) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.TenantID, k.Hash, k.Prefix, engine.TimeText(k.CreatedAt), k.Name, k.Role)
}

func (s *sqliteStore) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	var k APIKey
	err := s.row(ctx, "api key", &k.CreatedAt,
		`SELECT id, tenant_id, hash, prefix, name, role, created_at FROM api_keys WHERE hash = ?`, hash,
		&k.ID, &k.TenantID, &k.Hash, &k.Prefix, &k.Name, &k.Role)
	return k, err
}

func (s *sqliteStore) APIKeysOf(ctx context.Context, tenantID string) ([]APIKey, error) {
	return all(ctx, s.db, "list api keys", func(scan func(...any) error) (APIKey, error) {
		var k APIKey
		var created, used string
		err := scan(&k.ID, &k.TenantID, &k.Hash, &k.Prefix, &k.Name, &k.Role, &created, &used)
		k.CreatedAt, k.LastUsedAt = engine.ParseTimeText(created), engine.ParseOptTimeText(used)
		return k, err
	}, `SELECT k.id, k.tenant_id, k.hash, k.prefix, k.name, k.role, k.created_at, coalesce(u.last_used_at, '')
		FROM api_keys k LEFT JOIN api_key_uses u ON u.key_id = k.id
		WHERE k.tenant_id = ? ORDER BY k.created_at, k.id`, tenantID)
}

func (s *sqliteStore) DeleteAPIKey(ctx context.Context, tenantID, id string) (APIKey, error) {
	var k APIKey
	var created string
	err := s.db.QueryRowContext(ctx, `DELETE FROM api_keys WHERE id = ? AND tenant_id = ?
		RETURNING id, tenant_id, hash, prefix, created_at`, id, tenantID).Scan(&k.ID, &k.TenantID, &k.Hash, &k.Prefix, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, fault.NotFound("API key")
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("delete api key %s: %w", id, err)
	}
	k.CreatedAt = engine.ParseTimeText(created)
	// A use record left behind by a failure here is never read again.
	return k, s.exec(ctx, "delete api key use "+id, `DELETE FROM api_key_uses WHERE key_id = ?`, id)
}

func (s *sqliteStore) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.exec(ctx, "record use of api key "+id, `INSERT INTO api_key_uses (key_id, last_used_at) VALUES (?, ?)
		ON CONFLICT (key_id) DO UPDATE SET last_used_at = excluded.last_used_at
		WHERE excluded.last_used_at > api_key_uses.last_used_at`, id, engine.TimeText(at))
}

func (s *sqliteStore) CreateSession(ctx context.Context, r SessionRecord) error {
	return s.insert(ctx, "session", nil,
		`INSERT INTO sessions (id, user_id, tenant_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		r.ID, r.UserID, r.TenantID, engine.TimeText(r.CreatedAt), engine.TimeText(r.ExpiresAt))
}

func (s *sqliteStore) SessionByID(ctx context.Context, id string) (SessionRecord, error) {
	var r SessionRecord
	var created string
	err := s.row(ctx, "session", &r.ExpiresAt,
		`SELECT id, user_id, tenant_id, created_at, expires_at FROM sessions WHERE id = ?`, id,
		&r.ID, &r.UserID, &r.TenantID, &created)
	r.CreatedAt = engine.ParseTimeText(created)
	return r, err
}

func (s *sqliteStore) DeleteSession(ctx context.Context, id string) error {
	return s.exec(ctx, "end session", `DELETE FROM sessions WHERE id = ?`, id)
}

func (s *sqliteStore) DeleteUserSessions(ctx context.Context, userID, keepID string) error {
	return s.exec(ctx, "end sessions of user "+userID, `DELETE FROM sessions WHERE user_id = ? AND id != ?`, userID, keepID)
}

func (s *sqliteStore) DeleteExpiredSessions(ctx context.Context, userID string, now time.Time) error {
	return s.exec(ctx, "remove expired sessions of user "+userID,
		`DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?`, userID, engine.TimeText(now))
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

func (s *sqliteStore) ClaimAppID(ctx context.Context, appID, tenantID string) error {
	return claimAppID(ctx, appID, tenantID, func() error {
		_, err := s.db.ExecContext(ctx, `INSERT INTO app_ids (app_id, tenant_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT (app_id) DO NOTHING`, appID, tenantID, engine.TimeText(time.Now()))
		return err
	}, s.AppIDOwner)
}

func (s *sqliteStore) ReleaseAppID(ctx context.Context, appID, tenantID string) error {
	return s.exec(ctx, "release AppID "+appID, `DELETE FROM app_ids WHERE app_id = ? AND tenant_id = ?`, appID, tenantID)
}

func (s *sqliteStore) AppIDOwner(ctx context.Context, appID string) (string, error) {
	var owner string
	err := s.db.QueryRowContext(ctx, `SELECT tenant_id FROM app_ids WHERE app_id = ?`, appID).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fault.NotFound("AppID")
	}
	if err != nil {
		return "", fmt.Errorf("read AppID %s: %w", appID, err)
	}
	return owner, nil
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
