package message

import (
	"context"
	"microshop/tenants/engine"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Store keeps the audience records, segments, campaigns, deliveries, the
// inboxes and the messaging settings. Every method takes the tenant first.
type Store interface {
	// Profile returns the fan's audience record; ErrNotFound if none.
	Profile(ctx context.Context, tenantID, fanID string) (Profile, error)
	// Profiles returns the records of the fans ids (missing ones absent).
	Profiles(ctx context.Context, tenantID string, ids []string) (map[string]Profile, error)
	// Touch records activity of the fan at at (the record is created if
	// needed; an earlier time than the one recorded changes nothing).
	Touch(ctx context.Context, tenantID, fanID string, at time.Time) error
	// SetWeChat records the fan's WeChat state.
	SetWeChat(ctx context.Context, tenantID, fanID, openID string, subscribed bool) error
	// SetPoints records the fan's points balance and check-in streak, and
	// activity at active (zero: none).
	SetPoints(ctx context.Context, tenantID, fanID string, points int64, streak int, lastCheckin string, active time.Time) error
	// AddPurchase counts a paid order once per (fan, order) and records who
	// the fan is bound to (empty ids leave the binding as it is).
	AddPurchase(ctx context.Context, tenantID, fanID, orderID string, at time.Time, guide, store, distributor string) error
	// SetBinding records the guide, store and distributor the fan is bound
	// to (distribution calls it when a binding changes).
	SetBinding(ctx context.Context, tenantID, fanID, guide, store, distributor string) error
	SetTags(ctx context.Context, tenantID, fanID string, tags []string) error
	SetOptOut(ctx context.Context, tenantID, fanID string, out bool) error
	// ReserveBroadcast takes one of the fan's broadcasts of month (4 a
	// month) in one conditional update; false when none is left.
	ReserveBroadcast(ctx context.Context, tenantID, fanID, month string) (bool, error)
	// ReturnBroadcast gives back one not sent.
	ReturnBroadcast(ctx context.Context, tenantID, fanID, month string) error

	// Count counts the fans r selects on day today (for live streaks).
	Count(ctx context.Context, tenantID string, r Rule, today string, now time.Time) (int64, error)
	// Select returns up to limit fans r selects with ids after after, in
	// id order (a campaign materialises its recipients page by page).
	Select(ctx context.Context, tenantID string, r Rule, today string, now time.Time, after string, limit int) ([]Profile, error)
	// CountActive counts the fans active at or after since.
	CountActive(ctx context.Context, tenantID string, since time.Time) (int64, error)

	InsertSegment(ctx context.Context, tenantID string, s Segment) error
	Segment(ctx context.Context, tenantID, id string) (Segment, error)
	Segments(ctx context.Context, tenantID string, limit int) ([]Segment, error)
	DeleteSegment(ctx context.Context, tenantID, id string) error

	InsertCampaign(ctx context.Context, tenantID string, c Campaign) error
	Campaign(ctx context.Context, tenantID, id string) (Campaign, error)
	// Campaigns lists campaigns newest first.
	Campaigns(ctx context.Context, tenantID string, limit, offset int) ([]Campaign, int64, error)
	// CampaignsIn lists up to limit campaigns in status, scheduled at or
	// before until, earliest first.
	CampaignsIn(ctx context.Context, tenantID, status string, until time.Time, limit int) ([]Campaign, error)
	// SetCampaignStatus moves a campaign from one of from to to, setting
	// at as its start or finish; false when it is not in from.
	SetCampaignStatus(ctx context.Context, tenantID, id string, from []string, to string, at time.Time) (bool, error)
	// Advance moves the materialisation cursor from from to to, adding
	// added recipients, if it is still at from.
	Advance(ctx context.Context, tenantID, id, from, to string, added int64, done bool) (bool, error)

	// InsertDeliveries inserts ds, skipping ids that exist; it returns
	// how many were new.
	InsertDeliveries(ctx context.Context, tenantID string, ds []Delivery) (int64, error)
	Delivery(ctx context.Context, tenantID, id string) (Delivery, error)
	// Queued lists up to limit queued deliveries of the campaign ("" for
	// notices) due at now, in id order.
	Queued(ctx context.Context, tenantID, campaignID string, now time.Time, limit int) ([]Delivery, error)
	// Claim moves a queued delivery to sending (one attempt more); false if
	// it is not queued.
	Claim(ctx context.Context, tenantID, id string, now time.Time) (bool, error)
	// SetChannel records the channel (and batch) of a delivery being sent.
	SetChannel(ctx context.Context, tenantID, id, channel, batch string) error
	// Finish ends a delivery being sent.
	Finish(ctx context.Context, tenantID, id, status, channel, reason string, at time.Time) error
	// Requeue puts a delivery being sent back in the queue until next.
	Requeue(ctx context.Context, tenantID, id, reason string, next time.Time) error
	// Stale lists up to limit deliveries claimed before before and still
	// being sent (their dispatcher died).
	Stale(ctx context.Context, tenantID string, before time.Time, limit int) ([]Delivery, error)
	// Batch lists the deliveries of a broadcast batch.
	Batch(ctx context.Context, tenantID, campaignID, batch string) ([]Delivery, error)
	// CountDeliveries counts a campaign's deliveries by status.
	CountDeliveries(ctx context.Context, tenantID, campaignID string) (map[string]int64, error)
	// Deliveries lists a campaign's deliveries in status ("" any) after
	// id after, in id order.
	Deliveries(ctx context.Context, tenantID, campaignID, status, after string, limit int) ([]Delivery, error)

	// AddToInbox puts an item in the fan's inbox once (by its id).
	AddToInbox(ctx context.Context, tenantID string, it InboxItem) error
	// Inbox lists the fan's items newest first, created before before
	// (zero: the newest).
	Inbox(ctx context.Context, tenantID, fanID string, before time.Time, limit int) ([]InboxItem, error)

	Settings(ctx context.Context, tenantID string) (Settings, error)
	SaveSettings(ctx context.Context, tenantID string, s Settings) error
	// SyncedAt and SetSyncedAt record when the fans were last synced.
	SyncedAt(ctx context.Context, tenantID string) (time.Time, error)
	SetSyncedAt(ctx context.Context, tenantID string, at time.Time) error
}

// NewStore returns the message store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	if e.Kind() == engine.Mongo {
		return &mongoStore{e: e}
	}
	return &sqliteStore{e: e}
}

