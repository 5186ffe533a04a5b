package fan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *engine.Engine }

// fanDoc is a fan document. Every field is always written (times as the
// zero time when unknown), so conditions like last_push_at <= t hold on
// every document.
type fanDoc struct {
	ID             string    `bson:"_id"`
	OpenID         string    `bson:"openid"`
	Subscribed     bool      `bson:"subscribed"`
	Source         string    `bson:"source"`
	FirstScene     string    `bson:"first_scene"`
	Scene          string    `bson:"scene"`
	SubscribedAt   time.Time `bson:"subscribed_at"`
	UnsubscribedAt time.Time `bson:"unsubscribed_at"`
	LastMessageAt  time.Time `bson:"last_message_at"`
	LastEventAt    time.Time `bson:"last_event_at"`
	LastPushAt     time.Time `bson:"last_push_at"`
	RepliesMsg     int       `bson:"replies_msg"`
	RepliesEvent   int       `bson:"replies_event"`
	CreatedAt      time.Time `bson:"created_at"`
}

// z reads back a stored time: the zero time is stored as year 1.
func z(t time.Time) time.Time {
	if t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}

func (d fanDoc) fan() Fan {
	return Fan{ID: d.ID, OpenID: d.OpenID, Subscribed: d.Subscribed, Source: d.Source, FirstScene: d.FirstScene,
		Scene: d.Scene, SubscribedAt: z(d.SubscribedAt), UnsubscribedAt: z(d.UnsubscribedAt), LastMessageAt: z(d.LastMessageAt),
		LastEventAt: z(d.LastEventAt), RepliesSinceMessage: d.RepliesMsg, RepliesSinceEvent: d.RepliesEvent, CreatedAt: z(d.CreatedAt)}
}

func (s *mongoStore) fans(tenantID string) *engine.Collection { return s.e.Mongo(tenantID).C("fans") }

func (s *mongoStore) Ensure(ctx context.Context, tenantID, fanID, source string, now time.Time) (Fan, error) {
	err := s.fans(tenantID).InsertOne(ctx, fanDoc{ID: fanID, Source: source, CreatedAt: now})
	if err != nil && !engine.IsUniqueViolation(err) {
		return Fan{}, err
	}
	return s.Get(ctx, tenantID, fanID)
}

func (s *mongoStore) Get(ctx context.Context, tenantID, fanID string) (Fan, error) {
	var d fanDoc
	err := s.fans(tenantID).FindOne(ctx, bson.D{{Key: "_id", Value: fanID}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Fan{}, fault.NotFound("fan")
	}
	return d.fan(), err
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
	total, err := c.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count fans: %w", err)
	}
	cur, err := c.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetSkip(int64(f.Offset)).SetLimit(int64(f.Limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("list fans: %w", err)
	}
	var docs []fanDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, err
	}
	out := make([]Fan, len(docs))
	for i, d := range docs {
		out[i] = d.fan()
	}
	return out, total, nil
}

func (s *mongoStore) ClaimPush(ctx context.Context, tenantID string, p PushRecord) (bool, error) {
	// The unique index on key decides: exactly one insert wins, on MongoDB
	// and FerretDB alike.
	err := s.e.Mongo(tenantID).C("wechat_pushes").InsertOne(ctx, bson.D{{Key: "key", Value: p.Key},
		{Key: "openid", Value: p.OpenID}, {Key: "kind", Value: p.Kind}, {Key: "created_at", Value: p.At}})
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record push: %w", err)
	}
	return true, nil
}

func (s *mongoStore) ReleasePush(ctx context.Context, tenantID, key string) error {
	_, err := s.e.Mongo(tenantID).C("wechat_pushes").DeleteOne(ctx, bson.D{{Key: "key", Value: key}})
	return err
}

func (s *mongoStore) PurgePushes(ctx context.Context, tenantID string, before time.Time) (int64, error) {
	res, err := s.e.Mongo(tenantID).C("wechat_pushes").DeleteMany(ctx,
		bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: before}}}})
	if err != nil {
		return 0, err
	}
	return res.DeletedCount, nil
}

