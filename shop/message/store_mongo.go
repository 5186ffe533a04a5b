package message

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// mongoStore is the Store on Mongo: audience records, segments and
// campaigns here, deliveries and inboxes in store_mongo_delivery.go.
// Profiles, deliveries and inbox items are stored as their types are
// (their bson names).
type mongoStore struct{ docStore }

// neverActive stands for "never" in the time fields range conditions
// compare (a fan's last activity, a campaign's start and finish, a
// delivery's claim and end): the epoch, so a fan never seen active is
// quiet for any number of days.
var neverActive = time.Unix(0, 0).UTC()

// orNever is t as read: neverActive is the zero time.
func orNever(t time.Time) time.Time {
	if t.Equal(neverActive) {
		return time.Time{}
	}
	return t
}

// byID filters on the document id.
func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

// sortLimit finds in the order of sort, at most limit documents.
func sortLimit(sort bson.D, limit int) *options.FindOptionsBuilder {
	return options.Find().SetSort(sort).SetLimit(int64(limit))
}

// same is a document read as it is stored (engine.FindAll's conv).
func same[T any](v T) T { return v }

// fromJSONText decodes a value kept as JSON text in a document.
func fromJSONText(s string, v any) error {
	if s == "" {
		return errors.New("empty document")
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode stored document: %w", err)
	}
	return nil
}

// findOne decodes the document with the id into v; none is what is not
// found.
func findOne(ctx context.Context, c *engine.Collection, id, what string, v any) error {
	err := c.FindOne(ctx, byID(id)).Decode(v)
	if engine.IsNoDocuments(err) {
		return fault.NotFound(what)
	}
	return err
}

