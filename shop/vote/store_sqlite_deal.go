package vote

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// The group deals and their claims in the shop's SQLite file: a claim and
// the deal's sold count move in one transaction.

func (s *sqliteStore) Voted(ctx context.Context, tenantID, roundID, productID, fanID string) (bool, error) {
	var one int
	err := s.db.queryRow(ctx, tenantID, `SELECT 1 FROM vote_votes WHERE tenant_id = ? AND round_id = ? AND product_id = ? AND fan_id = ?`,
		roundID, productID, fanID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, fault.Wrap(err, "vote of fan %s", fanID)
}

const dealColumns = `id, round_id, product_id, title, price, regular_price, quantity, sold, votes, starts_at, public_at, ends_at,
	created_at, notified, notified_after`

func scanDeal(scan func(...any) error) (Deal, error) {
	var d Deal
	var starts, public, ends, created string
	err := scan(&d.ID, &d.RoundID, &d.ProductID, &d.Title, &d.Price, &d.RegularPrice, &d.Quantity, &d.Sold, &d.Votes,
		&starts, &public, &ends, &created, &d.Notified, &d.NotifiedAfter)
	d.StartsAt, d.PublicAt, d.EndsAt = engine.ParseTimeText(starts), engine.ParseTimeText(public), engine.ParseTimeText(ends)
	d.CreatedAt = engine.ParseTimeText(created)
	return d, err
}

func (s *sqliteStore) InsertDeal(ctx context.Context, tenantID string, d Deal) error {
	_, err := s.db.exec(ctx, tenantID, `INSERT INTO vote_deals (tenant_id, `+dealColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.RoundID, d.ProductID, d.Title, d.Price, d.RegularPrice, d.Quantity, 0, d.Votes, engine.TimeText(d.StartsAt),
		engine.TimeText(d.PublicAt), engine.TimeText(d.EndsAt), engine.TimeText(d.CreatedAt), false, "")
	if engine.IsUniqueViolation(err) {
		return errDealExists
	}
	return fault.Wrap(err, "insert group deal")
}

func (s *sqliteStore) Deal(ctx context.Context, tenantID, id string) (Deal, error) {
	d, err := scanDeal(s.db.queryRow(ctx, tenantID, `SELECT `+dealColumns+` FROM vote_deals WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fault.NotFound("group deal")
	}
	return d, fault.Wrap(err, "get group deal %s", id)
}

func (s *sqliteStore) Deals(ctx context.Context, tenantID string, limit int) ([]Deal, error) {
	list, err := sqlAll(ctx, s.db, tenantID, scanDeal, `SELECT `+dealColumns+` FROM vote_deals WHERE tenant_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
	return list, fault.Wrap(err, "list group deals")
}

func (s *sqliteStore) ProductDeals(ctx context.Context, tenantID, productID string, now time.Time) ([]Deal, error) {
	list, err := sqlAll(ctx, s.db, tenantID, scanDeal, `SELECT `+dealColumns+` FROM vote_deals
		WHERE tenant_id = ? AND product_id = ? AND ends_at > ? ORDER BY ends_at`, productID, engine.TimeText(now))
	return list, fault.Wrap(err, "group deals of product %s", productID)
}

func (s *sqliteStore) Claim(ctx context.Context, tenantID string, d Deal, orderID string, qty int64) error {
	err := s.db.tx(ctx, tenantID, func(tx sqlTx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO vote_claims (tenant_id, order_id, deal_id, qty) VALUES (?, ?, ?, ?)`,
			orderID, d.ID, qty); err != nil {
			if engine.IsUniqueViolation(err) {
				return errReplay
			}
			return err
		}
		ok, err := engine.Changed(tx.Exec(ctx, `UPDATE vote_deals SET sold = sold + ? WHERE tenant_id = ? AND id = ? AND sold + ? <= quantity`,
			qty, d.ID, qty))
		if err == nil && !ok {
			return errSoldOut
		}
		return err
	})
	if errors.Is(err, errReplay) {
		return nil
	}
	if errors.Is(err, errSoldOut) {
		return err
	}
	return fault.Wrap(err, "claim group deal %s for order %s", d.ID, orderID)
}

// errReplay ends a transaction that found its work done.
var errReplay = errors.New("done before")

func (s *sqliteStore) Release(ctx context.Context, tenantID, orderID string) (bool, error) {
	type claim struct {
		deal string
		qty  int64
	}
	claims, err := sqlAll(ctx, s.db, tenantID, func(scan func(...any) error) (claim, error) {
		var c claim
		return c, scan(&c.deal, &c.qty)
	}, `SELECT deal_id, qty FROM vote_claims WHERE tenant_id = ? AND order_id = ? AND released = 0`, orderID)
	if err != nil {
		return false, fault.Wrap(err, "group deals of order %s", orderID)
	}
	released := false
	for _, c := range claims {
		err := s.db.tx(ctx, tenantID, func(tx sqlTx) error {
			ok, err := engine.Changed(tx.Exec(ctx, `UPDATE vote_claims SET released = 1
				WHERE tenant_id = ? AND order_id = ? AND deal_id = ? AND released = 0`, orderID, c.deal))
			if err != nil || !ok { // !ok: released meanwhile
				return err
			}
			released = true
			_, err = tx.Exec(ctx, `UPDATE vote_deals SET sold = sold - ? WHERE tenant_id = ? AND id = ?`, c.qty, c.deal)
			return err
		})
		if err != nil {
			return released, fault.Wrap(err, "release group deal %s of order %s", c.deal, orderID)
		}
	}
	return released, nil
}

func (s *sqliteStore) ToNotify(ctx context.Context, tenantID string, now time.Time, limit int) ([]Deal, error) {
	list, err := sqlAll(ctx, s.db, tenantID, scanDeal, `SELECT `+dealColumns+` FROM vote_deals
		WHERE tenant_id = ? AND notified = 0 AND starts_at <= ? ORDER BY starts_at LIMIT ?`, engine.TimeText(now), limit)
	return list, fault.Wrap(err, "group deals to notify")
}

func (s *sqliteStore) AdvanceNotify(ctx context.Context, tenantID, id, from, to string, done bool) (bool, error) {
	ok, err := engine.Changed(s.db.exec(ctx, tenantID, `UPDATE vote_deals SET notified_after = ?, notified = ?
		WHERE tenant_id = ? AND id = ? AND notified = 0 AND notified_after = ?`, to, done, id, from))
	return ok, fault.Wrap(err, "move the notices of group deal %s", id)
}