func (s *mongoStore) Apply(ctx context.Context, tenantID string, ev Event) (bool, error) {
	var zero time.Time
	at := ev.At
	// One upsert per event: the filter matches the fan only if no later
	// event of the kind was applied; when it does not match, the upsert's
	// insert loses on _id and the event is ignored.
	var cond string
	set := bson.D{{Key: "openid", Value: ev.OpenID}}
	onInsert := bson.D{{Key: "source", Value: ev.Source}, {Key: "created_at", Value: at}}
	switch ev.Kind {
	case Subscribed, Scanned:
		cond = "last_push_at"
		set = append(set, bson.E{Key: "subscribed", Value: true}, bson.E{Key: "last_event_at", Value: at},
			bson.E{Key: "replies_event", Value: 0}, bson.E{Key: "last_push_at", Value: at})
		if ev.Scene != "" {
			set = append(set, bson.E{Key: "scene", Value: ev.Scene})
		} else {
			onInsert = append(onInsert, bson.E{Key: "scene", Value: ""})
		}
		if ev.Kind == Subscribed {
			set = append(set, bson.E{Key: "subscribed_at", Value: at})
		} else {
			onInsert = append(onInsert, bson.E{Key: "subscribed_at", Value: at})
		}
		onInsert = append(onInsert, bson.E{Key: "first_scene", Value: ev.Scene}, bson.E{Key: "unsubscribed_at", Value: zero},
			bson.E{Key: "last_message_at", Value: zero}, bson.E{Key: "replies_msg", Value: 0})
	case Unsubscribed:
		cond = "last_push_at"
		set = append(set, bson.E{Key: "subscribed", Value: false}, bson.E{Key: "unsubscribed_at", Value: at},
			bson.E{Key: "last_push_at", Value: at})
		onInsert = append(onInsert, bson.E{Key: "first_scene", Value: ""}, bson.E{Key: "scene", Value: ""},
			bson.E{Key: "subscribed_at", Value: zero}, bson.E{Key: "last_message_at", Value: zero},
			bson.E{Key: "last_event_at", Value: zero}, bson.E{Key: "replies_msg", Value: 0}, bson.E{Key: "replies_event", Value: 0})
	case Wrote:
		cond = "last_message_at"
		set = append(set, bson.E{Key: "last_message_at", Value: at}, bson.E{Key: "replies_msg", Value: 0})
		onInsert = append(onInsert, bson.E{Key: "subscribed", Value: true}, bson.E{Key: "first_scene", Value: ""},
			bson.E{Key: "scene", Value: ""}, bson.E{Key: "subscribed_at", Value: zero}, bson.E{Key: "unsubscribed_at", Value: zero},
			bson.E{Key: "last_event_at", Value: zero}, bson.E{Key: "last_push_at", Value: zero}, bson.E{Key: "replies_event", Value: 0})
	case Clicked:
		cond = "last_event_at"
		set = append(set, bson.E{Key: "last_event_at", Value: at}, bson.E{Key: "replies_event", Value: 0})
		onInsert = append(onInsert, bson.E{Key: "subscribed", Value: true}, bson.E{Key: "first_scene", Value: ""},
			bson.E{Key: "scene", Value: ""}, bson.E{Key: "subscribed_at", Value: zero}, bson.E{Key: "unsubscribed_at", Value: zero},
			bson.E{Key: "last_message_at", Value: zero}, bson.E{Key: "last_push_at", Value: zero}, bson.E{Key: "replies_msg", Value: 0})
	default:
		return false, fmt.Errorf("apply fan event: unknown kind %q", ev.Kind)
	}
	c := s.fans(tenantID)
	res, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: ev.FanID}, {Key: cond, Value: bson.D{{Key: "$lte", Value: at}}}},
		bson.D{{Key: "$set", Value: set}, {Key: "$setOnInsert", Value: onInsert}}, options.UpdateOne().SetUpsert(true))
	if engine.IsUniqueViolation(err) {
		return false, nil // a later event was applied already
	}
	if err != nil {
		return false, fmt.Errorf("apply %s to fan %s: %w", ev.Kind, ev.FanID, err)
	}
	if res.MatchedCount == 0 {
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

type messageDoc struct {
	ID        string    `bson:"_id"`
	FanID     string    `bson:"fan_id"`
	Direction string    `bson:"direction"`
	Kind      string    `bson:"kind"`
	Content   string    `bson:"content"`
	CreatedAt time.Time `bson:"created_at"`
}

func (s *mongoStore) AddMessage(ctx context.Context, tenantID string, m Message) (bool, error) {
	err := s.e.Mongo(tenantID).C("fan_messages").InsertOne(ctx, messageDoc{ID: m.ID, FanID: m.FanID, Direction: m.Direction,
		Kind: m.Kind, Content: m.Content, CreatedAt: m.CreatedAt})
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("add message: %w", err)
	}
	return true, nil
}

func (s *mongoStore) Messages(ctx context.Context, tenantID, fanID string, limit int) ([]Message, error) {
	cur, err := s.e.Mongo(tenantID).C("fan_messages").Find(ctx, bson.D{{Key: "fan_id", Value: fanID}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("read conversation: %w", err)
	}
	var docs []messageDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]Message, len(docs))
	for i, d := range docs {
		out[len(docs)-1-i] = Message{ID: d.ID, FanID: d.FanID, Direction: d.Direction, Kind: d.Kind, Content: d.Content,
			CreatedAt: d.CreatedAt.UTC()}
	}
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
			return err
		}
	}
	return nil
}

func (s *mongoStore) Merge(ctx context.Context, tenantID, from string, into Fan) error {
	c := s.fans(tenantID)
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
	// Idempotent steps, in an order that a merge cut short is finished by
	// the next sign-in (see the SQLite store).
	if err := c.InsertOne(ctx, fanDoc{ID: into.ID, OpenID: into.OpenID, Source: src, CreatedAt: created}); err != nil &&
		!engine.IsUniqueViolation(err) {
		return fmt.Errorf("merge fan: %w", err)
	}
	if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: into.ID}, {Key: "openid", Value: ""}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "openid", Value: into.OpenID}}}}); err != nil {
		return fmt.Errorf("merge fan: %w", err)
	}
	if !exists || from == into.ID {
		return nil
	}
	if old.Source != "" {
		if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: into.ID}, {Key: "created_at", Value: bson.D{{Key: "$gt", Value: old.CreatedAt}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "source", Value: old.Source}, {Key: "created_at", Value: old.CreatedAt}}}}); err != nil {
			return fmt.Errorf("merge fan: %w", err)
		}
	}
	err = s.e.Mongo(tenantID).C("fan_aliases").InsertOne(ctx, bson.D{{Key: "_id", Value: from}, {Key: "into_id", Value: into.ID},
		{Key: "created_at", Value: time.Now().UTC()}})
	if err != nil && !engine.IsUniqueViolation(err) {
		return fmt.Errorf("merge fan: %w", err)
	}
	if _, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: from}}); err != nil {
		return fmt.Errorf("merge fan: %w", err)
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
	return d.Into, err
}
