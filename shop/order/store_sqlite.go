package order

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

const orderColumns = `id, fan_id, status, lines, address, goods_total, shipping_fee, discount, payable, paid, refunded,
	refundable, refunds, events, provider, transaction_id, carrier, tracking_no, cancel_reason, attribution,
	created_at, expires_at, paid_at, shipped_at, completed_at, cancelled_at`

func optTime(s string) *time.Time {
	if s == "" {
		return nil
	}
	t := engine.ParseTimeText(s)
	return &t
}

func scanOrder(scan func(...any) error) (Order, error) {
	var o Order
	var lines, addr, refunds, events, attribution, created, expires, paid, shipped, completed, cancelled string
	err := scan(&o.ID, &o.FanID, &o.Status, &lines, &addr, &o.GoodsTotal, &o.ShippingFee, &o.Discount, &o.Payable,
		&o.Paid, &o.Refunded, &o.Refundable, &refunds, &events, &o.Provider, &o.TransactionID, &o.Carrier,
		&o.TrackingNo, &o.CancelReason, &attribution, &created, &expires, &paid, &shipped, &completed, &cancelled)
	if err != nil {
		return o, err
	}
	for _, j := range []struct {
		s string
		v any
	}{{lines, &o.Lines}, {addr, &o.Address}, {refunds, &o.Refunds}, {events, &o.Events}, {attribution, &o.Attribution}} {
		if err := json.Unmarshal([]byte(j.s), j.v); err != nil {
			return o, fmt.Errorf("order %s: %w", o.ID, err)
		}
	}
	o.CreatedAt, o.ExpiresAt = engine.ParseTimeText(created), engine.ParseTimeText(expires)
	o.PaidAt, o.ShippedAt, o.CompletedAt, o.CancelledAt = optTime(paid), optTime(shipped), optTime(completed), optTime(cancelled)
	return o, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *sqliteStore) Insert(ctx context.Context, tenantID string, o *Order) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	if o.Refunds == nil {
		o.Refunds = []Refund{}
	}
	_, err = db.Exec(ctx, `INSERT INTO orders (tenant_id, id, fan_id, status, lines, address, goods_total, shipping_fee,
		discount, payable, attribution, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.FanID, o.Status, jsonText(o.Lines), jsonText(o.Address), o.GoodsTotal, o.ShippingFee, o.Discount,
		o.Payable, jsonText(o.Attribution), engine.TimeText(o.CreatedAt), engine.TimeText(o.ExpiresAt))
	return err
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, id string) (Order, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Order{}, err
	}
	o, err := scanOrder(db.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, fault.NotFound("order")
	}
	return o, err
}

func (s *sqliteStore) query(ctx context.Context, db *engine.SQLScope, q string, args ...any) ([]Order, error) {
	return engine.QueryAll(ctx, db, scanOrder, q, args...)
}

func (s *sqliteStore) List(ctx context.Context, tenantID string, f Filter) ([]Order, int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, 0, err
	}
	where := []string{"tenant_id = ?"}
	var args []any
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	} else {
		where, args = append(where, "status NOT IN (?, ?)"), append(args, Placing, Rejected)
	}
	if f.FanID != "" {
		where, args = append(where, "fan_id = ?"), append(args, f.FanID)
	}
	if !f.From.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, engine.TimeText(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, engine.TimeText(f.To))
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	var total int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM orders`+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	list, err := s.query(ctx, db, `SELECT `+orderColumns+` FROM orders`+cond+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, f.Limit, f.Offset)...)
	return list, total, err
}

