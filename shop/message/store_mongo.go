package message

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *engine.Engine }

type profileDoc struct {
	FanID         string    `bson:"_id"`
	OpenID        string    `bson:"openid"`
	Subscribed    bool      `bson:"subscribed"`
	Tags          []string  `bson:"tags"`
	GuideID       string    `bson:"guide_id"`
	StoreID       string    `bson:"store_id"`
	DistributorID string    `bson:"distributor_id"`
	Orders        int64     `bson:"orders"`
	LastActive    time.Time `bson:"last_active_at"`
	Points        int64     `bson:"points"`
	Streak        int       `bson:"streak"`
	LastCheckin   string    `bson:"last_checkin_day"`
	OptedOut      bool      `bson:"opted_out"`
	MassMonth     string    `bson:"mass_month"`
	MassCount     int       `bson:"mass_count"`
	CreatedAt     time.Time `bson:"created_at"`
}

func (d profileDoc) profile() Profile {
	p := Profile{FanID: d.FanID, OpenID: d.OpenID, Subscribed: d.Subscribed, Tags: d.Tags, GuideID: d.GuideID, StoreID: d.StoreID,
		DistributorID: d.DistributorID, Orders: d.Orders, LastActive: d.LastActive.UTC(), Points: d.Points, Streak: d.Streak,
		LastCheckin: d.LastCheckin, OptedOut: d.OptedOut, MassMonth: d.MassMonth, MassCount: d.MassCount, CreatedAt: d.CreatedAt.UTC()}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if p.LastActive.Equal(time.Unix(0, 0)) {
		p.LastActive = time.Time{}
	}
	return p
}

// neverActive is the last_active_at of a fan never seen active: the epoch,
// so range conditions compare it like any time.
var neverActive = time.Unix(0, 0).UTC()

func newProfileDoc(fanID string, now time.Time) profileDoc {
	return profileDoc{FanID: fanID, Tags: []string{}, LastActive: neverActive, CreatedAt: now}
}

func (s *mongoStore) audience(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("audience")
}

// ensure creates the fan's audience record if there is none (an insert
// keyed by the fan id: of racing creators one wins, the others find it).
func (s *mongoStore) ensure(ctx context.Context, tenantID, fanID string) error {
	err := s.audience(tenantID).InsertOne(ctx, newProfileDoc(fanID, time.Now().UTC().Truncate(time.Millisecond)))
	if err != nil && !engine.IsUniqueViolation(err) {
		return err
	}
	return nil
}

// set ensures the record and sets fields on it.
func (s *mongoStore) set(ctx context.Context, tenantID, fanID string, fields bson.D) error {
	res, err := s.audience(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}}, bson.D{{Key: "$set", Value: fields}})
	if err != nil || res.MatchedCount == 1 {
		return err
	}
	if err := s.ensure(ctx, tenantID, fanID); err != nil {
		return err
	}
	_, err = s.audience(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}}, bson.D{{Key: "$set", Value: fields}})
	return err
}

func (s *mongoStore) Profile(ctx context.Context, tenantID, fanID string) (Profile, error) {
	var d profileDoc
	err := s.audience(tenantID).FindOne(ctx, bson.D{{Key: "_id", Value: fanID}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Profile{}, fault.NotFound("audience record")
	}
	return d.profile(), err
}

func (s *mongoStore) findProfiles(ctx context.Context, tenantID string, f bson.D, opts ...options.Lister[options.FindOptions]) ([]Profile, error) {
	cur, err := s.audience(tenantID).Find(ctx, f, opts...)
	if err != nil {
		return nil, err
	}
	var docs []profileDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]Profile, len(docs))
	for i, d := range docs {
		out[i] = d.profile()
	}
	return out, nil
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
	up := bson.D{{Key: "$set", Value: bson.D{{Key: "last_active_at", Value: at}}}}
	res, err := c.UpdateOne(ctx, f, up)
	if err != nil || res.MatchedCount == 1 {
		return err
	}
	d := newProfileDoc(fanID, at)
	d.LastActive = at
	err = c.InsertOne(ctx, d)
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
	m := s.e.Mongo(tenantID)
	err := m.C("audience_orders").InsertOne(ctx, bson.D{{Key: "_id", Value: fanID + "|" + orderID}, {Key: "fan_id", Value: fanID},
		{Key: "order_id", Value: orderID}, {Key: "at", Value: at}})
	if err != nil && !engine.IsUniqueViolation(err) {
		return err
	}
	// The count is recomputed from the keyed records, not incremented: a
	// redelivered event changes nothing.
	n, err := m.C("audience_orders").CountDocuments(ctx, bson.D{{Key: "fan_id", Value: fanID}})
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
	if err != nil {
		return false, err
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) ReturnBroadcast(ctx context.Context, tenantID, fanID, month string) error {
	_, err := s.audience(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "mass_month", Value: month},
		{Key: "mass_count", Value: bson.D{{Key: "$gt", Value: 0}}}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "mass_count", Value: -1}}}})
	return err
}

