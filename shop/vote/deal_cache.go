package vote

import (
	"context"
	"sync"
	"time"
)

// The product page asks for its product's group deal on every view (the
// page's version depends on it), so the answer is kept a moment per
// product rather than read from the shop's database each time. A deal
// made or claimed on this replica is seen at once; elsewhere within
// productDealTTL, which the page's "what is left" can lag by.

// productDealTTL is how long a product's deals are kept.
const productDealTTL = 2 * time.Second

// maxProductDeals bounds the products kept; beyond it the cache starts again.
const maxProductDeals = 10_000

type productDealKey struct{ tenantID, productID string }

type productDeals struct {
	at    time.Time
	deals []Deal
}

// dealCache is the product pages' deals, per shop and product.
type dealCache struct {
	mu sync.Mutex
	m  map[productDealKey]productDeals
}

// get returns the product's deals ending after now, from the cache when
// they were read within productDealTTL.
func (c *dealCache) get(ctx context.Context, store Store, tenantID, productID string, now time.Time) ([]Deal, error) {
	k := productDealKey{tenantID, productID}
	wall := time.Now()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && wall.Sub(e.at) < productDealTTL {
		return e.deals, nil
	}
	list, err := store.ProductDeals(ctx, tenantID, productID, now)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxProductDeals {
		c.m = map[productDealKey]productDeals{}
	}
	c.m[k] = productDeals{at: wall, deals: list}
	c.mu.Unlock()
	return list, nil
}

// forget drops what is kept of the product's deals (a deal made or claimed).
func (c *dealCache) forget(tenantID, productID string) {
	c.mu.Lock()
	delete(c.m, productDealKey{tenantID, productID})
	c.mu.Unlock()
}
