package tenants

import (
	"context"
	"fmt"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// The operator's records on SQLite (operator_store.go).

// errOperatorTaken is the conflict of an operator whose email another has.
func errOperatorTaken(email string) error {
	return fault.Conflict("an operator with email %s already exists", email)
}

func (s *sqliteStore) CreateOperator(ctx context.Context, o OperatorRecord) error {
	return s.insert(ctx, "operator", errOperatorTaken(o.Email),
		`INSERT INTO operators (id, email, password_hash, must_change, created_at) VALUES (?, ?, ?, ?, ?)`,
		o.ID, o.Email, o.PasswordHash, o.MustChange, engine.TimeText(o.CreatedAt))
}

func (s *sqliteStore) operator(ctx context.Context, where string, arg any) (OperatorRecord, error) {
	var o OperatorRecord
	err := s.row(ctx, "operator", &o.CreatedAt,
		`SELECT id, email, password_hash, must_change, created_at FROM operators WHERE `+where+` = ?`, arg,
		&o.ID, &o.Email, &o.PasswordHash, &o.MustChange)
	return o, err
}

func (s *sqliteStore) OperatorByEmail(ctx context.Context, email string) (OperatorRecord, error) {
	return s.operator(ctx, "email", email)
}

func (s *sqliteStore) OperatorByID(ctx context.Context, id string) (OperatorRecord, error) {
	return s.operator(ctx, "id", id)
}

func (s *sqliteStore) SetOperatorPassword(ctx context.Context, id, hash string, mustChange bool) error {
	res, err := s.db.ExecContext(ctx, `UPDATE operators SET password_hash = ?, must_change = ? WHERE id = ?`, hash, mustChange, id)
	if err := engine.One(res, err, fault.NotFound("operator")); err != nil {
		return fmt.Errorf("set password of operator %s: %w", id, err)
	}
	return nil
}

func (s *sqliteStore) CreateOperatorKey(ctx context.Context, k OperatorKey) error {
	return s.insert(ctx, "operator key", nil,
		`INSERT INTO operator_keys (id, operator_id, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.OperatorID, k.Hash, k.Prefix, engine.TimeText(k.CreatedAt))
}

func (s *sqliteStore) OperatorKeyByHash(ctx context.Context, hash string) (OperatorKey, error) {
	var k OperatorKey
	err := s.row(ctx, "operator key", &k.CreatedAt,
		`SELECT id, operator_id, hash, prefix, created_at FROM operator_keys WHERE hash = ?`, hash,
		&k.ID, &k.OperatorID, &k.Hash, &k.Prefix)
	return k, err
}

func (s *sqliteStore) DeleteOperatorKeys(ctx context.Context, operatorID string) error {
	return s.exec(ctx, "revoke keys of operator "+operatorID, `DELETE FROM operator_keys WHERE operator_id = ?`, operatorID)
}

func (s *sqliteStore) CreateOperatorSession(ctx context.Context, r OperatorSessionRecord) error {
	return s.insert(ctx, "operator session", nil,
		`INSERT INTO operator_sessions (id, operator_id, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		r.ID, r.OperatorID, r.Kind, engine.TimeText(r.CreatedAt), engine.TimeText(r.ExpiresAt))
}

func (s *sqliteStore) OperatorSessionByID(ctx context.Context, id string) (OperatorSessionRecord, error) {
	var r OperatorSessionRecord
	var created string
	err := s.row(ctx, "operator session", &r.ExpiresAt,
		`SELECT id, operator_id, kind, created_at, expires_at FROM operator_sessions WHERE id = ?`, id,
		&r.ID, &r.OperatorID, &r.Kind, &created)
	r.CreatedAt = engine.ParseTimeText(created)
	return r, err
}

func (s *sqliteStore) DeleteOperatorSession(ctx context.Context, id string) error {
	return s.exec(ctx, "end operator session", `DELETE FROM operator_sessions WHERE id = ?`, id)
}

func (s *sqliteStore) DeleteOperatorSessions(ctx context.Context, operatorID, keepID string) error {
	return s.exec(ctx, "end sessions of operator "+operatorID,
		`DELETE FROM operator_sessions WHERE operator_id = ? AND id != ?`, operatorID, keepID)
}

func (s *sqliteStore) DeleteExpiredOperatorSessions(ctx context.Context, operatorID string, now time.Time) error {
	return s.exec(ctx, "remove expired sessions of operator "+operatorID,
		`DELETE FROM operator_sessions WHERE operator_id = ? AND expires_at <= ?`, operatorID, engine.TimeText(now))
}

func (s *sqliteStore) TenantsPage(ctx context.Context, limit, offset int) ([]Tenant, error) {
	return all(ctx, s.db, "list shops", func(scan func(...any) error) (Tenant, error) {
		var t Tenant
		var at string
		err := scan(&t.ID, &t.Slug, &t.Name, &t.TimeZone, &t.Lang, &at)
		t.CreatedAt = engine.ParseTimeText(at)
		return t, err
	}, `SELECT id, slug, name, time_zone, lang, created_at FROM tenants
		ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, limit, offset)
}

func (s *sqliteStore) CreateInvitation(ctx context.Context, inv Invitation) error {
	return s.insert(ctx, "invitation", nil,
		`INSERT INTO invitations (hash, tenant_id, user_id, email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		inv.Hash, inv.TenantID, inv.UserID, inv.Email, engine.TimeText(inv.CreatedAt), engine.TimeText(inv.ExpiresAt))
}

// invitationColumns are what scanInvitation reads, in its order.
const invitationColumns = `hash, tenant_id, user_id, email, created_at, expires_at, used_at`

func scanInvitation(scan func(...any) error) (Invitation, error) {
	var inv Invitation
	var created, expires, used string
	err := scan(&inv.Hash, &inv.TenantID, &inv.UserID, &inv.Email, &created, &expires, &used)
	inv.CreatedAt, inv.ExpiresAt, inv.UsedAt = engine.ParseTimeText(created), engine.ParseTimeText(expires), engine.ParseOptTimeText(used)
	return inv, err
}

func (s *sqliteStore) InvitationByHash(ctx context.Context, hash string) (Invitation, error) {
	invs, err := all(ctx, s.db, "read invitation", scanInvitation,
		`SELECT `+invitationColumns+` FROM invitations WHERE hash = ?`, hash)
	if err != nil {
		return Invitation{}, err
	}
	if len(invs) == 0 {
		return Invitation{}, fault.NotFound("invitation link")
	}
	return invs[0], nil
}

func (s *sqliteStore) ClaimInvitation(ctx context.Context, hash string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE invitations SET used_at = ? WHERE hash = ? AND used_at = '' AND expires_at > ?`,
		engine.TimeText(now), hash, engine.TimeText(now))
	return changedOne(res, err, "claim invitation")
}

func (s *sqliteStore) UnclaimInvitation(ctx context.Context, hash string) error {
	return s.exec(ctx, "release invitation", `UPDATE invitations SET used_at = '' WHERE hash = ?`, hash)
}

func (s *sqliteStore) InvitationsOf(ctx context.Context, tenantIDs []string) ([]Invitation, error) {
	if len(tenantIDs) == 0 {
		return nil, nil
	}
	return all(ctx, s.db, "list invitations", scanInvitation,
		`SELECT `+invitationColumns+` FROM invitations WHERE tenant_id IN (`+engine.Placeholders(len(tenantIDs))+`)
		ORDER BY tenant_id, created_at`,
		engine.Strings(tenantIDs)...)
}
