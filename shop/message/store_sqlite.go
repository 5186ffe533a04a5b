package message

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonDecode(s string, v any) error { return json.Unmarshal([]byte(s), v) }

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

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

const profileColumns = `fan_id, openid, subscribed, tags, guide_id, store_id, distributor_id, orders, last_active_at, points,
	streak, last_checkin_day, opted_out, mass_month, mass_count, created_at`

func scanProfile(scan func(...any) error) (Profile, error) {
	var p Profile
	var tags, active, created string
	err := scan(&p.FanID, &p.OpenID, &p.Subscribed, &tags, &p.GuideID, &p.StoreID, &p.DistributorID, &p.Orders, &active,
		&p.Points, &p.Streak, &p.LastCheckin, &p.OptedOut, &p.MassMonth, &p.MassCount, &created)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(tags), &p.Tags); err != nil {
		return p, fmt.Errorf("tags of fan %s: %w", p.FanID, err)
	}
	p.LastActive, p.CreatedAt = parseOrZero(active), parseOrZero(created)
	return p, nil
}

// ensure creates the fan's audience record if there is none.
func ensure(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (sql.Result, error)
}, fanID string) error {
	_, err := db.Exec(ctx, `INSERT OR IGNORE INTO audience (tenant_id, fan_id, created_at) VALUES (?, ?, ?)`,
		fanID, engine.TimeText(time.Now()))
	return err
}

func (s *sqliteStore) Profile(ctx context.Context, tenantID, fanID string) (Profile, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Profile{}, err
	}
	p, err := scanProfile(db.QueryRow(ctx, `SELECT `+profileColumns+` FROM audience WHERE tenant_id = ? AND fan_id = ?`, fanID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Profile{}, fault.NotFound("audience record")
	}
	return p, err
}

func (s *sqliteStore) Profiles(ctx context.Context, tenantID string, ids []string) (map[string]Profile, error) {
	out := map[string]Profile{}
	if len(ids) == 0 {
		return out, nil
	}
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := db.Query(ctx, `SELECT `+profileColumns+` FROM audience WHERE tenant_id = ? AND fan_id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanProfile(rows.Scan)
		if err != nil {
			return nil, err
		}
		out[p.FanID] = p
	}
	return out, rows.Err()
}

func (s *sqliteStore) Touch(ctx context.Context, tenantID, fanID string, at time.Time) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO audience (tenant_id, fan_id, last_active_at, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, fan_id) DO UPDATE SET last_active_at = max(last_active_at, excluded.last_active_at)`,
		fanID, engine.TimeText(at), engine.TimeText(at))
	return err
}

// update ensures the fan's record, then runs set (an UPDATE ... WHERE
// tenant_id = ? AND fan_id = ?) in one transaction.
func (s *sqliteStore) update(ctx context.Context, tenantID, fanID, set string, args ...any) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *engine.SQLTx) error {
		if err := ensure(ctx, tx, fanID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE audience SET `+set+` WHERE tenant_id = ? AND fan_id = ?`, append(args, fanID)...)
		return err
	})
}

func (s *sqliteStore) SetWeChat(ctx context.Context, tenantID, fanID, openID string, subscribed bool) error {
	return s.update(ctx, tenantID, fanID, `openid = ?, subscribed = ?`, openID, subscribed)
}

func (s *sqliteStore) SetPoints(ctx context.Context, tenantID, fanID string, points int64, streak int, lastCheckin string, active time.Time) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	// One upsert: a check-in's audience update is one statement.
	at := timeOrEmpty(active)
	_, err = db.Exec(ctx, `INSERT INTO audience (tenant_id, fan_id, points, streak, last_checkin_day, last_active_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, fan_id) DO UPDATE SET points = excluded.points, streak = excluded.streak,
		last_checkin_day = excluded.last_checkin_day, last_active_at = max(last_active_at, excluded.last_active_at)`,
		fanID, points, streak, lastCheckin, at, engine.TimeText(time.Now()))
	return err
}

func (s *sqliteStore) AddPurchase(ctx context.Context, tenantID, fanID, orderID string, at time.Time, guide, store, distributor string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *engine.SQLTx) error {
		if err := ensure(ctx, tx, fanID); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `INSERT OR IGNORE INTO audience_orders (tenant_id, fan_id, order_id, at) VALUES (?, ?, ?, ?)`,
			fanID, orderID, engine.TimeText(at))
		if err != nil {
			return err
		}
		// The count grows only with the order's row, in the same
		// transaction: a redelivered event changes nothing (and the count
		// is not recomputed over all of a fan's orders every time).
		added, err := res.RowsAffected()
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE audience SET orders = orders + ?, guide_id = coalesce(nullif(?, ''), guide_id), store_id = coalesce(nullif(?, ''), store_id),
			distributor_id = coalesce(nullif(?, ''), distributor_id), last_active_at = max(last_active_at, ?)
			WHERE tenant_id = ? AND fan_id = ?`, added, guide, store, distributor, engine.TimeText(at), fanID)
		return err
	})
}

