package ledger

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

const entryColumns = `id, beneficiary, seq, type, class, status, order_id, fan_id, level, ref, amount, base, rate_bps,
	available_at, d_pending, d_available, d_frozen, d_withdrawn, pending, available, frozen, withdrawn, earned,
	fee, payout, note, transfer_ref, decided_at, paid_at, open, at`

func scanEntry(scan func(...any) error) (Entry, error) {
	var e Entry
	var availableAt, decidedAt, paidAt, at string
	err := scan(&e.ID, &e.Beneficiary, &e.Seq, &e.Type, &e.Class, &e.Status, &e.OrderID, &e.FanID, &e.Level, &e.Ref,
		&e.Amount, &e.Base, &e.RateBps, &availableAt, &e.DPending, &e.DAvailable, &e.DFrozen, &e.DWithdrawn,
		&e.Pending, &e.Available, &e.Frozen, &e.Withdrawn, &e.Earned, &e.Fee, &e.Payout, &e.Note, &e.TransferRef,
		&decidedAt, &paidAt, &e.Open, &at)
	e.AvailableAt, e.DecidedAt, e.PaidAt, e.At = engine.ParseOptTimeText(availableAt), engine.ParseOptTimeText(decidedAt), engine.ParseOptTimeText(paidAt), engine.ParseTimeText(at)
	return e, err
}

