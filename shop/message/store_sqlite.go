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

// sqliteStore is the Store on SQLite: audience records, segments and
// campaigns, deliveries and inboxes, in that order.
type sqliteStore struct{ docStore }

// table reads one domain type from its SQLite table: its key column, the
// columns scan reads, and what a missing row is.
type table[T any] struct {
	name, key, columns, what string
	scan                     func(func(...any) error) (T, error)
}

// get reads the row with the key; none is what is not found.
func (t table[T]) get(ctx context.Context, e *engine.Engine, tenantID, key string) (T, error) {
	v, err := t.scan(e.SQLQueryRow(ctx, tenantID, `SELECT `+t.columns+` FROM `+t.name+` WHERE tenant_id = ? AND `+t.key+` = ?`, key).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, fault.NotFound(t.what)
	}
	return v, err
}

// list reads the shop's rows, rest following "WHERE tenant_id = ?".
func (t table[T]) list(ctx context.Context, e *engine.Engine, tenantID, rest string, args ...any) ([]T, error) {
	return engine.SQLAll(ctx, e, tenantID, t.scan, `SELECT `+t.columns+` FROM `+t.name+` WHERE tenant_id = ? `+rest, args...)
}

var sqlProfiles = table[Profile]{name: "audience", key: "fan_id", what: "audience record", scan: scanProfile,
	columns: `fan_id, openid, subscribed, tags, guide_id, store_id, distributor_id, orders, last_active_at, points,
	streak, last_checkin_day, opted_out, mass_month, mass_count, created_at`}

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
	p.LastActive, p.CreatedAt = engine.ParseOptTimeText(active), engine.ParseOptTimeText(created)
	return p, nil
}

// ensure creates the fan's audience record if there is none.
func ensure(ctx context.Context, tx *engine.SQLTx, fanID string) error {
	_, err := tx.Exec(ctx, `INSERT OR IGNORE INTO audience (tenant_id, fan_id, created_at) VALUES (?, ?, ?)`,
		fanID, engine.TimeText(time.Now()))
	return err
}

func (s *sqliteStore) Profile(ctx context.Context, tenantID, fanID string) (Profile, error) {
	return sqlProfiles.get(ctx, s.e, tenantID, fanID)
}

func (s *sqliteStore) Profiles(ctx context.Context, tenantID string, ids []string) (map[string]Profile, error) {
	out := map[string]Profile{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := sqlProfiles.list(ctx, s.e, tenantID, `AND fan_id IN (`+engine.Placeholders(len(ids))+`)`, engine.Strings(ids)...)
	for _, p := range list {
		out[p.FanID] = p
	}
	return out, err
}

func (s *sqliteStore) Touch(ctx context.Context, tenantID, fanID string, at time.Time) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO audience (tenant_id, fan_id, last_active_at, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, fan_id) DO UPDATE SET last_active_at = max(last_active_at, excluded.last_active_at)`,
		fanID, engine.TimeText(at), engine.TimeText(at))
	return err
}

// update ensures the fan's record, then runs set (an UPDATE ... WHERE
// tenant_id = ? AND fan_id = ?) in one transaction.
func (s *sqliteStore) update(ctx context.Context, tenantID, fanID, set string, args ...any) error {
	return s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
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
	// One upsert: a check-in's audience update is one statement.
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO audience (tenant_id, fan_id, points, streak, last_checkin_day, last_active_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, fan_id) DO UPDATE SET points = excluded.points, streak = excluded.streak,
		last_checkin_day = excluded.last_checkin_day, last_active_at = max(last_active_at, excluded.last_active_at)`,
		fanID, points, streak, lastCheckin, engine.OptTimeText(active), engine.TimeText(time.Now()))
	return err
}

func (s *sqliteStore) AddPurchase(ctx context.Context, tenantID, fanID, orderID string, at time.Time, guide, store, distributor string) error {
	return s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
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
	return s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
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
		_, err := tx.Exec(ctx, `UPDATE audience SET tags = ? WHERE tenant_id = ? AND fan_id = ?`, engine.JSONText(tags), fanID)
		return err
	})
}

func (s *sqliteStore) SetOptOut(ctx context.Context, tenantID, fanID string, out bool) error {
	return s.update(ctx, tenantID, fanID, `opted_out = ?`, out)
}

func (s *sqliteStore) ReserveBroadcast(ctx context.Context, tenantID, fanID, month string) (bool, error) {
	return engine.Changed(s.e.SQLExec(ctx, tenantID, `UPDATE audience SET mass_count = CASE WHEN mass_month = ? THEN mass_count + 1 ELSE 1 END, mass_month = ?
		WHERE tenant_id = ? AND fan_id = ? AND (mass_month <> ? OR mass_count < ?)`, month, month, fanID, month, BroadcastsPerMonth))
}