func (s *sqliteStore) SetBinding(ctx context.Context, tenantID, fanID, guide, store, distributor string) error {
	return s.update(ctx, tenantID, fanID, `guide_id = ?, store_id = ?, distributor_id = ?`, guide, store, distributor)
}

func (s *sqliteStore) SetTags(ctx context.Context, tenantID, fanID string, tags []string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *engine.SQLTx) error {
		if err := ensure(ctx, tx, fanID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM audience_tags WHERE tenant_id = ? AND fan_id = ?`, fanID); err != nil {
			return err
		}
		for _, t := range tags {
			if _, err := tx.Exec(ctx, `INSERT OR IGNORE INTO audience_tags (tenant_id, fan_id, tag) VALUES (?, ?, ?)`, fanID, t); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE audience SET tags = ? WHERE tenant_id = ? AND fan_id = ?`, jsonText(tags), fanID)
		return err
	})
}

func (s *sqliteStore) SetOptOut(ctx context.Context, tenantID, fanID string, out bool) error {
	return s.update(ctx, tenantID, fanID, `opted_out = ?`, out)
}

func (s *sqliteStore) ReserveBroadcast(ctx context.Context, tenantID, fanID, month string) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, `UPDATE audience SET mass_count = CASE WHEN mass_month = ? THEN mass_count + 1 ELSE 1 END, mass_month = ?
		WHERE tenant_id = ? AND fan_id = ? AND (mass_month <> ? OR mass_count < ?)`, month, month, fanID, month, BroadcastsPerMonth)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) ReturnBroadcast(ctx context.Context, tenantID, fanID, month string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE audience SET mass_count = max(mass_count - 1, 0) WHERE tenant_id = ? AND fan_id = ? AND mass_month = ?`,
		fanID, month)
	return err
}

// ruleSQL is r as SQL conditions on audience (after "tenant_id = ?").
func ruleSQL(r Rule, today string, now time.Time) (string, []any) {
	var where []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+placeholders(len(vals))+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if len(r.Tags) > 0 {
		where = append(where, `EXISTS (SELECT 1 FROM audience_tags t WHERE t.tenant_id = audience.tenant_id AND t.fan_id = audience.fan_id
			AND t.tag IN (`+placeholders(len(r.Tags))+`))`)
		for _, t := range r.Tags {
			args = append(args, t)
		}
	}
	in("guide_id", r.GuideIDs)
	in("store_id", r.StoreIDs)
	in("distributor_id", r.DistributorIDs)
	switch r.Subscribed {
	case "yes":
		where = append(where, "subscribed = 1")
	case "no":
		where = append(where, "subscribed = 0")
	}
	if r.MinOrders != nil {
		where, args = append(where, "orders >= ?"), append(args, *r.MinOrders)
	}
	if r.MaxOrders != nil {
		where, args = append(where, "orders <= ?"), append(args, *r.MaxOrders)
	}
	if r.ActiveWithinDays > 0 {
		where, args = append(where, "last_active_at >= ?"), append(args, engine.TimeText(now.AddDate(0, 0, -r.ActiveWithinDays)))
	}
	if r.InactiveForDays > 0 {
		where, args = append(where, "last_active_at < ?"), append(args, engine.TimeText(now.AddDate(0, 0, -r.InactiveForDays)))
	}
	if r.MinPoints != nil {
		where, args = append(where, "points >= ?"), append(args, *r.MinPoints)
	}
	if r.MaxPoints != nil {
		where, args = append(where, "points <= ?"), append(args, *r.MaxPoints)
	}
	if r.MinStreak > 0 {
		where = append(where, "streak >= ?", "last_checkin_day >= ?")
		args = append(args, r.MinStreak, yesterday(today))
	}
	if len(where) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(where, " AND "), args
}

func (s *sqliteStore) Count(ctx context.Context, tenantID string, r Rule, today string, now time.Time) (int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return 0, err
	}
	cond, args := ruleSQL(r, today, now)
	var n int64
	err = db.QueryRow(ctx, `SELECT count(*) FROM audience WHERE tenant_id = ?`+cond, args...).Scan(&n)
	return n, err
}

func (s *sqliteStore) Select(ctx context.Context, tenantID string, r Rule, today string, now time.Time, after string, limit int) ([]Profile, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	cond, args := ruleSQL(r, today, now)
	rows, err := db.Query(ctx, `SELECT `+profileColumns+` FROM audience WHERE tenant_id = ? AND fan_id > ?`+cond+` ORDER BY fan_id LIMIT ?`,
		append(append([]any{after}, args...), limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Profile
	for rows.Next() {
		p, err := scanProfile(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *sqliteStore) CountActive(ctx context.Context, tenantID string, since time.Time) (int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.QueryRow(ctx, `SELECT count(*) FROM audience WHERE tenant_id = ? AND last_active_at >= ?`, engine.TimeText(since)).Scan(&n)
	return n, err
}

func (s *sqliteStore) InsertSegment(ctx context.Context, tenantID string, sg Segment) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO segments (tenant_id, id, name, rule, created_at) VALUES (?, ?, ?, ?, ?)`,
		sg.ID, sg.Name, jsonText(sg.Rule), engine.TimeText(sg.CreatedAt))
	return err
}

