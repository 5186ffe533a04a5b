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

type sqliteStore struct{ e *engine.Engine }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return engine.TimeText(t)
}

func parseOrZero(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	return engine.ParseTimeText(s)
}

func (s *sqliteStore) Rules(ctx context.Context, tenantID string) (Rules, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Rules{}, err
	}
	var doc string
	err = db.QueryRow(ctx, `SELECT doc FROM points_rules WHERE tenant_id = ?`).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultRules(), nil
	}
	if err != nil {
		return Rules{}, err
	}
	r := DefaultRules()
	return r, json.Unmarshal([]byte(doc), &r)
}

func (s *sqliteStore) SaveRules(ctx context.Context, tenantID string, r Rules) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO points_rules (tenant_id, doc) VALUES (?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET doc = excluded.doc`, jsonText(r))
	return err
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
	a.NextExpiry = parseOrZero(next)
	return a, nil
}

// rowScanner is what the account, entry and check-in readers need.
type rowScanner interface {
	QueryRow(ctx context.Context, query string, args ...any) *engine.Row
}

func readAccount(ctx context.Context, q rowScanner, fanID string) (Account, bool, error) {
	a, err := scanAccount(q.QueryRow(ctx, `SELECT `+accountColumns+` FROM points_accounts WHERE tenant_id = ? AND fan_id = ?`, fanID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{FanID: fanID, Lots: []Lot{}}, false, nil
	}
	return a, err == nil, err
}

func (s *sqliteStore) Apply(ctx context.Context, tenantID, fanID string, b Batch) (Result, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = db.Tx(ctx, func(tx *engine.SQLTx) error {
		var err error
		res, err = applyTx(ctx, tx, fanID, b)
		return err
	})
	return res, err
}

func (s *sqliteStore) CheckIn(ctx context.Context, tenantID string, c Checkin, b Batch) (bool, Result, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, Result{}, err
	}
	var inserted bool
	var res Result
	err = db.Tx(ctx, func(tx *engine.SQLTx) error {
		r, err := tx.Exec(ctx, `INSERT OR IGNORE INTO points_checkins (tenant_id, fan_id, day, at, streak, days, cycle, cycle_streak,
			cycle_days, base, bonus, cumulative, applied) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			c.FanID, c.Day, engine.TimeText(c.At), c.Streak, c.Days, c.Cycle, c.CycleStreak, c.CycleDays, c.Base, c.Bonus, c.Cumulative)
		if err != nil {
			return fmt.Errorf("record check-in: %w", err)
		}
		n, err := r.RowsAffected()
		if err != nil || n == 0 {
			inserted, res = false, Result{}
			return err
		}
		inserted = true
		res, err = applyTx(ctx, tx, c.FanID, b)
		return err
	})
	return inserted, res, err
}