// ruleFilter is r as a filter on audience.
func ruleFilter(r Rule, today string, now time.Time) bson.D {
	f := bson.D{}
	in := func(key string, vals []string) {
		if len(vals) > 0 {
			f = append(f, bson.E{Key: key, Value: bson.D{{Key: "$in", Value: vals}}})
		}
	}
	in("tags", r.Tags)
	in("guide_id", r.GuideIDs)
	in("store_id", r.StoreIDs)
	in("distributor_id", r.DistributorIDs)
	switch r.Subscribed {
	case "yes":
		f = append(f, bson.E{Key: "subscribed", Value: true})
	case "no":
		f = append(f, bson.E{Key: "subscribed", Value: false})
	}
	rng := func(key string, lo, hi any) {
		d := bson.D{}
		if lo != nil {
			d = append(d, bson.E{Key: "$gte", Value: lo})
		}
		if hi != nil {
			d = append(d, bson.E{Key: "$lte", Value: hi})
		}
		if len(d) > 0 {
			f = append(f, bson.E{Key: key, Value: d})
		}
	}
	var lo, hi any
	if r.MinOrders != nil {
		lo = *r.MinOrders
	}
	if r.MaxOrders != nil {
		hi = *r.MaxOrders
	}
	rng("orders", lo, hi)
	lo, hi = nil, nil
	if r.MinPoints != nil {
		lo = *r.MinPoints
	}
	if r.MaxPoints != nil {
		hi = *r.MaxPoints
	}
	rng("points", lo, hi)
	active := bson.D{}
	if r.ActiveWithinDays > 0 {
		active = append(active, bson.E{Key: "$gte", Value: now.AddDate(0, 0, -r.ActiveWithinDays)})
	}
	if r.InactiveForDays > 0 {
		active = append(active, bson.E{Key: "$lt", Value: now.AddDate(0, 0, -r.InactiveForDays)})
	}
	if len(active) > 0 {
		f = append(f, bson.E{Key: "last_active_at", Value: active})
	}
	if r.MinStreak > 0 {
		f = append(f, bson.E{Key: "streak", Value: bson.D{{Key: "$gte", Value: r.MinStreak}}},
			bson.E{Key: "last_checkin_day", Value: bson.D{{Key: "$gte", Value: yesterday(today)}}})
	}
	return f
}

func (s *mongoStore) Count(ctx context.Context, tenantID string, r Rule, today string, now time.Time) (int64, error) {
	return s.audience(tenantID).CountDocuments(ctx, ruleFilter(r, today, now))
}

func (s *mongoStore) Select(ctx context.Context, tenantID string, r Rule, today string, now time.Time, after string, limit int) ([]Profile, error) {
	f := append(ruleFilter(r, today, now), bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	return s.findProfiles(ctx, tenantID, f, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) CountActive(ctx context.Context, tenantID string, since time.Time) (int64, error) {
	return s.audience(tenantID).CountDocuments(ctx, bson.D{{Key: "last_active_at", Value: bson.D{{Key: "$gte", Value: since}}}})
}

type segmentDoc struct {
	ID        string    `bson:"_id"`
	Name      string    `bson:"name"`
	Rule      string    `bson:"rule"` // JSON: the rule's optional fields keep their nil
	CreatedAt time.Time `bson:"created_at"`
}

func (d segmentDoc) segment() (Segment, error) {
	sg := Segment{ID: d.ID, Name: d.Name, CreatedAt: d.CreatedAt.UTC()}
	return sg, jsonUnmarshal(d.Rule, &sg.Rule)
}

func (s *mongoStore) InsertSegment(ctx context.Context, tenantID string, sg Segment) error {
	return s.e.Mongo(tenantID).C("segments").InsertOne(ctx, segmentDoc{ID: sg.ID, Name: sg.Name, Rule: jsonText(sg.Rule), CreatedAt: sg.CreatedAt})
}

func (s *mongoStore) Segment(ctx context.Context, tenantID, id string) (Segment, error) {
	var d segmentDoc
	err := s.e.Mongo(tenantID).C("segments").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Segment{}, fault.NotFound("segment")
	}
	if err != nil {
		return Segment{}, err
	}
	return d.segment()
}

func (s *mongoStore) Segments(ctx context.Context, tenantID string, limit int) ([]Segment, error) {
	cur, err := s.e.Mongo(tenantID).C("segments").Find(ctx, bson.D{},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var docs []segmentDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := []Segment{}
	for _, d := range docs {
		sg, err := d.segment()
		if err != nil {
			return nil, err
		}
		out = append(out, sg)
	}
	return out, nil
}

func (s *mongoStore) DeleteSegment(ctx context.Context, tenantID, id string) error {
	res, err := s.e.Mongo(tenantID).C("segments").DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return fault.NotFound("segment")
	}
	return nil
}

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
	if err := jsonUnmarshal(d.Doc, &c); err != nil {
		return c, err
	}
	c.Status, c.Cursor, c.Materialized, c.Recipients = d.Status, d.Cursor, d.Materialized, d.Recipients
	c.StartedAt, c.FinishedAt = d.StartedAt.UTC(), d.FinishedAt.UTC()
	if c.StartedAt.Equal(neverActive) {
		c.StartedAt = time.Time{}
	}
	if c.FinishedAt.Equal(neverActive) {
		c.FinishedAt = time.Time{}
	}
	return c, nil
}