func (s *sqliteStore) query(ctx context.Context, db *engine.SQLScope, q string, args ...any) ([]Entry, error) {
	rows, err := db.Query(ctx, `SELECT `+entryColumns+` FROM ledger `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, id string) (Entry, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Entry{}, err
	}
	e, err := scanEntry(db.QueryRow(ctx, `SELECT `+entryColumns+` FROM ledger WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fault.NotFound("ledger entry")
	}
	return e, err
}

func (s *sqliteStore) Tail(ctx context.Context, tenantID, beneficiary string) (Entry, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Entry{}, err
	}
	e, err := scanEntry(db.QueryRow(ctx, tailQuery, beneficiary).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{Beneficiary: beneficiary}, nil
	}
	return e, err
}

const insertEntry = `INSERT INTO ledger (tenant_id, ` + entryColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func entryArgs(e Entry) []any {
	return []any{e.ID, e.Beneficiary, e.Seq, e.Type, e.Class, e.Status, e.OrderID, e.FanID, e.Level, e.Ref, e.Amount, e.Base,
		e.RateBps, engine.OptTimeText(e.AvailableAt), e.DPending, e.DAvailable, e.DFrozen, e.DWithdrawn, e.Pending, e.Available, e.Frozen,
		e.Withdrawn, e.Earned, e.Fee, e.Payout, e.Note, e.TransferRef, engine.OptTimeText(e.DecidedAt), engine.OptTimeText(e.PaidAt), e.Open,
		engine.TimeText(e.At)}
}

func (s *sqliteStore) Insert(ctx context.Context, tenantID string, e Entry) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, insertEntry, entryArgs(e)...)
	return err
}

const tailQuery = `SELECT ` + entryColumns + ` FROM ledger WHERE tenant_id = ? AND beneficiary = ? ORDER BY seq DESC LIMIT 1`

// Append reads the tail and inserts the next entry in one IMMEDIATE
// transaction (the engine opens every transaction with the write lock), so
// no other writer can append to the chain in between (see ledger.go).
// next may read the database through other connections meanwhile: under
// WAL they do not wait for the lock, and see every committed entry.
func (s *sqliteStore) Append(ctx context.Context, tenantID, beneficiary string, next func(tail Entry) (Entry, error)) (Entry, error) {
	out, err := s.AppendAll(ctx, tenantID, []Appending{{Beneficiary: beneficiary, Next: next}})
	if err != nil {
		return Entry{}, err
	}
	return out[0], nil
}

func (s *sqliteStore) AppendAll(ctx context.Context, tenantID string, items []Appending) ([]Entry, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	var out []Entry
	err = db.Tx(ctx, func(tx *engine.SQLTx) error {
		out = out[:0]
		for _, it := range items {
			tail, err := scanEntry(tx.QueryRow(ctx, tailQuery, it.Beneficiary).Scan)
			if errors.Is(err, sql.ErrNoRows) {
				tail, err = Entry{Beneficiary: it.Beneficiary}, nil
			}
			if err != nil {
				return err
			}
			e, err := it.Next(tail)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, insertEntry, entryArgs(e)...); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *sqliteStore) ByOrder(ctx context.Context, tenantID, orderID string) ([]Entry, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return s.query(ctx, db, `WHERE tenant_id = ? AND order_id = ? ORDER BY beneficiary, seq`, orderID)
}

func (s *sqliteStore) List(ctx context.Context, tenantID string, f Filter) ([]Entry, error) {
	if f.OrderID != "" {
		all, err := s.ByOrder(ctx, tenantID, f.OrderID)
		return filterByOrder(all, f), err
	}
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	where, args := []string{"tenant_id = ?", "class = ?"}, []any{f.Class}
	order := ` ORDER BY at DESC, id DESC`
	if f.Beneficiary != "" {
		// One beneficiary's entries, newest first, through the unique
		// (beneficiary, seq) index: seq order is time order.
		where, args = []string{"tenant_id = ?", "beneficiary = ?", "class = ?"}, []any{f.Beneficiary, f.Class}
		order = ` ORDER BY seq DESC`
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	return s.query(ctx, db, `WHERE `+strings.Join(where, " AND ")+order+` LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
}

func (s *sqliteStore) History(ctx context.Context, tenantID, beneficiary string, limit int) ([]Entry, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return s.query(ctx, db, `WHERE tenant_id = ? AND beneficiary = ? ORDER BY seq DESC LIMIT ?`, beneficiary, limit)
}

func (s *sqliteStore) Due(ctx context.Context, tenantID string, t time.Time, limit int) ([]Entry, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	// The literals match the partial index ledger_due.
	return s.query(ctx, db, `WHERE tenant_id = ? AND type = 'earn' AND status = 'pending' AND available_at > ''
		AND available_at <= ? ORDER BY available_at LIMIT ?`, engine.TimeText(t), limit)
}

func (s *sqliteStore) SetAvailableAt(ctx context.Context, tenantID, id string, at time.Time) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE ledger SET available_at = ? WHERE tenant_id = ? AND id = ? AND available_at = ''`,
		engine.TimeText(at), id)
	return err
}

func (s *sqliteStore) SetStatus(ctx context.Context, tenantID, id string, from []string, to string, ch Change) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	set, args := []string{"status = ?"}, []any{to}
	if ch.DecidedAt != nil {
		set, args = append(set, "decided_at = ?"), append(args, engine.TimeText(*ch.DecidedAt))
	}
	if ch.PaidAt != nil {
		set, args = append(set, "paid_at = ?"), append(args, engine.TimeText(*ch.PaidAt))
	}
	if ch.TransferRef != nil {
		set, args = append(set, "transfer_ref = ?"), append(args, *ch.TransferRef)
	}
	args = append(args, id)
	for _, f := range from {
		args = append(args, f)
	}
	res, err := db.Exec(ctx, `UPDATE ledger SET `+strings.Join(set, ", ")+` WHERE tenant_id = ? AND id = ? AND status IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", len(from)), ", ")+`)`, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) Close(ctx context.Context, tenantID, id string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE ledger SET open = 0 WHERE tenant_id = ? AND id = ?`, id)
	return err
}

func (s *sqliteStore) Unclosed(ctx context.Context, tenantID string, limit int) ([]Entry, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return s.query(ctx, db, `WHERE tenant_id = ? AND open = 1 LIMIT ?`, limit) // the partial index ledger_open
}
