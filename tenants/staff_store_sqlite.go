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

const staffColumns = `id, tenant_id, email, role, guide_id, invited_by, created_at, joined_at`

func scanStaff(scan func(...any) error) (StaffRecord, error) {
	var r StaffRecord
	var created, joined string
	err := scan(&r.ID, &r.TenantID, &r.Email, &r.Role, &r.GuideID, &r.InvitedBy, &created, &joined)
	r.CreatedAt, r.JoinedAt = engine.ParseTimeText(created), engine.ParseOptTimeText(joined)
	return r, err
}

func (s *sqliteStore) CreateStaff(ctx context.Context, r StaffRecord) error {
	return s.insert(ctx, "staff", errStaffTaken(r.Email),
		`INSERT INTO staff (`+staffColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.TenantID, r.Email, r.Role, r.GuideID, r.InvitedBy, engine.TimeText(r.CreatedAt), engine.OptTimeText(r.JoinedAt))
}

func (s *sqliteStore) StaffByID(ctx context.Context, id string) (StaffRecord, error) {
	r, err := scanStaff(s.db.QueryRowContext(ctx, `SELECT `+staffColumns+` FROM staff WHERE id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return StaffRecord{}, fault.NotFound("staff member")
	}
	if err != nil {
		return StaffRecord{}, fmt.Errorf("read staff member %s: %w", id, err)
	}
	return r, nil
}

func (s *sqliteStore) StaffOf(ctx context.Context, tenantID string) ([]StaffRecord, error) {
	return all(ctx, s.db, "list staff", scanStaff,
		`SELECT `+staffColumns+` FROM staff WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
}

func (s *sqliteStore) SetStaffRole(ctx context.Context, tenantID, id string, role Role, guideID string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE staff SET role = ?, guide_id = ? WHERE id = ? AND tenant_id = ?`,
		role, guideID, id, tenantID)
	return engine.One(res, err, fault.NotFound("staff member"))
}

func (s *sqliteStore) MarkStaffJoined(ctx context.Context, id string, at time.Time) error {
	return s.exec(ctx, "mark staff member "+id+" joined", `UPDATE staff SET joined_at = ? WHERE id = ?`, engine.TimeText(at), id)
}

func (s *sqliteStore) DeleteStaff(ctx context.Context, tenantID, id string) error {
	return s.exec(ctx, "remove staff member "+id, `DELETE FROM staff WHERE id = ? AND tenant_id = ?`, id, tenantID)
}

func (s *sqliteStore) CreateStaffInvite(ctx context.Context, inv StaffInvite) error {
	return s.insert(ctx, "staff invitation", nil,
		`INSERT INTO staff_invites (hash, staff_id, tenant_id, expires_at) VALUES (?, ?, ?, ?)`,
		inv.Hash, inv.StaffID, inv.TenantID, engine.TimeText(inv.ExpiresAt))
}

func (s *sqliteStore) StaffInviteByHash(ctx context.Context, hash string) (StaffInvite, error) {
	var inv StaffInvite
	err := s.row(ctx, "staff invitation", &inv.ExpiresAt,
		`SELECT hash, staff_id, tenant_id, expires_at FROM staff_invites WHERE hash = ?`, hash,
		&inv.Hash, &inv.StaffID, &inv.TenantID)
	return inv, err
}

func (s *sqliteStore) TakeStaffInvite(ctx context.Context, hash string, now time.Time) (StaffInvite, error) {
	var inv StaffInvite
	var exp string
	err := s.db.QueryRowContext(ctx, `DELETE FROM staff_invites WHERE hash = ? AND expires_at > ?
		RETURNING hash, staff_id, tenant_id, expires_at`, hash, engine.TimeText(now)).Scan(&inv.Hash, &inv.StaffID, &inv.TenantID, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return StaffInvite{}, fault.NotFound("staff invitation")
	}
	if err != nil {
		return StaffInvite{}, fmt.Errorf("take invitation: %w", err)
	}
	inv.ExpiresAt = engine.ParseTimeText(exp)
	return inv, nil
}

func (s *sqliteStore) DeleteStaffInvites(ctx context.Context, staffID string) error {
	return s.exec(ctx, "delete invitations of staff member "+staffID, `DELETE FROM staff_invites WHERE staff_id = ?`, staffID)
}