// Schema is the messaging tables and indexes in each tenant database.
var Schema = engine.Schema{
	Name: "message",
	SQLite: []string{
		`CREATE TABLE IF NOT EXISTS audience (
			tenant_id TEXT NOT NULL,
			fan_id TEXT NOT NULL,
			openid TEXT NOT NULL DEFAULT '',
			subscribed INTEGER NOT NULL DEFAULT 0,
			tags TEXT NOT NULL DEFAULT '[]',
			guide_id TEXT NOT NULL DEFAULT '',
			store_id TEXT NOT NULL DEFAULT '',
			distributor_id TEXT NOT NULL DEFAULT '',
			orders INTEGER NOT NULL DEFAULT 0,
			last_active_at TEXT NOT NULL DEFAULT '',
			points INTEGER NOT NULL DEFAULT 0,
			streak INTEGER NOT NULL DEFAULT 0,
			last_checkin_day TEXT NOT NULL DEFAULT '',
			opted_out INTEGER NOT NULL DEFAULT 0,
			mass_month TEXT NOT NULL DEFAULT '',
			mass_count INTEGER NOT NULL DEFAULT 0,
			created_at TEXT NOT NULL,
			PRIMARY KEY (tenant_id, fan_id))`,
		`CREATE INDEX IF NOT EXISTS audience_subscribed ON audience (tenant_id, subscribed, fan_id)`,
		`CREATE INDEX IF NOT EXISTS audience_guide ON audience (tenant_id, guide_id)`,
		`CREATE INDEX IF NOT EXISTS audience_store ON audience (tenant_id, store_id)`,
		`CREATE INDEX IF NOT EXISTS audience_distributor ON audience (tenant_id, distributor_id)`,
		`CREATE INDEX IF NOT EXISTS audience_by_orders ON audience (tenant_id, orders)`,
		`CREATE INDEX IF NOT EXISTS audience_active ON audience (tenant_id, last_active_at)`,
		`CREATE INDEX IF NOT EXISTS audience_points ON audience (tenant_id, points)`,
		`CREATE INDEX IF NOT EXISTS audience_checkin ON audience (tenant_id, last_checkin_day)`,
		`CREATE TABLE IF NOT EXISTS audience_tags (
			tenant_id TEXT NOT NULL,
			fan_id TEXT NOT NULL,
			tag TEXT NOT NULL,
			PRIMARY KEY (tenant_id, fan_id, tag))`,
		`CREATE INDEX IF NOT EXISTS audience_tags_tag ON audience_tags (tenant_id, tag, fan_id)`,
		`CREATE TABLE IF NOT EXISTS audience_orders (
			tenant_id TEXT NOT NULL,
			fan_id TEXT NOT NULL,
			order_id TEXT NOT NULL,
			at TEXT NOT NULL,
			PRIMARY KEY (tenant_id, fan_id, order_id))`,
		`CREATE TABLE IF NOT EXISTS segments (
			tenant_id TEXT NOT NULL,
			id TEXT NOT NULL,
			name TEXT NOT NULL,
			rule TEXT NOT NULL,
			created_at TEXT NOT NULL,
			PRIMARY KEY (tenant_id, id))`,
		`CREATE INDEX IF NOT EXISTS segments_created ON segments (tenant_id, created_at)`,
		`CREATE TABLE IF NOT EXISTS campaigns (
			tenant_id TEXT NOT NULL,
			id TEXT NOT NULL,
			doc TEXT NOT NULL,
			status TEXT NOT NULL,
			scheduled_at TEXT NOT NULL,
			cursor TEXT NOT NULL DEFAULT '',
			materialized INTEGER NOT NULL DEFAULT 0,
			recipients INTEGER NOT NULL DEFAULT 0,
			created_at TEXT NOT NULL,
			started_at TEXT NOT NULL DEFAULT '',
			finished_at TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (tenant_id, id))`,
		`CREATE INDEX IF NOT EXISTS campaigns_created ON campaigns (tenant_id, created_at)`,
		`CREATE INDEX IF NOT EXISTS campaigns_status ON campaigns (tenant_id, status, scheduled_at)`,
		`CREATE TABLE IF NOT EXISTS deliveries (
			tenant_id TEXT NOT NULL,
			id TEXT NOT NULL,
			campaign_id TEXT NOT NULL,
			fan_id TEXT NOT NULL,
			status TEXT NOT NULL,
			channel TEXT NOT NULL DEFAULT '',
			reason TEXT NOT NULL DEFAULT '',
			attempts INTEGER NOT NULL DEFAULT 0,
			next_at TEXT NOT NULL,
			batch TEXT NOT NULL DEFAULT '',
			claimed_at TEXT NOT NULL DEFAULT '',
			notice TEXT NOT NULL DEFAULT '',
			created_at TEXT NOT NULL,
			done_at TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (tenant_id, id))`,
		`CREATE INDEX IF NOT EXISTS deliveries_campaign ON deliveries (tenant_id, campaign_id, status, id)`,
		`CREATE INDEX IF NOT EXISTS deliveries_claimed ON deliveries (tenant_id, status, claimed_at)`,
		`CREATE INDEX IF NOT EXISTS deliveries_batch ON deliveries (tenant_id, campaign_id, batch)`,
		`CREATE TABLE IF NOT EXISTS inbox (
			tenant_id TEXT NOT NULL,
			id TEXT NOT NULL,
			fan_id TEXT NOT NULL,
			kind TEXT NOT NULL,
			title TEXT NOT NULL,
			body TEXT NOT NULL,
			url TEXT NOT NULL DEFAULT '',
			image TEXT NOT NULL DEFAULT '',
			channel TEXT NOT NULL,
			created_at TEXT NOT NULL,
			PRIMARY KEY (tenant_id, id))`,
		`CREATE INDEX IF NOT EXISTS inbox_fan ON inbox (tenant_id, fan_id, created_at)`,
		`CREATE TABLE IF NOT EXISTS message_settings (
			tenant_id TEXT NOT NULL,
			name TEXT NOT NULL,
			doc TEXT NOT NULL,
			PRIMARY KEY (tenant_id, name))`,
	},
	Mongo: []engine.MongoCollection{
		{Name: "audience", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "subscribed", Value: 1}, {Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "tags", Value: 1}}},
			{Keys: bson.D{{Key: "guide_id", Value: 1}}},
			{Keys: bson.D{{Key: "store_id", Value: 1}}},
			{Keys: bson.D{{Key: "distributor_id", Value: 1}}},
			{Keys: bson.D{{Key: "orders", Value: 1}}},
			{Keys: bson.D{{Key: "last_active_at", Value: 1}}},
			{Keys: bson.D{{Key: "points", Value: 1}}},
			{Keys: bson.D{{Key: "last_checkin_day", Value: 1}}},
		}},
		{Name: "audience_orders", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "fan_id", Value: 1}, {Key: "order_id", Value: 1}}, Unique: true},
		}},
		{Name: "segments", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "created_at", Value: -1}}},
		}},
		{Name: "campaigns", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "scheduled_at", Value: 1}}},
		}},
		{Name: "deliveries", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "campaign_id", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "claimed_at", Value: 1}}},
			{Keys: bson.D{{Key: "campaign_id", Value: 1}, {Key: "batch", Value: 1}}},
			{Keys: bson.D{{Key: "campaign_id", Value: 1}, {Key: "_id", Value: 1}}},
		}},
		{Name: "inbox", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "fan_id", Value: 1}, {Key: "created_at", Value: -1}}},
		}},
		{Name: "message_settings"},
	},
}
