package review

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

// sqliteStore keeps the reviews in the shop's SQLite file; a review and its
// product's rating are written in one transaction.
type sqliteStore struct{ e *engine.Engine }

const reviewColumns = `id, order_id, fan_id, product_id, sku_id, rating, text, images, reply, replied_at, created_at, updated_at`

func scanReview(scan func(...any) error) (Review, error) {
	var r Review
	var images, replied, created, updated string
	if err := scan(&r.ID, &r.OrderID, &r.FanID, &r.ProductID, &r.SKUID, &r.Rating, &r.Text, &images, &r.Reply, &replied,
		&created, &updated); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(images), &r.Images); err != nil {
		return r, fmt.Errorf("images of review %s: %w", r.ID, err)
	}
	if r.Images == nil {
		r.Images = []string{}
	}
	r.RepliedAt = engine.ParseOptTime(replied)
	r.CreatedAt, r.UpdatedAt = engine.ParseTimeText(created), engine.ParseTimeText(updated)
	return r, nil
}

// bumpStats moves the product's rating by count and sum (rev + 1).
const bumpStats = `INSERT INTO review_stats (tenant_id, product_id, count, sum, rev) VALUES (?, ?, ?, ?, 1)
	ON CONFLICT (tenant_id, product_id) DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum, rev = rev + 1`

func (s *sqliteStore) Insert(ctx context.Context, tenantID string, r Review) error {
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO reviews (tenant_id, `+reviewColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.OrderID, r.FanID, r.ProductID, r.SKUID, r.Rating, r.Text, engine.JSONText(r.Images), r.Reply, "",
			engine.TimeText(r.CreatedAt), engine.TimeText(r.UpdatedAt)); err != nil {
			return err
		}
		for _, p := range []string{r.ProductID, allProducts} {
			if _, err := tx.Exec(ctx, bumpStats, p, 1, r.Rating); err != nil {
				return err
			}
		}
		return nil
	})
	if engine.IsUniqueViolation(err) {
		return errReviewed
	}
	return fault.Wrap(err, "insert review of order %s", r.OrderID)
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, id string) (Review, error) {
	r, err := scanReview(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+reviewColumns+` FROM reviews WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fault.NotFound("review")
	}
	return r, fault.Wrap(err, "get review %s", id)
}

func (s *sqliteStore) Update(ctx context.Context, tenantID, id, fanID string, createdAfter time.Time, old int, e Edit, at time.Time) (bool, error) {
	var ok bool
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		var productID string
		err := tx.QueryRow(ctx, `UPDATE reviews SET rating = ?, text = ?, images = ?, updated_at = ?
			WHERE tenant_id = ? AND id = ? AND fan_id = ? AND created_at > ? AND rating = ? RETURNING product_id`,
			e.Rating, e.Text, engine.JSONText(e.Images), engine.TimeText(at), id, fanID, engine.TimeText(createdAfter), old).Scan(&productID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		for _, p := range []string{productID, allProducts} {
			if _, err := tx.Exec(ctx, bumpStats, p, 0, e.Rating-old); err != nil {
				return err
			}
		}
		return nil
	})
	return ok, fault.Wrap(err, "update review %s", id)
}

func (s *sqliteStore) Reply(ctx context.Context, tenantID, id, text string, at time.Time) (bool, error) {
	var ok bool
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		var productID string
		err := tx.QueryRow(ctx, `UPDATE reviews SET reply = ?, replied_at = ? WHERE tenant_id = ? AND id = ? AND reply = ''
			RETURNING product_id`, text, engine.TimeText(at), id).Scan(&productID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		_, err = tx.Exec(ctx, bumpStats, productID, 0, 0)
		return err
	})
	return ok, fault.Wrap(err, "reply to review %s", id)
}

func (s *sqliteStore) List(ctx context.Context, tenantID, productID string, limit, offset int) ([]Review, error) {
	where, args := ``, []any{}
	if productID != "" {
		where, args = ` AND product_id = ?`, []any{productID}
	}
	list, err := engine.SQLAll(ctx, s.e, tenantID, scanReview, `SELECT `+reviewColumns+` FROM reviews WHERE tenant_id = ?`+where+
		` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	return list, fault.Wrap(err, "list reviews")
}

func (s *sqliteStore) OfOrder(ctx context.Context, tenantID, orderID string) ([]Review, error) {
	list, err := engine.SQLAll(ctx, s.e, tenantID, scanReview, `SELECT `+reviewColumns+` FROM reviews WHERE tenant_id = ? AND order_id = ?`, orderID)
	return list, fault.Wrap(err, "reviews of order %s", orderID)
}

func (s *sqliteStore) Stats(ctx context.Context, tenantID, productID string) (Stats, error) {
	st := Stats{ProductID: productID}
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT count, sum, rev FROM review_stats WHERE tenant_id = ? AND product_id = ?`, productID).
		Scan(&st.Count, &st.Sum, &st.Rev)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	return st, fault.Wrap(err, "rating of product %s", productID)
}

func (s *sqliteStore) Since(ctx context.Context, tenantID string, from time.Time) (int64, int64, error) {
	var n, sum int64
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT count(*), coalesce(sum(rating), 0) FROM reviews WHERE tenant_id = ? AND created_at >= ?`,
		engine.TimeText(from)).Scan(&n, &sum)
	return n, sum, fault.Wrap(err, "count reviews since %s", from.Format(time.DateOnly))
}

// Uncounted: none on SQLite, where a review and its rating are one write.
func (s *sqliteStore) Uncounted(context.Context, string, time.Time, int) ([]string, error) {
	return nil, nil
}

func (s *sqliteStore) Recount(ctx context.Context, tenantID, productID string) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO review_stats (tenant_id, product_id, count, sum, rev)
		SELECT tenant_id, product_id, count(*), sum(rating), 1 FROM reviews WHERE tenant_id = ? AND product_id = ? GROUP BY tenant_id, product_id
		ON CONFLICT (tenant_id, product_id) DO UPDATE SET count = excluded.count, sum = excluded.sum, rev = rev + 1`, productID)
	return fault.Wrap(err, "recount rating of product %s", productID)
}
