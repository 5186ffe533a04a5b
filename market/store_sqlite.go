package market

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

type sqliteStore struct{ db *sql.DB }

func (s *sqliteStore) SaveShop(ctx context.Context, sh Shop) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO market_shops (tenant_id, slug, name, listed, category, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET slug = excluded.slug, name = excluded.name,
		listed = excluded.listed, category = excluded.category, updated_at = excluded.updated_at`,
		sh.TenantID, sh.Slug, sh.Name, sh.Listed, sh.Category, engine.TimeText(sh.Updated))
	if err != nil {
		return fmt.Errorf("save market listing: %w", err)
	}
	return nil
}

const shopColumns = `tenant_id, slug, name, listed, category, updated_at`

func scanShop(sc interface{ Scan(...any) error }) (Shop, error) {
	var sh Shop
	var at string
	err := sc.Scan(&sh.TenantID, &sh.Slug, &sh.Name, &sh.Listed, &sh.Category, &at)
	sh.Updated = engine.ParseTimeText(at)
	return sh, err
}

func (s *sqliteStore) Shop(ctx context.Context, tenantID string) (Shop, bool, error) {
	sh, err := scanShop(s.db.QueryRowContext(ctx, `SELECT `+shopColumns+` FROM market_shops WHERE tenant_id = ?`, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return Shop{}, false, nil
	}
	if err != nil {
		return Shop{}, false, fmt.Errorf("read market listing: %w", err)
	}
	return sh, true, nil
}

func (s *sqliteStore) ShopsSince(ctx context.Context, since time.Time) ([]Shop, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+shopColumns+` FROM market_shops WHERE updated_at >= ?`, engine.TimeText(since))
	if err != nil {
		return nil, fmt.Errorf("read market listings: %w", err)
	}
	defer rows.Close()
	var out []Shop
	for rows.Next() {
		sh, err := scanShop(rows)
		if err != nil {
			return nil, fmt.Errorf("read market listings: %w", err)
		}
		out = append(out, sh)
	}
	return out, rows.Err()
}

const itemColumns = `id, tenant_id, product_id, title, category, price, image, rating, reviews, created_at, hash, deleted, delisted, updated_at`

func (s *sqliteStore) items(ctx context.Context, query string, arg any) ([]Item, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+itemColumns+` FROM market_items WHERE `+query, arg)
	if err != nil {
		return nil, fmt.Errorf("read market items: %w", err)
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var it Item
		var created, updated string
		if err := rows.Scan(&it.ID, &it.TenantID, &it.ProductID, &it.Title, &it.Category, &it.Price, &it.Image,
			&it.Rating, &it.Reviews, &created, &it.Hash, &it.Deleted, &it.Delisted, &updated); err != nil {
			return nil, fmt.Errorf("read market items: %w", err)
		}
		it.CreatedAt, it.Updated = engine.ParseTimeText(created), engine.ParseTimeText(updated)
		out = append(out, it)
	}
	return out, rows.Err()
}

func (s *sqliteStore) Items(ctx context.Context, tenantID string) ([]Item, error) {
	return s.items(ctx, `tenant_id = ?`, tenantID)
}

func (s *sqliteStore) ItemsSince(ctx context.Context, since time.Time) ([]Item, error) {
	return s.items(ctx, `updated_at >= ?`, engine.TimeText(since))
}

func (s *sqliteStore) PutItems(ctx context.Context, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save market items: %w", err)
	}
	defer tx.Rollback()
	for _, it := range items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO market_items (`+itemColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?) ON CONFLICT (id) DO UPDATE SET
			title = excluded.title, category = excluded.category, price = excluded.price, image = excluded.image,
			rating = excluded.rating, reviews = excluded.reviews, created_at = excluded.created_at, hash = excluded.hash,
			deleted = excluded.deleted, updated_at = excluded.updated_at`,
			it.ID, it.TenantID, it.ProductID, it.Title, it.Category, it.Price, it.Image, it.Rating, it.Reviews,
			engine.TimeText(it.CreatedAt), it.Hash, it.Deleted, engine.TimeText(it.Updated)); err != nil {
			return fmt.Errorf("save market item: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save market items: %w", err)
	}
	return nil
}

func (s *sqliteStore) Delist(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE market_items SET delisted = ?, updated_at = ? WHERE id = ?`,
		reason, engine.TimeText(at), id)
	if err != nil {
		return false, fmt.Errorf("delist market item: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

const reportColumns = `id, tenant_id, shop, product_id, title, kind, text, reporter, status, note, operator, created_at, decided_at`

func (s *sqliteStore) AddReport(ctx context.Context, r Report) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO market_reports (`+reportColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.TenantID, r.Shop, r.ProductID, r.Title, r.Kind, r.Text, r.Reporter, r.Status, r.Note, r.Operator,
		engine.TimeText(r.Created), engine.OptTimeText(r.Decided))
	if err != nil {
		return fmt.Errorf("save market report: %w", err)
	}
	return nil
}

func scanReport(sc interface{ Scan(...any) error }) (Report, error) {
	var r Report
	var created, decided string
	err := sc.Scan(&r.ID, &r.TenantID, &r.Shop, &r.ProductID, &r.Title, &r.Kind, &r.Text, &r.Reporter, &r.Status,
		&r.Note, &r.Operator, &created, &decided)
	r.Created, r.Decided = engine.ParseTimeText(created), engine.ParseOptTimeText(decided)
	return r, err
}

func (s *sqliteStore) Reports(ctx context.Context, status string, limit int) ([]Report, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+reportColumns+` FROM market_reports WHERE status = ?
		ORDER BY created_at LIMIT ?`, status, limit)
	if err != nil {
		return nil, fmt.Errorf("read market reports: %w", err)
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, fmt.Errorf("read market reports: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sqliteStore) Report(ctx context.Context, id string) (Report, error) {
	r, err := scanReport(s.db.QueryRowContext(ctx, `SELECT `+reportColumns+` FROM market_reports WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Report{}, fault.NotFound("report")
	}
	if err != nil {
		return Report{}, fmt.Errorf("read market report: %w", err)
	}
	return r, nil
}

func (s *sqliteStore) DecideReport(ctx context.Context, id, status, note, operator string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE market_reports SET status = ?, note = ?, operator = ?, decided_at = ?
		WHERE id = ? AND status = 'open'`, status, note, operator, engine.TimeText(at), id)
	if err != nil {
		return false, fmt.Errorf("decide market report: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *sqliteStore) Person(ctx context.Context, id string) (Person, error) {
	var doc string
	var rev int64
	err := s.db.QueryRowContext(ctx, `SELECT doc, rev FROM market_people WHERE id = ?`, id).Scan(&doc, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return Person{ID: id}, nil
	}
	if err != nil {
		return Person{}, fmt.Errorf("read market person: %w", err)
	}
	var d personDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return Person{}, fmt.Errorf("read market person: %w", err)
	}
	p := d.Person
	p.ID, p.Rev, p.Friends = id, rev, d.Friends
	return p, nil
}

// personDoc is a person as stored: their friends too (Person hides them
// from JSON answers).
type personDoc struct {
	Person
	Friends []string `json:"friends"`
}

func (s *sqliteStore) PutPerson(ctx context.Context, p Person) (bool, error) {
	doc := engine.JSONText(personDoc{Person: p, Friends: p.Friends})
	var res sql.Result
	var err error
	if p.Rev == 0 {
		res, err = s.db.ExecContext(ctx, `INSERT INTO market_people (id, doc, rev) VALUES (?, ?, 1) ON CONFLICT (id) DO NOTHING`, p.ID, doc)
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE market_people SET doc = ?, rev = rev + 1 WHERE id = ? AND rev = ?`, doc, p.ID, p.Rev)
	}
	if err != nil {
		return false, fmt.Errorf("save market person: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *sqliteStore) AddInvite(ctx context.Context, hash, from string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO market_invites (hash, from_id, created_at) VALUES (?, ?, ?)`,
		hash, from, engine.TimeText(at)); err != nil {
		return fmt.Errorf("save market invitation: %w", err)
	}
	return nil
}

func (s *sqliteStore) TakeInvite(ctx context.Context, hash string) (string, time.Time, error) {
	var from, at string
	err := s.db.QueryRowContext(ctx, `DELETE FROM market_invites WHERE hash = ? RETURNING from_id, created_at`, hash).Scan(&from, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, fault.NotFound("invitation")
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("take market invitation: %w", err)
	}
	return from, engine.ParseTimeText(at), nil
}
