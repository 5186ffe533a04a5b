package message

import (
	"context"
	"encoding/json"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
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
	// Campaigns lists campaigns newest first, with their number counted
	// up to MaxCampaignsCounted (the list pages no further).
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
	// DeliverToInbox ends a queued delivery in the fan's inbox (it, whose
	// id is the delivery's) with reason, in one step rather than claim,
	// inbox, finish: the notices that cannot go to WeChat, most of a
	// shop's. False, and no change, if the delivery is not queued; a
	// crash part-way leaves it queued, and delivering it again adds no
	// second inbox item.
	DeliverToInbox(ctx context.Context, tenantID string, it InboxItem, reason string) (bool, error)
	// Inbox lists the fan's items newest first, created before before
	// (zero: the newest).
	Inbox(ctx context.Context, tenantID, fanID string, before time.Time, limit int) ([]InboxItem, error)

	Settings(ctx context.Context, tenantID string) (Settings, error)
	// SaveSettings saves s, as revision s.Rev+1, if the stored settings
	// are still at s.Rev (the revision they were read at); otherwise it
	// changes nothing and is a conflict (409).
	SaveSettings(ctx context.Context, tenantID string, s Settings) error
	// SyncedAt and SetSyncedAt record when the fans were last synced.
	SyncedAt(ctx context.Context, tenantID string) (time.Time, error)
	SetSyncedAt(ctx context.Context, tenantID string, at time.Time) error
}

// NewStore returns the message store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{docStore{e}}, &mongoStore{docStore{e}})
}

// The Store is written once per engine: store_sqlite.go, and
// store_mongo.go with store_mongo_delivery.go. The settings documents are
// the engine's, the same on both (docStore).

// docStore keeps the shop's messaging documents in message_settings, as
// the engine keeps settings documents on either engine.
type docStore struct{ e *engine.Engine }

// docName names a document of message_settings.
func docName(name string) engine.Doc { return engine.Doc{Table: "message_settings", Name: name} }

// load reads the named document into v. Until issue 11 the Mongo store
// kept documents as JSON text: such a document is read as it was (and
// written the engine's way at the next save).
func (s docStore) load(ctx context.Context, tenantID, name string, v any) error {
	_, err := s.e.LoadDoc(ctx, tenantID, docName(name), v)
	if err == nil || s.e.Kind() != engine.Mongo {
		return err
	}
	var old struct {
		Doc string `bson:"doc"`
	}
	if s.e.Mongo(tenantID).C("message_settings").FindOne(ctx, bson.D{{Key: "_id", Value: name}}).Decode(&old) != nil || old.Doc == "" {
		return err
	}
	return json.Unmarshal([]byte(old.Doc), v)
}

func (s docStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	st := DefaultSettings()
	err := s.load(ctx, tenantID, "settings", &st)
	if st.Templates == nil {
		st.Templates = map[string]string{}
	}
	return st, err
}

func (s docStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	return s.e.SaveDocNext(ctx, tenantID, docName("settings"), &st, &st.Rev, errSettingsChanged)
}

// errSettingsChanged: settings saved from a read another save overtook.
var errSettingsChanged = fault.Conflict("the message settings were changed meanwhile (in another tab, or by someone else): reload them and save again").
	WithCode(fault.CodeSettingsChanged)

// syncMark is when the fans were last synced, as a document.
type syncMark struct {
	At time.Time `json:"at" bson:"at"`
}

func (s docStore) SyncedAt(ctx context.Context, tenantID string) (time.Time, error) {
	var m syncMark
	err := s.load(ctx, tenantID, "synced_at", &m)
	return m.At, err
}

func (s docStore) SetSyncedAt(ctx context.Context, tenantID string, at time.Time) error {
	return s.e.SaveDoc(ctx, tenantID, docName("synced_at"), syncMark{At: at})
}

// newest is before, or when zero a time after every item (an inbox read
// from its newest).
func newest(before time.Time) time.Time {
	if before.IsZero() {
		return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return before
}
