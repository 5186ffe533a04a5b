package review

import (
	"context"
	_ "embed"
	"time"

	"microshop/tenants/engine"
)

// Store keeps the shop's reviews and each product's rating. Every method
// takes the tenant first.
type Store interface {
	// Insert records r and adds its stars to its product's rating; a
	// second review of the same line (order, product, SKU) is a conflict
	// and changes nothing.
	Insert(ctx context.Context, tenantID string, r Review) error
	Get(ctx context.Context, tenantID, id string) (Review, error)
	// Update rewrites the buyer's review id (rating, text, images,
	// updated_at) if it is still fanID's, created after createdAfter and
	// still at rating old, moving its product's rating sum by the
	// difference; false, changing nothing, otherwise.
	Update(ctx context.Context, tenantID, id, fanID string, createdAfter time.Time, old int, e Edit, at time.Time) (bool, error)
	// Reply sets the merchant's reply on review id if it has none; false,
	// changing nothing, if it has one.
	Reply(ctx context.Context, tenantID, id, text string, at time.Time) (bool, error)
	// List returns up to limit reviews from offset, newest first, of one
	// product ("" for all).
	List(ctx context.Context, tenantID, productID string, limit, offset int) ([]Review, error)
	// OfOrder returns the order's reviews.
	OfOrder(ctx context.Context, tenantID, orderID string) ([]Review, error)
	// Stats returns the product's rating (zero without reviews).
	Stats(ctx context.Context, tenantID, productID string) (Stats, error)
	// Since counts the reviews created at or after from and sums their
	// stars (the shop's rating in shop/credit).
	Since(ctx context.Context, tenantID string, from time.Time) (count, sum int64, err error)
	// Uncounted lists up to limit products with a review created before
	// before whose stars a crash left out of the rating (MongoDB; none on
	// SQLite); Recount rebuilds such a product's rating from its reviews.
	Uncounted(ctx context.Context, tenantID string, before time.Time, limit int) ([]string, error)
	Recount(ctx context.Context, tenantID, productID string) error
}

// allProducts is the rating record of the whole shop (every product's
// reviews), kept beside the products' own: the console's count of reviews.
const allProducts = ""

//go:embed schema.sql
var schemaSQL string

// Schema is the review tables and indexes in each tenant database.
var Schema = engine.NewSchema("review", schemaSQL,
	engine.Coll("reviews",
		engine.Unique("order_id", "product_id", "sku_id"),
		engine.Index("product_id", "-created_at", "-_id"),
		engine.Index("-created_at", "-_id"),
		engine.Index("counted", "created_at")),
	engine.Coll("review_stats"))

// NewStore returns the review store for e's engine.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{e: e}, &mongoStore{e: e})
}
