package fan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

// tt stores a time as text, and the zero time as an empty string.
func tt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return engine.TimeText(t)
}

func pt(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	return engine.ParseTimeText(s)
}

const fanColumns = `id, openid, subscribed, source, first_scene, scene, subscribed_at, unsubscribed_at,
	last_message_at, last_event_at, replies_msg, replies_event, created_at`

type scanner interface{ Scan(dest ...any) error }

func scanFan(r scanner) (Fan, error) {
	var f Fan
	var sub, unsub, lastMsg, lastEvent, created string
	err := r.Scan(&f.ID, &f.OpenID, &f.Subscribed, &f.Source, &f.FirstScene, &f.Scene, &sub, &unsub, &lastMsg, &lastEvent,
		&f.RepliesSinceMessage, &f.RepliesSinceEvent, &created)
	f.SubscribedAt, f.UnsubscribedAt, f.LastMessageAt, f.LastEventAt = pt(sub), pt(unsub), pt(lastMsg), pt(lastEvent)
	f.CreatedAt = pt(created)
	return f, err
}

func (s *sqliteStore) Ensure(ctx context.Context, tenantID, fanID, source string, now time.Time) (Fan, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Fan{}, err
	}
	// INSERT OR IGNORE: a replay, or two first actions racing, insert once.
	if _, err := db.Exec(ctx, `INSERT OR IGNORE INTO fans (tenant_id, id, source, created_at) VALUES (?, ?, ?, ?)`,
		fanID, source, engine.TimeText(now)); err != nil {
		return Fan{}, err
	}
	return s.Get(ctx, tenantID, fanID)
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, fanID string) (Fan, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Fan{}, err
	}
	f, err := scanFan(db.QueryRow(ctx, `SELECT `+fanColumns+` FROM fans WHERE tenant_id = ? AND id = ?`, fanID))
	if errors.Is(err, sql.ErrNoRows) {
		return Fan{}, fault.NotFound("fan")
	}
	return f, err
}

func (s *sqliteStore) List(ctx context.Context, tenantID string, f Filter) ([]Fan, int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, 0, err
	}
	where, args := "tenant_id = ?", []any{}
	if f.OpenID != "" {
		where += " AND id = ? AND openid = ?"
		args = append(args, IDForOpenID(tenantID, f.OpenID), f.OpenID)
	}
	if f.Subscribed != nil {
		where += " AND subscribed = ?"
		args = append(args, *f.Subscribed)
	}
	if f.Source != "" {
		where += " AND source = ?"
		args = append(args, f.Source)
	}
	var total int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM fans WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count fans: %w", err)
	}
	rows, err := db.Query(ctx, `SELECT `+fanColumns+` FROM fans WHERE `+where+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list fans: %w", err)
	}
	defer rows.Close()
	out := []Fan{}
	for rows.Next() {
		fan, err := scanFan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, fan)
	}
	return out, total, rows.Err()
}

