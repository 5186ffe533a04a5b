package tenants

import "go.mongodb.org/mongo-driver/v2/bson"

// Schema is what one domain package needs in each tenant's database: its
// SQLite tables and indexes, and its Mongo collections and indexes. Both are
// applied when a tenant is provisioned and ensured at start-up, so every
// statement must be idempotent (CREATE ... IF NOT EXISTS). A column added
// to an existing table is also listed as ALTER TABLE ... ADD COLUMN after
// its CREATE TABLE, so databases made before the change gain it.
type Schema struct {
	Name   string
	SQLite []string
	Mongo  []MongoCollection
}

// MongoCollection declares one collection and its indexes. The tenant_id key
// is prepended to every index by the engine, so declarations list only the
// keys that follow it.
type MongoCollection struct {
	Name    string
	Indexes []MongoIndex
}

// MongoIndex is one declared index (without its leading tenant_id key).
type MongoIndex struct {
	Keys   bson.D
	Unique bool
}

// FullKeys returns the index keys as created: tenant_id first.
func (ix MongoIndex) FullKeys() bson.D {
	return append(bson.D{{Key: "tenant_id", Value: 1}}, ix.Keys...)
}
