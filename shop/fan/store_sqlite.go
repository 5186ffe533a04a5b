package fan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type sqliteStore struct{ e *engine.Engine }

const fanColumns = `id, openid, subscribed, source, first_scene, scene, subscribed_at, unsubscribed_at,
	last_message_at, last_event_at, replies_msg, replies_event, created_at`

func scanFan(scan func(...any) error) (Fan, error) {
	var f Fan
	var sub, unsub, lastMsg, lastEvent, created string
	err := scan(&f.ID, &f.OpenID, &f.Subscribed, &f.Source, &f.FirstScene, &f.Scene, &sub, &unsub, &lastMsg, &lastEvent,
		&f.RepliesSinceMessage, &f.RepliesSinceEvent, &created)
	f.SubscribedAt, f.UnsubscribedAt = engine.ParseOptTimeText(sub), engine.ParseOptTimeText(unsub)
	f.LastMessageAt, f.LastEventAt = engine.ParseOptTimeText(lastMsg), engine.ParseOptTimeText(lastEvent)
	f.CreatedAt = engine.ParseOptTimeText(created)
	return f, err
}

// wrote is whether the write (res, err) changed a row: an insert that was
// not ignored, a conditional update whose condition held. what names the
// write in its error.
func wrote(what string, res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) Ensure(ctx context.Context, tenantID, fanID, source string, now time.Time) (Fan, error) {
	// INSERT OR IGNORE: a replay, or two first actions racing, insert once.
	if _, err := s.e.SQLExec(ctx, tenantID, `INSERT OR IGNORE INTO fans (tenant_id, id, source, created_at) VALUES (?, ?, ?, ?)`,
		fanID, source, engine.TimeText(now)); err != nil {
		return Fan{}, fmt.Errorf("ensure fan %s: %w", fanID, err)
	}
	return s.Get(ctx, tenantID, fanID)
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, fanID string) (Fan, error) {
	f, err := scanFan(s.e.SQLQueryRow(ctx, tenantID, `SELECT `+fanColumns+` FROM fans WHERE tenant_id = ? AND id = ?`, fanID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Fan{}, fault.NotFound("fan")
	}
	if err != nil {
		return Fan{}, fmt.Errorf("read fan %s: %w", fanID, err)
	}
	return f, nil
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
	if f.filtered() {
		err = db.QueryRow(ctx, `SELECT count(*) FROM fans WHERE `+where, args...).Scan(&total)
	} else {
		total, err = s.Count(ctx, tenantID)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("count fans: %w", err)
	}
	out, err := engine.QueryAll(ctx, db, scanFan, `SELECT `+fanColumns+` FROM fans WHERE `+where+
		` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list fans: %w", err)
	}
	return out, total, nil
}

// Count reads the counter the schema's triggers keep in every insert's and
// delete's transaction (schema.sql).
func (s *sqliteStore) Count(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT fans FROM fan_counts WHERE tenant_id = ?`).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // no fan yet
	}
	if err != nil {
		return 0, fmt.Errorf("read the fan count: %w", err)
	}
	return n, nil
}

func (s *sqliteStore) Walk(ctx context.Context, tenantID string, fn func([]Fan) error) error {
	return walk(fn, func(after string) ([]Fan, error) {
		return engine.SQLAll(ctx, s.e, tenantID, scanFan, `SELECT `+fanColumns+` FROM fans WHERE tenant_id = ? AND id > ?
			ORDER BY id LIMIT ?`, after, walkPage)
	})
}

func (s *sqliteStore) ClaimPush(ctx context.Context, tenantID string, p PushRecord) (bool, error) {
	// The primary key (tenant, key) decides: one insert wins, retries and
	// concurrent deliveries of the same push find it taken.
	res, err := s.e.SQLExec(ctx, tenantID, `INSERT OR IGNORE INTO wechat_pushes (tenant_id, key, openid, kind, created_at)
		VALUES (?, ?, ?, ?, ?)`, p.Key, p.OpenID, p.Kind, engine.TimeText(p.At))
	return wrote("record push", res, err)
}

