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
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Settings{}, err
	}
	var st Settings
	var updated string
	err = db.QueryRow(ctx, `SELECT app_id, app_secret, token, aes_key, prev_aes_key, mode, welcome, sandbox, rev, updated_at
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
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	if st.Rev <= 1 {
		_, err = db.Exec(ctx, `INSERT INTO wechat_settings (tenant_id, app_id, app_secret, token, aes_key, prev_aes_key,
			mode, welcome, sandbox, rev, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.AppID, st.AppSecret, st.Token, st.EncodingAESKey, st.PrevEncodingAESKey, st.Mode, st.Welcome, st.Sandbox,
			1, engine.TimeText(st.UpdatedAt))
		if engine.IsUniqueViolation(err) {
			return fault.ErrConflict
		}
		return err
	}
	res, err := db.Exec(ctx, `UPDATE wechat_settings SET app_id = ?, app_secret = ?, token = ?, aes_key = ?, prev_aes_key = ?,
		mode = ?, welcome = ?, sandbox = ?, rev = ?, updated_at = ? WHERE tenant_id = ? AND rev = ?`,
		st.AppID, st.AppSecret, st.Token, st.EncodingAESKey, st.PrevEncodingAESKey, st.Mode, st.Welcome, st.Sandbox,
		st.Rev, engine.TimeText(st.UpdatedAt), st.Rev-1)
	if err != nil {
		return fmt.Errorf("save wechat settings: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fault.ErrConflict
	}
	return nil
}

func (s *sqliteStore) QR(ctx context.Context, tenantID, scene string, permanent bool) (QRCode, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return QRCode{}, err
	}
	q := QRCode{Scene: scene, Permanent: permanent}
	var expires, created string
	err = db.QueryRow(ctx, `SELECT ticket, url, expires_at, created_at FROM wechat_qrcodes
		WHERE tenant_id = ? AND scene = ? AND permanent = ?`, scene, permanent).Scan(&q.Ticket, &q.URL, &expires, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return QRCode{}, fault.NotFound("qr code")
	}
	if err != nil {
		return QRCode{}, fmt.Errorf("read qr code: %w", err)
	}
	q.ExpiresAt, q.CreatedAt = parseOptionalTime(expires), engine.ParseTimeText(created)
	return q, nil
}

func (s *sqliteStore) PutQR(ctx context.Context, tenantID string, q QRCode) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO wechat_qrcodes (tenant_id, scene, permanent, ticket, url, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, scene, permanent) DO UPDATE SET
		ticket = excluded.ticket, url = excluded.url, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		q.Scene, q.Permanent, q.Ticket, q.URL, optionalTimeText(q.ExpiresAt), engine.TimeText(q.CreatedAt))
	if err != nil {
		return fmt.Errorf("store qr code: %w", err)
	}
	return nil
}

func (s *sqliteStore) QRCodes(ctx context.Context, tenantID string, limit int) ([]QRCode, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT scene, permanent, ticket, url, expires_at, created_at FROM wechat_qrcodes
		WHERE tenant_id = ? ORDER BY created_at DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list qr codes: %w", err)
	}
	defer rows.Close()
	var out []QRCode
	for rows.Next() {
		var q QRCode
		var expires, created string
		if err := rows.Scan(&q.Scene, &q.Permanent, &q.Ticket, &q.URL, &expires, &created); err != nil {
			return nil, err
		}
		q.ExpiresAt, q.CreatedAt = parseOptionalTime(expires), engine.ParseTimeText(created)
		out = append(out, q)
	}
	return out, rows.Err()
}

func (s *sqliteStore) CountPermanentQR(ctx context.Context, tenantID string) (int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.QueryRow(ctx, `SELECT count(*) FROM wechat_qrcodes WHERE tenant_id = ? AND permanent = 1`).Scan(&n)
	return n, err
}
