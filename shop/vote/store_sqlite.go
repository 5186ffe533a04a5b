package vote

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// sqliteStore keeps the votes in the shop's SQLite file; a vote, the fan's
// ballots and the product's counters are written in one transaction.
type sqliteStore struct{ db sqlDB }

// errListed is a product put in a round twice.
var errListed = fault.New(409, "already_listed", "the product is in this round already")

const roundColumns = `id, starts_at, ends_at, at_once, created_at`

func scanRound(scan func(...any) error) (Round, error) {
	var r Round
	var starts, ends, created string
	err := scan(&r.ID, &starts, &ends, &r.AtOnce, &created)
	r.StartsAt, r.EndsAt, r.CreatedAt = engine.ParseTimeText(starts), engine.ParseTimeText(ends), engine.ParseTimeText(created)
	return r, err
}

func (s *sqliteStore) InsertRound(ctx context.Context, tenantID string, r Round) error {
	_, err := s.db.exec(ctx, tenantID, `INSERT INTO vote_rounds (tenant_id, `+roundColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, engine.TimeText(r.StartsAt), engine.TimeText(r.EndsAt), r.AtOnce, engine.TimeText(r.CreatedAt))
	return fault.Wrap(err, "insert vote round")
}

func (s *sqliteStore) Round(ctx context.Context, tenantID, id string) (Round, error) {
	r, err := scanRound(s.db.queryRow(ctx, tenantID, `SELECT `+roundColumns+` FROM vote_rounds WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fault.NotFound("vote round")
	}
	return r, fault.Wrap(err, "get vote round %s", id)
}

func (s *sqliteStore) Rounds(ctx context.Context, tenantID string, limit int) ([]Round, error) {
	list, err := sqlAll(ctx, s.db, tenantID, scanRound, `SELECT `+roundColumns+` FROM vote_rounds WHERE tenant_id = ?
		ORDER BY starts_at DESC, id DESC LIMIT ?`, limit)
	return list, fault.Wrap(err, "list vote rounds")
}

func (s *sqliteStore) ExtendRound(ctx context.Context, tenantID, id string, old, end time.Time) (bool, error) {
	ok, err := engine.Changed(s.db.exec(ctx, tenantID, `UPDATE vote_rounds SET ends_at = ? WHERE tenant_id = ? AND id = ? AND ends_at = ?`,
		engine.TimeText(end), id, engine.TimeText(old)))
	return ok, fault.Wrap(err, "extend vote round %s", id)
}

const itemColumns = `round_id, product_id, title, image, price, expected_price, target_votes, votes, added_at, state, shop_id, note`

func scanItem(scan func(...any) error) (Item, error) {
	var it Item
	var added string
	err := scan(&it.RoundID, &it.ProductID, &it.Title, &it.Image, &it.Price, &it.ExpectedPrice, &it.TargetVotes, &it.Votes, &added,
		&it.State, &it.ShopID, &it.Note)
	it.AddedAt = engine.ParseTimeText(added)
	it.State = it.state()
	return it, err
}

func (s *sqliteStore) AddItem(ctx context.Context, tenantID string, it Item) error {
	_, err := s.db.exec(ctx, tenantID, `INSERT INTO vote_items (tenant_id, `+itemColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		it.RoundID, it.ProductID, it.Title, it.Image, it.Price, it.ExpectedPrice, it.TargetVotes, 0, engine.TimeText(it.AddedAt),
		it.state(), it.ShopID, it.Note)
	if engine.IsUniqueViolation(err) {
		return errListed
	}
	return fault.Wrap(err, "add product %s to vote round %s", it.ProductID, it.RoundID)
}

func (s *sqliteStore) Item(ctx context.Context, tenantID, roundID, productID string) (Item, error) {
	it, err := scanItem(s.db.queryRow(ctx, tenantID, `SELECT `+itemColumns+` FROM vote_items
		WHERE tenant_id = ? AND round_id = ? AND product_id = ?`, roundID, productID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return it, fault.NotFound("product")
	}
	return it, fault.Wrap(err, "get product %s of vote round %s", productID, roundID)
}

func (s *sqliteStore) Items(ctx context.Context, tenantID, roundID string) ([]Item, error) {
	list, err := sqlAll(ctx, s.db, tenantID, scanItem, `SELECT `+itemColumns+` FROM vote_items
		WHERE tenant_id = ? AND round_id = ? ORDER BY added_at, product_id`, roundID)
	return list, fault.Wrap(err, "list products of vote round %s", roundID)
}

func (s *sqliteStore) SetItemState(ctx context.Context, tenantID, roundID, productID, from, to, note string) (bool, error) {
	ok, err := engine.Changed(s.db.exec(ctx, tenantID, `UPDATE vote_items SET state = ?, note = ?
		WHERE tenant_id = ? AND round_id = ? AND product_id = ? AND state = ?`, to, note, roundID, productID, from))
	return ok, fault.Wrap(err, "set the state of product %s in vote round %s", productID, roundID)
}

func (s *sqliteStore) Cast(ctx context.Context, tenantID string, v Vote, earned int64) (Account, error) {
	var a Account
	err := s.db.tx(ctx, tenantID, func(tx sqlTx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO vote_votes (tenant_id, round_id, product_id, fan_id, day, at, addr, fresh)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, v.RoundID, v.ProductID, v.FanID, v.Day, engine.TimeText(v.At), v.Addr, v.Fresh); err != nil {
			if engine.IsUniqueViolation(err) {
				return errVoted
			}
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO vote_fans (tenant_id, fan_id) VALUES (?, ?) ON CONFLICT (tenant_id, fan_id) DO NOTHING`,
			v.FanID); err != nil {
			return err
		}
		ok, err := engine.Changed(tx.Exec(ctx, `UPDATE vote_fans SET used = used + 1,
			day_count = CASE WHEN day = ? THEN day_count + 1 ELSE 1 END, day = ?
			WHERE tenant_id = ? AND fan_id = ? AND used < ? AND (day <> ? OR day_count < ?)`,
			v.Day, v.Day, v.FanID, earned, v.Day, DailyVotes))
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT used, day, day_count FROM vote_fans WHERE tenant_id = ? AND fan_id = ?`, v.FanID).
			Scan(&a.Used, &a.Day, &a.DayCount); err != nil {
			return err
		}
		if !ok {
			if a.Used >= earned {
				return errNoBallots
			}
			return errDaily
		}
		if _, err := tx.Exec(ctx, `UPDATE vote_items SET votes = votes + 1 WHERE tenant_id = ? AND round_id = ? AND product_id = ?`,
			v.RoundID, v.ProductID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO vote_hours (tenant_id, round_id, product_id, hour, votes) VALUES (?, ?, ?, ?, 1)
			ON CONFLICT (tenant_id, round_id, product_id, hour) DO UPDATE SET votes = votes + 1`,
			v.RoundID, v.ProductID, engine.TimeText(v.hour()))
		return err
	})
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return a, err
		}
		return a, fault.Wrap(err, "cast vote of fan %s", v.FanID)
	}
	a.Voted, err = s.voted(ctx, tenantID, v.FanID, v.RoundID)
	return a, err
}

