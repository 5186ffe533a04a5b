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

type sqliteStore struct{ engineStore }

const orderColumns = `id, fan_id, status, lines, address, goods_total, shipping_fee, discount, payable, paid, refunded,
	refundable, refunds, events, provider, transaction_id, carrier, tracking_no, cancel_reason, attribution,
	created_at, expires_at, paid_at, shipped_at, completed_at, cancelled_at, test, refunding, refund_seq, next_query_at`

func scanOrder(scan func(...any) error) (Order, error) {
	var o Order
	var lines, addr, refunds, events, attribution, created, expires, paid, shipped, completed, cancelled, nextQuery string
	err := scan(&o.ID, &o.FanID, &o.Status, &lines, &addr, &o.GoodsTotal, &o.ShippingFee, &o.Discount, &o.Payable,
		&o.Paid, &o.Refunded, &o.Refundable, &refunds, &events, &o.Provider, &o.TransactionID, &o.Carrier,
		&o.TrackingNo, &o.CancelReason, &attribution, &created, &expires, &paid, &shipped, &completed, &cancelled, &o.Test, &o.Refunding, &o.RefundSeq, &nextQuery)
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
	o.PaidAt, o.ShippedAt = engine.ParseOptTime(paid), engine.ParseOptTime(shipped)
	o.CompletedAt, o.CancelledAt = engine.ParseOptTime(completed), engine.ParseOptTime(cancelled)
	o.NextQueryAt = engine.ParseOptTime(nextQuery)
	return o, nil
}

func (s *sqliteStore) Insert(ctx context.Context, tenantID string, o *Order) error {
	return s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error { return insertOrder(ctx, tx, o) })
}

