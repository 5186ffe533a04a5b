package fan

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Store keeps a shop's fans, their conversations, the record of WeChat
// pushes already processed, and the aliases of merged identities. Every
// method takes the tenant first.
type Store interface {
	// Ensure creates the fan record if it does not exist yet (first source
	// wins) and returns the stored fan.
	Ensure(ctx context.Context, tenantID, fanID, source string, now time.Time) (Fan, error)
	Get(ctx context.Context, tenantID, fanID string) (Fan, error)
	// List returns a page of fans, newest first, and how many match: with
	// no filter the shop's count (Count), else counted through the
	// filter's index.
	List(ctx context.Context, tenantID string, f Filter) ([]Fan, int64, error)
	// Count is how many fans the shop has, from a counter kept as fans are
	// created and merged away (no count over the fans).
	Count(ctx context.Context, tenantID string) (int64, error)
	// Walk calls fn with every fan, a page at a time in id order; each page
	// is read by key (id above the last one seen), so a walk reads each fan
	// once however many the shop has. Fans created during the walk may or
	// may not be seen.
	Walk(ctx context.Context, tenantID string, fn func([]Fan) error) error

	// ClaimPush records a push by its de-duplication key: false means it
	// was recorded before (a retry), and must not be processed again.
	ClaimPush(ctx context.Context, tenantID string, p PushRecord) (bool, error)
	// ReleasePush forgets a claimed push whose processing failed, so
	// WeChat's retry is processed.
	ReleasePush(ctx context.Context, tenantID, key string) error
	// PurgePushes forgets the pushes recorded before before (WeChat retries
	// within seconds; older records only take room).
	PurgePushes(ctx context.Context, tenantID string, before time.Time) (int64, error)

	// Apply records what a WeChat event means for the fan ev.FanID,
	// creating the fan if needed. A follow, unfollow or scan older than the
	// latest one applied is ignored (applied false), and so is a message or
	// click older than the latest, so retries arriving late change nothing.
	Apply(ctx context.Context, tenantID string, ev Event) (applied bool, err error)

	// AddMessage appends m to the fan's conversation; an id already there
	// is a no-op (false).
	AddMessage(ctx context.Context, tenantID string, m Message) (bool, error)
	// Messages returns the fan's last limit messages, oldest first.
	Messages(ctx context.Context, tenantID, fanID string, limit int) ([]Message, error)

	// ReserveReply takes one customer-service message from the fan's
	// allowance under WeChat's rule at now, in one conditional update (two
	// merchants replying at once cannot both take the last one); false when
	// none is left.
	ReserveReply(ctx context.Context, tenantID, fanID string, now time.Time) (bool, error)
	// ReturnReply gives back a reservation whose message was not sent.
	ReturnReply(ctx context.Context, tenantID, fanID string) error

	// Merge folds the fan from (a browser's cookie identity) into into (a
	// WeChat fan, created if needed): into keeps the earlier first source
	// and time, from becomes an alias of into, and from's record goes.
	Merge(ctx context.Context, tenantID, from string, into Fan) error
	// Alias returns the id an old fan id was merged into; ErrNotFound if
	// it was not.
	Alias(ctx context.Context, tenantID, id string) (string, error)
}

// EventKind is what a WeChat push says happened.
type EventKind string

// The events Apply records.
const (
	Subscribed   EventKind = "subscribe"
	Unsubscribed EventKind = "unsubscribe"
	Scanned      EventKind = "scan"
	Wrote        EventKind = "message"
	Clicked      EventKind = "click"
)

// Event is one WeChat event about a fan.
type Event struct {
	FanID  string
	OpenID string
	Kind   EventKind
	Scene  string    // subscribe, scan: the QR code's scene
	Source string    // the source of a fan this event creates
	At     time.Time // WeChat's CreateTime
}

// PushRecord is a processed push, kept for de-duplication.
type PushRecord struct {
	Key    string
	OpenID string
	Kind   string
	At     time.Time
}

// mergePlan is what Merge writes, worked out alike on both engines: the
// browser's fan (old, if it exists) and the merged fan's first source and
// time, the earlier of the two fans'.
type mergePlan struct {
	old     Fan
	exists  bool
	source  string
	created time.Time
}

// planMerge reads the browser's fan from and plans its merge into into.
func planMerge(ctx context.Context, s Store, tenantID, from string, into Fan) (mergePlan, error) {
	old, err := s.Get(ctx, tenantID, from)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return mergePlan{}, err
	}
	p := mergePlan{old: old, exists: err == nil, source: into.Source, created: into.CreatedAt}
	if p.exists && old.Source != "" {
		// The browser came first: its first source is the fan's.
		p.source = old.Source
		if old.CreatedAt.Before(p.created) {
			p.created = old.CreatedAt
		}
	}
	return p, nil
}

// aliased says the merge folds a record of its own (from becomes an alias
// of into and goes), rather than only making sure into exists.
func (p mergePlan) aliased(from string, into Fan) bool { return p.exists && from != into.ID }

// walkPage is how many fans Walk reads at a time.
const walkPage = 500

// walk is Walk on both engines: page returns up to walkPage fans with an
// id above after, in id order.
func walk(fn func([]Fan) error, page func(after string) ([]Fan, error)) error {
	after := ""
	for {
		list, err := page(after)
		if err != nil {
			return fmt.Errorf("walk the fans: %w", err)
		}
		if len(list) > 0 {
			if err := fn(list); err != nil {
				return err
			}
			after = list[len(list)-1].ID
		}
		if len(list) < walkPage {
			return nil
		}
	}
}

// filtered says whether f selects fans by more than the page (List then
// counts through the filter's index; without one it reads the counter).
func (f Filter) filtered() bool { return f.OpenID != "" || f.Subscribed != nil || f.Source != "" }

// NewStore returns the fan store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{e: e}, &mongoStore{e: e})
}

// Schema is the fans' tables and indexes in each tenant database.
var Schema = engine.NewSchema("fan", schemaSQL,
	engine.Coll("fans",
		engine.Index("openid"), engine.Index("-created_at", "-_id"),
		engine.Index("subscribed", "-created_at", "-_id"), engine.Index("source", "-created_at", "-_id"),
		engine.Index("subscribed", "source", "-created_at", "-_id")),
	engine.Coll("fan_messages", engine.Index("fan_id", "-created_at")),
	engine.Coll("fan_aliases"),
	// One document, _id "fans": the shop's fan count (Count).
	engine.Coll("fan_counts"),
	engine.Coll("wechat_pushes", engine.Unique("key"), engine.Index("created_at")),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string
