package tenants

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
)

func (s *mongoStore) WindowAdd(ctx context.Context, key string, delta int, window time.Duration, now time.Time) (int, time.Time, error) {
	coll := s.db.Collection("rate_windows")
	if delta < 0 {
		return s.windowTakeBack(ctx, key, -delta, window, now)
	}
	// Without update pipelines (FerretDB has none), in two conditional
	// steps: grow the open window; else restart a run-out or missing one,
	// whose insert loses to a replica that restarted it first (duplicate
	// key: grow that one).
	for range 3 {
		grow := options.FindOneAndUpdate().SetReturnDocument(options.After)
		restart := options.FindOneAndUpdate().SetReturnDocument(options.After).SetUpsert(true)
		var d windowDoc
		err := coll.FindOneAndUpdate(ctx,
			bson.D{{Key: "_id", Value: key}, {Key: "start_at", Value: bson.D{{Key: "$gt", Value: now.Add(-window)}}}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: delta}}}}, grow).Decode(&d)
		if err == nil {
			return d.N, d.Start.UTC(), nil
		}
		if !engine.IsNoDocuments(err) {
			return 0, time.Time{}, fmt.Errorf("rate window add %s: %w", key, err)
		}
		err = coll.FindOneAndUpdate(ctx,
			bson.D{{Key: "_id", Value: key}, {Key: "start_at", Value: bson.D{{Key: "$lte", Value: now.Add(-window)}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: max(delta, 0)}, {Key: "start_at", Value: now}}}},
			restart).Decode(&d)
		if err == nil {
			return d.N, d.Start.UTC(), nil
		}
		if !engine.IsUniqueViolation(err) {
			return 0, time.Time{}, fmt.Errorf("rate window start %s: %w", key, err)
		}
	}
	return 0, time.Time{}, fmt.Errorf("rate window add %s: lost three races in a row", key)
}

// windowTakeBack takes n events back from key's open window, down to zero
// (conditional steps, as WindowAdd); no open window: nothing to take back.
func (s *mongoStore) windowTakeBack(ctx context.Context, key string, n int, window time.Duration, now time.Time) (int, time.Time, error) {
	coll := s.db.Collection("rate_windows")
	open := bson.D{{Key: "_id", Value: key}, {Key: "start_at", Value: bson.D{{Key: "$gt", Value: now.Add(-window)}}}}
	after := options.FindOneAndUpdate().SetReturnDocument(options.After)
	var d windowDoc
	err := coll.FindOneAndUpdate(ctx, append(open, bson.E{Key: "n", Value: bson.D{{Key: "$gte", Value: n}}}),
		bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: -n}}}}, after).Decode(&d)
	if engine.IsNoDocuments(err) {
		err = coll.FindOneAndUpdate(ctx, open, bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: 0}}}}, after).Decode(&d)
	}
	if engine.IsNoDocuments(err) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("rate window take back %s: %w", key, err)
	}
	return d.N, d.Start.UTC(), nil
}

func (s *mongoStore) WindowGet(ctx context.Context, key string, window time.Duration, now time.Time) (int, time.Time, error) {
	var d windowDoc
	err := s.db.Collection("rate_windows").FindOne(ctx,
		bson.D{{Key: "_id", Value: key}, {Key: "start_at", Value: bson.D{{Key: "$gt", Value: now.Add(-window)}}}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("rate window get %s: %w", key, err)
	}
	return d.N, d.Start.UTC(), nil
}

func (s *mongoStore) SweepWindows(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.Collection("rate_windows").DeleteMany(ctx,
		bson.D{{Key: "start_at", Value: bson.D{{Key: "$lt", Value: before}}}})
	if err != nil {
		return 0, fmt.Errorf("sweep rate windows: %w", err)
	}
	return int(res.DeletedCount), nil
}
