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
	current, err := MongoIDs(ctx, e.PlatformMongo().Collection(tenantSchemas.Name),
		bson.D{{Key: "v", Value: mongoSchemaVersion(e.schemas)}}, nil)
	if err != nil {
		return 0, fmt.Errorf("read schema versions: %w", err)
	}
	done := make(map[string]bool, len(current))
	for _, id := range current {
		done[id] = true
	}
	// Pooled shops: their database's schema is the pool's, applied once.
	pooled, pools, err := e.pooledShops(ctx)
	if err != nil {
		return 0, err
	}
	for _, id := range pooled {
		done[id] = true
	}
	for _, db := range pools {
		if err := e.ensurePool(ctx, db); err != nil {
			return 0, err
		}
	}
	var todo []string
	for _, id := range tenantIDs {
		if ValidID(id) && !done[id] {
			todo = append(todo, id)
		}
	}
	// An existing shop stays where it is: pooled ones are done above, the
	// others have a database of their own (Provision would pool a shop it
	// takes for new).
	return len(todo), forEach(ctx, todo, workers, func(id string) error { return e.provisionPlaced(ctx, id) })
}

// pooledShops lists the shops placed in a pooled database and those
// databases.
func (e *Engine) pooledShops(ctx context.Context) (shops, dbs []string, err error) {
	cur, err := e.PlatformMongo().Collection(placementsColl.Name).Find(ctx, bson.D{{Key: "pooled", Value: true}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "db", Value: 1}}))
	if err != nil {
		return nil, nil, fmt.Errorf("read the tenant directory: %w", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
		DB string `bson:"db"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, nil, fmt.Errorf("read the tenant directory: %w", err)
	}
	seen := map[string]bool{}
	for _, d := range docs {
		shops = append(shops, d.ID)
		if !seen[d.DB] {
			seen[d.DB] = true
			dbs = append(dbs, d.DB)
		}
	}
	return shops, dbs, nil
}
