package market

import (
	"context"
	"time"

	"microshop/tenants/engine"
)

// Shop is a shop's listing on the market.
type Shop struct {
	TenantID string    `json:"-" bson:"_id"`
	Slug     string    `json:"slug"`
	Name     string    `json:"name"`
	Listed   bool      `json:"listed"`
	Category string    `json:"category"`
	Updated  time.Time `json:"updated_at" bson:"updated_at"`
}

// Item is one listed, on-sale product as the market indexes it. Its id is
// the shop's id and the product's, so one product is one item.
type Item struct {
	ID        string `bson:"_id"`
	TenantID  string `bson:"tenant_id"`
	ProductID string `bson:"product_id"`
	Title     string
	Category  string // the product's own category in its shop
	Price     int64
	Image     string
	// Rating is the average review rating × 100 (0: no reviews yet), and
	// Reviews how many there are.
	Rating    int64
	Reviews   int64
	CreatedAt time.Time `bson:"created_at"`
	// Hash is the hash of what the feed read, to skip unchanged products.
	Hash    string
	Deleted bool
	// Delisted is the operator's reason for taking the product off the
	// market ("" while it is on it). The feed never clears it.
	Delisted string
	Updated  time.Time `bson:"updated_at"`
}

func itemID(tenantID, productID string) string { return tenantID + "/" + productID }

// Report is a shopper's report of a counterfeit or prohibited product.
type Report struct {
	ID        string    `json:"id" bson:"_id"`
	TenantID  string    `json:"-" bson:"tenant_id"`
	Shop      string    `json:"shop" bson:"shop"` // the shop's slug
	ProductID string    `json:"product_id" bson:"product_id"`
	Title     string    `json:"title"`
	Kind      string    `json:"kind"` // counterfeit | prohibited
	Text      string    `json:"text"`
	Reporter  string    `json:"-"`
	Status    string    `json:"status"` // open | upheld | dismissed
	Note      string    `json:"note"`
	Operator  string    `json:"operator,omitempty"`
	Created   time.Time `json:"created_at" bson:"created_at"`
	Decided   time.Time `json:"decided_at,omitzero" bson:"decided_at"`
}

// Store keeps the market's platform records.
type Store interface {
	SaveShop(ctx context.Context, s Shop) error
	// Shop is the shop's listing; ok is false for a shop never listed.
	Shop(ctx context.Context, tenantID string) (s Shop, ok bool, err error)
	// ShopsSince lists the listings changed at or after since.
	ShopsSince(ctx context.Context, since time.Time) ([]Shop, error)
	// Items lists a shop's items, tombstones included.
	Items(ctx context.Context, tenantID string) ([]Item, error)
	// PutItems inserts or replaces items whole, keeping each one's
	// Delisted as stored.
	PutItems(ctx context.Context, items []Item) error
	// ItemsSince lists the items changed at or after since.
	ItemsSince(ctx context.Context, since time.Time) ([]Item, error)
	// Delist sets an item's Delisted reason; false if there is no item.
	Delist(ctx context.Context, id, reason string, at time.Time) (bool, error)

	AddReport(ctx context.Context, r Report) error
	Reports(ctx context.Context, status string, limit int) ([]Report, error)
	Report(ctx context.Context, id string) (Report, error)
	// DecideReport moves an open report to status; false if it was not open.
	DecideReport(ctx context.Context, id, status, note, operator string, at time.Time) (bool, error)

	PeopleStore
	SalesStore
}

// NewStore returns the store of e's kind, its records added to the
// platform database.
func NewStore(ctx context.Context, e *engine.Engine) (Store, error) {
	if err := e.ExtendPlatform(ctx, platform); err != nil {
		return nil, err
	}
	if e.Kind() == engine.Mongo {
		return &mongoStore{db: e.PlatformMongo()}, nil
	}
	return &sqliteStore{db: e.PlatformSQL()}, nil
}

var platform = engine.Platform{
	SQLite: []string{
		`CREATE TABLE IF NOT EXISTS market_shops (
			tenant_id TEXT PRIMARY KEY,
			slug TEXT NOT NULL,
			name TEXT NOT NULL,
			listed INTEGER NOT NULL,
			category TEXT NOT NULL,
			updated_at TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS market_shops_updated ON market_shops (updated_at)`,
		`CREATE TABLE IF NOT EXISTS market_items (
			id TEXT PRIMARY KEY,
			tenant_id TEXT NOT NULL,
			product_id TEXT NOT NULL,
			title TEXT NOT NULL,
			category TEXT NOT NULL,
			price INTEGER NOT NULL,
			image TEXT NOT NULL,
			rating INTEGER NOT NULL,
			reviews INTEGER NOT NULL,
			created_at TEXT NOT NULL,
			hash TEXT NOT NULL,
			deleted INTEGER NOT NULL,
			delisted TEXT NOT NULL DEFAULT '',
			updated_at TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS market_items_tenant ON market_items (tenant_id)`,
		`CREATE INDEX IF NOT EXISTS market_items_updated ON market_items (updated_at)`,
		`CREATE TABLE IF NOT EXISTS market_reports (
			id TEXT PRIMARY KEY,
			tenant_id TEXT NOT NULL,
			shop TEXT NOT NULL,
			product_id TEXT NOT NULL,
			title TEXT NOT NULL,
			kind TEXT NOT NULL,
			text TEXT NOT NULL,
			reporter TEXT NOT NULL,
			status TEXT NOT NULL,
			note TEXT NOT NULL,
			operator TEXT NOT NULL,
			created_at TEXT NOT NULL,
			decided_at TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS market_reports_status ON market_reports (status, created_at)`,
		`CREATE TABLE IF NOT EXISTS market_people (
			id TEXT PRIMARY KEY,
			doc TEXT NOT NULL,
			rev INTEGER NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS market_invites (
			hash TEXT PRIMARY KEY,
			from_id TEXT NOT NULL,
			created_at TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS market_sales (
			id TEXT PRIMARY KEY,
			tenant_id TEXT NOT NULL,
			buyer TEXT NOT NULL,
			address TEXT NOT NULL,
			phone TEXT NOT NULL,
			products TEXT NOT NULL,
			paid_at TEXT NOT NULL,
			refunded INTEGER NOT NULL,
			staff INTEGER NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS market_sales_paid ON market_sales (paid_at)`,
	},
	Mongo: []engine.MongoCollection{
		engine.Coll("market_shops", engine.Index("updated_at")),
		engine.Coll("market_items", engine.Index("tenant_id"), engine.Index("updated_at")),
		engine.Coll("market_reports", engine.Index("status", "created_at")),
		engine.Coll("market_people"),
		engine.Coll("market_invites"),
		engine.Coll("market_sales", engine.Index("paid_at")),
	},
}