func (s *mongoStore) InsertCampaign(ctx context.Context, tenantID string, c Campaign) error {
	return s.e.Mongo(tenantID).C("campaigns").InsertOne(ctx, campaignDoc{ID: c.ID, Doc: jsonText(c), Status: c.Status,
		ScheduledAt: c.ScheduledAt, CreatedAt: c.CreatedAt, StartedAt: neverActive, FinishedAt: neverActive})
}

func (s *mongoStore) findCampaigns(ctx context.Context, tenantID string, f bson.D, opts ...options.Lister[options.FindOptions]) ([]Campaign, error) {
	cur, err := s.e.Mongo(tenantID).C("campaigns").Find(ctx, f, opts...)
	if err != nil {
		return nil, err
	}
	var docs []campaignDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := []Campaign{}
	for _, d := range docs {
		c, err := d.campaign()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *mongoStore) Campaign(ctx context.Context, tenantID, id string) (Campaign, error) {
	var d campaignDoc
	err := s.e.Mongo(tenantID).C("campaigns").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Campaign{}, fault.NotFound("campaign")
	}
	if err != nil {
		return Campaign{}, err
	}
	return d.campaign()
}

func (s *mongoStore) Campaigns(ctx context.Context, tenantID string, limit, offset int) ([]Campaign, int64, error) {
	total, err := s.e.Mongo(tenantID).C("campaigns").CountDocuments(ctx, bson.D{})
	if err != nil {
		return nil, 0, err
	}
	list, err := s.findCampaigns(ctx, tenantID, bson.D{}, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetSkip(int64(offset)).SetLimit(int64(limit)))
	return list, total, err
}

func (s *mongoStore) CampaignsIn(ctx context.Context, tenantID, status string, until time.Time, limit int) ([]Campaign, error) {
	return s.findCampaigns(ctx, tenantID, bson.D{{Key: "status", Value: status}, {Key: "scheduled_at", Value: bson.D{{Key: "$lte", Value: until}}}},
		options.Find().SetSort(bson.D{{Key: "scheduled_at", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) SetCampaignStatus(ctx context.Context, tenantID, id string, from []string, to string, at time.Time) (bool, error) {
	col := "started_at"
	if to == CampaignDone || to == CampaignCancelled {
		col = "finished_at"
	}
	res, err := s.e.Mongo(tenantID).C("campaigns").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$in", Value: from}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: to}, {Key: col, Value: at}}}})
	if err != nil {
		return false, err
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) Advance(ctx context.Context, tenantID, id, from, to string, added int64, done bool) (bool, error) {
	res, err := s.e.Mongo(tenantID).C("campaigns").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "cursor", Value: from}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "cursor", Value: to}, {Key: "materialized", Value: done}}},
			{Key: "$inc", Value: bson.D{{Key: "recipients", Value: added}}}})
	if err != nil {
		return false, err
	}
	return res.MatchedCount == 1, nil
}