// applyTx is Apply inside a transaction.
func applyTx(ctx context.Context, tx *engine.SQLTx, fanID string, b Batch) (Result, error) {
	var res Result
	err := func() error {
		if k := b.Key(); k != "" {
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM points_ledger WHERE tenant_id = ? AND fan_id = ? AND key = ?`, fanID, k).Scan(&one)
			if err == nil {
				res.Account, _, err = readAccount(ctx, tx, fanID)
				return err // applied before: a replay
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		cur, _, err := readAccount(ctx, tx, fanID)
		if err != nil {
			return err
		}
		next, entries, err := cur.apply(b)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			res.Account = cur
			return nil
		}
		next.Rev = cur.Rev + 1
		if _, err := tx.Exec(ctx, `INSERT INTO points_accounts (tenant_id, fan_id, balance, lots, seq, rev, earned, spent, expired,
			next_expiry, reminded, last_day, streak, days) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, fan_id) DO UPDATE SET balance = excluded.balance, lots = excluded.lots, seq = excluded.seq,
			rev = excluded.rev, earned = excluded.earned, spent = excluded.spent, expired = excluded.expired,
			next_expiry = excluded.next_expiry, reminded = excluded.reminded, last_day = excluded.last_day,
			streak = excluded.streak, days = excluded.days`,
			fanID, next.Balance, jsonText(next.Lots), next.Seq, next.Rev, next.Earned, next.Spent, next.Expired,
			timeOrEmpty(next.NextExpiry), next.Reminded, next.LastDay, next.Streak, next.Days); err != nil {
			return fmt.Errorf("write points account %s: %w", fanID, err)
		}
		var net int64
		for _, e := range entries {
			net += e.Points
			if _, err := tx.Exec(ctx, `INSERT INTO points_ledger (tenant_id, fan_id, seq, key, kind, points, balance, moves,
				order_id, reason, by_who, note, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				fanID, e.Seq, e.Key, e.Kind, e.Points, e.Balance, jsonText(e.Moves), e.OrderID, e.Reason, e.By, e.Note,
				engine.TimeText(e.At)); err != nil {
				return fmt.Errorf("write points entry %s of fan %s: %w", e.Key, fanID, err)
			}
		}
		if b.Day != "" {
			if _, err := tx.Exec(ctx, `INSERT INTO points_days (tenant_id, day, checkins, points) VALUES (?, ?, 1, ?)
				ON CONFLICT (tenant_id, day) DO UPDATE SET checkins = checkins + 1, points = points + excluded.points`,
				b.Day, net); err != nil {
				return err
			}
		}
		if net != 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO points_totals (tenant_id, shard, outstanding) VALUES (?, ?, ?)
				ON CONFLICT (tenant_id, shard) DO UPDATE SET outstanding = outstanding + excluded.outstanding`,
				shardOf(fanID), net); err != nil {
				return err
			}
		}
		res = Result{Applied: true, Entries: entries, Account: next}
		return nil
	}()
	return res, err
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
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Entry{}, err
	}
	e, err := scanEntry(db.QueryRow(ctx, `SELECT `+entryColumns+` FROM points_ledger WHERE tenant_id = ? AND fan_id = ? AND key = ?`,
		fanID, key).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fault.NotFound("points entry")
	}
	return e, err
}

func (s *sqliteStore) Ledger(ctx context.Context, tenantID, fanID string, before int64, limit int) ([]Entry, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := db.Query(ctx, `SELECT `+entryColumns+` FROM points_ledger WHERE tenant_id = ? AND fan_id = ? AND seq < ?
		ORDER BY seq DESC LIMIT ?`, fanID, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		e, err := scanEntry(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *sqliteStore) Entries(ctx context.Context, tenantID, fanID string, fn func(Entry) error) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	// In pages, so no read stays open while fn works.
	var after int64
	for {
		rows, err := db.Query(ctx, `SELECT `+entryColumns+` FROM points_ledger WHERE tenant_id = ? AND fan_id = ? AND seq > ?
			ORDER BY seq LIMIT 500`, fanID, after)
		if err != nil {
			return err
		}
		var page []Entry
		for rows.Next() {
			e, err := scanEntry(rows.Scan)
			if err != nil {
				rows.Close()
				return err
			}
			page = append(page, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
			after = e.Seq
		}
		if len(page) < 500 {
			return nil
		}
	}
}

func (s *sqliteStore) ReplaceAccount(ctx context.Context, tenantID string, a Account) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	ok := false
	err = db.Tx(ctx, func(tx *engine.SQLTx) error {
		cur, exists, err := readAccount(ctx, tx, a.FanID)
		if err != nil || cur.Rev != a.Rev {
			return err
		}
		delta := a.Balance - cur.Balance
		if !exists {
			_, err = tx.Exec(ctx, `INSERT INTO points_accounts (tenant_id, fan_id) VALUES (?, ?)`, a.FanID)
			if err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE points_accounts SET balance = ?, lots = ?, seq = ?, rev = rev + 1, earned = ?, spent = ?,
			expired = ?, next_expiry = ?, reminded = ? WHERE tenant_id = ? AND fan_id = ?`,
			a.Balance, jsonText(a.Lots), a.Seq, a.Earned, a.Spent, a.Expired, timeOrEmpty(a.NextExpiry), a.Reminded, a.FanID); err != nil {
			return err
		}
		if delta != 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO points_totals (tenant_id, shard, outstanding) VALUES (?, ?, ?)
				ON CONFLICT (tenant_id, shard) DO UPDATE SET outstanding = outstanding + excluded.outstanding`,
				shardOf(a.FanID), delta); err != nil {
				return err
			}
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

const checkinColumns = `fan_id, day, at, streak, days, cycle, cycle_streak, cycle_days, base, bonus, cumulative, applied`

func scanCheckin(scan func(...any) error) (Checkin, error) {
	var c Checkin
	var at string
	err := scan(&c.FanID, &c.Day, &at, &c.Streak, &c.Days, &c.Cycle, &c.CycleStreak, &c.CycleDays, &c.Base, &c.Bonus,
		&c.Cumulative, &c.Applied)
	c.At = engine.ParseTimeText(at)
	return c, err
}

func (s *sqliteStore) InsertCheckin(ctx context.Context, tenantID string, c Checkin) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, `INSERT OR IGNORE INTO points_checkins (tenant_id, fan_id, day, at, streak, days, cycle, cycle_streak,
		cycle_days, base, bonus, cumulative) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.FanID, c.Day, engine.TimeText(c.At), c.Streak, c.Days, c.Cycle, c.CycleStreak, c.CycleDays, c.Base, c.Bonus, c.Cumulative)
	if err != nil {
		return false, fmt.Errorf("record check-in: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) checkinWhere(ctx context.Context, tenantID, where string, args ...any) (Checkin, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Checkin{}, err
	}
	c, err := scanCheckin(db.QueryRow(ctx, `SELECT `+checkinColumns+` FROM points_checkins WHERE `+where, args...).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkin{}, fault.NotFound("check-in")
	}
	return c, err
}

func (s *sqliteStore) Checkin(ctx context.Context, tenantID, fanID, day string) (Checkin, error) {
	return s.checkinWhere(ctx, tenantID, `tenant_id = ? AND fan_id = ? AND day = ?`, fanID, day)
}

