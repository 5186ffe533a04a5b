package guide

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants/engine"
)

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
	if e.Kind() == engine.Mongo {
		return &mongoStore{e: e}
	}
	return &sqliteStore{e: e}
}

// Schema is the guides' tables and indexes in each tenant database.
var Schema = engine.Schema{
	Name: "guide",
	SQLite: []string{
		`CREATE TABLE IF NOT EXISTS guide_stores (
			tenant_id TEXT NOT NULL,
			id TEXT NOT NULL,
			name TEXT NOT NULL,
			address TEXT NOT NULL,
			active INTEGER NOT NULL,
			created_at TEXT NOT NULL,
			PRIMARY KEY (tenant_id, id))`,
		`CREATE INDEX IF NOT EXISTS guide_stores_created ON guide_stores (tenant_id, created_at)`,
		`CREATE TABLE IF NOT EXISTS guides (
			tenant_id TEXT NOT NULL,
			id TEXT NOT NULL,
			name TEXT NOT NULL,
			phone TEXT NOT NULL,
			store_id TEXT NOT NULL,
			code TEXT NOT NULL,
			active INTEGER NOT NULL,
			created_at TEXT NOT NULL,
			left_at TEXT NOT NULL DEFAULT '',
			handed_to TEXT NOT NULL DEFAULT '',
			rev INTEGER NOT NULL,
			PRIMARY KEY (tenant_id, id))`,
		`CREATE UNIQUE INDEX IF NOT EXISTS guides_code ON guides (tenant_id, code)`,
		`CREATE INDEX IF NOT EXISTS guides_store ON guides (tenant_id, store_id, name)`,
		`CREATE INDEX IF NOT EXISTS guides_name ON guides (tenant_id, name)`,
		`CREATE TABLE IF NOT EXISTS guide_days (
			tenant_id TEXT NOT NULL,
			guide_id TEXT NOT NULL,
			store_id TEXT NOT NULL,
			day TEXT NOT NULL,
			visits INTEGER NOT NULL DEFAULT 0,
			follows INTEGER NOT NULL DEFAULT 0,
			new_fans INTEGER NOT NULL DEFAULT 0,
			ordering_fans INTEGER NOT NULL DEFAULT 0,
			orders INTEGER NOT NULL DEFAULT 0,
			paid_gmv INTEGER NOT NULL DEFAULT 0,
			refunds INTEGER NOT NULL DEFAULT 0,
			refund_amount INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (tenant_id, guide_id, store_id, day))`,
		`CREATE INDEX IF NOT EXISTS guide_days_guide ON guide_days (tenant_id, guide_id, day)`,
		`CREATE INDEX IF NOT EXISTS guide_days_store ON guide_days (tenant_id, store_id, day)`,
		`CREATE INDEX IF NOT EXISTS guide_days_day ON guide_days (tenant_id, day)`,
		`CREATE TABLE IF NOT EXISTS guide_marks (
			tenant_id TEXT NOT NULL,
			key TEXT NOT NULL,
			PRIMARY KEY (tenant_id, key))`,
	},
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
