package fan

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *engine.Engine }

// fanDoc is a fan document: the fan, and the time of the latest follow,
// unfollow or scan applied. Every field is always written (times as the
// zero time when unknown), so conditions like last_push_at <= t hold on
// every document.
type fanDoc struct {
	Fan        `bson:",inline"`
	LastPushAt time.Time `bson:"last_push_at"`
}

// z reads back a stored time: the zero time is stored as year 1.
func z(t time.Time) time.Time {
	if t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}

func (d fanDoc) fan() Fan {
	f := d.Fan
	for _, t := range []*time.Time{&f.SubscribedAt, &f.UnsubscribedAt, &f.LastMessageAt, &f.LastEventAt, &f.CreatedAt} {
		*t = z(*t)
	}
	return f
}

// newFanDoc is the document of a fan created without an event.
func newFanDoc(id, openID, source string, created time.Time) fanDoc {
	return fanDoc{Fan: Fan{ID: id, OpenID: openID, Source: source, CreatedAt: created}}
}

// inserted is whether an insert went in (false: its key was taken, a
// replay); what names it in the error.
func inserted(what string, err error) (bool, error) {
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return true, nil
}

func (s *mongoStore) fans(tenantID string) *engine.Collection { return s.e.Mongo(tenantID).C("fans") }

func (s *mongoStore) Ensure(ctx context.Context, tenantID, fanID, source string, now time.Time) (Fan, error) {
	// One upsert that inserts the new fan's fields only and answers the
	// fan as it was before: none when this call made it.
	doc := newFanDoc(fanID, "", source, now.UTC().Truncate(time.Millisecond)) // as stored
	raw, err := bson.Marshal(doc)
	if err != nil {
		return Fan{}, fmt.Errorf("ensure fan %s: %w", fanID, err)
	}
	var fields bson.D
	if err := bson.Unmarshal(raw, &fields); err != nil {
		return Fan{}, fmt.Errorf("ensure fan %s: %w", fanID, err)
	}
	fields = slices.DeleteFunc(fields, func(e bson.E) bool { return e.Key == "_id" })
	fields = append(fields, bson.E{Key: "tenant_id", Value: s.e.Mongo(tenantID).TenantID()})
	var before fanDoc
	err = s.fans(tenantID).FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: fanID}},
		bson.D{{Key: "$setOnInsert", Value: fields}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.Before)).Decode(&before)
	switch {
	case err == nil:
		return before.fan(), nil
	case engine.IsNoDocuments(err):
		s.counted(ctx, tenantID, 1)
		return doc.fan(), nil
	case engine.IsUniqueViolation(err): // a racing Ensure inserted it
		return s.Get(ctx, tenantID, fanID)
	}
	return Fan{}, fmt.Errorf("ensure fan %s: %w", fanID, err)
}

// countID is the _id of the fan count's document in fan_counts.
const countID = "fans"

func (s *mongoStore) counts(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("fan_counts")
}

// counted moves the shop's fan count after a fan was inserted (+1) or
// deleted (-1). Its error is not the write's: the fan is written, and a
// crash or a failure here leaves the count one off, as with any counter
// kept beside its records. Before the shop's first Count there is no
// counter to move: that Count counts the fans.
func (s *mongoStore) counted(ctx context.Context, tenantID string, delta int64) {
	_, _ = s.counts(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: countID}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: delta}}}})
}

// Count reads the counter. A shop's first Count makes it: the fans are
// counted once, a page at a time by key, and every insert and delete moves
// it from then on (one created between the walk and the counter's insert
// is missed).
func (s *mongoStore) Count(ctx context.Context, tenantID string) (int64, error) {
	var d struct {
		N int64 `bson:"n"`
	}
	err := s.counts(tenantID).FindOne(ctx, bson.D{{Key: "_id", Value: countID}}).Decode(&d)
	if err == nil {
		return d.N, nil
	}
	if !engine.IsNoDocuments(err) {
		return 0, fmt.Errorf("read the fan count: %w", err)
	}
	var n int64
	if err := walk(func(list []Fan) error {
		n += int64(len(list))
		return nil
	}, func(after string) ([]Fan, error) {
		return s.page(ctx, tenantID, after, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	}); err != nil {
		return 0, err
	}
	err = s.counts(tenantID).InsertOne(ctx, bson.D{{Key: "_id", Value: countID}, {Key: "n", Value: n}})
	if engine.IsUniqueViolation(err) {
		return s.Count(ctx, tenantID) // counted meanwhile: that count is kept since
	}
	if err != nil {
		return 0, fmt.Errorf("save the fan count: %w", err)
	}
	return n, nil
}

// page reads up to walkPage fans with an id above after, in id order.
func (s *mongoStore) page(ctx context.Context, tenantID, after string, opts ...options.Lister[options.FindOptions]) ([]Fan, error) {
	return engine.FindAll(ctx, s.fans(tenantID), bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}, fanDoc.fan,
		append(opts, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(walkPage))...)
}

