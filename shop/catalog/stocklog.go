package catalog

import (
	"context"
	"slices"
)

// The storefront shows whether a product is in stock, and how many units are
// left when few are. Every replica's shelf must show a product selling out
// or coming back within its refresh interval, without reading the whole
// catalog on every sale of a busy shop. So a hold or release the storefront
// shows (one that leaves, or finds, fewer than ExactStockBelow units) appends
// the product's id to the shop's stock log, a short list with a growing
// position:
//   - SQLite: the stock_log table, written in the hold's own transaction;
//   - MongoDB: an array in the catalog_meta document with its position,
//     one $inc/$push after the hold's update. A crash between the two leaves
//     the change unlogged: shelves pick it up at their next full read
//     (shelfMaxAge).
// The shelf reads the log's position with the catalog stamp on every check,
// and when it moved, re-reads the stock of the logged products only. Sales
// that leave plenty in stock log nothing: above ExactStockBelow the count a
// shelf shows may lag (until shelfMaxAge), which only an order for more than
// is left notices, and it gets ErrOutOfStock.

// ExactStockBelow is the stock under which every change shows on every
// replica: the product page shows "In stock: n" exactly for the last few
// units, and "Sold out" at 0.
const ExactStockBelow = 10

// stockLogKeep is how many entries the stock log keeps (MongoDB keeps up to
// twice as many between trims). A shelf that fell further behind reads its
// whole catalog again.
var stockLogKeep = 200

// shownChange reports whether a stock change from before to after units
// shows on the storefront beyond "in stock".
func shownChange(before, after int64) bool { return min(before, after) < ExactStockBelow }

// restock brings e's display up to the stock log: it re-reads the stock of
// the products logged since e's position. ok is false when the log no
// longer reaches back that far (the caller reads the whole catalog).
func (s *Shelf) restock(ctx context.Context, tenantID string, e *shelfEntry) (ok bool, err error) {
	seq, ids, ok, err := s.store.StockChanges(ctx, tenantID, e.stockSeq)
	if err != nil || !ok {
		return false, err
	}
	var shown []string
	for _, id := range ids {
		if _, on := e.display.byID[id]; on && !slices.Contains(shown, id) {
			shown = append(shown, id)
		}
	}
	if len(shown) > 0 {
		fresh, err := s.store.Products(ctx, tenantID, shown)
		if err != nil {
			return false, err
		}
		e.display = e.display.withStock(fresh)
	}
	e.stockSeq = seq
	return true, nil
}

// withStock returns a copy of d showing the stock of fresh (the same
// products, read again); everything else is d's. Its page cache starts
// empty.
func (d *Display) withStock(fresh []Product) *Display {
	products := slices.Clone(d.Products)
	for _, f := range fresh {
		i, ok := d.byID[f.ID]
		if !ok {
			continue
		}
		p := products[i]
		if len(p.SKUs) == 0 {
			p.Stock = f.Stock
		} else {
			p.SKUs = slices.Clone(p.SKUs)
			for j := range p.SKUs {
				for _, k := range f.SKUs {
					if k.ID == p.SKUs[j].ID {
						p.SKUs[j].Stock = k.Stock
					}
				}
			}
			p.derive()
		}
		products[i] = p
	}
	return newDisplay(d.Stamp, products)
}