func (s *sqliteStore) ReleasePush(ctx context.Context, tenantID, key string) error {
	if _, err := s.e.SQLExec(ctx, tenantID, `DELETE FROM wechat_pushes WHERE tenant_id = ? AND key = ?`, key); err != nil {
		return fmt.Errorf("release push %s: %w", key, err)
	}
	return nil
}

func (s *sqliteStore) PurgePushes(ctx context.Context, tenantID string, before time.Time) (int64, error) {
	res, err := s.e.SQLExec(ctx, tenantID, `DELETE FROM wechat_pushes WHERE tenant_id = ? AND created_at < ?`, engine.TimeText(before))
	if err != nil {
		return 0, fmt.Errorf("purge pushes: %w", err)
	}
	return res.RowsAffected()
}

func (s *sqliteStore) Apply(ctx context.Context, tenantID string, ev Event) (bool, error) {
	at, created := engine.OptTimeText(ev.At), engine.TimeText(ev.At)
	var query string
	var args []any
	// Each statement is one upsert: insert the fan, or update it only if
	// the event is not older than the latest of its kind applied.
	switch ev.Kind {
	case Subscribed, Scanned:
		subscribedAt := "excluded.subscribed_at"
		if ev.Kind == Scanned {
			subscribedAt = "CASE WHEN fans.subscribed_at = '' THEN excluded.subscribed_at ELSE fans.subscribed_at END"
		}
		query = `INSERT INTO fans (tenant_id, id, openid, subscribed, source, first_scene, scene,
			subscribed_at, last_event_at, last_push_at, created_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, id) DO UPDATE SET openid = excluded.openid, subscribed = 1,
				first_scene = CASE WHEN fans.first_scene = '' THEN excluded.first_scene ELSE fans.first_scene END,
				scene = CASE WHEN excluded.scene <> '' THEN excluded.scene ELSE fans.scene END,
				subscribed_at = ` + subscribedAt + `, last_event_at = excluded.last_event_at, replies_event = 0,
				last_push_at = excluded.last_push_at
			WHERE fans.last_push_at <= excluded.last_push_at`
		args = []any{ev.FanID, ev.OpenID, ev.Source, ev.Scene, ev.Scene, at, at, at, created}
	case Unsubscribed:
		query = `INSERT INTO fans (tenant_id, id, openid, subscribed, source, unsubscribed_at, last_push_at, created_at)
			VALUES (?, ?, ?, 0, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, id) DO UPDATE SET openid = excluded.openid, subscribed = 0,
				unsubscribed_at = excluded.unsubscribed_at, last_push_at = excluded.last_push_at
			WHERE fans.last_push_at <= excluded.last_push_at`
		args = []any{ev.FanID, ev.OpenID, ev.Source, at, at, created}
	case Wrote, Clicked:
		// The fan's latest message, or latest menu click, and the replies
		// allowed since.
		last, replies := "last_message_at", "replies_msg"
		if ev.Kind == Clicked {
			last, replies = "last_event_at", "replies_event"
		}
		query = `INSERT INTO fans (tenant_id, id, openid, subscribed, source, ` + last + `, created_at)
			VALUES (?, ?, ?, 1, ?, ?, ?)
			ON CONFLICT (tenant_id, id) DO UPDATE SET openid = excluded.openid,
				` + last + ` = excluded.` + last + `, ` + replies + ` = 0
			WHERE fans.` + last + ` <= excluded.` + last
		args = []any{ev.FanID, ev.OpenID, ev.Source, at, created}
	default:
		return false, fmt.Errorf("apply fan event: unknown kind %q", ev.Kind)
	}
	res, err := s.e.SQLExec(ctx, tenantID, query, args...)
	return wrote(fmt.Sprintf("apply %s to fan %s", ev.Kind, ev.FanID), res, err)
}