func (s *mongoStore) Walk(ctx context.Context, tenantID string, fn func([]Fan) error) error {
	return walk(fn, func(after string) ([]Fan, error) { return s.page(ctx, tenantID, after) })
}

func (s *mongoStore) Get(ctx context.Context, tenantID, fanID string) (Fan, error) {
	var d fanDoc
	err := s.fans(tenantID).FindOne(ctx, bson.D{{Key: "_id", Value: fanID}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Fan{}, fault.NotFound("fan")
	}
	if err != nil {
		return Fan{}, fmt.Errorf("read fan %s: %w", fanID, err)
	}
	return d.fan(), nil
}

func (s *mongoStore) List(ctx context.Context, tenantID string, f Filter) ([]Fan, int64, error) {
	filter := bson.D{}
	if f.OpenID != "" {
		filter = append(filter, bson.E{Key: "_id", Value: IDForOpenID(tenantID, f.OpenID)}, bson.E{Key: "openid", Value: f.OpenID})
	}
	if f.Subscribed != nil {
		filter = append(filter, bson.E{Key: "subscribed", Value: *f.Subscribed})
	}
	if f.Source != "" {
		filter = append(filter, bson.E{Key: "source", Value: f.Source})
	}
	c := s.fans(tenantID)
	var total int64
	var err error
	if f.filtered() {
		total, err = c.CountDocuments(ctx, filter)
	} else {
		total, err = s.Count(ctx, tenantID)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("count fans: %w", err)
	}
	out, err := engine.FindAll(ctx, c, filter, fanDoc.fan, options.Find().
		SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).SetSkip(int64(f.Offset)).SetLimit(int64(f.Limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("list fans: %w", err)
	}
	return out, total, nil
}

func (s *mongoStore) ClaimPush(ctx context.Context, tenantID string, p PushRecord) (bool, error) {
	// The unique index on key decides: exactly one insert wins, on MongoDB
	// and FerretDB alike.
	return inserted("record push", s.e.Mongo(tenantID).C("wechat_pushes").InsertOne(ctx, bson.D{{Key: "key", Value: p.Key},
		{Key: "openid", Value: p.OpenID}, {Key: "kind", Value: p.Kind}, {Key: "created_at", Value: p.At}}))
}

func (s *mongoStore) ReleasePush(ctx context.Context, tenantID, key string) error {
	if _, err := s.e.Mongo(tenantID).C("wechat_pushes").DeleteOne(ctx, bson.D{{Key: "key", Value: key}}); err != nil {
		return fmt.Errorf("release push %s: %w", key, err)
	}
	return nil
}

func (s *mongoStore) PurgePushes(ctx context.Context, tenantID string, before time.Time) (int64, error) {
	res, err := s.e.Mongo(tenantID).C("wechat_pushes").DeleteMany(ctx,
		bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: before}}}})
	if err != nil {
		return 0, fmt.Errorf("purge pushes: %w", err)
	}
	return res.DeletedCount, nil
}

// eventDefaults are the fields a fan created by an event starts with, other
// than what the event sets: every field is written (see fanDoc).
func eventDefaults(ev Event) bson.D {
	var zero time.Time
	firstScene, subscribedAt := "", zero
	switch ev.Kind {
	case Subscribed, Scanned:
		firstScene = ev.Scene
		if ev.Kind == Scanned {
			subscribedAt = ev.At
		}
	}
	return bson.D{{Key: "source", Value: ev.Source}, {Key: "created_at", Value: ev.At},
		{Key: "subscribed", Value: true}, {Key: "first_scene", Value: firstScene}, {Key: "scene", Value: ""},
		{Key: "subscribed_at", Value: subscribedAt}, {Key: "unsubscribed_at", Value: zero},
		{Key: "last_message_at", Value: zero}, {Key: "last_event_at", Value: zero}, {Key: "last_push_at", Value: zero},
		{Key: "replies_msg", Value: 0}, {Key: "replies_event", Value: 0}}
}

