package tenants

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"microshop/tenants/engine"
)

func (s *sqliteStore) WindowAdd(ctx context.Context, key string, delta int, window time.Duration, now time.Time) (int, time.Time, error) {
	// One statement: the open window grows, a run-out one restarts at now.
	open := engine.TimeText(now.Add(-window))
	var n int
	var start string
	err := s.db.QueryRowContext(ctx, `INSERT INTO rate_windows (key, n, start_at) VALUES (?, max(?, 0), ?)
		ON CONFLICT (key) DO UPDATE SET
			n = CASE WHEN rate_windows.start_at > ? THEN max(rate_windows.n + ?, 0) ELSE excluded.n END,
			start_at = CASE WHEN rate_windows.start_at > ? THEN rate_windows.start_at ELSE excluded.start_at END
		RETURNING n, start_at`,
		key, delta, engine.TimeText(now), open, delta, open).Scan(&n, &start)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("rate window add %s: %w", key, err)
	}
	return n, engine.ParseTimeText(start), nil
}

func (s *sqliteStore) WindowGet(ctx context.Context, key string, window time.Duration, now time.Time) (int, time.Time, error) {
	var n int
	var start string
	err := s.db.QueryRowContext(ctx, `SELECT n, start_at FROM rate_windows WHERE key = ? AND start_at > ?`,
		key, engine.TimeText(now.Add(-window))).Scan(&n, &start)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("rate window get %s: %w", key, err)
	}
	return n, engine.ParseTimeText(start), nil
}

func (s *sqliteStore) SweepWindows(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM rate_windows WHERE start_at < ?`, engine.TimeText(before))
	if err != nil {
		return 0, fmt.Errorf("sweep rate windows: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
