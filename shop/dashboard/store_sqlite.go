package dashboard

import (
	"context"
	"fmt"

	"microshop/tenants/engine"
)

type sqliteStore struct{ e *engine.Engine }

// addRow is the upsert of one row's increment.
const addRow = `INSERT INTO dash_days (tenant_id, day, dim, key, paid, refunded, orders, refunds, qty, buyers, visits,
	follows, unfollows, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (tenant_id, dim, day, key) DO UPDATE SET paid = paid + excluded.paid, refunded = refunded + excluded.refunded,
	orders = orders + excluded.orders, refunds = refunds + excluded.refunds, qty = qty + excluded.qty,
	buyers = buyers + excluded.buyers, visits = visits + excluded.visits, follows = follows + excluded.follows,
	unfollows = unfollows + excluded.unfollows, active = active + excluded.active`

// claim inserts a de-duplication key: false when it was there.
func claim(ctx context.Context, tx *engine.SQLTx, key string) (bool, error) {
	res, err := tx.Exec(ctx, `INSERT INTO dash_once (tenant_id, key) VALUES (?, ?) ON CONFLICT DO NOTHING`, key)
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) Apply(ctx context.Context, tenantID, once string, incs []Inc, buyer *Buyer) error {
	incs = merge(incs)
	if len(incs) == 0 && buyer == nil {
		return nil
	}
	return s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		if buyer != nil {
			if _, err := tx.Exec(ctx, recordBuyer, buyer.FanID, buyer.Day, buyer.Day); err != nil {
				return fmt.Errorf("record buyer %s: %w", buyer.FanID, err)
			}
		}
		fresh := true
		if once != "" {
			var err error
			if fresh, err = claim(ctx, tx, once); err != nil {
				return err
			}
		}
		for _, in := range incs {
			ok := fresh
			if in.Once != "" {
				var err error
				if ok, err = claim(ctx, tx, in.Dim+"|"+in.Day+"|"+in.Key+"|"+in.Once); err != nil {
					return err
				}
			}
			if !ok {
				continue
			}
			c := in.Counts
			if _, err := tx.Exec(ctx, addRow, in.Day, in.Dim, in.Key, c.Paid, c.Refunded, c.Orders, c.Refunds, c.Qty, c.Buyers,
				c.Visits, c.Follows, c.Unfollows, c.Active); err != nil {
				return fmt.Errorf("count %s %s %s: %w", in.Dim, in.Key, in.Day, err)
			}
		}
		return nil
	})
}

// recordBuyer moves a fan's first and latest paid days outwards to a day.
const recordBuyer = `INSERT INTO dash_buyers (tenant_id, fan_id, first_day, last_day) VALUES (?, ?, ?, ?)
	ON CONFLICT (tenant_id, fan_id) DO UPDATE SET first_day = min(first_day, excluded.first_day),
	last_day = max(last_day, excluded.last_day)`

func (s *sqliteStore) BuyersSince(ctx context.Context, tenantID, day string) (int64, error) {
	var n int64
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT COUNT(*) FROM dash_buyers WHERE tenant_id = ? AND last_day >= ?`, day).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count buyers since %s: %w", day, err)
	}
	return n, nil
}

const rowColumns = `paid, refunded, orders, refunds, qty, buyers, visits, follows, unfollows, active`

func scanRow(scan func(...any) error) (Row, error) {
	var r Row
	err := scan(&r.Day, &r.Key, &r.Paid, &r.Refunded, &r.Orders, &r.Refunds, &r.Qty, &r.Buyers, &r.Visits, &r.Follows,
		&r.Unfollows, &r.Active)
	return r, err
}

func (s *sqliteStore) Days(ctx context.Context, tenantID, dim, from, to string) ([]Row, error) {
	rows, err := engine.SQLAll(ctx, s.e, tenantID, scanRow, `SELECT day, key, `+rowColumns+` FROM dash_days
		WHERE tenant_id = ? AND dim = ? AND day >= ? AND day <= ? ORDER BY day, key`, dim, from, to)
	if err != nil {
		return nil, fmt.Errorf("read %s days: %w", dim, err)
	}
	for i := range rows {
		rows[i].Dim = dim
	}
	return rows, nil
}

func (s *sqliteStore) Top(ctx context.Context, tenantID, dim, from, to string, n int) ([]Row, error) {
	rows, err := engine.SQLAll(ctx, s.e, tenantID, scanRow, `SELECT '', key, SUM(paid), SUM(refunded), SUM(orders),
		SUM(refunds), SUM(qty), SUM(buyers), SUM(visits), SUM(follows), SUM(unfollows), SUM(active) FROM dash_days
		WHERE tenant_id = ? AND dim = ? AND day >= ? AND day <= ? GROUP BY key ORDER BY SUM(paid) DESC, key LIMIT ?`,
		dim, from, to, n)
	if err != nil {
		return nil, fmt.Errorf("read top %s: %w", dim, err)
	}
	for i := range rows {
		rows[i].Dim = dim
	}
	return rows, nil
}