// insertOrder writes the new order o in tx.
func insertOrder(ctx context.Context, tx *engine.SQLTx, o *Order) error {
	if o.Refunds == nil {
		o.Refunds = []Refund{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO orders (tenant_id, id, fan_id, status, lines, address, goods_total,
		shipping_fee, discount, payable, attribution, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.FanID, o.Status, engine.JSONText(o.Lines), engine.JSONText(o.Address), o.GoodsTotal, o.ShippingFee,
		o.Discount, o.Payable, engine.JSONText(o.Attribution), engine.TimeText(o.CreatedAt), engine.TimeText(o.ExpiresAt))
	return fault.Wrap(err, "insert order %s", o.ID)
}

func (s *sqliteStore) InsertTaking(ctx context.Context, tenantID string, o *Order, sl Slot, prev string) (bool, error) {
	took := false
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		ok, err := takeSlot(ctx, tx, sl, prev)
		if err != nil || !ok {
			return err
		}
		if err := insertOrder(ctx, tx, o); err != nil {
			return err
		}
		took = true
		return nil
	})
	return took, err
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, id string) (Order, error) {
	o, err := scanOrder(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+orderColumns+` FROM orders WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, fault.NotFound("order")
	}
	return o, fault.Wrap(err, "get order %s", id)
}

func (s *sqliteStore) query(ctx context.Context, tenantID, q string, args ...any) ([]Order, error) {
	return engine.SQLAll(ctx, s.e, tenantID, scanOrder, q, args...)
}

func (s *sqliteStore) List(ctx context.Context, tenantID string, f Filter) ([]Order, int64, error) {
	where := []string{"tenant_id = ?"}
	var args []any
	cond := func(c string, v any) { where, args = append(where, c), append(args, v) }
	if f.Status != "" {
		cond("status = ?", f.Status)
	} else {
		// The listed statuses by name, not "NOT IN (placing, rejected)":
		// the count then reads orders_status one status at a time instead
		// of every entry of the shop.
		where = append(where, "status IN ("+engine.Placeholders(len(listed))+")")
		for _, st := range listed {
			args = append(args, st)
		}
	}
	if f.FanID != "" {
		cond("fan_id = ?", f.FanID)
	}
	if !f.From.IsZero() {
		cond("created_at >= ?", engine.TimeText(f.From))
	}
	if !f.To.IsZero() {
		cond("created_at < ?", engine.TimeText(f.To))
	}
	filter := " WHERE " + strings.Join(where, " AND ")
	var total int64
	if err := s.e.SQLQueryRow(ctx, tenantID, `SELECT count(*) FROM orders`+filter, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count orders: %w", err)
	}
	list, err := s.query(ctx, tenantID, `SELECT `+orderColumns+` FROM orders`+filter+
		` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
	return list, total, fault.Wrap(err, "list orders")
}

// changeAssignments is the SET clause of an order's change to status,
// with its arguments: the change's fields, the status, and the event
// appended to the order's events (the outbox then has work).
func changeAssignments(ch Change, status string, ev *Event) ([]string, []any) {
	var assign []string
	var args []any
	for _, c := range append(ch.sets(), set{"status", status}) {
		if t, ok := c.value.(time.Time); ok {
			c.value = engine.TimeText(t)
		}
		assign, args = append(assign, c.field+" = ?"), append(args, c.value)
	}
	if ev != nil {
		assign = append(assign, "events = json_insert(events, '$[#]', json(?))", "outbox = 1")
		args = append(args, engine.JSONText(ev))
	}
	return assign, args
}

func (s *sqliteStore) Transition(ctx context.Context, tenantID, id string, from []string, to string, ch Change, ev *Event) (bool, error) {
	assign, args := changeAssignments(ch, to, ev)
	args = append(args, id)
	for _, f := range from {
		args = append(args, f)
	}
	ok, err := s.execOne(ctx, tenantID, `UPDATE orders SET `+strings.Join(assign, ", ")+
		` WHERE tenant_id = ? AND id = ? AND status IN (`+engine.Placeholders(len(from))+`)`, args...)
	return ok, fault.Wrap(err, "order %s to %s", id, to)
}

func (s *sqliteStore) Placed(ctx context.Context, tenantID, id string, k *IdemKey) (bool, bool, error) {
	assign, args := changeAssignments(Change{}, PendingPayment, nil)
	args = append(args, id, Placing)
	ok := false
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		res, err := tx.Exec(ctx, `UPDATE orders SET `+strings.Join(assign, ", ")+` WHERE tenant_id = ? AND id = ? AND status = ?`, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return err
		}
		ok = true
		if k == nil {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET status = ?, body = ?
			WHERE tenant_id = ? AND scope = ? AND key = ? AND hash = ?`, k.Status, k.Body, k.Scope, k.Key, k.Hash)
		return err
	})
	if err != nil {
		return false, false, fmt.Errorf("order %s to %s: %w", id, PendingPayment, err)
	}
	return ok, ok && k != nil, nil
}

func (s *sqliteStore) MarkPaid(ctx context.Context, tenantID, id string, amount int64, ch Change, ev *Event, p Payment) (Order, bool, error) {
	assign, args := changeAssignments(ch, Paid, ev)
	args = append(args, id, PendingPayment, amount)
	// The order as written comes back with the write (RETURNING): its
	// events are delivered without reading it again.
	var o Order
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		var err error
		o, err = scanOrder(tx.QueryRow(ctx, `UPDATE orders SET `+strings.Join(assign, ", ")+
			` WHERE tenant_id = ? AND id = ? AND status = ? AND payable = ? RETURNING `+orderColumns, args...).Scan)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT OR IGNORE INTO payments (tenant_id, provider, transaction_id, order_id, amount, at)
			VALUES (?, ?, ?, ?, ?, ?)`, p.Provider, p.TransactionID, p.OrderID, p.Amount, engine.TimeText(p.At))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, false, nil
	}
	if err != nil {
		return Order{}, false, fmt.Errorf("order %s to paid: %w", id, err)
	}
	return o, true, nil
}

func (s *sqliteStore) AddRefund(ctx context.Context, tenantID, id string, from []string, r Refund) (bool, error) {
	args := []any{r.Amount, engine.JSONText(r), id, r.Amount}
	for _, f := range from {
		args = append(args, f)
	}
	// One conditional update: refundable >= amount is the guard that makes
	// concurrent refunds (processing ones reserve theirs) never add up to
	// more than was paid.
	ok, err := s.execOne(ctx, tenantID, `UPDATE orders SET refundable = refundable - ?, refunding = refunding + 1,
		refund_seq = refund_seq + 1, refunds = json_insert(refunds, '$[#]', json(?))
		WHERE tenant_id = ? AND id = ? AND refundable >= ? AND status IN (`+engine.Placeholders(len(from))+`)`, args...)
	return ok, fault.Wrap(err, "refund order %s", id)
}

func (s *sqliteStore) SettleRefund(ctx context.Context, tenantID, id string, seq int64, refunds []Refund, st RefundSettle) (bool, error) {
	assign := []string{"refunds = ?", "refunded = refunded + ?", "refundable = refundable + ?",
		"refunding = refunding - 1", "refund_seq = refund_seq + 1"}
	args := []any{engine.JSONText(refunds), st.Refunded, st.Refundable}
	if st.Close {
		assign = append(assign, "status = 'refunded'")
	}
	if st.Event != nil {
		assign = append(assign, "events = json_insert(events, '$[#]', json(?))", "outbox = 1")
		args = append(args, engine.JSONText(st.Event))
	}
	ok, err := s.execOne(ctx, tenantID, `UPDATE orders SET `+strings.Join(assign, ", ")+`
		WHERE tenant_id = ? AND id = ? AND refund_seq = ?`, append(args, id, seq)...)
	return ok, fault.Wrap(err, "settle refund of order %s", id)
}