// decodeAll converts documents with read.
func decodeAll[D, T any](docs []D, read func(D) (T, error)) ([]T, error) {
	out := make([]T, 0, len(docs))
	for _, d := range docs {
		v, err := read(d)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// readProfile is a stored profile as the domain has it.
func readProfile(p Profile) Profile {
	if p.Tags == nil {
		p.Tags = []string{}
	}
	p.LastActive = orNever(p.LastActive)
	return p
}

func newProfile(fanID string, now time.Time) Profile {
	return Profile{FanID: fanID, Tags: []string{}, LastActive: neverActive, CreatedAt: now}
}

func (s *mongoStore) audience(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("audience")
}

// ensure creates the fan's audience record if there is none (an insert
// keyed by the fan id: of racing creators one wins, the others find it).
func (s *mongoStore) ensure(ctx context.Context, tenantID, fanID string) error {
	err := s.audience(tenantID).InsertOne(ctx, newProfile(fanID, time.Now().UTC().Truncate(time.Millisecond)))
	if err != nil && !engine.IsUniqueViolation(err) {
		return err
	}
	return nil
}

// set ensures the record and sets fields on it.
func (s *mongoStore) set(ctx context.Context, tenantID, fanID string, fields bson.D) error {
	up := bson.D{{Key: "$set", Value: fields}}
	res, err := s.audience(tenantID).UpdateOne(ctx, byID(fanID), up)
	if err != nil || res.MatchedCount == 1 {
		return err
	}
	if err := s.ensure(ctx, tenantID, fanID); err != nil {
		return err
	}
	_, err = s.audience(tenantID).UpdateOne(ctx, byID(fanID), up)
	return err
}

func (s *mongoStore) Profile(ctx context.Context, tenantID, fanID string) (Profile, error) {
	var p Profile
	if err := findOne(ctx, s.audience(tenantID), fanID, "audience record", &p); err != nil {
		return Profile{}, err
	}
	return readProfile(p), nil
}

func (s *mongoStore) findProfiles(ctx context.Context, tenantID string, f bson.D, opts ...options.Lister[options.FindOptions]) ([]Profile, error) {
	return engine.FindAll(ctx, s.audience(tenantID), f, readProfile, opts...)
}

func (s *mongoStore) Profiles(ctx context.Context, tenantID string, ids []string) (map[string]Profile, error) {
	out := map[string]Profile{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := s.findProfiles(ctx, tenantID, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	for _, p := range list {
		out[p.FanID] = p
	}
	return out, err
}

func (s *mongoStore) Touch(ctx context.Context, tenantID, fanID string, at time.Time) error {
	c := s.audience(tenantID)
	// An earlier time than the one recorded matches nothing.
	f := bson.D{{Key: "_id", Value: fanID}, {Key: "last_active_at", Value: bson.D{{Key: "$lt", Value: at}}}}
	res, err := c.UpdateOne(ctx, f, bson.D{{Key: "$set", Value: bson.D{{Key: "last_active_at", Value: at}}}})
	if err != nil || res.MatchedCount == 1 {
		return err
	}
	p := newProfile(fanID, at)
	p.LastActive = at
	err = c.InsertOne(ctx, p)
	if engine.IsUniqueViolation(err) {
		return nil // exists with a later time, or created meanwhile
	}
	return err
}

func (s *mongoStore) SetWeChat(ctx context.Context, tenantID, fanID, openID string, subscribed bool) error {
	return s.set(ctx, tenantID, fanID, bson.D{{Key: "openid", Value: openID}, {Key: "subscribed", Value: subscribed}})
}

func (s *mongoStore) SetPoints(ctx context.Context, tenantID, fanID string, points int64, streak int, lastCheckin string, active time.Time) error {
	if err := s.set(ctx, tenantID, fanID, bson.D{{Key: "points", Value: points}, {Key: "streak", Value: streak},
		{Key: "last_checkin_day", Value: lastCheckin}}); err != nil {
		return err
	}
	if active.IsZero() {
		return nil
	}
	return s.Touch(ctx, tenantID, fanID, active)
}

func (s *mongoStore) AddPurchase(ctx context.Context, tenantID, fanID, orderID string, at time.Time, guide, store, distributor string) error {
	orders := s.e.Mongo(tenantID).C("audience_orders")
	err := orders.InsertOne(ctx, bson.D{{Key: "_id", Value: fanID + "|" + orderID}, {Key: "fan_id", Value: fanID},
		{Key: "order_id", Value: orderID}, {Key: "at", Value: at}})
	if err != nil && !engine.IsUniqueViolation(err) {
		return err
	}
	// The count is recomputed from the keyed records, not incremented: a
	// redelivered event changes nothing.
	n, err := orders.CountDocuments(ctx, bson.D{{Key: "fan_id", Value: fanID}})
	if err != nil {
		return err
	}
	if err := s.ensure(ctx, tenantID, fanID); err != nil {
		return err
	}
	// Only ever up: of two purchases counted at once, the later count
	// cannot be overwritten by the earlier.
	if _, err := s.audience(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "orders", Value: bson.D{{Key: "$lt", Value: n}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "orders", Value: n}}}}); err != nil {
		return err
	}
	fields := bson.D{}
	for _, b := range []struct{ k, v string }{{"guide_id", guide}, {"store_id", store}, {"distributor_id", distributor}} {
		if b.v != "" {
			fields = append(fields, bson.E{Key: b.k, Value: b.v})
		}
	}
	if len(fields) > 0 {
		if err := s.set(ctx, tenantID, fanID, fields); err != nil {
			return err
		}
	}
	return s.Touch(ctx, tenantID, fanID, at)
}

func (s *mongoStore) SetBinding(ctx context.Context, tenantID, fanID, guide, store, distributor string) error {
	return s.set(ctx, tenantID, fanID, bson.D{{Key: "guide_id", Value: guide}, {Key: "store_id", Value: store},
		{Key: "distributor_id", Value: distributor}})
}

func (s *mongoStore) SetTags(ctx context.Context, tenantID, fanID string, tags []string) error {
	if tags == nil {
		tags = []string{}
	}
	return s.set(ctx, tenantID, fanID, bson.D{{Key: "tags", Value: tags}})
}

func (s *mongoStore) SetOptOut(ctx context.Context, tenantID, fanID string, out bool) error {
	return s.set(ctx, tenantID, fanID, bson.D{{Key: "opted_out", Value: out}})
}

func (s *mongoStore) ReserveBroadcast(ctx context.Context, tenantID, fanID, month string) (bool, error) {
	c := s.audience(tenantID)
	// Twice: a month another dispatcher started counting between the two
	// updates is this month's count on the second pass.
	for range 2 {
		// This month's count below the limit: one more.
		res, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "mass_month", Value: month},
			{Key: "mass_count", Value: bson.D{{Key: "$lt", Value: BroadcastsPerMonth}}}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "mass_count", Value: 1}}}})
		if err != nil || res.ModifiedCount == 1 {
			return err == nil, err
		}
		// A month not counted yet: this is its first.
		res, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "mass_month", Value: bson.D{{Key: "$ne", Value: month}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "mass_month", Value: month}, {Key: "mass_count", Value: 1}}}})
		if err != nil || res.ModifiedCount == 1 {
			return err == nil, err
		}
	}
	return false, nil
}