func (s *sqliteStore) ReturnBroadcast(ctx context.Context, tenantID, fanID, month string) error {
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE audience SET mass_count = max(mass_count - 1, 0) WHERE tenant_id = ? AND fan_id = ? AND mass_month = ?`,
		fanID, month)
	return err
}

// ruleSQL is r as SQL conditions on audience (after "tenant_id = ?").
func ruleSQL(r Rule, today string, now time.Time) (string, []any) {
	var where []string
	var args []any
	cond := func(c string, vs ...any) {
		where, args = append(where, c), append(args, vs...)
	}
	if len(r.Tags) > 0 {
		cond(`EXISTS (SELECT 1 FROM audience_tags t WHERE t.tenant_id = audience.tenant_id AND t.fan_id = audience.fan_id
			AND t.tag IN (`+engine.Placeholders(len(r.Tags))+`))`, engine.Strings(r.Tags)...)
	}
	for _, b := range r.bindings() {
		if len(b.ids) > 0 {
			cond(b.what+"_id IN ("+engine.Placeholders(len(b.ids))+")", engine.Strings(b.ids)...)
		}
	}
	switch r.Subscribed {
	case "yes":
		cond("subscribed = 1")
	case "no":
		cond("subscribed = 0")
	}
	for _, b := range []struct {
		c string
		v *int64
	}{{"orders >= ?", r.MinOrders}, {"orders <= ?", r.MaxOrders}, {"points >= ?", r.MinPoints}, {"points <= ?", r.MaxPoints}} {
		if b.v != nil {
			cond(b.c, *b.v)
		}
	}
	if r.ActiveWithinDays > 0 {
		cond("last_active_at >= ?", engine.TimeText(now.AddDate(0, 0, -r.ActiveWithinDays)))
	}
	if r.InactiveForDays > 0 {
		cond("last_active_at < ?", engine.TimeText(now.AddDate(0, 0, -r.InactiveForDays)))
	}
	if r.MinStreak > 0 {
		cond("streak >= ? AND last_checkin_day >= ?", r.MinStreak, yesterday(today))
	}
	if len(where) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(where, " AND "), args
}

func (s *sqliteStore) Count(ctx context.Context, tenantID string, r Rule, today string, now time.Time) (int64, error) {
	cond, args := ruleSQL(r, today, now)
	var n int64
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT count(*) FROM audience WHERE tenant_id = ?`+cond, args...).Scan(&n)
	return n, err
}

func (s *sqliteStore) Select(ctx context.Context, tenantID string, r Rule, today string, now time.Time, after string, limit int) ([]Profile, error) {
	cond, args := ruleSQL(r, today, now)
	return sqlProfiles.list(ctx, s.e, tenantID, `AND fan_id > ?`+cond+` ORDER BY fan_id LIMIT ?`, append(append([]any{after}, args...), limit)...)
}

func (s *sqliteStore) CountActive(ctx context.Context, tenantID string, since time.Time) (int64, error) {
	var n int64
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT count(*) FROM audience WHERE tenant_id = ? AND last_active_at >= ?`, engine.TimeText(since)).Scan(&n)
	return n, err
}

// Segments and campaigns.

func (s *sqliteStore) InsertSegment(ctx context.Context, tenantID string, sg Segment) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO segments (tenant_id, id, name, rule, created_at) VALUES (?, ?, ?, ?, ?)`,
		sg.ID, sg.Name, engine.JSONText(sg.Rule), engine.TimeText(sg.CreatedAt))
	return err
}

var sqlSegments = table[Segment]{name: "segments", key: "id", columns: `id, name, rule, created_at`, what: "segment", scan: scanSegment}

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
	return sqlSegments.get(ctx, s.e, tenantID, id)
}

func (s *sqliteStore) Segments(ctx context.Context, tenantID string, limit int) ([]Segment, error) {
	return sqlSegments.list(ctx, s.e, tenantID, `ORDER BY created_at DESC LIMIT ?`, limit)
}

func (s *sqliteStore) DeleteSegment(ctx context.Context, tenantID, id string) error {
	res, err := s.e.SQLExec(ctx, tenantID, `DELETE FROM segments WHERE tenant_id = ? AND id = ?`, id)
	return engine.One(res, err, fault.NotFound("segment"))
}

func (s *sqliteStore) InsertCampaign(ctx context.Context, tenantID string, c Campaign) error {
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO campaigns (tenant_id, id, doc, status, scheduled_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, engine.JSONText(c), c.Status, engine.TimeText(c.ScheduledAt), engine.TimeText(c.CreatedAt))
	return err
}