func (s *sqliteStore) Refunding(ctx context.Context, tenantID string, limit int) ([]Order, error) {
	list, err := s.query(ctx, tenantID, `SELECT `+orderColumns+` FROM orders WHERE tenant_id = ? AND refunding > 0 LIMIT ?`, limit)
	return list, fault.Wrap(err, "orders with refunds processing")
}

func (s *sqliteStore) FullyRefunded(ctx context.Context, tenantID string, limit int) ([]Order, error) {
	// The literal conditions of the partial index orders_fully_refunded_settled.
	list, err := s.query(ctx, tenantID, `SELECT `+orderColumns+` FROM orders WHERE tenant_id = ?
		AND refundable = 0 AND refunded > 0 AND refunding = 0 AND status IN ('paid', 'shipped', 'completed') LIMIT ?`, limit)
	return list, fault.Wrap(err, "fully refunded orders")
}

func (s *sqliteStore) Due(ctx context.Context, tenantID, status, field string, t time.Time, limit int) ([]Order, error) {
	if err := checkDue(status, field); err != nil {
		return nil, err
	}
	// The status is written into the statement, not bound: SQLite uses a
	// partial index (orders_due_*) only for a query that names its literal
	// condition. It is one of the fixed statuses, checked above.
	list, err := s.query(ctx, tenantID, `SELECT `+orderColumns+` FROM orders WHERE tenant_id = ? AND status = '`+status+`' AND `+field+` < ?
		ORDER BY `+field+` LIMIT ?`, engine.TimeText(t), limit)
	return list, fault.Wrap(err, "orders due by %s", field)
}

// checkDue refuses a Due query on anything but the known statuses and time
// fields (both are written into the statement).
func checkDue(status, field string) error {
	if field != "expires_at" && field != "shipped_at" && field != "created_at" {
		return fmt.Errorf("due: unknown field %q", field)
	}
	if !slices.Contains(statuses, status) {
		return fmt.Errorf("due: unknown status %q", status)
	}
	return nil
}

func (s *sqliteStore) WithEvents(ctx context.Context, tenantID string, limit int) ([]Order, error) {
	list, err := s.query(ctx, tenantID, `SELECT `+orderColumns+` FROM orders WHERE tenant_id = ? AND outbox = 1 LIMIT ?`, limit)
	return list, fault.Wrap(err, "orders with events")
}

func (s *sqliteStore) SetNextQuery(ctx context.Context, tenantID, id string, at *time.Time) error {
	next := ""
	if at != nil {
		next = engine.TimeText(*at)
	}
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE orders SET next_query_at = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
		next, id, PendingPayment)
	return fault.Wrap(err, "schedule the payment query of order %s", id)
}

func (s *sqliteStore) DueQueries(ctx context.Context, tenantID string, t time.Time, limit int) ([]Order, error) {
	// The partial index's conditions, by name.
	list, err := s.query(ctx, tenantID, `SELECT `+orderColumns+` FROM orders WHERE tenant_id = ? AND status = 'pending_payment'
		AND next_query_at != '' AND next_query_at <= ? ORDER BY next_query_at LIMIT ?`, engine.TimeText(t), limit)
	return list, fault.Wrap(err, "orders whose payment query is due")
}

