package guide

import (
	"context"
	"database/sql"
	"errors"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

func (s *sqliteStore) CreateLocation(ctx context.Context, tenantID string, l Location) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO guide_stores (tenant_id, id, name, address, active, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		l.ID, l.Name, l.Address, l.Active, engine.TimeText(l.CreatedAt))
	return err
}

func scanLocation(scan func(...any) error) (Location, error) {
	var l Location
	var created string
	err := scan(&l.ID, &l.Name, &l.Address, &l.Active, &created)
	l.CreatedAt = engine.ParseTimeText(created)
	return l, err
}

func (s *sqliteStore) Location(ctx context.Context, tenantID, id string) (Location, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Location{}, err
	}
	l, err := scanLocation(db.QueryRow(ctx, `SELECT id, name, address, active, created_at FROM guide_stores
		WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Location{}, fault.NotFound("store")
	}
	return l, err
}

func (s *sqliteStore) Locations(ctx context.Context, tenantID string, limit int) ([]Location, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT id, name, address, active, created_at FROM guide_stores WHERE tenant_id = ?
		ORDER BY created_at LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Location
	for rows.Next() {
		l, err := scanLocation(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func (s *sqliteStore) UpdateLocation(ctx context.Context, tenantID string, l Location) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE guide_stores SET name = ?, address = ?, active = ? WHERE tenant_id = ? AND id = ?`,
		l.Name, l.Address, l.Active, l.ID)
	return err
}

const guideColumns = `id, name, phone, store_id, code, active, created_at, left_at, handed_to, rev`

func scanGuide(scan func(...any) error) (Guide, error) {
	var g Guide
	var created, left string
	err := scan(&g.ID, &g.Name, &g.Phone, &g.StoreID, &g.Code, &g.Active, &created, &left, &g.HandedTo, &g.Rev)
	g.CreatedAt, g.LeftAt = engine.ParseTimeText(created), engine.ParseOptTimeText(left)
	return g, err
}

func (s *sqliteStore) CreateGuide(ctx context.Context, tenantID string, g Guide) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO guides (tenant_id, `+guideColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.Name, g.Phone, g.StoreID, g.Code, g.Active, engine.TimeText(g.CreatedAt), engine.OptTimeText(g.LeftAt), g.HandedTo, g.Rev)
	return err
}

func (s *sqliteStore) guide(ctx context.Context, tenantID, where string, arg string) (Guide, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Guide{}, err
	}
	g, err := scanGuide(db.QueryRow(ctx, `SELECT `+guideColumns+` FROM guides WHERE `+where, arg).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Guide{}, fault.NotFound("guide")
	}
	return g, err
}

func (s *sqliteStore) Guide(ctx context.Context, tenantID, id string) (Guide, error) {
	return s.guide(ctx, tenantID, `tenant_id = ? AND id = ?`, id)
}

func (s *sqliteStore) GuideByCode(ctx context.Context, tenantID, code string) (Guide, error) {
	return s.guide(ctx, tenantID, `tenant_id = ? AND code = ?`, code)
}

func (s *sqliteStore) Guides(ctx context.Context, tenantID, storeID string, limit, offset int) ([]Guide, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	q, args := `SELECT `+guideColumns+` FROM guides WHERE tenant_id = ? ORDER BY name, id LIMIT ? OFFSET ?`, []any{limit, offset}
	if storeID != "" {
		q, args = `SELECT `+guideColumns+` FROM guides WHERE tenant_id = ? AND store_id = ? ORDER BY name, id LIMIT ? OFFSET ?`,
			[]any{storeID, limit, offset}
	}
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Guide
	for rows.Next() {
		g, err := scanGuide(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func (s *sqliteStore) UpdateGuide(ctx context.Context, tenantID string, g Guide) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, `UPDATE guides SET name = ?, phone = ?, store_id = ?, active = ?, left_at = ?, handed_to = ?,
		rev = rev + 1 WHERE tenant_id = ? AND id = ? AND rev = ?`,
		g.Name, g.Phone, g.StoreID, g.Active, engine.OptTimeText(g.LeftAt), g.HandedTo, g.ID, g.Rev)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) Count(ctx context.Context, tenantID, guideID, storeID, day string, c Counts) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO guide_days (tenant_id, guide_id, store_id, day, visits, follows, new_fans,
		ordering_fans, orders, paid_gmv, refunds, refund_amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, guide_id, store_id, day) DO UPDATE SET visits = visits + excluded.visits,
		follows = follows + excluded.follows, new_fans = new_fans + excluded.new_fans,
		ordering_fans = ordering_fans + excluded.ordering_fans, orders = orders + excluded.orders,
		paid_gmv = paid_gmv + excluded.paid_gmv, refunds = refunds + excluded.refunds,
		refund_amount = refund_amount + excluded.refund_amount`,
		guideID, storeID, day, c.Visits, c.Follows, c.NewFans, c.OrderingFans, c.Orders, c.PaidGMV, c.Refunds, c.RefundAmount)
	return err
}

func (s *sqliteStore) Mark(ctx context.Context, tenantID, key string) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, `INSERT OR IGNORE INTO guide_marks (tenant_id, key) VALUES (?, ?)`, key)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) Days(ctx context.Context, tenantID string, f DayFilter) ([]Day, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	where, args := `tenant_id = ?`, []any{}
	switch {
	case f.GuideID != "":
		where, args = `tenant_id = ? AND guide_id = ?`, []any{f.GuideID}
	case f.StoreID != "":
		where, args = `tenant_id = ? AND store_id = ?`, []any{f.StoreID}
	}
	rows, err := db.Query(ctx, `SELECT guide_id, store_id, day, visits, follows, new_fans, ordering_fans, orders, paid_gmv,
		refunds, refund_amount FROM guide_days WHERE `+where+` AND day >= ? AND day <= ? ORDER BY day`,
		append(args, f.From, f.To)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Day
	for rows.Next() {
		var d Day
		if err := rows.Scan(&d.GuideID, &d.StoreID, &d.Day, &d.Visits, &d.Follows, &d.NewFans, &d.OrderingFans, &d.Orders,
			&d.PaidGMV, &d.Refunds, &d.RefundAmount); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
