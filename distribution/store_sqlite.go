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
	return loadSettings(ctx, s.e, tenantID)
}

func (s *sqliteStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	return saveSettings(ctx, s.e, tenantID, st)
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
	b, err := scanBinding(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+bindingColumns+` FROM bindings WHERE tenant_id = ? AND fan_id = ?`, fanID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Binding{}, fault.NotFound("customer")
	}
	return b, fault.Wrap(err, "load the binding of fan %s", fanID)
}

func (s *sqliteStore) InsertBinding(ctx context.Context, tenantID string, b Binding) error {
	args := append([]any{b.FanID}, bindingArgs(b)...)
	args = append(args, b.PaidOrders, engine.TimeText(b.CreatedAt), engine.TimeText(b.UpdatedAt))
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO bindings (tenant_id, `+bindingColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`, args...)
	return fault.Wrap(err, "insert the binding of fan %s", b.FanID)
}

func (s *sqliteStore) UpdateBinding(ctx context.Context, tenantID string, b Binding) (bool, error) {
	args := append(bindingArgs(b), engine.TimeText(b.UpdatedAt), b.FanID, b.Rev)
	ok, err := engine.Changed(s.e.SQLExec(ctx, tenantID, `UPDATE bindings SET guide_id = ?, guide_store = ?, guide_channel = ?, guide_at = ?,
		guide_until = ?, guide_protect = ?, distributor_id = ?, distributor_channel = ?, distributor_at = ?, distributor_until = ?,
		distributor_protect = ?, channel = ?, referrer_id = ?, updated_at = ?, rev = rev + 1
		WHERE tenant_id = ? AND fan_id = ? AND rev = ?`, args...))
	return ok, fault.Wrap(err, "update the binding of fan %s", b.FanID)
}

// countPaid adds a paid order to a fan's record, creating it.
const countPaid = `INSERT INTO bindings (tenant_id, fan_id, paid_orders, created_at, updated_at) VALUES (?, ?, 1, ?, ?)
	ON CONFLICT (tenant_id, fan_id) DO UPDATE SET paid_orders = paid_orders + 1`

func (s *sqliteStore) BoundTo(ctx context.Context, tenantID, slot, id string, limit, offset int) ([]Binding, error) {
	col := "guide_id"
	if slot == "distributor" {
		col = "distributor_id"
	}
	bs, err := engine.SQLAll(ctx, s.e, tenantID, scanBinding, `SELECT `+bindingColumns+` FROM bindings WHERE tenant_id = ? AND `+col+` = ?
		ORDER BY updated_at DESC LIMIT ? OFFSET ?`, id, limit, offset)
	return bs, fault.Wrap(err, "list the customers bound to %s %s", slot, id)
}

func (s *sqliteStore) Log(ctx context.Context, tenantID string, e LogEntry) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO binding_log (tenant_id, id, fan_id, kind, doc, at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.ID, e.FanID, e.Kind, engine.JSONText(e), engine.TimeText(e.At))
	return fault.Wrap(err, "log a binding change of fan %s", e.FanID)
}

func scanLogEntry(scan func(...any) error) (LogEntry, error) {
	var doc string
	var e LogEntry
	if err := scan(&doc); err != nil {
		return e, err
	}
	return e, json.Unmarshal([]byte(doc), &e)
}

func (s *sqliteStore) History(ctx context.Context, tenantID, fanID string, limit int) ([]LogEntry, error) {
	es, err := engine.SQLAll(ctx, s.e, tenantID, scanLogEntry, `SELECT doc FROM binding_log WHERE tenant_id = ? AND fan_id = ?
		ORDER BY at DESC, id DESC LIMIT ?`, fanID, limit)
	return es, fault.Wrap(err, "read the binding log of fan %s", fanID)
}

const saleColumns = `order_id, fan_id, guide_id, store_id, distributor_id, channel, base, paid, refunded, refunded_base, paid_at`

func (s *sqliteStore) RecordSale(ctx context.Context, tenantID string, sl Sale) (first bool, paidBefore int64, err error) {
	err = s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		var err error
		first, err = engine.Changed(tx.Exec(ctx, `INSERT OR IGNORE INTO distribution_sales (tenant_id, `+saleColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, sl.OrderID, sl.FanID, sl.GuideID, sl.StoreID, sl.DistributorID,
			sl.Channel, sl.Base, sl.Paid, sl.Refunded, sl.RefundedBase, engine.TimeText(sl.PaidAt)))
		if err != nil || !first {
			return err
		}
		var paid int64
		err = tx.QueryRow(ctx, countPaid+` RETURNING paid_orders`, sl.FanID, engine.TimeText(time.Now()), engine.TimeText(time.Now())).Scan(&paid)
		paidBefore = paid - 1
		return err
	})
	return first, paidBefore, fault.Wrap(err, "record the sale of order %s", sl.OrderID)
}

func (s *sqliteStore) AddSaleRefund(ctx context.Context, tenantID, orderID string, amount, base int64) error {
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE distribution_sales SET refunded = refunded + ?, refunded_base = refunded_base + ?
		WHERE tenant_id = ? AND order_id = ?`, amount, base, orderID)
	return fault.Wrap(err, "add a refund to the sale of order %s", orderID)
}

func scanSale(scan func(...any) error) (Sale, error) {
	var sl Sale
	var at string
	err := scan(&sl.OrderID, &sl.FanID, &sl.GuideID, &sl.StoreID, &sl.DistributorID, &sl.Channel, &sl.Base,
		&sl.Paid, &sl.Refunded, &sl.RefundedBase, &at)
	sl.PaidAt = engine.ParseTimeText(at)
	return sl, err
}

func (s *sqliteStore) sales(ctx context.Context, tenantID, q string, args ...any) ([]Sale, error) {
	sales, err := engine.SQLAll(ctx, s.e, tenantID, scanSale, `SELECT `+saleColumns+` FROM distribution_sales `+q, args...)
	return sales, fault.Wrap(err, "list sales")
}

func (s *sqliteStore) Sales(ctx context.Context, tenantID, distributorID string, limit, offset int) ([]Sale, error) {
	return s.sales(ctx, tenantID, `WHERE tenant_id = ? AND distributor_id = ? ORDER BY paid_at DESC LIMIT ? OFFSET ?`,
		distributorID, limit, offset)
}

func (s *sqliteStore) AllSales(ctx context.Context, tenantID, afterOrderID string, limit int) ([]Sale, error) {
	return s.sales(ctx, tenantID, `WHERE tenant_id = ? AND order_id > ? ORDER BY order_id LIMIT ?`, afterOrderID, limit)
}

func (s *sqliteStore) Mark(ctx context.Context, tenantID, key string) (bool, error) {
	ok, err := engine.Changed(s.e.SQLExec(ctx, tenantID, `INSERT OR IGNORE INTO distribution_marks (tenant_id, key) VALUES (?, ?)`, key))
	return ok, fault.Wrap(err, "mark %s", key)
}
