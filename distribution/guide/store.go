package guide

import (
	"context"
	_ "embed"

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
	return engine.ByKind[Store](e, &sqliteStore{e: e}, &mongoStore{e: e})
}

// Schema is the guides' tables and indexes in each tenant database.
var Schema = engine.NewSchema("guide", schemaSQL,
	engine.Coll("guide_stores", engine.Index("created_at")),
	engine.Coll("guides", engine.Unique("code"), engine.Index("store_id", "name"), engine.Index("name")),
	engine.Coll("guide_days",
		engine.Index("guide_id", "day"), engine.Index("store_id", "day"), engine.Index("day")),
	engine.Coll("guide_marks"),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string