func (s *mongoStore) Apply(ctx context.Context, tenantID string, ev Event) (bool, error) {
	var zero time.Time
	at := ev.At
	// One upsert per event: the filter matches the fan only if no later
	// event of the kind was applied; when it does not match, the upsert's
	// insert loses on _id and the event is ignored (after the check below).
	// cond is the time the event must not be older than; set what it
	// changes.
	var cond string
	set := bson.D{{Key: "openid", Value: ev.OpenID}}
	switch ev.Kind {
	case Subscribed, Scanned:
		cond = "last_push_at"
		set = append(set, bson.E{Key: "subscribed", Value: true}, bson.E{Key: "last_event_at", Value: at},
			bson.E{Key: "replies_event", Value: 0}, bson.E{Key: "last_push_at", Value: at})
		if ev.Scene != "" {
			set = append(set, bson.E{Key: "scene", Value: ev.Scene})
		}
		if ev.Kind == Subscribed {
			set = append(set, bson.E{Key: "subscribed_at", Value: at})
		}
	case Unsubscribed:
		cond = "last_push_at"
		set = append(set, bson.E{Key: "subscribed", Value: false}, bson.E{Key: "unsubscribed_at", Value: at},
			bson.E{Key: "last_push_at", Value: at})
	case Wrote:
		cond = "last_message_at"
		set = append(set, bson.E{Key: "last_message_at", Value: at}, bson.E{Key: "replies_msg", Value: 0})
	case Clicked:
		cond = "last_event_at"
		set = append(set, bson.E{Key: "last_event_at", Value: at}, bson.E{Key: "replies_event", Value: 0})
	default:
		return false, fmt.Errorf("apply fan event: unknown kind %q", ev.Kind)
	}
	// A field may be in $set or $setOnInsert, not both.
	onInsert := bson.D{}
	for _, d := range eventDefaults(ev) {
		if !slices.ContainsFunc(set, func(e bson.E) bool { return e.Key == d.Key }) {
			onInsert = append(onInsert, d)
		}
	}
	c := s.fans(tenantID)
	filter := bson.D{{Key: "_id", Value: ev.FanID}, {Key: cond, Value: bson.D{{Key: "$lte", Value: at}}}}
	res, err := c.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: set}, {Key: "$setOnInsert", Value: onInsert}},
		options.UpdateOne().SetUpsert(true))
	if engine.IsUniqueViolation(err) {
		// The insert lost on _id: the fan exists, and either a later event
		// of the kind was applied (the filter did not match it) or another
		// event created the fan meanwhile (MongoDB matches, then inserts:
		// two upserts of a new fan can both miss). The same update without
		// the upsert tells the two apart.
		res, err = c.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: set}})
		if err == nil && res.MatchedCount == 0 {
			return false, nil // a later event was applied already
		}
	}
	if err != nil {
		return false, fmt.Errorf("apply %s to fan %s: %w", ev.Kind, ev.FanID, err)
	}
	if res.MatchedCount == 0 {
		s.counted(ctx, tenantID, 1)
		return true, nil // a new fan: $setOnInsert wrote everything
	}
	// An existing fan: first scene and first follow are set if still empty
	// (a condition an update cannot express without a pipeline).
	if ev.Scene != "" {
		if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: ev.FanID}, {Key: "first_scene", Value: ""}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "first_scene", Value: ev.Scene}}}}); err != nil {
			return false, fmt.Errorf("apply %s to fan %s: %w", ev.Kind, ev.FanID, err)
		}
	}
	if ev.Kind == Scanned {
		if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: ev.FanID}, {Key: "subscribed_at", Value: zero}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "subscribed_at", Value: at}}}}); err != nil {
			return false, fmt.Errorf("apply %s to fan %s: %w", ev.Kind, ev.FanID, err)
		}
	}
	return true, nil
}