func (s *sqliteStore) voted(ctx context.Context, tenantID, fanID, roundID string) ([]string, error) {
	list, err := sqlAll(ctx, s.db, tenantID, func(scan func(...any) error) (string, error) {
		var id string
		return id, scan(&id)
	}, `SELECT product_id FROM vote_votes WHERE tenant_id = ? AND fan_id = ? AND round_id = ?`, fanID, roundID)
	return list, fault.Wrap(err, "votes of fan %s", fanID)
}

func (s *sqliteStore) Account(ctx context.Context, tenantID, fanID, roundID string) (Account, error) {
	var a Account
	err := s.db.queryRow(ctx, tenantID, `SELECT used, day, day_count FROM vote_fans WHERE tenant_id = ? AND fan_id = ?`, fanID).
		Scan(&a.Used, &a.Day, &a.DayCount)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return a, fault.Wrap(err, "ballots of fan %s", fanID)
	}
	if roundID == "" {
		return a, nil
	}
	a.Voted, err = s.voted(ctx, tenantID, fanID, roundID)
	return a, err
}

func (s *sqliteStore) Hours(ctx context.Context, tenantID, roundID string) (map[string][]Point, error) {
	type row struct {
		product string
		p       Point
	}
	rows, err := sqlAll(ctx, s.db, tenantID, func(scan func(...any) error) (row, error) {
		var r row
		var hour string
		err := scan(&r.product, &hour, &r.p.Votes)
		r.p.At = engine.ParseTimeText(hour)
		return r, err
	}, `SELECT product_id, hour, votes FROM vote_hours WHERE tenant_id = ? AND round_id = ? ORDER BY hour`, roundID)
	if err != nil {
		return nil, fault.Wrap(err, "votes per hour of vote round %s", roundID)
	}
	out := map[string][]Point{}
	for _, r := range rows {
		out[r.product] = append(out[r.product], r.p)
	}
	return out, nil
}

func (s *sqliteStore) Voters(ctx context.Context, tenantID, roundID, productID, after string, limit int) ([]string, error) {
	list, err := sqlAll(ctx, s.db, tenantID, func(scan func(...any) error) (string, error) {
		var id string
		return id, scan(&id)
	}, `SELECT fan_id FROM vote_votes WHERE tenant_id = ? AND round_id = ? AND product_id = ? AND fan_id > ?
		ORDER BY fan_id LIMIT ?`, roundID, productID, after, limit)
	return list, fault.Wrap(err, "voters of product %s", productID)
}

func (s *sqliteStore) RoundVotes(ctx context.Context, tenantID, roundID string, limit int) ([]Vote, error) {
	list, err := sqlAll(ctx, s.db, tenantID, func(scan func(...any) error) (Vote, error) {
		var v Vote
		var at string
		err := scan(&v.RoundID, &v.ProductID, &v.FanID, &v.Day, &at, &v.Addr, &v.Fresh)
		v.At = engine.ParseTimeText(at)
		return v, err
	}, `SELECT round_id, product_id, fan_id, day, at, addr, fresh FROM vote_votes WHERE tenant_id = ? AND round_id = ? LIMIT ?`,
		roundID, limit)
	return list, fault.Wrap(err, "votes of vote round %s", roundID)
}

// RepairVotes has nothing to do on SQLite: a vote's ballot, record and
// counters are written in one transaction.
func (s *sqliteStore) RepairVotes(context.Context, string, time.Time) (int, error) { return 0, nil }