// campaigns reads the campaign's JSON document and the columns the
// dispatcher changes.
var sqlCampaigns = table[Campaign]{name: "campaigns", key: "id", columns: `doc, status, cursor, materialized, recipients, started_at, finished_at`,
	what: "campaign", scan: scanCampaign}

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
	c.StartedAt, c.FinishedAt = engine.ParseOptTimeText(started), engine.ParseOptTimeText(finished)
	return c, nil
}

func (s *sqliteStore) Campaign(ctx context.Context, tenantID, id string) (Campaign, error) {
	return sqlCampaigns.get(ctx, s.e, tenantID, id)
}

func (s *sqliteStore) Campaigns(ctx context.Context, tenantID string, limit, offset int) ([]Campaign, int64, error) {
	var total int64
	if err := s.e.SQLQueryRow(ctx, tenantID, `SELECT count(*) FROM (SELECT 1 FROM campaigns WHERE tenant_id = ? LIMIT ?)`,
		MaxCampaignsCounted).Scan(&total); err != nil {
		return nil, 0, err
	}
	list, err := sqlCampaigns.list(ctx, s.e, tenantID, `ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, limit, offset)
	return list, total, err
}

func (s *sqliteStore) CampaignsIn(ctx context.Context, tenantID, status string, until time.Time, limit int) ([]Campaign, error) {
	return sqlCampaigns.list(ctx, s.e, tenantID, `AND status = ? AND scheduled_at <= ? ORDER BY scheduled_at LIMIT ?`,
		status, engine.TimeText(until), limit)
}

func (s *sqliteStore) SetCampaignStatus(ctx context.Context, tenantID, id string, from []string, to string, at time.Time) (bool, error) {
	col := "started_at"
	if to == CampaignDone || to == CampaignCancelled {
		col = "finished_at"
	}
	return engine.Changed(s.e.SQLExec(ctx, tenantID, `UPDATE campaigns SET status = ?, `+col+` = ? WHERE tenant_id = ? AND id = ? AND status IN (`+
		engine.Placeholders(len(from))+`)`, append([]any{to, engine.TimeText(at), id}, engine.Strings(from)...)...))
}

func (s *sqliteStore) Advance(ctx context.Context, tenantID, id, from, to string, added int64, done bool) (bool, error) {
	return engine.Changed(s.e.SQLExec(ctx, tenantID, `UPDATE campaigns SET cursor = ?, recipients = recipients + ?, materialized = ?
		WHERE tenant_id = ? AND id = ? AND cursor = ?`, to, added, done, id, from))
}

// Deliveries and inboxes.

var sqlDeliveries = table[Delivery]{name: "deliveries", key: "id", what: "delivery", scan: scanDelivery,
	columns: `id, campaign_id, fan_id, status, channel, reason, attempts, next_at, batch, claimed_at, notice, created_at, done_at`}

func scanDelivery(scan func(...any) error) (Delivery, error) {
	var d Delivery
	var next, claimed, notice, created, done string
	if err := scan(&d.ID, &d.CampaignID, &d.FanID, &d.Status, &d.Channel, &d.Reason, &d.Attempts, &next, &d.Batch, &claimed,
		&notice, &created, &done); err != nil {
		return d, err
	}
	d.NextAt, d.ClaimedAt = engine.ParseOptTimeText(next), engine.ParseOptTimeText(claimed)
	d.CreatedAt, d.DoneAt = engine.ParseOptTimeText(created), engine.ParseOptTimeText(done)
	if notice != "" {
		d.Notice = &Notice{}
		if err := json.Unmarshal([]byte(notice), d.Notice); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (s *sqliteStore) InsertDeliveries(ctx context.Context, tenantID string, ds []Delivery) (int64, error) {
	var added int64
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		added = 0
		for _, d := range ds {
			notice := ""
			if d.Notice != nil {
				notice = engine.JSONText(d.Notice)
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
	return sqlDeliveries.get(ctx, s.e, tenantID, id)
}

func (s *sqliteStore) Queued(ctx context.Context, tenantID, campaignID string, now time.Time, limit int) ([]Delivery, error) {
	return sqlDeliveries.list(ctx, s.e, tenantID, `AND campaign_id = ? AND status = ? AND next_at <= ? ORDER BY id LIMIT ?`,
		campaignID, Queued, engine.TimeText(now), limit)
}

func (s *sqliteStore) Claim(ctx context.Context, tenantID, id string, now time.Time) (bool, error) {
	return engine.Changed(s.e.SQLExec(ctx, tenantID, `UPDATE deliveries SET status = ?, claimed_at = ?, attempts = attempts + 1
		WHERE tenant_id = ? AND id = ? AND status = ?`, Sending, engine.TimeText(now), id, Queued))
}

// sending changes a delivery being sent (nothing when it is not).
func (s *sqliteStore) sending(ctx context.Context, tenantID, id, set string, args ...any) error {
	_, err := s.e.SQLExec(ctx, tenantID, `UPDATE deliveries SET `+set+` WHERE tenant_id = ? AND id = ? AND status = ?`,
		append(args, id, Sending)...)
	return err
}

func (s *sqliteStore) SetChannel(ctx context.Context, tenantID, id, channel, batch string) error {
	return s.sending(ctx, tenantID, id, `channel = ?, batch = ?`, channel, batch)
}

func (s *sqliteStore) Finish(ctx context.Context, tenantID, id, status, channel, reason string, at time.Time) error {
	return s.sending(ctx, tenantID, id, `status = ?, channel = ?, reason = ?, done_at = ?`, status, channel, reason, engine.TimeText(at))
}

func (s *sqliteStore) Requeue(ctx context.Context, tenantID, id, reason string, next time.Time) error {
	return s.sending(ctx, tenantID, id, `status = ?, reason = ?, next_at = ?`, Queued, reason, engine.TimeText(next))
}

func (s *sqliteStore) Stale(ctx context.Context, tenantID string, before time.Time, limit int) ([]Delivery, error) {
	return sqlDeliveries.list(ctx, s.e, tenantID, `AND status = ? AND claimed_at < ? ORDER BY claimed_at LIMIT ?`,
		Sending, engine.TimeText(before), limit)
}

func (s *sqliteStore) Batch(ctx context.Context, tenantID, campaignID, batch string) ([]Delivery, error) {
	return sqlDeliveries.list(ctx, s.e, tenantID, `AND campaign_id = ? AND batch = ? ORDER BY id`, campaignID, batch)
}

func (s *sqliteStore) CountDeliveries(ctx context.Context, tenantID, campaignID string) (map[string]int64, error) {
	return engine.SQLCountBy[string](ctx, s.e, tenantID, `SELECT status, count(*) FROM deliveries WHERE tenant_id = ? AND campaign_id = ?
		GROUP BY status`, campaignID)
}

func (s *sqliteStore) Deliveries(ctx context.Context, tenantID, campaignID, status, after string, limit int) ([]Delivery, error) {
	if status == "" {
		return sqlDeliveries.list(ctx, s.e, tenantID, `AND campaign_id = ? AND id > ? ORDER BY id LIMIT ?`, campaignID, after, limit)
	}
	return sqlDeliveries.list(ctx, s.e, tenantID, `AND campaign_id = ? AND status = ? AND id > ? ORDER BY id LIMIT ?`,
		campaignID, status, after, limit)
}

const insertInbox = `INSERT OR IGNORE INTO inbox (tenant_id, id, fan_id, kind, title, body, url, image, channel, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (s *sqliteStore) AddToInbox(ctx context.Context, tenantID string, it InboxItem) error {
	_, err := s.e.SQLExec(ctx, tenantID, insertInbox, it.ID, it.FanID, it.Kind, it.Title, it.Body, it.URL, it.Image, it.Channel,
		engine.TimeText(it.CreatedAt))
	return err
}

func (s *sqliteStore) DeliverToInbox(ctx context.Context, tenantID string, it InboxItem, reason string) (bool, error) {
	var ok bool
	err := s.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error {
		var err error
		ok, err = engine.Changed(tx.Exec(ctx, `UPDATE deliveries SET status = ?, channel = ?, reason = ?, claimed_at = ?, done_at = ?,
			attempts = attempts + 1 WHERE tenant_id = ? AND id = ? AND status = ?`, Sent, ChannelInbox, reason,
			engine.TimeText(it.CreatedAt), engine.TimeText(it.CreatedAt), it.ID, Queued))
		if err != nil || !ok {
			return err
		}
		_, err = tx.Exec(ctx, insertInbox, it.ID, it.FanID, it.Kind, it.Title, it.Body, it.URL, it.Image, it.Channel,
			engine.TimeText(it.CreatedAt))
		return err
	})
	return ok, err
}

var sqlInbox = table[InboxItem]{name: "inbox", key: "id", columns: `id, fan_id, kind, title, body, url, image, channel, created_at`,
	what: "inbox item", scan: scanInboxItem}

func scanInboxItem(scan func(...any) error) (InboxItem, error) {
	var it InboxItem
	var created string
	err := scan(&it.ID, &it.FanID, &it.Kind, &it.Title, &it.Body, &it.URL, &it.Image, &it.Channel, &created)
	it.CreatedAt = engine.ParseTimeText(created)
	return it, err
}

func (s *sqliteStore) Inbox(ctx context.Context, tenantID, fanID string, before time.Time, limit int) ([]InboxItem, error) {
	return sqlInbox.list(ctx, s.e, tenantID, `AND fan_id = ? AND created_at < ? ORDER BY created_at DESC LIMIT ?`, fanID,
		engine.TimeText(newest(before)), limit)
}
