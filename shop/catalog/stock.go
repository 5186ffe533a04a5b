package catalog

import (
	"context"
	"net/http"

	"microshop/tenants/fault"
)

// Stock is held for orders in units that are taken off the product (or SKU)
// at once and tied to a hold key (an order line). A hold and its decrement
// are one atomic step, as is a release and its increment, so stock is
// neither oversold nor returned twice, and a replay of either is a no-op:
//   - SQLite: one transaction over the stock row and the stock_holds row;
//   - MongoDB: one single-document update of the product or SKU, which
//     carries its open holds in an embedded array.
// Committing a hold (the order was paid) forgets the key and keeps the
// units taken.

// ErrOutOfStock is returned by Hold when fewer units are left than asked.
var ErrOutOfStock = fault.New(http.StatusConflict, "out_of_stock", "out of stock")

// Hold takes qty units of the product (or of its SKU skuID) for key. Holding
// a key twice takes the units once.
func (c *Catalog) Hold(ctx context.Context, tenantID, key, productID, skuID string, qty int64) error {
	left, err := c.store.Hold(ctx, tenantID, key, productID, skuID, qty)
	if err == nil && left >= 0 && shownChange(left+qty, left) {
		c.shelf.Invalidate(tenantID) // this replica shows it at once, others within their interval
	}
	return fault.Wrap(err, "hold %d of product %s for %s", qty, productID, key)
}

// Release gives the units held for key back, once; it reports whether
// anything was held.
func (c *Catalog) Release(ctx context.Context, tenantID, key, productID, skuID string) (bool, error) {
	released, shown, err := c.store.Release(ctx, tenantID, key, productID, skuID)
	if err == nil && shown {
		c.shelf.Invalidate(tenantID)
	}
	return released, fault.Wrap(err, "release stock held for %s", key)
}

// Restock puts qty units back on the product (or its SKU skuID) once for
// key: a refunded order line whose goods came back.
func (c *Catalog) Restock(ctx context.Context, tenantID, key, productID, skuID string, qty int64) error {
	if qty <= 0 {
		return nil
	}
	shown, err := c.store.Restock(ctx, tenantID, key, productID, skuID, qty)
	if err == nil && shown {
		c.shelf.Invalidate(tenantID)
	}
	return fault.Wrap(err, "restock %d of product %s for %s", qty, productID, key)
}

// Commit forgets the hold for key and keeps the units taken; qty is the
// units held (what Hold took for key), which lets MongoDB do it in one
// update.
func (c *Catalog) Commit(ctx context.Context, tenantID, key, productID, skuID string, qty int64) error {
	return fault.Wrap(c.store.Commit(ctx, tenantID, key, productID, skuID, qty), "commit stock held for %s", key)
}