func scanSegment(scan func(...any) error) (Segment, error) {
	var sg Segment
	var rule, created string
	if err := scan(&sg.ID, &sg.Name, &rule, &created); err != nil {
		return sg, err
	}
	sg.CreatedAt = engine.ParseTimeText(created)
	return sg, json.Unmarshal([]byte(rule), &sg.Rule)
}

func (s *sqliteStore) Segment(ctx context.Context, tenantID, id string) (Segment, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Segment{}, err
	}
	sg, err := scanSegment(db.QueryRow(ctx, `SELECT id, name, rule, created_at FROM segments WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Segment{}, fault.NotFound("segment")
	}
	return sg, err
}

func (s *sqliteStore) Segments(ctx context.Context, tenantID string, limit int) ([]Segment, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT id, name, rule, created_at FROM segments WHERE tenant_id = ? ORDER BY created_at DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Segment{}
	for rows.Next() {
		sg, err := scanSegment(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, sg)
	}
	return out, rows.Err()
}

func (s *sqliteStore) DeleteSegment(ctx context.Context, tenantID, id string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	res, err := db.Exec(ctx, `DELETE FROM segments WHERE tenant_id = ? AND id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFound("segment")
	}
	return nil
}

func (s *sqliteStore) InsertCampaign(ctx context.Context, tenantID string, c Campaign) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO campaigns (tenant_id, id, doc, status, scheduled_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, jsonText(c), c.Status, engine.TimeText(c.ScheduledAt), engine.TimeText(c.CreatedAt))
	return err
}

const campaignColumns = `doc, status, cursor, materialized, recipients, started_at, finished_at`

func scanCampaign(scan func(...any) error) (Campaign, error) {
	var c Campaign
	var doc, status, cursor, started, finished string
	var materialized bool
	var recipients int64
	if err := scan(&doc, &status, &cursor, &materialized, &recipients, &started, &finished); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		return c, err
	}
	c.Status, c.Cursor, c.Materialized, c.Recipients = status, cursor, materialized, recipients
	c.StartedAt, c.FinishedAt = parseOrZero(started), parseOrZero(finished)
	return c, nil
}

func (s *sqliteStore) Campaign(ctx context.Context, tenantID, id string) (Campaign, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Campaign{}, err
	}
	c, err := scanCampaign(db.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Campaign{}, fault.NotFound("campaign")
	}
	return c, err
}

func (s *sqliteStore) campaigns(ctx context.Context, db *engine.SQLScope, q string, args ...any) ([]Campaign, error) {
	rows, err := db.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Campaign{}
	for rows.Next() {
		c, err := scanCampaign(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *sqliteStore) Campaigns(ctx context.Context, tenantID string, limit, offset int) ([]Campaign, int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, 0, err
	}
	var total int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM campaigns WHERE tenant_id = ?`).Scan(&total); err != nil {
		return nil, 0, err
	}
	list, err := s.campaigns(ctx, db, `tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, limit, offset)
	return list, total, err
}

func (s *sqliteStore) CampaignsIn(ctx context.Context, tenantID, status string, until time.Time, limit int) ([]Campaign, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return s.campaigns(ctx, db, `tenant_id = ? AND status = ? AND scheduled_at <= ? ORDER BY scheduled_at LIMIT ?`,
		status, engine.TimeText(until), limit)
}