func (s *sqliteStore) AckEvents(ctx context.Context, tenantID, id string, events []Event) error {
	ids := make([]any, 0, len(events))
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	// Remove exactly the delivered events (ones appended meanwhile stay)
	// and clear the outbox flag when none is left, in one statement.
	remaining := `(SELECT COALESCE(json_group_array(json(value)), '[]') FROM json_each(orders.events)
			WHERE json_extract(value, '$.id') NOT IN (` + engine.Placeholders(len(events)) + `))`
	args := append(append(append([]any{}, ids...), ids...), id)
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE orders SET events = `+remaining+`,
		outbox = CASE WHEN `+remaining+` = '[]' THEN 0 ELSE 1 END
		WHERE tenant_id = ? AND id = ?`, args...)
	return fault.Wrap(err, "ack events of order %s", id)
}

func (s *sqliteStore) InsertPayment(ctx context.Context, tenantID string, p Payment) (bool, error) {
	ok, err := s.execOne(ctx, tenantID, `INSERT OR IGNORE INTO payments (tenant_id, provider, transaction_id, order_id, amount, at)
		VALUES (?, ?, ?, ?, ?, ?)`, p.Provider, p.TransactionID, p.OrderID, p.Amount, engine.TimeText(p.At))
	return ok, fault.Wrap(err, "record payment %s", p.TransactionID)
}

func (s *sqliteStore) FlagPayment(ctx context.Context, tenantID, provider, transactionID, reason string) (bool, error) {
	ok, err := s.execOne(ctx, tenantID, `UPDATE payments SET refund = ?, reason = ?
		WHERE tenant_id = ? AND provider = ? AND transaction_id = ? AND refund = ''`, PaymentToRefund, reason, provider, transactionID)
	return ok, fault.Wrap(err, "flag payment %s", transactionID)
}

func (s *sqliteStore) RefundedPayment(ctx context.Context, tenantID, orderID, provider, transactionID string, at time.Time) (bool, error) {
	ok, err := s.execOne(ctx, tenantID, `UPDATE payments SET refund = ?, refunded_at = ?
		WHERE tenant_id = ? AND provider = ? AND transaction_id = ? AND order_id = ? AND refund = ?`,
		PaymentRefunded, engine.TimeText(at), provider, transactionID, orderID, PaymentToRefund)
	return ok, fault.Wrap(err, "mark payment %s refunded", transactionID)
}

// execOne runs a single-row write and says whether it changed the row.
func (s *sqliteStore) execOne(ctx context.Context, tenantID, query string, args ...any) (bool, error) {
	res, err := s.e.SQLExec(ctx, tenantID, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) Payments(ctx context.Context, tenantID, refund, orderID string, limit int) ([]Payment, error) {
	const cols = `SELECT provider, transaction_id, order_id, amount, at, refund, reason, refunded_at FROM payments `
	scan := func(scan func(...any) error) (Payment, error) {
		var p Payment
		var at, refunded string
		err := scan(&p.Provider, &p.TransactionID, &p.OrderID, &p.Amount, &at, &p.Refund, &p.Reason, &refunded)
		p.At, p.RefundedAt = engine.ParseTimeText(at), engine.ParseOptTime(refunded)
		return p, err
	}
	var list []Payment
	var err error
	if orderID != "" {
		list, err = engine.SQLAll(ctx, s.e, tenantID, scan, cols+`WHERE tenant_id = ? AND order_id = ? ORDER BY at`, orderID)
	} else {
		// refund != '' names the partial index's condition.
		list, err = engine.SQLAll(ctx, s.e, tenantID, scan, cols+`WHERE tenant_id = ? AND refund != '' AND refund = ? ORDER BY at DESC LIMIT ?`, refund, limit)
	}
	return list, fault.Wrap(err, "list payments")
}

func (s *sqliteStore) ClaimKey(ctx context.Context, tenantID string, k IdemKey, staleBefore time.Time) (IdemKey, bool, error) {
	claimed, err := s.execOne(ctx, tenantID, `INSERT INTO idempotency_keys (tenant_id, scope, key, hash, order_id, status, body, at)
		VALUES (?, ?, ?, ?, ?, 0, NULL, ?)
		ON CONFLICT (tenant_id, scope, key) DO UPDATE SET hash = excluded.hash, order_id = excluded.order_id,
			status = 0, body = NULL, at = excluded.at
		WHERE idempotency_keys.at < ?`,
		k.Scope, k.Key, k.Hash, k.OrderID, engine.TimeText(k.At), engine.TimeText(staleBefore))
	if err != nil || claimed {
		return k, claimed, fault.Wrap(err, "claim idempotency key")
	}
	var got IdemKey
	var at string
	err = s.e.SQLQueryRow(ctx, tenantID, `SELECT scope, key, hash, order_id, status, body, at FROM idempotency_keys
		WHERE tenant_id = ? AND scope = ? AND key = ?`, k.Scope, k.Key).
		Scan(&got.Scope, &got.Key, &got.Hash, &got.OrderID, &got.Status, &got.Body, &at)
	got.At = engine.ParseTimeText(at)
	return got, false, fault.Wrap(err, "read idempotency key")
}

func (s *sqliteStore) FinishKey(ctx context.Context, tenantID string, k IdemKey) error {
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE idempotency_keys SET status = ?, body = ?
		WHERE tenant_id = ? AND scope = ? AND key = ? AND hash = ?`, k.Status, k.Body, k.Scope, k.Key, k.Hash)
	return fault.Wrap(err, "finish idempotency key")
}