func (s *mongoStore) AddMessage(ctx context.Context, tenantID string, m Message) (bool, error) {
	return inserted("add message", s.e.Mongo(tenantID).C("fan_messages").InsertOne(ctx, m))
}

func (s *mongoStore) Messages(ctx context.Context, tenantID, fanID string, limit int) ([]Message, error) {
	cur, err := s.e.Mongo(tenantID).C("fan_messages").Find(ctx, bson.D{{Key: "fan_id", Value: fanID}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}).SetLimit(int64(limit)))
	out := []Message{}
	if err == nil {
		err = cur.All(ctx, &out)
	}
	if err != nil {
		return nil, fmt.Errorf("read conversation of fan %s: %w", fanID, err)
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	slices.Reverse(out)
	return out, nil
}

func (s *mongoStore) ReserveReply(ctx context.Context, tenantID, fanID string, now time.Time) (bool, error) {
	// One conditional update: the counters are checked and taken together.
	res, err := s.fans(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "subscribed", Value: true},
		{Key: "openid", Value: bson.D{{Key: "$ne", Value: ""}}},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: "last_message_at", Value: bson.D{{Key: "$gt", Value: now.Add(-MessageWindow)}}},
				{Key: "replies_msg", Value: bson.D{{Key: "$lt", Value: MessageReplies}}}},
			bson.D{{Key: "last_event_at", Value: bson.D{{Key: "$gt", Value: now.Add(-EventWindow)}}},
				{Key: "replies_event", Value: bson.D{{Key: "$lt", Value: EventReplies}}}},
		}}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "replies_msg", Value: 1}, {Key: "replies_event", Value: 1}}}})
	if err != nil {
		return false, fmt.Errorf("reserve reply: %w", err)
	}
	return res.MatchedCount == 1, nil
}

func (s *mongoStore) ReturnReply(ctx context.Context, tenantID, fanID string) error {
	for _, field := range []string{"replies_msg", "replies_event"} {
		if _, err := s.fans(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: field, Value: bson.D{{Key: "$gt", Value: 0}}}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: field, Value: -1}}}}); err != nil {
			return fmt.Errorf("return reply of fan %s: %w", fanID, err)
		}
	}
	return nil
}

func (s *mongoStore) Merge(ctx context.Context, tenantID, from string, into Fan) error {
	c := s.fans(tenantID)
	p, err := planMerge(ctx, s, tenantID, from, into)
	if err != nil {
		return err
	}
	wrap := func(err error) error { return fmt.Errorf("merge fan %s into %s: %w", from, into.ID, err) }
	// Idempotent steps, in an order that a merge cut short is finished by
	// the next sign-in (see the SQLite store).
	if err := c.InsertOne(ctx, newFanDoc(into.ID, into.OpenID, p.source, p.created)); err == nil {
		s.counted(ctx, tenantID, 1)
	} else if !engine.IsUniqueViolation(err) {
		return wrap(err)
	}
	if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: into.ID}, {Key: "openid", Value: ""}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "openid", Value: into.OpenID}}}}); err != nil {
		return wrap(err)
	}
	if !p.aliased(from, into) {
		return nil
	}
	if old := p.old; old.Source != "" {
		if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: into.ID}, {Key: "created_at", Value: bson.D{{Key: "$gt", Value: old.CreatedAt}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "source", Value: old.Source}, {Key: "created_at", Value: old.CreatedAt}}}}); err != nil {
			return wrap(err)
		}
	}
	err = s.e.Mongo(tenantID).C("fan_aliases").InsertOne(ctx, bson.D{{Key: "_id", Value: from}, {Key: "into_id", Value: into.ID},
		{Key: "created_at", Value: time.Now().UTC()}})
	if err != nil && !engine.IsUniqueViolation(err) {
		return wrap(err)
	}
	res, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: from}})
	if err != nil {
		return wrap(err)
	}
	if res.DeletedCount == 1 {
		s.counted(ctx, tenantID, -1)
	}
	return nil
}

func (s *mongoStore) Alias(ctx context.Context, tenantID, id string) (string, error) {
	var d struct {
		Into string `bson:"into_id"`
	}
	err := s.e.Mongo(tenantID).C("fan_aliases").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return "", fault.NotFound("fan alias")
	}
	if err != nil {
		return "", fmt.Errorf("read alias of fan %s: %w", id, err)
	}
	return d.Into, nil
}
