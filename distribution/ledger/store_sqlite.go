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
	fee, payout, note, transfer_ref, decided_at, paid_at, open, at, test`

func scanEntry(scan func(...any) error) (Entry, error) {
	var e Entry
	var availableAt, decidedAt, paidAt, at string
	err := scan(&e.ID, &e.Beneficiary, &e.Seq, &e.Type, &e.Class, &e.Status, &e.OrderID, &e.FanID, &e.Level, &e.Ref,
		&e.Amount, &e.Base, &e.RateBps, &availableAt, &e.DPending, &e.DAvailable, &e.DFrozen, &e.DWithdrawn,
		&e.Pending, &e.Available, &e.Frozen, &e.Withdrawn, &e.Earned, &e.Fee, &e.Payout, &e.Note, &e.TransferRef,
		&decidedAt, &paidAt, &e.Open, &at, &e.Test)
	e.AvailableAt, e.DecidedAt, e.PaidAt, e.At = engine.ParseOptTimeText(availableAt), engine.ParseOptTimeText(decidedAt), engine.ParseOptTimeText(paidAt), engine.ParseTimeText(at)
	return e, err
}

// query reads the entries that rest (after FROM ledger) selects.
func (s *sqliteStore) query(ctx context.Context, tenantID, rest string, args ...any) ([]Entry, error) {
	es, err := engine.SQLAll(ctx, s.e, tenantID, scanEntry, `SELECT `+entryColumns+` FROM ledger `+rest, args...)
	return es, fault.Wrap(err, "list ledger entries")
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, id string) (Entry, error) {
	e, err := scanEntry(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+entryColumns+` FROM ledger WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fault.NotFound("ledger entry")
	}
	return e, fault.Wrap(err, "load ledger entry %s", id)
}

// tail reads the beneficiary's latest entry through row.
func tail(row *engine.Row, beneficiary string) (Entry, error) {
	e, err := scanEntry(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{Beneficiary: beneficiary}, nil
	}
	return e, fault.Wrap(err, "read the ledger tail of %s", beneficiary)
}

func (s *sqliteStore) Tail(ctx context.Context, tenantID, beneficiary string) (Entry, error) {
	return tail(s.e.SQLQueryRow(ctx, tenantID, tailQuery, beneficiary), beneficiary)
}

const insertEntry = `INSERT INTO ledger (tenant_id, ` + entryColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func entryArgs(e Entry) []any {
	return []any{e.ID, e.Beneficiary, e.Seq, e.Type, e.Class, e.Status, e.OrderID, e.FanID, e.Level, e.Ref, e.Amount, e.Base,
		e.RateBps, engine.OptTimeText(e.AvailableAt), e.DPending, e.DAvailable, e.DFrozen, e.DWithdrawn, e.Pending, e.Available, e.Frozen,
		e.Withdrawn, e.Earned, e.Fee, e.Payout, e.Note, e.TransferRef, engine.OptTimeText(e.DecidedAt), engine.OptTimeText(e.PaidAt), e.Open,
		engine.TimeText(e.At), e.Test}
}

func (s *sqliteStore) Insert(ctx context.Context, tenantID string, e Entry) error {
	_, err := s.e.SQLExec(ctx, tenantID, insertEntry, entryArgs(e)...)
	return fault.Wrap(err, "insert ledger entry %s", e.ID)
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
	var out []Entry
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		out = out[:0]
		for _, it := range items {
			t, err := tail(tx.QueryRow(ctx, tailQuery, it.Beneficiary), it.Beneficiary)
			if err != nil {
				return err
			}
			e, err := it.Next(t)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, insertEntry, entryArgs(e)...); err != nil {
				return fault.Wrap(err, "insert ledger entry %s", e.ID)
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
	return s.query(ctx, tenantID, `WHERE tenant_id = ? AND order_id = ? ORDER BY beneficiary, seq`, orderID)
}

func (s *sqliteStore) List(ctx context.Context, tenantID string, f Filter) ([]Entry, error) {
	if f.OrderID != "" {
		all, err := s.ByOrder(ctx, tenantID, f.OrderID)
		return filterByOrder(all, f), err
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
	return s.query(ctx, tenantID, `WHERE `+strings.Join(where, " AND ")+order+` LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
}

func (s *sqliteStore) History(ctx context.Context, tenantID, beneficiary string, limit int) ([]Entry, error) {
	return s.query(ctx, tenantID, `WHERE tenant_id = ? AND beneficiary = ? ORDER BY seq DESC LIMIT ?`, beneficiary, limit)
}

func (s *sqliteStore) Due(ctx context.Context, tenantID string, t time.Time, limit int) ([]Entry, error) {
	// The literals match the partial index ledger_due.
	return s.query(ctx, tenantID, `WHERE tenant_id = ? AND type = 'earn' AND status = 'pending' AND available_at > ''
		AND available_at <= ? ORDER BY available_at LIMIT ?`, engine.TimeText(t), limit)
}

func (s *sqliteStore) SetAvailableAt(ctx context.Context, tenantID, id string, at time.Time) error {
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE ledger SET available_at = ? WHERE tenant_id = ? AND id = ? AND available_at = ''`,
		engine.TimeText(at), id)
	return fault.Wrap(err, "schedule ledger entry %s", id)
}

func (s *sqliteStore) SetStatus(ctx context.Context, tenantID, id string, from []string, to string, ch Change) (bool, error) {
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
	ok, err := engine.Changed(s.e.SQLExec(ctx, tenantID, `UPDATE ledger SET `+strings.Join(set, ", ")+` WHERE tenant_id = ? AND id = ?
		AND status IN (`+engine.Placeholders(len(from))+`)`, args...))
	return ok, fault.Wrap(err, "set status of ledger entry %s", id)
}

func (s *sqliteStore) Close(ctx context.Context, tenantID, id string) error {
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE ledger SET open = 0 WHERE tenant_id = ? AND id = ?`, id)
	return fault.Wrap(err, "close withdrawal %s", id)
}

func (s *sqliteStore) Unclosed(ctx context.Context, tenantID string, limit int) ([]Entry, error) {
	return s.query(ctx, tenantID, `WHERE tenant_id = ? AND open = 1 LIMIT ?`, limit) // the partial index ledger_open
}
