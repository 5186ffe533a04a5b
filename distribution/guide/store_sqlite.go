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
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO guide_stores (tenant_id, id, name, address, active, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		l.ID, l.Name, l.Address, l.Active, engine.TimeText(l.CreatedAt))
	return fault.Wrap(err, "create store %s", l.ID)
}

const locationColumns = `id, name, address, active, created_at`

func scanLocation(scan func(...any) error) (Location, error) {
	var l Location
	var created string
	err := scan(&l.ID, &l.Name, &l.Address, &l.Active, &created)
	l.CreatedAt = engine.ParseTimeText(created)
	return l, err
}

func (s *sqliteStore) Location(ctx context.Context, tenantID, id string) (Location, error) {
	l, err := scanLocation(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+locationColumns+` FROM guide_stores
		WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Location{}, fault.NotFound("store")
	}
	return l, fault.Wrap(err, "load store %s", id)
}

func (s *sqliteStore) Locations(ctx context.Context, tenantID string, limit int) ([]Location, error) {
	ls, err := engine.SQLAll(ctx, s.e, tenantID, scanLocation, `SELECT `+locationColumns+` FROM guide_stores WHERE tenant_id = ?
		ORDER BY created_at LIMIT ?`, limit)
	return ls, fault.Wrap(err, "list stores")
}

func (s *sqliteStore) UpdateLocation(ctx context.Context, tenantID string, l Location) error {
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE guide_stores SET name = ?, address = ?, active = ? WHERE tenant_id = ? AND id = ?`,
		l.Name, l.Address, l.Active, l.ID)
	return fault.Wrap(err, "update store %s", l.ID)
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
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO guides (tenant_id, `+guideColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.Name, g.Phone, g.StoreID, g.Code, g.Active, engine.TimeText(g.CreatedAt), engine.OptTimeText(g.LeftAt), g.HandedTo, g.Rev)
	return fault.Wrap(err, "create guide %s", g.ID)
}

// guide reads the guide whose column (id or code) is v.
func (s *sqliteStore) guide(ctx context.Context, tenantID, column, v string) (Guide, error) {
	g, err := scanGuide(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+guideColumns+` FROM guides WHERE tenant_id = ? AND `+column+` = ?`, v).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Guide{}, fault.NotFound("guide")
	}
	return g, fault.Wrap(err, "load guide by %s %s", column, v)
}

func (s *sqliteStore) Guide(ctx context.Context, tenantID, id string) (Guide, error) {
	return s.guide(ctx, tenantID, "id", id)
}

func (s *sqliteStore) GuideByCode(ctx context.Context, tenantID, code string) (Guide, error) {
	return s.guide(ctx, tenantID, "code", code)
}

func (s *sqliteStore) Guides(ctx context.Context, tenantID, storeID string, limit, offset int) ([]Guide, error) {
	where, args := ``, []any{limit, offset}
	if storeID != "" {
		where, args = ` AND store_id = ?`, []any{storeID, limit, offset}
	}
	gs, err := engine.SQLAll(ctx, s.e, tenantID, scanGuide, `SELECT `+guideColumns+` FROM guides WHERE tenant_id = ?`+where+`
		ORDER BY name, id LIMIT ? OFFSET ?`, args...)
	return gs, fault.Wrap(err, "list guides")
}

func (s *sqliteStore) UpdateGuide(ctx context.Context, tenantID string, g Guide) (bool, error) {
	ok, err := engine.Changed(s.e.SQLExec(ctx, tenantID, `UPDATE guides SET name = ?, phone = ?, store_id = ?, active = ?, left_at = ?, handed_to = ?,
		rev = rev + 1 WHERE tenant_id = ? AND id = ? AND rev = ?`,
		g.Name, g.Phone, g.StoreID, g.Active, engine.OptTimeText(g.LeftAt), g.HandedTo, g.ID, g.Rev))
	return ok, fault.Wrap(err, "update guide %s", g.ID)
}

func (s *sqliteStore) Count(ctx context.Context, tenantID, guideID, storeID, day string, c Counts) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO guide_days (tenant_id, guide_id, store_id, day, visits, follows, new_fans,
		ordering_fans, first_orders, orders, paid_gmv, refunds, refund_amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, guide_id, store_id, day) DO UPDATE SET visits = visits + excluded.visits,
		follows = follows + excluded.follows, new_fans = new_fans + excluded.new_fans,
		ordering_fans = ordering_fans + excluded.ordering_fans, first_orders = first_orders + excluded.first_orders, orders = orders + excluded.orders,
		paid_gmv = paid_gmv + excluded.paid_gmv, refunds = refunds + excluded.refunds,
		refund_amount = refund_amount + excluded.refund_amount`,
		guideID, storeID, day, c.Visits, c.Follows, c.NewFans, c.OrderingFans, c.FirstOrders, c.Orders, c.PaidGMV, c.Refunds, c.RefundAmount)
	return fault.Wrap(err, "count guide %s on %s", guideID, day)
}

func (s *sqliteStore) Mark(ctx context.Context, tenantID, key string) (bool, error) {
	ok, err := engine.Changed(s.e.SQLExec(ctx, tenantID, `INSERT OR IGNORE INTO guide_marks (tenant_id, key) VALUES (?, ?)`, key))
	return ok, fault.Wrap(err, "mark %s", key)
}

func scanDay(scan func(...any) error) (Day, error) {
	var d Day
	err := scan(&d.GuideID, &d.StoreID, &d.Day, &d.Visits, &d.Follows, &d.NewFans, &d.OrderingFans, &d.FirstOrders, &d.Orders,
		&d.PaidGMV, &d.Refunds, &d.RefundAmount)
	return d, err
}

func (s *sqliteStore) Days(ctx context.Context, tenantID string, f DayFilter) ([]Day, error) {
	where, args := ``, []any{}
	switch {
	case f.GuideID != "":
		where, args = ` AND guide_id = ?`, []any{f.GuideID}
	case f.StoreID != "":
		where, args = ` AND store_id = ?`, []any{f.StoreID}
	}
	ds, err := engine.SQLAll(ctx, s.e, tenantID, scanDay, `SELECT guide_id, store_id, day, visits, follows, new_fans, ordering_fans,
		first_orders, orders, paid_gmv, refunds, refund_amount FROM guide_days WHERE tenant_id = ?`+where+` AND day >= ? AND day <= ? ORDER BY day`,
		append(args, f.From, f.To)...)
	return ds, fault.Wrap(err, "read funnel days")
}
