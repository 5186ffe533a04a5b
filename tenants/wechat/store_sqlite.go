package wechat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

func (s *sqliteStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	var st Settings
	var updated string
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT app_id, app_secret, token, aes_key, prev_aes_key, mode, welcome, sandbox, rev, updated_at
		FROM wechat_settings WHERE tenant_id = ?`).
		Scan(&st.AppID, &st.AppSecret, &st.Token, &st.EncodingAESKey, &st.PrevEncodingAESKey, &st.Mode, &st.Welcome,
			&st.Sandbox, &st.Rev, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Settings{}, fault.NotFound("wechat settings")
	}
	if err != nil {
		return Settings{}, fmt.Errorf("read wechat settings: %w", err)
	}
	st.UpdatedAt = engine.ParseTimeText(updated)
	return st, nil
}

func (s *sqliteStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	if st.Rev <= 1 {
		_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO wechat_settings (tenant_id, app_id, app_secret, token, aes_key, prev_aes_key,
			mode, welcome, sandbox, rev, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.AppID, st.AppSecret, st.Token, st.EncodingAESKey, st.PrevEncodingAESKey, st.Mode, st.Welcome, st.Sandbox,
			1, engine.TimeText(st.UpdatedAt))
		if engine.IsUniqueViolation(err) {
			return fault.ErrConflict
		}
		return fault.Wrap(err, "save wechat settings")
	}
	res, err := s.e.SQLExec(ctx, tenantID, `UPDATE wechat_settings SET app_id = ?, app_secret = ?, token = ?, aes_key = ?, prev_aes_key = ?,
		mode = ?, welcome = ?, sandbox = ?, rev = ?, updated_at = ? WHERE tenant_id = ? AND rev = ?`,
		st.AppID, st.AppSecret, st.Token, st.EncodingAESKey, st.PrevEncodingAESKey, st.Mode, st.Welcome, st.Sandbox,
		st.Rev, engine.TimeText(st.UpdatedAt), st.Rev-1)
	return fault.Wrap(engine.One(res, err, fault.ErrConflict), "save wechat settings") // none: another write took the revision
}

// scanQR reads the columns qrColumns names.
func scanQR(scan func(...any) error) (QRCode, error) {
	var q QRCode
	var expires, created string
	if err := scan(&q.Scene, &q.Permanent, &q.Ticket, &q.URL, &expires, &created); err != nil {
		return QRCode{}, err
	}
	q.ExpiresAt, q.CreatedAt = engine.ParseOptTimeText(expires), engine.ParseTimeText(created)
	return q, nil
}

const qrColumns = `scene, permanent, ticket, url, expires_at, created_at`

func (s *sqliteStore) QR(ctx context.Context, tenantID, scene string, permanent bool) (QRCode, error) {
	q, err := scanQR(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+qrColumns+` FROM wechat_qrcodes
		WHERE tenant_id = ? AND scene = ? AND permanent = ?`, scene, permanent).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return QRCode{}, fault.NotFound("qr code")
	}
	if err != nil {
		return QRCode{}, fmt.Errorf("read qr code: %w", err)
	}
	return q, nil
}

func (s *sqliteStore) PutQR(ctx context.Context, tenantID string, q QRCode) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO wechat_qrcodes (tenant_id, `+qrColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, scene, permanent) DO UPDATE SET
		ticket = excluded.ticket, url = excluded.url, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		q.Scene, q.Permanent, q.Ticket, q.URL, engine.OptTimeText(q.ExpiresAt), engine.TimeText(q.CreatedAt))
	return fault.Wrap(err, "store qr code")
}

func (s *sqliteStore) QRCodes(ctx context.Context, tenantID string, limit int) ([]QRCode, error) {
	qs, err := engine.SQLAll(ctx, s.e, tenantID, scanQR, `SELECT `+qrColumns+` FROM wechat_qrcodes
		WHERE tenant_id = ? ORDER BY created_at DESC LIMIT ?`, limit)
	return qs, fault.Wrap(err, "list qr codes")
}

func (s *sqliteStore) CountPermanentQR(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT count(*) FROM wechat_qrcodes WHERE tenant_id = ? AND permanent = 1`).Scan(&n)
	return n, fault.Wrap(err, "count permanent qr codes")
}