func (s *sqliteStore) SetCampaignStatus(ctx context.Context, tenantID, id string, from []string, to string, at time.Time) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	col := "started_at"
	if to == CampaignDone || to == CampaignCancelled {
		col = "finished_at"
	}
	args := []any{to, engine.TimeText(at), id}
	for _, f := range from {
		args = append(args, f)
	}
	res, err := db.Exec(ctx, `UPDATE campaigns SET status = ?, `+col+` = ? WHERE tenant_id = ? AND id = ? AND status IN (`+
		placeholders(len(from))+`)`, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) Advance(ctx context.Context, tenantID, id, from, to string, added int64, done bool) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, `UPDATE campaigns SET cursor = ?, recipients = recipients + ?, materialized = ?
		WHERE tenant_id = ? AND id = ? AND cursor = ?`, to, added, done, id, from)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

const deliveryColumns = `id, campaign_id, fan_id, status, channel, reason, attempts, next_at, batch, claimed_at, notice, created_at, done_at`

func scanDelivery(scan func(...any) error) (Delivery, error) {
	var d Delivery
	var next, claimed, notice, created, done string
	if err := scan(&d.ID, &d.CampaignID, &d.FanID, &d.Status, &d.Channel, &d.Reason, &d.Attempts, &next, &d.Batch, &claimed,
		&notice, &created, &done); err != nil {
		return d, err
	}
	d.NextAt, d.ClaimedAt, d.CreatedAt, d.DoneAt = parseOrZero(next), parseOrZero(claimed), parseOrZero(created), parseOrZero(done)
	if notice != "" {
		d.Notice = &Notice{}
		if err := json.Unmarshal([]byte(notice), d.Notice); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (s *sqliteStore) InsertDeliveries(ctx context.Context, tenantID string, ds []Delivery) (int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return 0, err
	}
	var added int64
	err = db.Tx(ctx, func(tx *engine.SQLTx) error {
		added = 0
		for _, d := range ds {
			notice := ""
			if d.Notice != nil {
				notice = jsonText(d.Notice)
			}
			res, err := tx.Exec(ctx, `INSERT OR IGNORE INTO deliveries (tenant_id, id, campaign_id, fan_id, status, next_at, notice, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.CampaignID, d.FanID, d.Status, engine.TimeText(d.NextAt), notice,
				engine.TimeText(d.CreatedAt))
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			added += n
		}
		return nil
	})
	return added, err
}

func (s *sqliteStore) Delivery(ctx context.Context, tenantID, id string) (Delivery, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Delivery{}, err
	}
	d, err := scanDelivery(db.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE tenant_id = ? AND id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, fault.NotFound("delivery")
	}
	return d, err
}

func (s *sqliteStore) deliveries(ctx context.Context, tenantID, q string, args ...any) ([]Delivery, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return engine.QueryAll(ctx, db, scanDelivery, `SELECT `+deliveryColumns+` FROM deliveries WHERE `+q, args...)
}

func (s *sqliteStore) Queued(ctx context.Context, tenantID, campaignID string, now time.Time, limit int) ([]Delivery, error) {
	return s.deliveries(ctx, tenantID, `tenant_id = ? AND campaign_id = ? AND status = ? AND next_at <= ? ORDER BY id LIMIT ?`,
		campaignID, Queued, engine.TimeText(now), limit)
}

func (s *sqliteStore) exec(ctx context.Context, tenantID, q string, args ...any) (int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return 0, err
	}
	res, err := db.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s *sqliteStore) Claim(ctx context.Context, tenantID, id string, now time.Time) (bool, error) {
	n, err := s.exec(ctx, tenantID, `UPDATE deliveries SET status = ?, claimed_at = ?, attempts = attempts + 1
		WHERE tenant_id = ? AND id = ? AND status = ?`, Sending, engine.TimeText(now), id, Queued)
	return n == 1, err
}

func (s *sqliteStore) SetChannel(ctx context.Context, tenantID, id, channel, batch string) error {
	_, err := s.exec(ctx, tenantID, `UPDATE deliveries SET channel = ?, batch = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
		channel, batch, id, Sending)
	return err
}

func (s *sqliteStore) Finish(ctx context.Context, tenantID, id, status, channel, reason string, at time.Time) error {
	_, err := s.exec(ctx, tenantID, `UPDATE deliveries SET status = ?, channel = ?, reason = ?, done_at = ?
		WHERE tenant_id = ? AND id = ? AND status = ?`, status, channel, reason, engine.TimeText(at), id, Sending)
	return err
}

func (s *sqliteStore) Requeue(ctx context.Context, tenantID, id, reason string, next time.Time) error {
	_, err := s.exec(ctx, tenantID, `UPDATE deliveries SET status = ?, reason = ?, next_at = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
		Queued, reason, engine.TimeText(next), id, Sending)
	return err
}

func (s *sqliteStore) Stale(ctx context.Context, tenantID string, before time.Time, limit int) ([]Delivery, error) {
	return s.deliveries(ctx, tenantID, `tenant_id = ? AND status = ? AND claimed_at < ? ORDER BY claimed_at LIMIT ?`,
		Sending, engine.TimeText(before), limit)
}

func (s *sqliteStore) Batch(ctx context.Context, tenantID, campaignID, batch string) ([]Delivery, error) {
	return s.deliveries(ctx, tenantID, `tenant_id = ? AND campaign_id = ? AND batch = ? ORDER BY id`, campaignID, batch)
}

func (s *sqliteStore) CountDeliveries(ctx context.Context, tenantID, campaignID string) (map[string]int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return engine.CountBy[string](ctx, db, `SELECT status, count(*) FROM deliveries WHERE tenant_id = ? AND campaign_id = ? GROUP BY status`, campaignID)
}

func (s *sqliteStore) Deliveries(ctx context.Context, tenantID, campaignID, status, after string, limit int) ([]Delivery, error) {
	if status == "" {
		return s.deliveries(ctx, tenantID, `tenant_id = ? AND campaign_id = ? AND id > ? ORDER BY id LIMIT ?`, campaignID, after, limit)
	}
	return s.deliveries(ctx, tenantID, `tenant_id = ? AND campaign_id = ? AND status = ? AND id > ? ORDER BY id LIMIT ?`,
		campaignID, status, after, limit)
}

func (s *sqliteStore) AddToInbox(ctx context.Context, tenantID string, it InboxItem) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT OR IGNORE INTO inbox (tenant_id, id, fan_id, kind, title, body, url, image, channel, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, it.ID, it.FanID, it.Kind, it.Title, it.Body, it.URL, it.Image, it.Channel,
		engine.TimeText(it.CreatedAt))
	return err
}

func (s *sqliteStore) Inbox(ctx context.Context, tenantID, fanID string, before time.Time, limit int) ([]InboxItem, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	if before.IsZero() {
		before = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rows, err := db.Query(ctx, `SELECT id, fan_id, kind, title, body, url, image, channel, created_at FROM inbox
		WHERE tenant_id = ? AND fan_id = ? AND created_at < ? ORDER BY created_at DESC LIMIT ?`, fanID, engine.TimeText(before), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []InboxItem{}
	for rows.Next() {
		var it InboxItem
		var created string
		if err := rows.Scan(&it.ID, &it.FanID, &it.Kind, &it.Title, &it.Body, &it.URL, &it.Image, &it.Channel, &created); err != nil {
			return nil, err
		}
		it.CreatedAt = engine.ParseTimeText(created)
		out = append(out, it)
	}
	return out, rows.Err()
}

func (s *sqliteStore) doc(ctx context.Context, tenantID, name string, v any) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	var doc string
	err = db.QueryRow(ctx, `SELECT doc FROM message_settings WHERE tenant_id = ? AND name = ?`, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal([]byte(doc), v)
}

func (s *sqliteStore) saveDoc(ctx context.Context, tenantID, name string, v any) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO message_settings (tenant_id, name, doc) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id, name) DO UPDATE SET doc = excluded.doc`, name, jsonText(v))
	return err
}

func (s *sqliteStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	st := DefaultSettings()
	_, err := s.doc(ctx, tenantID, "settings", &st)
	if st.Templates == nil {
		st.Templates = map[string]string{}
	}
	return st, err
}

func (s *sqliteStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	return s.saveDoc(ctx, tenantID, "settings", st)
}

func (s *sqliteStore) SyncedAt(ctx context.Context, tenantID string) (time.Time, error) {
	var at time.Time
	_, err := s.doc(ctx, tenantID, "synced", &at)
	return at, err
}

func (s *sqliteStore) SetSyncedAt(ctx context.Context, tenantID string, at time.Time) error {
	return s.saveDoc(ctx, tenantID, "synced", at)
}

// yesterday is the day before a 2006-01-02 day.
func yesterday(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, -1).Format(time.DateOnly)
}
