package engine

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// tenantSchemas is the platform collection recording, per shop, the
// fingerprint of the tenant schemas its Mongo database has: {_id: tenant
// id, v: version}. Start-up ensures indexes only where it differs.
var tenantSchemas = Coll("tenant_schemas", Index("v"))

// mongoSchemaVersion fingerprints the tenant schemas' Mongo collections
// and indexes.
func mongoSchemaVersion(schemas []Schema) int32 {
	h := fnv.New32a()
	for _, s := range schemas {
		io.WriteString(h, s.Name)
		for _, c := range s.Mongo {
			io.WriteString(h, "\x00"+c.Name)
			for _, ix := range c.Indexes {
				fmt.Fprintf(h, "\x01%v%t", ix.Keys, ix.Unique)
			}
		}
		h.Write([]byte{2})
	}
	return int32(h.Sum32() & 0x7fffffff)
}

// recordMongoSchema notes that the shop's database has this schema version.
func (e *Engine) recordMongoSchema(ctx context.Context, tenantID string) error {
	_, err := e.PlatformMongo().Collection(tenantSchemas.Name).UpdateOne(ctx, bson.D{{Key: "_id", Value: tenantID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: mongoSchemaVersion(e.schemas)}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("record schema version of tenant %s: %w", tenantID, err)
	}
	return nil
}

// upgradeMongo ensures the indexes of the shops whose recorded schema
// version is not this one (see Upgrade).
func (e *Engine) upgradeMongo(ctx context.Context, tenantIDs []string, workers int) (int, error) {
	cur, err := e.PlatformMongo().Collection(tenantSchemas.Name).Find(ctx,
		bson.D{{Key: "v", Value: mongoSchemaVersion(e.schemas)}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, fmt.Errorf("read schema versions: %w", err)
	}
	var current []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &current); err != nil {
		return 0, fmt.Errorf("read schema versions: %w", err)
	}
	done := make(map[string]bool, len(current))
	for _, c := range current {
		done[c.ID] = true
	}
	var todo []string
	for _, id := range tenantIDs {
		if ValidID(id) && !done[id] {
			todo = append(todo, id)
		}
	}
	return len(todo), forEach(ctx, todo, workers, func(id string) error { return e.Provision(ctx, id) })
}
