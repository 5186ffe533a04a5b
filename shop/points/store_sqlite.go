package points

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// sqliteStore keeps the points in the shop's SQLite file. This file holds
// the accounts, the ledger and the check-in records, written together in
// one transaction (applyTx); store_sqlite_jobs.go what the cron pass and
// the dashboard read.
type sqliteStore struct {
	e *engine.Engine
	rulesDoc
}

// sqlDB is what the readers and writers below need: the tenant's scope
// (one statement) or a transaction.
type sqlDB interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRow(ctx context.Context, query string, args ...any) *engine.Row
}

const accountColumns = `fan_id, balance, lots, seq, rev, earned, spent, expired, next_expiry, reminded, last_day, streak, days,
	reminder, reminded_day`

func scanAccount(scan func(...any) error) (Account, error) {
	var a Account
	var lots, next string
	err := scan(&a.FanID, &a.Balance, &lots, &a.Seq, &a.Rev, &a.Earned, &a.Spent, &a.Expired, &next, &a.Reminded,
		&a.LastDay, &a.Streak, &a.Days, &a.Reminder, &a.RemindedDay)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(lots), &a.Lots); err != nil {
		return a, fmt.Errorf("lots of fan %s: %w", a.FanID, err)
	}
	a.NextExpiry = engine.ParseOptTimeText(next)
	return a, nil
}

// readAccount reads the fan's account; a fan who never had points has an
// empty one (exists false).
func readAccount(ctx context.Context, q sqlDB, fanID string) (a Account, exists bool, err error) {
	a, err = scanAccount(q.QueryRow(ctx, `SELECT `+accountColumns+` FROM points_accounts WHERE tenant_id = ? AND fan_id = ?`, fanID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{FanID: fanID, Lots: []Lot{}}, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("read points account %s: %w", fanID, err)
	}
	return a, true, nil
}

// readAll runs a query on the tenant's database and scans every row; what
// names the rows in the error.
func readAll[T any](ctx context.Context, e *engine.Engine, tenantID, what string, scan func(func(...any) error) (T, error),
	query string, args ...any) ([]T, error) {
	list, err := engine.SQLAll(ctx, e, tenantID, scan, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return list, nil
}

// addOutstanding moves the fan's shard of the outstanding-points counter.
func addOutstanding(ctx context.Context, db sqlDB, fanID string, delta int64) error {
	if delta == 0 {
		return nil
	}
	if _, err := db.Exec(ctx, `INSERT INTO points_totals (tenant_id, shard, outstanding) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id, shard) DO UPDATE SET outstanding = outstanding + excluded.outstanding`,
		shardOf(fanID), delta); err != nil {
		return fmt.Errorf("count outstanding points: %w", err)
	}
	return nil
}

func (s *sqliteStore) Apply(ctx context.Context, tenantID, fanID string, b Batch) (Result, error) {
	var res Result
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		var err error
		res, err = applyTx(ctx, tx, fanID, b)
		return err
	})
	return res, err
}

// applyTx is Apply inside a transaction.
func applyTx(ctx context.Context, tx *engine.SQLTx, fanID string, b Batch) (Result, error) {
	if k := b.Key(); k != "" {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM points_ledger WHERE tenant_id = ? AND fan_id = ? AND key = ?`, fanID, k).Scan(&one)
		if err == nil {
			a, _, err := readAccount(ctx, tx, fanID)
			return Result{Account: a}, err // applied before: a replay
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Result{}, fmt.Errorf("look up points entry %s of fan %s: %w", k, fanID, err)
		}
	}
	cur, _, err := readAccount(ctx, tx, fanID)
	if err != nil {
		return Result{}, err
	}
	res, err := cur.apply(b)
	if err != nil || !res.Applied {
		return res, err
	}
	next := res.Account
	if _, err := tx.Exec(ctx, `INSERT INTO points_accounts (tenant_id, fan_id, balance, lots, seq, rev, earned, spent, expired,
		next_expiry, reminded, last_day, streak, days) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, fan_id) DO UPDATE SET balance = excluded.balance, lots = excluded.lots, seq = excluded.seq,
		rev = excluded.rev, earned = excluded.earned, spent = excluded.spent, expired = excluded.expired,
		next_expiry = excluded.next_expiry, reminded = excluded.reminded, last_day = excluded.last_day,
		streak = excluded.streak, days = excluded.days`,
		fanID, next.Balance, engine.JSONText(next.Lots), next.Seq, next.Rev, next.Earned, next.Spent, next.Expired,
		engine.OptTimeText(next.NextExpiry), next.Reminded, next.LastDay, next.Streak, next.Days); err != nil {
		return Result{}, fmt.Errorf("write points account %s: %w", fanID, err)
	}
	for _, e := range res.Entries {
		if _, err := tx.Exec(ctx, `INSERT INTO points_ledger (tenant_id, fan_id, seq, key, kind, points, balance, moves,
			order_id, reason, by_who, note, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			fanID, e.Seq, e.Key, e.Kind, e.Points, e.Balance, engine.JSONText(e.Moves), e.OrderID, e.Reason, e.By, e.Note,
			engine.TimeText(e.At)); err != nil {
			return Result{}, fmt.Errorf("write points entry %s of fan %s: %w", e.Key, fanID, err)
		}
	}
	if b.Day != "" {
		if _, err := tx.Exec(ctx, `INSERT INTO points_days (tenant_id, day, checkins, points) VALUES (?, ?, 1, ?)
			ON CONFLICT (tenant_id, day) DO UPDATE SET checkins = checkins + 1, points = points + excluded.points`,
			b.Day, res.Net()); err != nil {
			return Result{}, fmt.Errorf("count check-ins of %s: %w", b.Day, err)
		}
	}
	if err := addOutstanding(ctx, tx, fanID, res.Net()); err != nil {
		return Result{}, err
	}
	return res, nil
}

