package engine

import (
	"context"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

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

// NewSchema is a tenant Schema: name, the SQLite statements of the
// package's schema file (see SQLStatements) and the Mongo collections.
func NewSchema(name, sqlFile string, collections ...MongoCollection) Schema {
	return Schema{Name: name, SQLite: SQLStatements(sqlFile), Mongo: collections}
}

// Coll declares a Mongo collection and its indexes.
func Coll(name string, indexes ...MongoIndex) MongoCollection {
	return MongoCollection{Name: name, Indexes: indexes}
}

// Index declares an index on keys, in order: ascending, or descending for a
// key written "-key". Index("class", "-at") is {class: 1, at: -1}.
func Index(keys ...string) MongoIndex {
	d := make(bson.D, 0, len(keys))
	for _, k := range keys {
		if name, desc := strings.CutPrefix(k, "-"); desc {
			d = append(d, bson.E{Key: name, Value: -1})
		} else {
			d = append(d, bson.E{Key: k, Value: 1})
		}
	}
	return MongoIndex{Keys: d}
}

// Unique is Index, with a unique constraint.
func Unique(keys ...string) MongoIndex {
	ix := Index(keys...)
	ix.Unique = true
	return ix
}

// FullKeys returns the index keys as created: tenant_id first.
func (ix MongoIndex) FullKeys() bson.D {
	return append(bson.D{{Key: "tenant_id", Value: 1}}, ix.Keys...)
}

// Platform is the platform database's schema. Platform records are not
// tenant-scoped, so its Mongo index keys are applied as written, without the
// tenant_id prefix a tenant Schema gets.
type Platform struct {
	SQLite []string
	Mongo  []MongoCollection
}

// ensurePlatformMongo creates the platform database's indexes.
func (e *Engine) ensurePlatformMongo(ctx context.Context) error {
	db := e.client.Database(e.dbPrefix)
	for _, c := range e.platform.Mongo {
		for _, ix := range c.Indexes {
			m := mongo.IndexModel{Keys: ix.Keys, Options: options.Index().SetUnique(ix.Unique)}
			// One command per index: see ensureMongoIndexes.
			if _, err := db.Collection(c.Name).Indexes().CreateOne(ctx, m); err != nil {
				return fmt.Errorf("platform index %v on %s: %w", ix.Keys, c.Name, err)
			}
		}
	}
	return nil
}

// SQLStatements splits a schema file (schema.sql, embedded by its package)
// into the statements a Schema lists: each ends with a ";" at the end of a
// line; lines starting with "--" are comments. Statements are applied in
// file order.
func SQLStatements(file string) []string {
	var out []string
	var stmt strings.Builder
	for line := range strings.Lines(file) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		stmt.WriteString(line)
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(stmt.String()), ";"))
			stmt.Reset()
		}
	}
	if s := strings.TrimSpace(stmt.String()); s != "" {
		out = append(out, s)
	}
	return out
}