func (s *sqliteStore) ReleaseKey(ctx context.Context, tenantID string, k IdemKey) error {
	_, err := s.e.SQLExec(ctx, tenantID, `DELETE FROM idempotency_keys
		WHERE tenant_id = ? AND scope = ? AND key = ? AND hash = ? AND status = 0`, k.Scope, k.Key, k.Hash)
	return fault.Wrap(err, "release idempotency key")
}

func (s *sqliteStore) DeleteKeysBefore(ctx context.Context, tenantID string, t time.Time, limit int) (int, error) {
	res, err := s.e.SQLExec(ctx, tenantID, `DELETE FROM idempotency_keys WHERE rowid IN (
		SELECT rowid FROM idempotency_keys WHERE tenant_id = ? AND at < ? ORDER BY at LIMIT ?)`, engine.TimeText(t), limit)
	if err != nil {
		return 0, fmt.Errorf("delete idempotency keys: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *sqliteStore) Slots(ctx context.Context, tenantID, fanID string) ([]Slot, error) {
	list, err := engine.SQLAll(ctx, s.e, tenantID, func(scan func(...any) error) (Slot, error) {
		sl := Slot{FanID: fanID}
		var at string
		err := scan(&sl.N, &sl.OrderID, &at)
		sl.At = engine.ParseTimeText(at)
		return sl, err
	}, `SELECT n, order_id, at FROM unpaid_slots WHERE tenant_id = ? AND fan_id = ? ORDER BY n`, fanID)
	return list, fault.Wrap(err, "read unpaid slots of fan %s", fanID)
}

func (s *sqliteStore) TakeSlot(ctx context.Context, tenantID string, sl Slot, prev string) (bool, error) {
	var ok bool
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		var err error
		ok, err = takeSlot(ctx, tx, sl, prev)
		return err
	})
	return ok, err
}

// takeSlot is TakeSlot in tx.
func takeSlot(ctx context.Context, tx *engine.SQLTx, sl Slot, prev string) (bool, error) {
	var res sql.Result
	var err error
	if prev == "" {
		res, err = tx.Exec(ctx, `INSERT OR IGNORE INTO unpaid_slots (tenant_id, fan_id, n, order_id, at)
			VALUES (?, ?, ?, ?, ?)`, sl.FanID, sl.N, sl.OrderID, engine.TimeText(sl.At))
	} else {
		res, err = tx.Exec(ctx, `UPDATE unpaid_slots SET order_id = ?, at = ?
			WHERE tenant_id = ? AND fan_id = ? AND n = ? AND order_id = ?`, sl.OrderID, engine.TimeText(sl.At), sl.FanID, sl.N, prev)
	}
	ok := false
	if err == nil {
		var n int64
		n, err = res.RowsAffected()
		ok = n == 1
	}
	return ok, fault.Wrap(err, "take unpaid slot %d of fan %s", sl.N, sl.FanID)
}

func (s *sqliteStore) Cart(ctx context.Context, tenantID, fanID string) ([]CartItem, error) {
	items, err := engine.SQLAll(ctx, s.e, tenantID, func(scan func(...any) error) (CartItem, error) {
		var it CartItem
		var at string
		err := scan(&it.ProductID, &it.SKUID, &it.Qty, &it.PriceSeen, &at)
		it.AddedAt = engine.ParseTimeText(at)
		return it, err
	}, `SELECT product_id, sku_id, qty, price_seen, added_at FROM cart_items
		WHERE tenant_id = ? AND fan_id = ? ORDER BY added_at, product_id, sku_id`, fanID)
	return items, fault.Wrap(err, "read cart")
}

func (s *sqliteStore) SetCartItem(ctx context.Context, tenantID, fanID string, it CartItem) error {
	var err error
	if it.Qty <= 0 {
		_, err = s.e.SQLExec(ctx, tenantID, `DELETE FROM cart_items WHERE tenant_id = ? AND fan_id = ? AND product_id = ? AND sku_id = ?`,
			fanID, it.ProductID, it.SKUID)
	} else {
		_, err = s.e.SQLExec(ctx, tenantID, `INSERT INTO cart_items (tenant_id, fan_id, product_id, sku_id, qty, price_seen, added_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, fan_id, product_id, sku_id) DO UPDATE SET qty = excluded.qty, price_seen = excluded.price_seen`,
			fanID, it.ProductID, it.SKUID, it.Qty, it.PriceSeen, engine.TimeText(it.AddedAt))
	}
	return fault.Wrap(err, "set cart item")
}

func (s *sqliteStore) ClearCart(ctx context.Context, tenantID, fanID string) error {
	_, err := s.e.SQLExec(ctx, tenantID, `DELETE FROM cart_items WHERE tenant_id = ? AND fan_id = ?`, fanID)
	return fault.Wrap(err, "clear cart")
}