func (s *sqliteStore) Account(ctx context.Context, tenantID, fanID string) (Account, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Account{}, err
	}
	a, _, err := readAccount(ctx, db, fanID)
	return a, err
}

const entryColumns = `fan_id, seq, key, kind, points, balance, moves, order_id, reason, by_who, note, at`

func scanEntry(scan func(...any) error) (Entry, error) {
	var e Entry
	var moves, at string
	if err := scan(&e.FanID, &e.Seq, &e.Key, &e.Kind, &e.Points, &e.Balance, &moves, &e.OrderID, &e.Reason, &e.By, &e.Note, &at); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(moves), &e.Moves); err != nil {
		return e, fmt.Errorf("moves of entry %s: %w", e.Key, err)
	}
	e.At = engine.ParseTimeText(at)
	return e, nil
}

func (s *sqliteStore) Entry(ctx context.Context, tenantID, fanID, key string) (Entry, error) {
	e, err := scanEntry(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+entryColumns+` FROM points_ledger
		WHERE tenant_id = ? AND fan_id = ? AND key = ?`, fanID, key).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fault.NotFound("points entry")
	}
	if err != nil {
		return Entry{}, fmt.Errorf("read points entry %s of fan %s: %w", key, fanID, err)
	}
	return e, nil
}

// entries reads ledger entries of the fan matching the rest of the query.
func (s *sqliteStore) entries(ctx context.Context, tenantID, fanID, rest string, args ...any) ([]Entry, error) {
	return readAll(ctx, s.e, tenantID, "the points ledger of fan "+fanID, scanEntry, `SELECT `+entryColumns+` FROM points_ledger
		WHERE tenant_id = ? AND fan_id = ? AND `+rest, append([]any{fanID}, args...)...)
}

func (s *sqliteStore) Ledger(ctx context.Context, tenantID, fanID string, before int64, limit int) ([]Entry, error) {
	if before <= 0 {
		before = 1 << 62
	}
	return s.entries(ctx, tenantID, fanID, `seq < ? ORDER BY seq DESC LIMIT ?`, before, limit)
}

func (s *sqliteStore) Entries(ctx context.Context, tenantID, fanID string, fn func(Entry) error) error {
	return eachEntry(fn, func(after int64) ([]Entry, error) {
		return s.entries(ctx, tenantID, fanID, `seq > ? ORDER BY seq LIMIT ?`, after, entryPage)
	})
}

