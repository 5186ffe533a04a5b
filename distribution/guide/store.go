package guide

import (
	"context"
	_ "embed"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants/engine"
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string

// Store keeps stores, guides and funnel counters.
type Store interface {
	CreateLocation(ctx context.Context, tenantID string, l Location) error
	Location(ctx context.Context, tenantID, id string) (Location, error)
	Locations(ctx context.Context, tenantID string, limit int) ([]Location, error)
	UpdateLocation(ctx context.Context, tenantID string, l Location) error

	// CreateGuide inserts g; a taken code is a unique violation.
	CreateGuide(ctx context.Context, tenantID string, g Guide) error
	Guide(ctx context.Context, tenantID, id string) (Guide, error)
	GuideByCode(ctx context.Context, tenantID, code string) (Guide, error)
	// Guides lists guides (of one store when storeID is set), by name.
	Guides(ctx context.Context, tenantID, storeID string, limit, offset int) ([]Guide, error)
	// UpdateGuide writes g if its stored revision is still g.Rev, bumping
	// it; false when it changed meanwhile.
	UpdateGuide(ctx context.Context, tenantID string, g Guide) (bool, error)

	// Count adds c to the (guide, store, day) counters, creating them.
	Count(ctx context.Context, tenantID, guideID, storeID, day string, c Counts) error
	// Mark inserts a marker key once: true the first time.
	Mark(ctx context.Context, tenantID, key string) (bool, error)
	// Days returns the counters f selects.
	Days(ctx context.Context, tenantID string, f DayFilter) ([]Day, error)
}

// NewStore returns the guide store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{e: e}, &mongoStore{e: e})
}

// Schema is the guides' tables and indexes in each tenant database.
var Schema = engine.Schema{
	Name:   "guide",
	SQLite: engine.SQLStatements(schemaSQL),
	Mongo: []engine.MongoCollection{
		{Name: "guide_stores", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "created_at", Value: 1}}},
		}},
		{Name: "guides", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "code", Value: 1}}, Unique: true},
			{Keys: bson.D{{Key: "store_id", Value: 1}, {Key: "name", Value: 1}}},
			{Keys: bson.D{{Key: "name", Value: 1}}},
		}},
		{Name: "guide_days", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "guide_id", Value: 1}, {Key: "day", Value: 1}}},
			{Keys: bson.D{{Key: "store_id", Value: 1}, {Key: "day", Value: 1}}},
			{Keys: bson.D{{Key: "day", Value: 1}}},
		}},
		{Name: "guide_marks"},
	},
}