func (s *sqliteStore) LastCheckin(ctx context.Context, tenantID, fanID, before string) (Checkin, error) {
	return s.checkinWhere(ctx, tenantID, `tenant_id = ? AND fan_id = ? AND day < ? ORDER BY day DESC LIMIT 1`, fanID, before)
}

func (s *sqliteStore) checkins(ctx context.Context, tenantID, query string, args ...any) ([]Checkin, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return engine.QueryAll(ctx, db, scanCheckin, `SELECT `+checkinColumns+` FROM points_checkins WHERE `+query, args...)
}

func (s *sqliteStore) Checkins(ctx context.Context, tenantID, fanID, from, to string) ([]Checkin, error) {
	return s.checkins(ctx, tenantID, `tenant_id = ? AND fan_id = ? AND day >= ? AND day <= ? ORDER BY day`, fanID, from, to)
}

func (s *sqliteStore) MarkApplied(ctx context.Context, tenantID, fanID, day string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE points_checkins SET applied = 1 WHERE tenant_id = ? AND fan_id = ? AND day = ?`, fanID, day)
	return err
}

func (s *sqliteStore) Unapplied(ctx context.Context, tenantID string, before time.Time, limit int) ([]Checkin, error) {
	return s.checkins(ctx, tenantID, `tenant_id = ? AND applied = 0 AND at < ? ORDER BY at LIMIT ?`, engine.TimeText(before), limit)
}

func (s *sqliteStore) accounts(ctx context.Context, tenantID, where string, args ...any) ([]Account, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT `+accountColumns+` FROM points_accounts WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *sqliteStore) Due(ctx context.Context, tenantID string, now time.Time, limit int) ([]Account, error) {
	return s.accounts(ctx, tenantID, `tenant_id = ? AND next_expiry <> '' AND next_expiry <= ? ORDER BY next_expiry LIMIT ?`,
		engine.TimeText(now), limit)
}

func (s *sqliteStore) Expiring(ctx context.Context, tenantID string, horizon time.Time, limit int) ([]Account, error) {
	return s.accounts(ctx, tenantID, `tenant_id = ? AND reminded = 0 AND next_expiry <> '' AND next_expiry <= ?
		ORDER BY next_expiry LIMIT ?`, engine.TimeText(horizon), limit)
}

func (s *sqliteStore) MarkReminded(ctx context.Context, tenantID, fanID string, expiry time.Time) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE points_accounts SET reminded = 1 WHERE tenant_id = ? AND fan_id = ? AND next_expiry = ?`,
		fanID, engine.TimeText(expiry))
	return err
}

func (s *sqliteStore) SetReminder(ctx context.Context, tenantID, fanID string, on bool) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO points_accounts (tenant_id, fan_id, reminder) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id, fan_id) DO UPDATE SET reminder = excluded.reminder`, fanID, on)
	return err
}

func (s *sqliteStore) ToRemind(ctx context.Context, tenantID, day string, limit int) ([]Account, error) {
	return s.accounts(ctx, tenantID, `tenant_id = ? AND reminder = 1 AND reminded_day < ? AND last_day < ? ORDER BY reminded_day LIMIT ?`,
		day, day, limit)
}

func (s *sqliteStore) MarkDayReminded(ctx context.Context, tenantID, fanID, day string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE points_accounts SET reminded_day = ? WHERE tenant_id = ? AND fan_id = ?`, day, fanID)
	return err
}

func (s *sqliteStore) Days(ctx context.Context, tenantID, from, to string) ([]Day, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT day, checkins, points FROM points_days WHERE tenant_id = ? AND day >= ? AND day <= ? ORDER BY day`,
		from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Day{}
	for rows.Next() {
		var d Day
		if err := rows.Scan(&d.Day, &d.Checkins, &d.Points); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *sqliteStore) StreakCounts(ctx context.Context, tenantID, since string) (map[int]int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return engine.CountBy[int](ctx, db, `SELECT streak, count(*) FROM points_accounts WHERE tenant_id = ? AND last_day >= ? GROUP BY streak`, since)
}

func (s *sqliteStore) Outstanding(ctx context.Context, tenantID string) (int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.QueryRow(ctx, `SELECT coalesce(sum(outstanding), 0) FROM points_totals WHERE tenant_id = ?`).Scan(&n)
	return n, err
}

func (s *sqliteStore) RebuildCounters(ctx context.Context, tenantID, from, to string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *engine.SQLTx) error {
		for d := from; d != "" && d <= to; d = addDays(d, 1) {
			var n, pts int64
			if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(base + bonus + cumulative), 0) FROM points_checkins
				WHERE tenant_id = ? AND day = ?`, d).Scan(&n, &pts); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO points_days (tenant_id, day, checkins, points) VALUES (?, ?, ?, ?)
				ON CONFLICT (tenant_id, day) DO UPDATE SET checkins = excluded.checkins, points = excluded.points`, d, n, pts); err != nil {
				return err
			}
		}
		var total int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(balance), 0) FROM points_accounts WHERE tenant_id = ?`).Scan(&total); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM points_totals WHERE tenant_id = ?`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO points_totals (tenant_id, shard, outstanding) VALUES (?, 0, ?)`, total)
		return err
	})
}
