package engine

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
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