type deliveryDoc struct {
	ID         string    `bson:"_id"`
	CampaignID string    `bson:"campaign_id"`
	FanID      string    `bson:"fan_id"`
	Status     string    `bson:"status"`
	Channel    string    `bson:"channel"`
	Reason     string    `bson:"reason"`
	Attempts   int       `bson:"attempts"`
	NextAt     time.Time `bson:"next_at"`
	Batch      string    `bson:"batch"`
	ClaimedAt  time.Time `bson:"claimed_at"`
	Notice     *Notice   `bson:"notice,omitempty"`
	CreatedAt  time.Time `bson:"created_at"`
	DoneAt     time.Time `bson:"done_at"`
}

func (d deliveryDoc) delivery() Delivery {
	out := Delivery{ID: d.ID, CampaignID: d.CampaignID, FanID: d.FanID, Status: d.Status, Channel: d.Channel, Reason: d.Reason,
		Attempts: d.Attempts, NextAt: d.NextAt.UTC(), Batch: d.Batch, ClaimedAt: d.ClaimedAt.UTC(), Notice: d.Notice,
		CreatedAt: d.CreatedAt.UTC(), DoneAt: d.DoneAt.UTC()}
	if out.ClaimedAt.Equal(neverActive) {
		out.ClaimedAt = time.Time{}
	}
	if out.DoneAt.Equal(neverActive) {
		out.DoneAt = time.Time{}
	}
	return out
}

func (s *mongoStore) InsertDeliveries(ctx context.Context, tenantID string, ds []Delivery) (int64, error) {
	c := s.e.Mongo(tenantID).C("deliveries")
	var added int64
	// One insert each: a delivery inserted before (a page materialised
	// again after a crash) fails on its key and the others go in.
	for _, d := range ds {
		err := c.InsertOne(ctx, deliveryDoc{ID: d.ID, CampaignID: d.CampaignID, FanID: d.FanID, Status: d.Status, NextAt: d.NextAt,
			Notice: d.Notice, CreatedAt: d.CreatedAt, ClaimedAt: neverActive, DoneAt: neverActive})
		if engine.IsUniqueViolation(err) {
			continue
		}
		if err != nil {
			return added, err
		}
		added++
	}
	return added, nil
}

func (s *mongoStore) findDeliveries(ctx context.Context, tenantID string, f bson.D, opts ...options.Lister[options.FindOptions]) ([]Delivery, error) {
	cur, err := s.e.Mongo(tenantID).C("deliveries").Find(ctx, f, opts...)
	if err != nil {
		return nil, err
	}
	var docs []deliveryDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]Delivery, len(docs))
	for i, d := range docs {
		out[i] = d.delivery()
	}
	return out, nil
}

func (s *mongoStore) Delivery(ctx context.Context, tenantID, id string) (Delivery, error) {
	var d deliveryDoc
	err := s.e.Mongo(tenantID).C("deliveries").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Delivery{}, fault.NotFound("delivery")
	}
	return d.delivery(), err
}

func (s *mongoStore) Queued(ctx context.Context, tenantID, campaignID string, now time.Time, limit int) ([]Delivery, error) {
	return s.findDeliveries(ctx, tenantID, bson.D{{Key: "campaign_id", Value: campaignID}, {Key: "status", Value: Queued},
		{Key: "next_at", Value: bson.D{{Key: "$lte", Value: now}}}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) update(ctx context.Context, tenantID string, f, up bson.D) (*mongo.UpdateResult, error) {
	return s.e.Mongo(tenantID).C("deliveries").UpdateOne(ctx, f, up)
}

func (s *mongoStore) Claim(ctx context.Context, tenantID, id string, now time.Time) (bool, error) {
	res, err := s.update(ctx, tenantID, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: Queued}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: Sending}, {Key: "claimed_at", Value: now}}},
			{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}}})
	if err != nil {
		return false, err
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) SetChannel(ctx context.Context, tenantID, id, channel, batch string) error {
	_, err := s.update(ctx, tenantID, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: Sending}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "channel", Value: channel}, {Key: "batch", Value: batch}}}})
	return err
}

func (s *mongoStore) Finish(ctx context.Context, tenantID, id, status, channel, reason string, at time.Time) error {
	_, err := s.update(ctx, tenantID, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: Sending}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: status}, {Key: "channel", Value: channel}, {Key: "reason", Value: reason},
			{Key: "done_at", Value: at}}}})
	return err
}

func (s *mongoStore) Requeue(ctx context.Context, tenantID, id, reason string, next time.Time) error {
	_, err := s.update(ctx, tenantID, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: Sending}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: Queued}, {Key: "reason", Value: reason}, {Key: "next_at", Value: next}}}})
	return err
}