func (s *sqliteStore) AddMessage(ctx context.Context, tenantID string, m Message) (bool, error) {
	res, err := s.e.SQLExec(ctx, tenantID, `INSERT OR IGNORE INTO fan_messages (tenant_id, id, fan_id, direction, kind, content, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, m.ID, m.FanID, m.Direction, m.Kind, m.Content, engine.TimeText(m.CreatedAt))
	return wrote("add message", res, err)
}

func (s *sqliteStore) Messages(ctx context.Context, tenantID, fanID string, limit int) ([]Message, error) {
	out, err := engine.SQLAll(ctx, s.e, tenantID, func(scan func(...any) error) (Message, error) {
		var m Message
		var created string
		err := scan(&m.ID, &m.FanID, &m.Direction, &m.Kind, &m.Content, &created)
		m.CreatedAt = engine.ParseOptTimeText(created)
		return m, err
	}, `SELECT id, fan_id, direction, kind, content, created_at FROM fan_messages
		WHERE tenant_id = ? AND fan_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, fanID, limit)
	if err != nil {
		return nil, fmt.Errorf("read conversation of fan %s: %w", fanID, err)
	}
	slices.Reverse(out)
	return out, nil
}

func (s *sqliteStore) ReserveReply(ctx context.Context, tenantID, fanID string, now time.Time) (bool, error) {
	// One conditional update: the counters are checked and taken together.
	res, err := s.e.SQLExec(ctx, tenantID, `UPDATE fans SET replies_msg = replies_msg + 1, replies_event = replies_event + 1
		WHERE tenant_id = ? AND id = ? AND subscribed = 1 AND openid <> '' AND (
			(last_message_at > ? AND replies_msg < ?) OR (last_event_at > ? AND replies_event < ?))`,
		fanID, engine.TimeText(now.Add(-MessageWindow)), MessageReplies, engine.TimeText(now.Add(-EventWindow)), EventReplies)
	return wrote("reserve reply", res, err)
}

func (s *sqliteStore) ReturnReply(ctx context.Context, tenantID, fanID string) error {
	if _, err := s.e.SQLExec(ctx, tenantID, `UPDATE fans SET replies_msg = max(replies_msg - 1, 0),
		replies_event = max(replies_event - 1, 0) WHERE tenant_id = ? AND id = ?`, fanID); err != nil {
		return fmt.Errorf("return reply of fan %s: %w", fanID, err)
	}
	return nil
}

func (s *sqliteStore) Merge(ctx context.Context, tenantID, from string, into Fan) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	p, err := planMerge(ctx, s, tenantID, from, into)
	if err != nil {
		return err
	}
	// Each step is idempotent, so a merge cut short is finished by the next
	// sign-in: the WeChat fan, its earlier first source, the alias, and only
	// then the old record goes.
	type step struct {
		query string
		args  []any
	}
	steps := []step{
		{`INSERT OR IGNORE INTO fans (tenant_id, id, openid, source, created_at) VALUES (?, ?, ?, ?, ?)`,
			[]any{into.ID, into.OpenID, p.source, engine.TimeText(p.created)}},
		{`UPDATE fans SET openid = ? WHERE tenant_id = ? AND id = ? AND openid = ''`, []any{into.OpenID, into.ID}},
	}
	if p.aliased(from, into) {
		if p.old.Source != "" {
			steps = append(steps, step{`UPDATE fans SET source = ?, created_at = ? WHERE tenant_id = ? AND id = ? AND created_at > ?`,
				[]any{p.old.Source, engine.TimeText(p.old.CreatedAt), into.ID, engine.TimeText(p.old.CreatedAt)}})
		}
		steps = append(steps,
			step{`INSERT OR IGNORE INTO fan_aliases (tenant_id, id, into_id, created_at) VALUES (?, ?, ?, ?)`,
				[]any{from, into.ID, engine.TimeText(time.Now())}},
			step{`DELETE FROM fans WHERE tenant_id = ? AND id = ?`, []any{from}})
	}
	for _, st := range steps {
		if _, err := db.Exec(ctx, st.query, st.args...); err != nil {
			return fmt.Errorf("merge fan %s into %s: %w", from, into.ID, err)
		}
	}
	return nil
}

func (s *sqliteStore) Alias(ctx context.Context, tenantID, id string) (string, error) {
	var into string
	err := s.e.SQLQueryRow(ctx, tenantID, `SELECT into_id FROM fan_aliases WHERE tenant_id = ? AND id = ?`, id).Scan(&into)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fault.NotFound("fan alias")
	}
	if err != nil {
		return "", fmt.Errorf("read alias of fan %s: %w", id, err)
	}
	return into, nil
}