// setClauses turns a Change into SET assignments.
func setClauses(ch Change) ([]string, []any) {
	var set []string
	var args []any
	add := func(col string, v any) { set, args = append(set, col+" = ?"), append(args, v) }
	if ch.PaidAt != nil {
		add("paid_at", engine.TimeText(*ch.PaidAt))
	}
	if ch.Paid != nil {
		add("paid", *ch.Paid)
		add("refundable", *ch.Paid)
	}
	if ch.Provider != nil {
		add("provider", *ch.Provider)
	}
	if ch.TransactionID != nil {
		add("transaction_id", *ch.TransactionID)
	}
	if ch.ShippedAt != nil {
		add("shipped_at", engine.TimeText(*ch.ShippedAt))
	}
	if ch.Carrier != nil {
		add("carrier", *ch.Carrier)
	}
	if ch.TrackingNo != nil {
		add("tracking_no", *ch.TrackingNo)
	}
	if ch.CompletedAt != nil {
		add("completed_at", engine.TimeText(*ch.CompletedAt))
	}
	if ch.CancelledAt != nil {
		add("cancelled_at", engine.TimeText(*ch.CancelledAt))
	}
	if ch.CancelReason != nil {
		add("cancel_reason", *ch.CancelReason)
	}
	return set, args
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func (s *sqliteStore) Transition(ctx context.Context, tenantID, id string, from []string, to string, ch Change, ev *Event) (bool, error) {
	set, args := setClauses(ch)
	set, args = append(set, "status = ?"), append(args, to)
	if ev != nil {
		set = append(set, "events = json_insert(events, '$[#]', json(?))", "outbox = 1")
		args = append(args, jsonText(ev))
	}
	args = append(args, id)
	for _, f := range from {
		args = append(args, f)
	}
	ok, err := s.execOne(ctx, tenantID, `UPDATE orders SET `+strings.Join(set, ", ")+
		` WHERE tenant_id = ? AND id = ? AND status IN (`+placeholders(len(from))+`)`, args...)
	if err != nil {
		return false, fmt.Errorf("order %s to %s: %w", id, to, err)
	}
	return ok, nil
}

func (s *sqliteStore) AddRefund(ctx context.Context, tenantID, id string, from []string, r Refund, ev Event) (bool, error) {
	args := []any{r.Amount, r.Amount, r.Amount, jsonText(r), jsonText(ev), id, r.Amount}
	for _, f := range from {
		args = append(args, f)
	}
	// One conditional update: refundable >= amount is the guard that makes
	// concurrent refunds never add up to more than was paid.
	ok, err := s.execOne(ctx, tenantID, `UPDATE orders SET refunded = refunded + ?, refundable = refundable - ?,
		status = CASE WHEN refundable - ? = 0 THEN 'refunded' ELSE status END,
		refunds = json_insert(refunds, '$[#]', json(?)), events = json_insert(events, '$[#]', json(?)), outbox = 1
		WHERE tenant_id = ? AND id = ? AND refundable >= ? AND status IN (`+placeholders(len(from))+`)`, args...)
	if err != nil {
		return false, fmt.Errorf("refund order %s: %w", id, err)
	}
	return ok, nil
}

func (s *sqliteStore) Due(ctx context.Context, tenantID, status, field string, t time.Time, limit int) ([]Order, error) {
	if field != "expires_at" && field != "shipped_at" && field != "created_at" {
		return nil, fmt.Errorf("due: unknown field %q", field)
	}
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	// The status is written into the statement, not bound: SQLite uses a
	// partial index (orders_due_*) only for a query that names its literal
	// condition. It is one of the fixed statuses, checked here.
	if !slices.Contains(statuses, status) {
		return nil, fmt.Errorf("due: unknown status %q", status)
	}
	return s.query(ctx, db, `SELECT `+orderColumns+` FROM orders WHERE tenant_id = ? AND status = '`+status+`' AND `+field+` < ?
		ORDER BY `+field+` LIMIT ?`, engine.TimeText(t), limit)
}

func (s *sqliteStore) WithEvents(ctx context.Context, tenantID string, limit int) ([]Order, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return s.query(ctx, db, `SELECT `+orderColumns+` FROM orders WHERE tenant_id = ? AND outbox = 1 LIMIT ?`, limit)
}

func (s *sqliteStore) AckEvents(ctx context.Context, tenantID, id string, events []Event) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	ids := make([]any, 0, len(events)+1)
	ids = append(ids, id)
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	// Remove exactly the delivered events (ones appended meanwhile stay)
	// and clear the outbox flag when none is left, in one statement.
	remaining := `(SELECT COALESCE(json_group_array(json(value)), '[]') FROM json_each(orders.events)
			WHERE json_extract(value, '$.id') NOT IN (` + placeholders(len(events)) + `))`
	args := append(append(append([]any{}, ids[1:]...), ids[1:]...), id)
	_, err = db.Exec(ctx, `UPDATE orders SET events = `+remaining+`,
		outbox = CASE WHEN `+remaining+` = '[]' THEN 0 ELSE 1 END
		WHERE tenant_id = ? AND id = ?`, args...)
	return err
}

func (s *sqliteStore) InsertPayment(ctx context.Context, tenantID string, p Payment) (bool, error) {
	return s.execOne(ctx, tenantID, `INSERT OR IGNORE INTO payments (tenant_id, provider, transaction_id, order_id, amount, at)
		VALUES (?, ?, ?, ?, ?, ?)`, p.Provider, p.TransactionID, p.OrderID, p.Amount, engine.TimeText(p.At))
}

func (s *sqliteStore) FlagPayment(ctx context.Context, tenantID, provider, transactionID, reason string) (bool, error) {
	return s.execOne(ctx, tenantID, `UPDATE payments SET refund = ?, reason = ?
		WHERE tenant_id = ? AND provider = ? AND transaction_id = ? AND refund = ''`, PaymentToRefund, reason, provider, transactionID)
}

func (s *sqliteStore) RefundedPayment(ctx context.Context, tenantID, orderID, provider, transactionID string, at time.Time) (bool, error) {
	return s.execOne(ctx, tenantID, `UPDATE payments SET refund = ?, refunded_at = ?
		WHERE tenant_id = ? AND provider = ? AND transaction_id = ? AND order_id = ? AND refund = ?`,
		PaymentRefunded, engine.TimeText(at), provider, transactionID, orderID, PaymentToRefund)
}