func (s *mongoStore) Stale(ctx context.Context, tenantID string, before time.Time, limit int) ([]Delivery, error) {
	return s.findDeliveries(ctx, tenantID, bson.D{{Key: "status", Value: Sending}, {Key: "claimed_at", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.Find().SetSort(bson.D{{Key: "claimed_at", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) Batch(ctx context.Context, tenantID, campaignID, batch string) ([]Delivery, error) {
	return s.findDeliveries(ctx, tenantID, bson.D{{Key: "campaign_id", Value: campaignID}, {Key: "batch", Value: batch}})
}

func (s *mongoStore) CountDeliveries(ctx context.Context, tenantID, campaignID string) (map[string]int64, error) {
	cur, err := s.e.Mongo(tenantID).C("deliveries").Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "campaign_id", Value: campaignID}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$status"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Status string `bson:"_id"`
		N      int64  `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

func (s *mongoStore) Deliveries(ctx context.Context, tenantID, campaignID, status, after string, limit int) ([]Delivery, error) {
	f := bson.D{{Key: "campaign_id", Value: campaignID}}
	if status != "" {
		f = append(f, bson.E{Key: "status", Value: status})
	}
	f = append(f, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	return s.findDeliveries(ctx, tenantID, f, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

type inboxDoc struct {
	ID        string    `bson:"_id"`
	FanID     string    `bson:"fan_id"`
	Kind      string    `bson:"kind"`
	Title     string    `bson:"title"`
	Body      string    `bson:"body"`
	URL       string    `bson:"url"`
	Image     string    `bson:"image"`
	Channel   string    `bson:"channel"`
	CreatedAt time.Time `bson:"created_at"`
}

func (s *mongoStore) AddToInbox(ctx context.Context, tenantID string, it InboxItem) error {
	err := s.e.Mongo(tenantID).C("inbox").InsertOne(ctx, inboxDoc{ID: it.ID, FanID: it.FanID, Kind: it.Kind, Title: it.Title,
		Body: it.Body, URL: it.URL, Image: it.Image, Channel: it.Channel, CreatedAt: it.CreatedAt})
	if engine.IsUniqueViolation(err) {
		return nil
	}
	return err
}

func (s *mongoStore) Inbox(ctx context.Context, tenantID, fanID string, before time.Time, limit int) ([]InboxItem, error) {
	if before.IsZero() {
		before = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	cur, err := s.e.Mongo(tenantID).C("inbox").Find(ctx, bson.D{{Key: "fan_id", Value: fanID}, {Key: "created_at", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var docs []inboxDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]InboxItem, len(docs))
	for i, d := range docs {
		out[i] = InboxItem{ID: d.ID, FanID: d.FanID, Kind: d.Kind, Title: d.Title, Body: d.Body, URL: d.URL, Image: d.Image,
			Channel: d.Channel, CreatedAt: d.CreatedAt.UTC()}
	}
	return out, nil
}

func (s *mongoStore) doc(ctx context.Context, tenantID, name string, v any) error {
	var d struct {
		Doc string `bson:"doc"`
	}
	err := s.e.Mongo(tenantID).C("message_settings").FindOne(ctx, bson.D{{Key: "_id", Value: name}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return jsonUnmarshal(d.Doc, v)
}

func (s *mongoStore) saveDoc(ctx context.Context, tenantID, name string, v any) error {
	_, err := s.e.Mongo(tenantID).C("message_settings").UpdateOne(ctx, bson.D{{Key: "_id", Value: name}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "doc", Value: jsonText(v)}}}}, options.UpdateOne().SetUpsert(true))
	return err
}

func (s *mongoStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	st := DefaultSettings()
	err := s.doc(ctx, tenantID, "settings", &st)
	if st.Templates == nil {
		st.Templates = map[string]string{}
	}
	return st, err
}

func (s *mongoStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	return s.saveDoc(ctx, tenantID, "settings", st)
}

func (s *mongoStore) SyncedAt(ctx context.Context, tenantID string) (time.Time, error) {
	var at time.Time
	err := s.doc(ctx, tenantID, "synced", &at)
	return at, err
}

func (s *mongoStore) SetSyncedAt(ctx context.Context, tenantID string, at time.Time) error {
	return s.saveDoc(ctx, tenantID, "synced", at)
}

func jsonUnmarshal(s string, v any) error {
	if s == "" {
		return errors.New("empty document")
	}
	if err := jsonDecode(s, v); err != nil {
		return fmt.Errorf("decode stored document: %w", err)
	}
	return nil
}
