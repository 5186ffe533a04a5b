package engine

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MongoSumBy runs stages on c and then groups what comes out by key (a
// "$field" path; a constant or nil for one group), summing value (1 counts
// the documents): the Mongo twin of SQLCountBy.
func MongoSumBy[K comparable](ctx context.Context, c *Collection, key, value any, stages ...bson.D) (map[K]int64, error) {
	p := append(mongo.Pipeline(stages), bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: key},
		{Key: "n", Value: bson.D{{Key: "$sum", Value: value}}}}}})
	cur, err := c.Aggregate(ctx, p)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Key K     `bson:"_id"`
		N   int64 `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, err
	}
	out := make(map[K]int64, len(rows))
	for _, r := range rows {
		out[r.Key] += r.N
	}
	return out, nil
}

// MongoIDs returns the _id of every document of the platform collection c
// that f matches, ordered by sort (nil: in no particular order): the
// shops a platform record lists.
func MongoIDs(ctx context.Context, c *mongo.Collection, f, sort bson.D) ([]string, error) {
	opts := options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}})
	if sort != nil {
		opts.SetSort(sort)
	}
	cur, err := c.Find(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}