func (s *mongoStore) ReturnBroadcast(ctx context.Context, tenantID, fanID, month string) error {
	_, err := s.audience(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "mass_month", Value: month},
		{Key: "mass_count", Value: bson.D{{Key: "$gt", Value: 0}}}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "mass_count", Value: -1}}}})
	return err
}

// ruleFilter is r as a filter on audience.
func ruleFilter(r Rule, today string, now time.Time) bson.D {
	f := bson.D{}
	cond := func(key string, v any) { f = append(f, bson.E{Key: key, Value: v}) }
	in := func(key string, vals []string) {
		if len(vals) > 0 {
			cond(key, bson.D{{Key: "$in", Value: vals}})
		}
	}
	in("tags", r.Tags)
	for _, b := range r.bindings() {
		in(b.what+"_id", b.ids)
	}
	switch r.Subscribed {
	case "yes":
		cond("subscribed", true)
	case "no":
		cond("subscribed", false)
	}
	// between is lo <= key <= hi, either bound optional.
	between := func(key string, lo, hi *int64) {
		d := bson.D{}
		if lo != nil {
			d = append(d, bson.E{Key: "$gte", Value: *lo})
		}
		if hi != nil {
			d = append(d, bson.E{Key: "$lte", Value: *hi})
		}
		if len(d) > 0 {
			cond(key, d)
		}
	}
	between("orders", r.MinOrders, r.MaxOrders)
	between("points", r.MinPoints, r.MaxPoints)
	active := bson.D{}
	if r.ActiveWithinDays > 0 {
		active = append(active, bson.E{Key: "$gte", Value: now.AddDate(0, 0, -r.ActiveWithinDays)})
	}
	if r.InactiveForDays > 0 {
		active = append(active, bson.E{Key: "$lt", Value: now.AddDate(0, 0, -r.InactiveForDays)})
	}
	if len(active) > 0 {
		cond("last_active_at", active)
	}
	if r.MinStreak > 0 {
		cond("streak", bson.D{{Key: "$gte", Value: r.MinStreak}})
		cond("last_checkin_day", bson.D{{Key: "$gte", Value: yesterday(today)}})
	}
	return f
}

func (s *mongoStore) Count(ctx context.Context, tenantID string, r Rule, today string, now time.Time) (int64, error) {
	return s.audience(tenantID).CountDocuments(ctx, ruleFilter(r, today, now))
}

func (s *mongoStore) Select(ctx context.Context, tenantID string, r Rule, today string, now time.Time, after string, limit int) ([]Profile, error) {
	f := append(ruleFilter(r, today, now), bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	return s.findProfiles(ctx, tenantID, f, sortLimit(bson.D{{Key: "_id", Value: 1}}, limit))
}

func (s *mongoStore) CountActive(ctx context.Context, tenantID string, since time.Time) (int64, error) {
	return s.audience(tenantID).CountDocuments(ctx, bson.D{{Key: "last_active_at", Value: bson.D{{Key: "$gte", Value: since}}}})
}

// Segments and campaigns.

type segmentDoc struct {
	ID        string    `bson:"_id"`
	Name      string    `bson:"name"`
	Rule      string    `bson:"rule"` // JSON: the rule's optional fields keep their nil
	CreatedAt time.Time `bson:"created_at"`
}

func (d segmentDoc) segment() (Segment, error) {
	sg := Segment{ID: d.ID, Name: d.Name, CreatedAt: d.CreatedAt.UTC()}
	return sg, fromJSONText(d.Rule, &sg.Rule)
}

func (s *mongoStore) segments(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("segments")
}

func (s *mongoStore) InsertSegment(ctx context.Context, tenantID string, sg Segment) error {
	return s.segments(tenantID).InsertOne(ctx, segmentDoc{ID: sg.ID, Name: sg.Name, Rule: engine.JSONText(sg.Rule), CreatedAt: sg.CreatedAt})
}

func (s *mongoStore) Segment(ctx context.Context, tenantID, id string) (Segment, error) {
	var d segmentDoc
	if err := findOne(ctx, s.segments(tenantID), id, "segment", &d); err != nil {
		return Segment{}, err
	}
	return d.segment()
}

func (s *mongoStore) Segments(ctx context.Context, tenantID string, limit int) ([]Segment, error) {
	docs, err := engine.FindAll(ctx, s.segments(tenantID), bson.D{}, same[segmentDoc], sortLimit(bson.D{{Key: "created_at", Value: -1}}, limit))
	if err != nil {
		return nil, err
	}
	return decodeAll(docs, segmentDoc.segment)
}

func (s *mongoStore) DeleteSegment(ctx context.Context, tenantID, id string) error {
	res, err := s.segments(tenantID).DeleteOne(ctx, byID(id))
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return fault.NotFound("segment")
	}
	return nil
}