func (s *sqliteStore) ClaimPush(ctx context.Context, tenantID string, p PushRecord) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	// The primary key (tenant, key) decides: one insert wins, retries and
	// concurrent deliveries of the same push find it taken.
	res, err := db.Exec(ctx, `INSERT OR IGNORE INTO wechat_pushes (tenant_id, key, openid, kind, created_at) VALUES (?, ?, ?, ?, ?)`,
		p.Key, p.OpenID, p.Kind, engine.TimeText(p.At))
	if err != nil {
		return false, fmt.Errorf("record push: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) ReleasePush(ctx context.Context, tenantID, key string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `DELETE FROM wechat_pushes WHERE tenant_id = ? AND key = ?`, key)
	return err
}

func (s *sqliteStore) PurgePushes(ctx context.Context, tenantID string, before time.Time) (int64, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return 0, err
	}
	res, err := db.Exec(ctx, `DELETE FROM wechat_pushes WHERE tenant_id = ? AND created_at < ?`, engine.TimeText(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s *sqliteStore) Apply(ctx context.Context, tenantID string, ev Event) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	at, created := tt(ev.At), engine.TimeText(ev.At)
	var res sql.Result
	// Each statement is one upsert: insert the fan, or update it only if
	// the event is not older than the latest of its kind applied.
	switch ev.Kind {
	case Subscribed, Scanned:
		subscribedAt := "excluded.subscribed_at"
		if ev.Kind == Scanned {
			subscribedAt = "CASE WHEN fans.subscribed_at = '' THEN excluded.subscribed_at ELSE fans.subscribed_at END"
		}
		res, err = db.Exec(ctx, `INSERT INTO fans (tenant_id, id, openid, subscribed, source, first_scene, scene,
			subscribed_at, last_event_at, last_push_at, created_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, id) DO UPDATE SET openid = excluded.openid, subscribed = 1,
				first_scene = CASE WHEN fans.first_scene = '' THEN excluded.first_scene ELSE fans.first_scene END,
				scene = CASE WHEN excluded.scene <> '' THEN excluded.scene ELSE fans.scene END,
				subscribed_at = `+subscribedAt+`, last_event_at = excluded.last_event_at, replies_event = 0,
				last_push_at = excluded.last_push_at
			WHERE fans.last_push_at <= excluded.last_push_at`,
			ev.FanID, ev.OpenID, ev.Source, ev.Scene, ev.Scene, at, at, at, created)
	case Unsubscribed:
		res, err = db.Exec(ctx, `INSERT INTO fans (tenant_id, id, openid, subscribed, source, unsubscribed_at, last_push_at, created_at)
			VALUES (?, ?, ?, 0, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, id) DO UPDATE SET openid = excluded.openid, subscribed = 0,
				unsubscribed_at = excluded.unsubscribed_at, last_push_at = excluded.last_push_at
			WHERE fans.last_push_at <= excluded.last_push_at`,
			ev.FanID, ev.OpenID, ev.Source, at, at, created)
	case Wrote:
		res, err = db.Exec(ctx, `INSERT INTO fans (tenant_id, id, openid, subscribed, source, last_message_at, created_at)
			VALUES (?, ?, ?, 1, ?, ?, ?)
			ON CONFLICT (tenant_id, id) DO UPDATE SET openid = excluded.openid,
				last_message_at = excluded.last_message_at, replies_msg = 0
			WHERE fans.last_message_at <= excluded.last_message_at`,
			ev.FanID, ev.OpenID, ev.Source, at, created)
	case Clicked:
		res, err = db.Exec(ctx, `INSERT INTO fans (tenant_id, id, openid, subscribed, source, last_event_at, created_at)
			VALUES (?, ?, ?, 1, ?, ?, ?)
			ON CONFLICT (tenant_id, id) DO UPDATE SET openid = excluded.openid,
				last_event_at = excluded.last_event_at, replies_event = 0
			WHERE fans.last_event_at <= excluded.last_event_at`,
			ev.FanID, ev.OpenID, ev.Source, at, created)
	default:
		return false, fmt.Errorf("apply fan event: unknown kind %q", ev.Kind)
	}
	if err != nil {
		return false, fmt.Errorf("apply %s to fan %s: %w", ev.Kind, ev.FanID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) AddMessage(ctx context.Context, tenantID string, m Message) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	res, err := db.Exec(ctx, `INSERT OR IGNORE INTO fan_messages (tenant_id, id, fan_id, direction, kind, content, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, m.ID, m.FanID, m.Direction, m.Kind, m.Content, engine.TimeText(m.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("add message: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) Messages(ctx context.Context, tenantID, fanID string, limit int) ([]Message, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT id, fan_id, direction, kind, content, created_at FROM fan_messages
		WHERE tenant_id = ? AND fan_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, fanID, limit)
	if err != nil {
		return nil, fmt.Errorf("read conversation: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var created string
		if err := rows.Scan(&m.ID, &m.FanID, &m.Direction, &m.Kind, &m.Content, &created); err != nil {
			return nil, err
		}
		m.CreatedAt = pt(created)
		out = append(out, m)
	}
	reverse(out)
	return out, rows.Err()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func (s *sqliteStore) ReserveReply(ctx context.Context, tenantID, fanID string, now time.Time) (bool, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	// One conditional update: the counters are checked and taken together.
	res, err := db.Exec(ctx, `UPDATE fans SET replies_msg = replies_msg + 1, replies_event = replies_event + 1
		WHERE tenant_id = ? AND id = ? AND subscribed = 1 AND openid <> '' AND (
			(last_message_at > ? AND replies_msg < ?) OR (last_event_at > ? AND replies_event < ?))`,
		fanID, engine.TimeText(now.Add(-MessageWindow)), MessageReplies, engine.TimeText(now.Add(-EventWindow)), EventReplies)
	if err != nil {
		return false, fmt.Errorf("reserve reply: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) ReturnReply(ctx context.Context, tenantID, fanID string) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE fans SET replies_msg = max(replies_msg - 1, 0), replies_event = max(replies_event - 1, 0)
		WHERE tenant_id = ? AND id = ?`, fanID)
	return err
}

func (s *sqliteStore) Merge(ctx context.Context, tenantID, from string, into Fan) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	old, err := s.Get(ctx, tenantID, from)
	exists := err == nil
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return err
	}
	src, created := into.Source, into.CreatedAt
	if exists && old.Source != "" {
		// The browser came first: its first source is the fan's.
		src, created = old.Source, minTime(old.CreatedAt, created)
	}
	// Each step is idempotent, so a merge cut short is finished by the next
	// sign-in: the WeChat fan, its earlier first source, the alias, and only
	// then the old record goes.
	if _, err := db.Exec(ctx, `INSERT OR IGNORE INTO fans (tenant_id, id, openid, source, created_at) VALUES (?, ?, ?, ?, ?)`,
		into.ID, into.OpenID, src, engine.TimeText(created)); err != nil {
		return fmt.Errorf("merge fan: %w", err)
	}
	if _, err := db.Exec(ctx, `UPDATE fans SET openid = ? WHERE tenant_id = ? AND id = ? AND openid = ''`, into.OpenID, into.ID); err != nil {
		return fmt.Errorf("merge fan: %w", err)
	}
	if !exists || from == into.ID {
		return nil
	}
	if old.Source != "" {
		if _, err := db.Exec(ctx, `UPDATE fans SET source = ?, created_at = ? WHERE tenant_id = ? AND id = ? AND created_at > ?`,
			old.Source, engine.TimeText(old.CreatedAt), into.ID, engine.TimeText(old.CreatedAt)); err != nil {
			return fmt.Errorf("merge fan: %w", err)
		}
	}
	if _, err := db.Exec(ctx, `INSERT OR IGNORE INTO fan_aliases (tenant_id, id, into_id, created_at) VALUES (?, ?, ?, ?)`,
		from, into.ID, engine.TimeText(time.Now())); err != nil {
		return fmt.Errorf("merge fan: %w", err)
	}
	if _, err := db.Exec(ctx, `DELETE FROM fans WHERE tenant_id = ? AND id = ?`, from); err != nil {
		return fmt.Errorf("merge fan: %w", err)
	}
	return nil
}

func (s *sqliteStore) Alias(ctx context.Context, tenantID, id string) (string, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return "", err
	}
	var into string
	err = db.QueryRow(ctx, `SELECT into_id FROM fan_aliases WHERE tenant_id = ? AND id = ?`, id).Scan(&into)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fault.NotFound("fan alias")
	}
	return into, err
}
