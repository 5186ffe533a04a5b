package catalog

import (
	"context"
	_ "embed"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Store keeps products and SKUs in a tenant's database. Every method takes
// the tenant first. Edits also change the catalog's stamp, and holds and
// releases that the storefront shows append to the stock log (see
// stocklog.go): the shelf polls both to notice changes made on any replica.
type Store interface {
	Create(ctx context.Context, tenantID string, p *Product) error
	Get(ctx context.Context, tenantID, id string) (Product, error)
	// Update writes p, read earlier as old, if its stored revision is still
	// p.Rev, then bumps Rev; a concurrent edit in between is ErrConflict.
	// Stock is written as the difference from old (stock = stock + delta),
	// so units that orders hold meanwhile are never written back; a delta
	// that would take stock below zero is ErrConflict too.
	Update(ctx context.Context, tenantID string, p *Product, old Product) error
	Delete(ctx context.Context, tenantID, id string) error
	// List returns a page of the products f selects, newest first, and how
	// many it selects, counted up to MaxCounted.
	List(ctx context.Context, tenantID string, f Filter) ([]Product, int64, error)
	// OnSale returns every on-sale product, newest first, with SKUs.
	OnSale(ctx context.Context, tenantID string) ([]Product, error)
	// Products returns the products with these ids, with SKUs, in no
	// particular order; ids not found are left out.
	Products(ctx context.Context, tenantID string, ids []string) ([]Product, error)
	// Stamp returns the catalog's stamp and the stock log's position.
	Stamp(ctx context.Context, tenantID string) (Stamp, error)
	// StockChanges returns the stock log after position since: the
	// position it reached and the products whose storefront stock changed
	// after since, oldest first (one may repeat). ok is false when the log
	// no longer reaches back to since.
	StockChanges(ctx context.Context, tenantID string, since int64) (seq int64, productIDs []string, ok bool, err error)

	// Hold takes qty units for key (see stock.go) and returns the units
	// left, -1 for a key already held (a no-op). Too few units is
	// ErrOutOfStock. A hold that leaves fewer than ExactStockBelow units
	// is logged in the stock log.
	Hold(ctx context.Context, tenantID, key, productID, skuID string, qty int64) (left int64, err error)
	// Release returns the units held for key, once; shown says the stock
	// was under ExactStockBelow before (the storefront shows the change),
	// and the release was logged in the stock log.
	Release(ctx context.Context, tenantID, key, productID, skuID string) (released, shown bool, err error)
	// Commit forgets key's hold, keeping the units taken.
	Commit(ctx context.Context, tenantID, key, productID, skuID string, qty int64) error
	// Restock puts qty units back on the product (or SKU) once for key
	// (a refunded order line); shown says the stock the storefront shows
	// changed.
	Restock(ctx context.Context, tenantID, key, productID, skuID string, qty int64) (shown bool, err error)
}

// Stamp is what the shelf polls to notice changes made on any replica.
type Stamp struct {
	Catalog string // changes whenever a product is created, edited or deleted
	Stock   int64  // the stock log's position: grows with every change it logs
}

// Filter selects products for a list.
type Filter struct {
	Status   string // "" for any
	Category string // "" for any
	Query    string // substring of the title
	Limit    int
	Offset   int
}

// NewStore returns the catalog store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{e: e}, &mongoStore{e: e})
}

// skuWrite is one write that makes a product's stored SKUs what an edit
// made them: insert a new SKU, delete one that is gone, or update one
// (its stock by delta: see Store.Update). pos is its place in the list.
type skuWrite struct {
	SKU
	pos       int
	delta     int64
	new, gone bool
}

// skuWrites lists the writes that make the stored SKUs old into next:
// next's, in order, then the deletions.
func skuWrites(old, next []SKU) []skuWrite {
	before := map[string]SKU{}
	for _, k := range old {
		before[k.ID] = k
	}
	var out []skuWrite
	for i, k := range next {
		was, ok := before[k.ID]
		out = append(out, skuWrite{SKU: k, pos: i, delta: k.Stock - was.Stock, new: !ok})
		delete(before, k.ID)
	}
	for _, k := range old {
		if _, gone := before[k.ID]; gone {
			out = append(out, skuWrite{SKU: k, gone: true})
		}
	}
	return out
}

// stockChanged is the conflict of an edit that would take an SKU's stock
// below zero.
func stockChanged(k SKU) error {
	return fault.Conflict("stock of %q changed while you edited it (orders took some); reload and try again", k.Name)
}

// Schema is the catalog's tables and indexes in each tenant database.
var Schema = engine.NewSchema("catalog", schemaSQL,
	engine.Coll("products",
		engine.Index("-created_at", "-_id"), engine.Index("status", "-created_at", "-_id"),
		engine.Index("category", "-created_at", "-_id"),
		engine.Index("status", "category", "-created_at", "-_id")),
	engine.Coll("skus", engine.Index("product_id", "position")),
	engine.Coll("catalog_meta"),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string