func (s *sqliteStore) ReplaceAccount(ctx context.Context, tenantID string, a Account) (bool, error) {
	ok := false
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		cur, exists, err := readAccount(ctx, tx, a.FanID)
		if err != nil || cur.Rev != a.Rev {
			return err
		}
		if !exists {
			if _, err := tx.Exec(ctx, `INSERT INTO points_accounts (tenant_id, fan_id) VALUES (?, ?)`, a.FanID); err != nil {
				return fmt.Errorf("create points account %s: %w", a.FanID, err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE points_accounts SET balance = ?, lots = ?, seq = ?, rev = rev + 1, earned = ?, spent = ?,
			expired = ?, next_expiry = ?, reminded = ? WHERE tenant_id = ? AND fan_id = ?`,
			a.Balance, engine.JSONText(a.Lots), a.Seq, a.Earned, a.Spent, a.Expired, engine.OptTimeText(a.NextExpiry), a.Reminded,
			a.FanID); err != nil {
			return fmt.Errorf("write points account %s: %w", a.FanID, err)
		}
		if err := addOutstanding(ctx, tx, a.FanID, a.Balance-cur.Balance); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return ok, err
}

// Flush has nothing to do: SQLite writes entries and account together.
func (s *sqliteStore) Flush(context.Context, string, string) error { return nil }

// Dirty is always empty on SQLite.
func (s *sqliteStore) Dirty(context.Context, string, int) ([]string, error) { return nil, nil }

// Check-in records: the primary key (fan, day) keeps one per fan and day.

const checkinColumns = `fan_id, day, at, streak, days, cycle, cycle_streak, cycle_days, base, bonus, cumulative, applied`

func scanCheckin(scan func(...any) error) (Checkin, error) {
	var c Checkin
	var at string
	err := scan(&c.FanID, &c.Day, &at, &c.Streak, &c.Days, &c.Cycle, &c.CycleStreak, &c.CycleDays, &c.Base, &c.Bonus,
		&c.Cumulative, &c.Applied)
	c.At = engine.ParseTimeText(at)
	return c, err
}

// insertCheckin records c unless the fan checked in that day already (the
// primary key (fan, day) decides); applied marks its award applied.
func insertCheckin(ctx context.Context, db sqlDB, c Checkin, applied bool) (bool, error) {
	res, err := db.Exec(ctx, `INSERT OR IGNORE INTO points_checkins (tenant_id, fan_id, day, at, streak, days, cycle, cycle_streak,
		cycle_days, base, bonus, cumulative, applied) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.FanID, c.Day, engine.TimeText(c.At), c.Streak, c.Days, c.Cycle, c.CycleStreak, c.CycleDays, c.Base, c.Bonus, c.Cumulative,
		applied)
	if err != nil {
		return false, fmt.Errorf("record check-in of fan %s on %s: %w", c.FanID, c.Day, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) CheckIn(ctx context.Context, tenantID string, c Checkin, b Batch) (bool, Result, error) {
	var inserted bool
	var res Result
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		var err error
		inserted, res = false, Result{}
		if inserted, err = insertCheckin(ctx, tx, c, true); err != nil || !inserted {
			return err
		}
		res, err = applyTx(ctx, tx, c.FanID, b)
		return err
	})
	return inserted, res, err
}

func (s *sqliteStore) InsertCheckin(ctx context.Context, tenantID string, c Checkin) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	return insertCheckin(ctx, db, c, false)
}

// checkins reads the check-ins matching where (which names tenant_id).
func (s *sqliteStore) checkins(ctx context.Context, tenantID, where string, args ...any) ([]Checkin, error) {
	return readAll(ctx, s.e, tenantID, "check-ins", scanCheckin, `SELECT `+checkinColumns+` FROM points_checkins WHERE `+where, args...)
}

// checkin reads the one check-in matching where; ErrNotFound if none.
func (s *sqliteStore) checkin(ctx context.Context, tenantID, where string, args ...any) (Checkin, error) {
	c, err := scanCheckin(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+checkinColumns+` FROM points_checkins WHERE `+where, args...).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkin{}, fault.NotFound("check-in")
	}
	if err != nil {
		return Checkin{}, fmt.Errorf("read check-in: %w", err)
	}
	return c, nil
}

func (s *sqliteStore) Checkin(ctx context.Context, tenantID, fanID, day string) (Checkin, error) {
	return s.checkin(ctx, tenantID, `tenant_id = ? AND fan_id = ? AND day = ?`, fanID, day)
}

func (s *sqliteStore) LastCheckin(ctx context.Context, tenantID, fanID, before string) (Checkin, error) {
	return s.checkin(ctx, tenantID, `tenant_id = ? AND fan_id = ? AND day < ? ORDER BY day DESC LIMIT 1`, fanID, before)
}

func (s *sqliteStore) Checkins(ctx context.Context, tenantID, fanID, from, to string) ([]Checkin, error) {
	return s.checkins(ctx, tenantID, `tenant_id = ? AND fan_id = ? AND day >= ? AND day <= ? ORDER BY day`, fanID, from, to)
}

func (s *sqliteStore) MarkApplied(ctx context.Context, tenantID, fanID, day string) error {
	if _, err := s.e.SQLExec(ctx, tenantID, `UPDATE points_checkins SET applied = 1 WHERE tenant_id = ? AND fan_id = ? AND day = ?`,
		fanID, day); err != nil {
		return fmt.Errorf("mark check-in of fan %s on %s applied: %w", fanID, day, err)
	}
	return nil
}

func (s *sqliteStore) Unapplied(ctx context.Context, tenantID string, before time.Time, limit int) ([]Checkin, error) {
	return s.checkins(ctx, tenantID, `tenant_id = ? AND applied = 0 AND at < ? ORDER BY at LIMIT ?`, engine.TimeText(before), limit)
}
