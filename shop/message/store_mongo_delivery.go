package message

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
)

func (s *mongoStore) deliveries(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("deliveries")
}

// readDelivery is a stored delivery as the domain has it.
func readDelivery(d Delivery) Delivery {
	d.ClaimedAt, d.DoneAt = orNever(d.ClaimedAt), orNever(d.DoneAt)
	return d
}

func (s *mongoStore) InsertDeliveries(ctx context.Context, tenantID string, ds []Delivery) (int64, error) {
	c := s.deliveries(tenantID)
	var added int64
	// One insert each: a delivery inserted before (a page materialised
	// again after a crash) fails on its key and the others go in.
	for _, d := range ds {
		d.ClaimedAt, d.DoneAt = neverActive, neverActive
		err := c.InsertOne(ctx, d)
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
	return engine.FindAll(ctx, s.deliveries(tenantID), f, readDelivery, opts...)
}

func (s *mongoStore) Delivery(ctx context.Context, tenantID, id string) (Delivery, error) {
	var d Delivery
	err := findOne(ctx, s.deliveries(tenantID), id, "delivery", &d)
	return readDelivery(d), err
}

func (s *mongoStore) Queued(ctx context.Context, tenantID, campaignID string, now time.Time, limit int) ([]Delivery, error) {
	return s.findDeliveries(ctx, tenantID, bson.D{{Key: "campaign_id", Value: campaignID}, {Key: "status", Value: Queued},
		{Key: "next_at", Value: bson.D{{Key: "$lte", Value: now}}}}, sortLimit(bson.D{{Key: "_id", Value: 1}}, limit))
}

func (s *mongoStore) Claim(ctx context.Context, tenantID, id string, now time.Time) (bool, error) {
	res, err := s.deliveries(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: Queued}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: Sending}, {Key: "claimed_at", Value: now}}},
			{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}}})
	if err != nil {
		return false, err
	}
	return res.ModifiedCount == 1, nil
}

// sending sets fields of a delivery being sent (nothing when it is not).
func (s *mongoStore) sending(ctx context.Context, tenantID, id string, set bson.D) error {
	_, err := s.deliveries(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: Sending}},
		bson.D{{Key: "$set", Value: set}})
	return err
}

func (s *mongoStore) SetChannel(ctx context.Context, tenantID, id, channel, batch string) error {
	return s.sending(ctx, tenantID, id, bson.D{{Key: "channel", Value: channel}, {Key: "batch", Value: batch}})
}

func (s *mongoStore) Finish(ctx context.Context, tenantID, id, status, channel, reason string, at time.Time) error {
	return s.sending(ctx, tenantID, id, bson.D{{Key: "status", Value: status}, {Key: "channel", Value: channel}, {Key: "reason", Value: reason},
		{Key: "done_at", Value: at}})
}

func (s *mongoStore) Requeue(ctx context.Context, tenantID, id, reason string, next time.Time) error {
	return s.sending(ctx, tenantID, id, bson.D{{Key: "status", Value: Queued}, {Key: "reason", Value: reason}, {Key: "next_at", Value: next}})
}

func (s *mongoStore) Stale(ctx context.Context, tenantID string, before time.Time, limit int) ([]Delivery, error) {
	return s.findDeliveries(ctx, tenantID, bson.D{{Key: "status", Value: Sending}, {Key: "claimed_at", Value: bson.D{{Key: "$lt", Value: before}}}},
		sortLimit(bson.D{{Key: "claimed_at", Value: 1}}, limit))
}

func (s *mongoStore) Batch(ctx context.Context, tenantID, campaignID, batch string) ([]Delivery, error) {
	return s.findDeliveries(ctx, tenantID, bson.D{{Key: "campaign_id", Value: campaignID}, {Key: "batch", Value: batch}})
}

func (s *mongoStore) CountDeliveries(ctx context.Context, tenantID, campaignID string) (map[string]int64, error) {
	return engine.MongoSumBy[string](ctx, s.deliveries(tenantID), "$status", 1, bson.D{{Key: "$match", Value: bson.D{{Key: "campaign_id", Value: campaignID}}}})
}

// countUpTo counts c's documents of the shop, up to max: the index is
// read that far and no further. (engine.Collection.CountDocuments takes no
// limit.)
func countUpTo(ctx context.Context, c *engine.Collection, max int64) (int64, error) {
	n, err := engine.MongoSumBy[string](ctx, c, "", 1, bson.D{{Key: "$limit", Value: max}})
	return n[""], err
}

func (s *mongoStore) Deliveries(ctx context.Context, tenantID, campaignID, status, after string, limit int) ([]Delivery, error) {
	f := bson.D{{Key: "campaign_id", Value: campaignID}}
	if status != "" {
		f = append(f, bson.E{Key: "status", Value: status})
	}
	f = append(f, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	return s.findDeliveries(ctx, tenantID, f, sortLimit(bson.D{{Key: "_id", Value: 1}}, limit))
}

func (s *mongoStore) AddToInbox(ctx context.Context, tenantID string, it InboxItem) error {
	err := s.e.Mongo(tenantID).C("inbox").InsertOne(ctx, it)
	if engine.IsUniqueViolation(err) {
		return nil
	}
	return err
}

func (s *mongoStore) DeliverToInbox(ctx context.Context, tenantID string, it InboxItem, reason string) (bool, error) {
	// The item first: a crash before the delivery is ended leaves it
	// queued, and the next dispatch adds no second item (same id).
	if err := s.AddToInbox(ctx, tenantID, it); err != nil {
		return false, err
	}
	res, err := s.deliveries(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: it.ID}, {Key: "status", Value: Queued}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: Sent}, {Key: "channel", Value: ChannelInbox}, {Key: "reason", Value: reason},
			{Key: "claimed_at", Value: it.CreatedAt}, {Key: "done_at", Value: it.CreatedAt}}},
			{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}}})
	if err != nil {
		return false, err
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) Inbox(ctx context.Context, tenantID, fanID string, before time.Time, limit int) ([]InboxItem, error) {
	return engine.FindAll(ctx, s.e.Mongo(tenantID).C("inbox"),
		bson.D{{Key: "fan_id", Value: fanID}, {Key: "created_at", Value: bson.D{{Key: "$lt", Value: newest(before)}}}},
		same[InboxItem], sortLimit(bson.D{{Key: "created_at", Value: -1}}, limit))
}
