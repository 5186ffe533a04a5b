package points

import (
	"context"
	"fmt"
	"time"

	"microshop/tenants/engine"
)

// The lists the cron pass works through on SQLite (lots due to expire,
// expiry and check-in reminders) and the marks it leaves.

// accounts reads the accounts matching where (which names tenant_id).
func (s *sqliteStore) accounts(ctx context.Context, tenantID, where string, args ...any) ([]Account, error) {
	return readAll(ctx, s.e, tenantID, "points accounts", scanAccount, `SELECT `+accountColumns+` FROM points_accounts WHERE `+where, args...)
}

// setAccount runs one update of the fan's account row; what names it in
// the error.
func (s *sqliteStore) setAccount(ctx context.Context, tenantID, what, query string, args ...any) error {
	if _, err := s.e.SQLExec(ctx, tenantID, query, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
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
	return s.setAccount(ctx, tenantID, "mark the expiry reminder of fan "+fanID,
		`UPDATE points_accounts SET reminded = 1 WHERE tenant_id = ? AND fan_id = ? AND next_expiry = ?`, fanID, engine.TimeText(expiry))
}

func (s *sqliteStore) SetReminder(ctx context.Context, tenantID, fanID string, on bool) error {
	return s.setAccount(ctx, tenantID, "set the check-in reminder of fan "+fanID,
		`INSERT INTO points_accounts (tenant_id, fan_id, reminder) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id, fan_id) DO UPDATE SET reminder = excluded.reminder`, fanID, on)
}

func (s *sqliteStore) ToRemind(ctx context.Context, tenantID, day string, limit int) ([]Account, error) {
	return s.accounts(ctx, tenantID, `tenant_id = ? AND reminder = 1 AND reminded_day < ? AND last_day < ? ORDER BY reminded_day LIMIT ?`,
		day, day, limit)
}

func (s *sqliteStore) MarkDayReminded(ctx context.Context, tenantID, fanID, day string) error {
	return s.setAccount(ctx, tenantID, "mark the check-in reminder of fan "+fanID,
		`UPDATE points_accounts SET reminded_day = ? WHERE tenant_id = ? AND fan_id = ?`, day, fanID)
}

// The dashboard's counters on SQLite: check-ins and points per day, and the
// outstanding points in shards (both moved by applyTx), and their rebuild
// from the records.

func (s *sqliteStore) Days(ctx context.Context, tenantID, from, to string) ([]Day, error) {
	return readAll(ctx, s.e, tenantID, "check-in counters", func(scan func(...any) error) (Day, error) {
		var d Day
		err := scan(&d.Day, &d.Checkins, &d.Points)
		return d, err
	}, `SELECT day, checkins, points FROM points_days WHERE tenant_id = ? AND day >= ? AND day <= ? ORDER BY day`, from, to)
}

func (s *sqliteStore) StreakCounts(ctx context.Context, tenantID, since string) (map[int]int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	counts, err := engine.CountBy[int](ctx, db, `SELECT streak, count(*) FROM points_accounts WHERE tenant_id = ? AND last_day >= ?
		GROUP BY streak`, since)
	if err != nil {
		return nil, fmt.Errorf("count streaks: %w", err)
	}
	return counts, nil
}

func (s *sqliteStore) Outstanding(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	if err := s.e.SQLQueryRow(ctx, tenantID, `SELECT coalesce(sum(outstanding), 0) FROM points_totals WHERE tenant_id = ?`).
		Scan(&n); err != nil {
		return 0, fmt.Errorf("read outstanding points: %w", err)
	}
	return n, nil
}

func (s *sqliteStore) RebuildCounters(ctx context.Context, tenantID, from, to string) error {
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
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
	if err != nil {
		return fmt.Errorf("rebuild points counters from %s to %s: %w", from, to, err)
	}
	return nil
}