// execOne runs a single-row write and says whether it changed the row.
func (s *sqliteStore) execOne(ctx context.Context, tenantID, query string, args ...any) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) Payments(ctx context.Context, tenantID, refund, orderID string, limit int) ([]Payment, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	const cols = `SELECT provider, transaction_id, order_id, amount, at, refund, reason, refunded_at FROM payments `
	scan := func(scan func(...any) error) (Payment, error) {
		var p Payment
		var at, refunded string
		err := scan(&p.Provider, &p.TransactionID, &p.OrderID, &p.Amount, &at, &p.Refund, &p.Reason, &refunded)
		p.At, p.RefundedAt = engine.ParseTimeText(at), optTime(refunded)
		return p, err
	}
	if orderID != "" {
		return engine.QueryAll(ctx, db, scan, cols+`WHERE tenant_id = ? AND order_id = ? ORDER BY at`, orderID)
	}
	// refund != '' names the partial index's condition.
	return engine.QueryAll(ctx, db, scan, cols+`WHERE tenant_id = ? AND refund != '' AND refund = ? ORDER BY at DESC LIMIT ?`, refund, limit)
}

func (s *sqliteStore) ClaimKey(ctx context.Context, tenantID string, k IdemKey, staleBefore time.Time) (IdemKey, bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return IdemKey{}, false, err
	}
	res, err := db.Exec(ctx, `INSERT INTO idempotency_keys (tenant_id, scope, key, hash, order_id, status, body, at)
		VALUES (?, ?, ?, ?, ?, 0, NULL, ?)
		ON CONFLICT (tenant_id, scope, key) DO UPDATE SET hash = excluded.hash, order_id = excluded.order_id,
			status = 0, body = NULL, at = excluded.at
		WHERE idempotency_keys.at < ?`,
		k.Scope, k.Key, k.Hash, k.OrderID, engine.TimeText(k.At), engine.TimeText(staleBefore))
	if err != nil {
		return IdemKey{}, false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return k, true, nil
	}
	var got IdemKey
	var at string
	err = db.QueryRow(ctx, `SELECT scope, key, hash, order_id, status, body, at FROM idempotency_keys
		WHERE tenant_id = ? AND scope = ? AND key = ?`, k.Scope, k.Key).
		Scan(&got.Scope, &got.Key, &got.Hash, &got.OrderID, &got.Status, &got.Body, &at)
	got.At = engine.ParseTimeText(at)
	return got, false, err
}

func (s *sqliteStore) FinishKey(ctx context.Context, tenantID string, k IdemKey) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE idempotency_keys SET status = ?, body = ? WHERE tenant_id = ? AND scope = ? AND key = ? AND hash = ?`,
		k.Status, k.Body, k.Scope, k.Key, k.Hash)
	return err
}

func (s *sqliteStore) ReleaseKey(ctx context.Context, tenantID string, k IdemKey) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = ? AND scope = ? AND key = ? AND hash = ? AND status = 0`,
		k.Scope, k.Key, k.Hash)
	return err
}

func (s *sqliteStore) DeleteKeysBefore(ctx context.Context, tenantID string, t time.Time, limit int) (int, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return 0, err
	}
	res, err := db.Exec(ctx, `DELETE FROM idempotency_keys WHERE rowid IN (
		SELECT rowid FROM idempotency_keys WHERE tenant_id = ? AND at < ? ORDER BY at LIMIT ?)`, engine.TimeText(t), limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *sqliteStore) Cart(ctx context.Context, tenantID, fanID string) ([]CartItem, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT product_id, sku_id, qty, price_seen, added_at FROM cart_items
		WHERE tenant_id = ? AND fan_id = ? ORDER BY added_at, product_id, sku_id`, fanID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []CartItem{}
	for rows.Next() {
		var it CartItem
		var at string
		if err := rows.Scan(&it.ProductID, &it.SKUID, &it.Qty, &it.PriceSeen, &at); err != nil {
			return nil, err
		}
		it.AddedAt = engine.ParseTimeText(at)
		items = append(items, it)
	}
	return items, rows.Err()
}

func (s *sqliteStore) SetCartItem(ctx context.Context, tenantID, fanID string, it CartItem) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	if it.Qty <= 0 {
		_, err = db.Exec(ctx, `DELETE FROM cart_items WHERE tenant_id = ? AND fan_id = ? AND product_id = ? AND sku_id = ?`,
			fanID, it.ProductID, it.SKUID)
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO cart_items (tenant_id, fan_id, product_id, sku_id, qty, price_seen, added_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, fan_id, product_id, sku_id) DO UPDATE SET qty = excluded.qty, price_seen = excluded.price_seen`,
		fanID, it.ProductID, it.SKUID, it.Qty, it.PriceSeen, engine.TimeText(it.AddedAt))
	return err
}

func (s *sqliteStore) ClearCart(ctx context.Context, tenantID, fanID string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `DELETE FROM cart_items WHERE tenant_id = ? AND fan_id = ?`, fanID)
	return err
}

func (s *sqliteStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Settings{}, err
	}
	var doc string
	err = db.QueryRow(ctx, `SELECT doc FROM order_settings WHERE tenant_id = ?`).Scan(&doc)
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
	_, err = db.Exec(ctx, `INSERT INTO order_settings (tenant_id, doc) VALUES (?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET doc = excluded.doc`, jsonText(st))
	return err
}