// campaignDoc is a campaign: its content as JSON and the fields the
// dispatcher changes.
type campaignDoc struct {
	ID           string    `bson:"_id"`
	Doc          string    `bson:"doc"` // the campaign as JSON (its content)
	Status       string    `bson:"status"`
	ScheduledAt  time.Time `bson:"scheduled_at"`
	Cursor       string    `bson:"cursor"`
	Materialized bool      `bson:"materialized"`
	Recipients   int64     `bson:"recipients"`
	CreatedAt    time.Time `bson:"created_at"`
	StartedAt    time.Time `bson:"started_at"`
	FinishedAt   time.Time `bson:"finished_at"`
}

func (d campaignDoc) campaign() (Campaign, error) {
	var c Campaign
	if err := fromJSONText(d.Doc, &c); err != nil {
		return c, err
	}
	c.Status, c.Cursor, c.Materialized, c.Recipients = d.Status, d.Cursor, d.Materialized, d.Recipients
	c.StartedAt, c.FinishedAt = orNever(d.StartedAt.UTC()), orNever(d.FinishedAt.UTC())
	return c, nil
}

func (s *mongoStore) campaigns(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("campaigns")
}

func (s *mongoStore) InsertCampaign(ctx context.Context, tenantID string, c Campaign) error {
	return s.campaigns(tenantID).InsertOne(ctx, campaignDoc{ID: c.ID, Doc: engine.JSONText(c), Status: c.Status,
		ScheduledAt: c.ScheduledAt, CreatedAt: c.CreatedAt, StartedAt: neverActive, FinishedAt: neverActive})
}

func (s *mongoStore) findCampaigns(ctx context.Context, tenantID string, f bson.D, opts ...options.Lister[options.FindOptions]) ([]Campaign, error) {
	docs, err := engine.FindAll(ctx, s.campaigns(tenantID), f, same[campaignDoc], opts...)
	if err != nil {
		return nil, err
	}
	return decodeAll(docs, campaignDoc.campaign)
}

func (s *mongoStore) Campaign(ctx context.Context, tenantID, id string) (Campaign, error) {
	var d campaignDoc
	if err := findOne(ctx, s.campaigns(tenantID), id, "campaign", &d); err != nil {
		return Campaign{}, err
	}
	return d.campaign()
}

func (s *mongoStore) Campaigns(ctx context.Context, tenantID string, limit, offset int) ([]Campaign, int64, error) {
	total, err := countUpTo(ctx, s.campaigns(tenantID), MaxCampaignsCounted)
	if err != nil {
		return nil, 0, err
	}
	list, err := s.findCampaigns(ctx, tenantID, bson.D{},
		sortLimit(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}, limit).SetSkip(int64(offset)))
	return list, total, err
}

func (s *mongoStore) CampaignsIn(ctx context.Context, tenantID, status string, until time.Time, limit int) ([]Campaign, error) {
	return s.findCampaigns(ctx, tenantID, bson.D{{Key: "status", Value: status}, {Key: "scheduled_at", Value: bson.D{{Key: "$lte", Value: until}}}},
		sortLimit(bson.D{{Key: "scheduled_at", Value: 1}}, limit))
}

func (s *mongoStore) SetCampaignStatus(ctx context.Context, tenantID, id string, from []string, to string, at time.Time) (bool, error) {
	col := "started_at"
	if to == CampaignDone || to == CampaignCancelled {
		col = "finished_at"
	}
	res, err := s.campaigns(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$in", Value: from}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: to}, {Key: col, Value: at}}}})
	if err != nil {
		return false, err
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) Advance(ctx context.Context, tenantID, id, from, to string, added int64, done bool) (bool, error) {
	res, err := s.campaigns(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "cursor", Value: from}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "cursor", Value: to}, {Key: "materialized", Value: done}}},
			{Key: "$inc", Value: bson.D{{Key: "recipients", Value: added}}}})
	if err != nil {
		return false, err
	}
	return res.MatchedCount == 1, nil
}
