package catalog

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/url"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Catalog is the merchant-facing product service: it validates input,
// writes through the store and tells the local shelf to refresh.
type Catalog struct {
	store Store
	shelf *Shelf
	now   func() time.Time

	// stamps make creation times strictly increasing, so products created
	// in one burst (an import, the demo shop) keep their order in "newest
	// first" lists.
	stamps engine.Stamps
}

// New returns the catalog over store; shelf is refreshed after each write
// (other replicas notice through the store's stamp).
func New(store Store, shelf *Shelf) *Catalog {
	return &Catalog{store: store, shelf: shelf, now: time.Now}
}

// Create adds a product.
func (c *Catalog) Create(ctx context.Context, tenantID string, in Input) (Product, error) {
	now := c.stamps.Next(c.now())
	p := Product{ID: engine.NewID(), Rev: 1, CreatedAt: now, UpdatedAt: now}
	if err := in.apply(&p, true, engine.NewID); err != nil {
		return Product{}, err
	}
	if err := c.store.Create(ctx, tenantID, &p); err != nil {
		return Product{}, err
	}
	p.rowStock = p.stockToStore()
	c.shelf.Invalidate(tenantID)
	p.derive()
	return p, nil
}

// Get returns one product; a malformed id is a 400, a missing one a 404.
func (c *Catalog) Get(ctx context.Context, tenantID, id string) (Product, error) {
	if err := checkID(id); err != nil {
		return Product{}, err
	}
	return c.store.Get(ctx, tenantID, id)
}

// maxPatchAttempts bounds how often a patch re-reads after losing a race:
// enough for a few dozen simultaneous editors of one product (one wins per
// round), before the caller is asked to try again.
const maxPatchAttempts = 50

// Patch changes the fields in is set. Concurrent edits of one product are
// serialised by its revision: a patch that lost the race re-reads and
// re-applies, so no edit silently undoes another.
func (c *Catalog) Patch(ctx context.Context, tenantID, id string, in Input) (Product, error) {
	if err := checkID(id); err != nil {
		return Product{}, err
	}
	for attempt := 0; ; attempt++ {
		old, err := c.store.Get(ctx, tenantID, id)
		if err != nil {
			return Product{}, err
		}
		p := old
		p.SKUs = append([]SKU(nil), old.SKUs...)
		if err := in.apply(&p, false, engine.NewID); err != nil {
			return Product{}, err
		}
		p.UpdatedAt = c.now().UTC().Truncate(time.Millisecond)
		err = c.store.Update(ctx, tenantID, &p, old)
		if errors.Is(err, fault.ErrConflict) && attempt < maxPatchAttempts {
			// Each round of racing editors has one winner; a short random
			// pause spreads the losers so they don't collide again at once.
			time.Sleep(time.Duration(rand.IntN(2+attempt)) * time.Millisecond)
			continue
		}
		if err != nil {
			if errors.Is(err, fault.ErrConflict) {
				return Product{}, fault.Conflict("the product is being edited by someone else; try again")
			}
			return Product{}, err
		}
		c.shelf.Invalidate(tenantID)
		p.derive()
		return p, nil
	}
}

// Delete removes a product.
func (c *Catalog) Delete(ctx context.Context, tenantID, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := c.store.Delete(ctx, tenantID, id); err != nil {
		return err
	}
	c.shelf.Invalidate(tenantID)
	return nil
}

// List pages through products; limits are checked here.
func (c *Catalog) List(ctx context.Context, tenantID string, f Filter) ([]Product, int64, error) {
	if err := engine.CheckPage(&f.Limit, f.Offset); err != nil {
		return nil, 0, err
	}
	if f.Status != "" && f.Status != OnSale && f.Status != OffSale {
		return nil, 0, fault.Invalid("status", "must be %q or %q", OnSale, OffSale)
	}
	if len(f.Query) > 100 {
		return nil, 0, fault.Invalid("q", "must be at most 100 characters")
	}
	if len(f.Category) > 4*MaxCategory {
		return nil, 0, fault.Invalid("category", "must be at most %d characters", MaxCategory)
	}
	return c.store.List(ctx, tenantID, f)
}

func checkID(id string) error { return engine.CheckID("id", "product", id) }

// intParam parses an optional integer query parameter.
func intParam(name, v string) (int, error) { return engine.ParseOptInt(name, v) }

func urlQuery(s string) string { return url.QueryEscape(s) }
