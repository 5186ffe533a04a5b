package distribution

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

func (s *sqliteStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Settings{}, err
	}
	var doc string
	err = db.QueryRow(ctx, `SELECT doc FROM distribution_settings WHERE tenant_id = ?`).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return Settings{}, err
	}
	st := DefaultSettings()
	return st, json.Unmarshal([]byte(doc), &st)
}

func (s *sqliteStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO distribution_settings (tenant_id, doc) VALUES (?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET doc = excluded.doc`, string(b))
	return err
}

const bindingColumns = `fan_id, guide_id, guide_store, guide_channel, guide_at, guide_until, guide_protect,
	distributor_id, distributor_channel, distributor_at, distributor_until, distributor_protect,
	channel, referrer_id, paid_orders, rev, created_at, updated_at`

func scanBinding(scan func(...any) error) (Binding, error) {
	var b Binding
	var ga, gu, gp, da, du, dp, created, updated string
	err := scan(&b.FanID, &b.Guide.ID, &b.Guide.StoreID, &b.Guide.Channel, &ga, &gu, &gp,
		&b.Distributor.ID, &b.Distributor.Channel, &da, &du, &dp, &b.Channel, &b.ReferrerID, &b.PaidOrders, &b.Rev, &created, &updated)
	b.Guide.At, b.Guide.Until, b.Guide.Protect = engine.ParseOptTimeText(ga), engine.ParseOptTimeText(gu), engine.ParseOptTimeText(gp)
	b.Distributor.At, b.Distributor.Until, b.Distributor.Protect = engine.ParseOptTimeText(da), engine.ParseOptTimeText(du), engine.ParseOptTimeText(dp)
	b.CreatedAt, b.UpdatedAt = engine.ParseOptTimeText(created), engine.ParseOptTimeText(updated)
	return b, err
}

func bindingArgs(b Binding) []any {
	return []any{b.Guide.ID, b.Guide.StoreID, b.Guide.Channel, engine.OptTimeText(b.Guide.At), engine.OptTimeText(b.Guide.Until), engine.OptTimeText(b.Guide.Protect),
		b.Distributor.ID, b.Distributor.Channel, engine.OptTimeText(b.Distributor.At), engine.OptTimeText(b.Distributor.Until), engine.OptTimeText(b.Distributor.Protect),
		b.Channel, b.ReferrerID}
}

func (s *sqliteStore) Binding(ctx context.Context, tenantID, fanID string) (Binding, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Binding{}, err
	}
	b, err := scanBinding(db.QueryRow(ctx, `SELECT `+bindingColumns+` FROM bindings WHERE tenant_id = ? AND fan_id = ?`, fanID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Binding{}, fault.NotFound("customer")
	}
	return b, err
}

func (s *sqliteStore) InsertBinding(ctx context.Context, tenantID string, b Binding) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	args := append([]any{b.FanID}, bindingArgs(b)...)
	args = append(args, b.PaidOrders, engine.TimeText(b.CreatedAt), engine.TimeText(b.UpdatedAt))
	_, err = db.Exec(ctx, `INSERT INTO bindings (tenant_id, `+bindingColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`, args...)
	return err
}

func (s *sqliteStore) UpdateBinding(ctx context.Context, tenantID string, b Binding) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	args := append(bindingArgs(b), engine.TimeText(b.UpdatedAt), b.FanID, b.Rev)
	res, err := db.Exec(ctx, `UPDATE bindings SET guide_id = ?, guide_store = ?, guide_channel = ?, guide_at = ?, guide_until = ?,
		guide_protect = ?, distributor_id = ?, distributor_channel = ?, distributor_at = ?, distributor_until = ?,
		distributor_protect = ?, channel = ?, referrer_id = ?, updated_at = ?, rev = rev + 1
		WHERE tenant_id = ? AND fan_id = ? AND rev = ?`, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) CountPaid(ctx context.Context, tenantID, fanID string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	now := engine.TimeText(time.Now())
	_, err = db.Exec(ctx, `INSERT INTO bindings (tenant_id, fan_id, paid_orders, created_at, updated_at) VALUES (?, ?, 1, ?, ?)
		ON CONFLICT (tenant_id, fan_id) DO UPDATE SET paid_orders = paid_orders + 1`, fanID, now, now)
	return err
}

func (s *sqliteStore) BoundTo(ctx context.Context, tenantID, slot, id string, limit, offset int) ([]Binding, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	col := "guide_id"
	if slot == "distributor" {
		col = "distributor_id"
	}
	rows, err := db.Query(ctx, `SELECT `+bindingColumns+` FROM bindings WHERE tenant_id = ? AND `+col+` = ?
		ORDER BY updated_at DESC LIMIT ? OFFSET ?`, id, limit, offset)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Binding
	for rows.Next() {
		b, err := scanBinding(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (s *sqliteStore) Log(ctx context.Context, tenantID string, e LogEntry) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(e)
	_, err = db.Exec(ctx, `INSERT INTO binding_log (tenant_id, id, fan_id, kind, doc, at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.ID, e.FanID, e.Kind, string(b), engine.TimeText(e.At))
	return err
}

func (s *sqliteStore) History(ctx context.Context, tenantID, fanID string, limit int) ([]LogEntry, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT doc FROM binding_log WHERE tenant_id = ? AND fan_id = ? ORDER BY at DESC, id DESC LIMIT ?`,
		fanID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LogEntry
	for rows.Next() {
		var doc string
		var e LogEntry
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(doc), &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

const saleColumns = `order_id, fan_id, guide_id, store_id, distributor_id, channel, base, paid, refunded, refunded_base, paid_at`

func (s *sqliteStore) InsertSale(ctx context.Context, tenantID string, sl Sale) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, `INSERT OR IGNORE INTO distribution_sales (tenant_id, `+saleColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, sl.OrderID, sl.FanID, sl.GuideID, sl.StoreID, sl.DistributorID,
		sl.Channel, sl.Base, sl.Paid, sl.Refunded, sl.RefundedBase, engine.TimeText(sl.PaidAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) AddSaleRefund(ctx context.Context, tenantID, orderID string, amount, base int64) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE distribution_sales SET refunded = refunded + ?, refunded_base = refunded_base + ?
		WHERE tenant_id = ? AND order_id = ?`, amount, base, orderID)
	return err
}

func (s *sqliteStore) sales(ctx context.Context, tenantID, q string, args ...any) ([]Sale, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT `+saleColumns+` FROM distribution_sales `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Sale
	for rows.Next() {
		var sl Sale
		var at string
		if err := rows.Scan(&sl.OrderID, &sl.FanID, &sl.GuideID, &sl.StoreID, &sl.DistributorID, &sl.Channel, &sl.Base,
			&sl.Paid, &sl.Refunded, &sl.RefundedBase, &at); err != nil {
			return nil, err
		}
		sl.PaidAt = engine.ParseTimeText(at)
		out = append(out, sl)
	}
	return out, rows.Err()
}

func (s *sqliteStore) Sales(ctx context.Context, tenantID, distributorID string, limit, offset int) ([]Sale, error) {
	return s.sales(ctx, tenantID, `WHERE tenant_id = ? AND distributor_id = ? ORDER BY paid_at DESC LIMIT ? OFFSET ?`,
		distributorID, limit, offset)
}

func (s *sqliteStore) AllSales(ctx context.Context, tenantID, afterOrderID string, limit int) ([]Sale, error) {
	return s.sales(ctx, tenantID, `WHERE tenant_id = ? AND order_id > ? ORDER BY order_id LIMIT ?`, afterOrderID, limit)
}

func (s *sqliteStore) Mark(ctx context.Context, tenantID, key string) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, `INSERT OR IGNORE INTO distribution_marks (tenant_id, key) VALUES (?, ?)`, key)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
