package catalog

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"
)

// Shelf is the storefront's in-memory copy of each shop's on-sale products,
// so page views do not query the database. A shop's copy is checked against
// the store's stamp at most once per interval: a change made on this replica
// shows at once (Invalidate), one made on another replica within interval.
// An edit (the catalog stamp) makes it read the shop's products again; a
// sale the storefront shows (the stock log, see stocklog.go) makes it read
// the stock of the products sold only. Rendered pages are kept beside the
// copy and dropped with it.
type Shelf struct {
	store    Store
	interval time.Duration
	now      func() time.Time

	mu    sync.Mutex
	shops map[string]*shelfEntry

	// watchers hear of every change Invalidate is told of (see Watch).
	watchers []func(tenantID string)
}

type shelfEntry struct {
	mu       sync.Mutex // held while checking or rebuilding this shop
	display  *Display
	stockSeq int64     // the stock log position display shows
	built    time.Time // when display was read whole
	checked  time.Time
}

// shelfMaxAge is how long a shop's copy lives before it is read whole again
// though nothing said it changed: the bound on how long a stock change the
// log missed (a crash on MongoDB, a count above ExactStockBelow) shows.
const shelfMaxAge = 10 * time.Minute

// maxShelfShops bounds how many shops stay in memory; beyond it the whole
// map is dropped and refilled by demand (simple, and rare).
const maxShelfShops = 10_000

// NewShelf returns a shelf that rechecks each shop's stamp every interval.
func NewShelf(store Store, interval time.Duration) *Shelf {
	return &Shelf{store: store, interval: interval, now: time.Now, shops: map[string]*shelfEntry{}}
}

// Display is one shop's on-sale catalog as the storefront shows it. It is
// never modified after it is built, except for its page cache.
type Display struct {
	Stamp      string
	Products   []Product // newest first
	Categories []string
	byID       map[string]int

	pagesMu sync.RWMutex
	pages   map[string][]byte
}

// maxCachedPages bounds the rendered pages kept per shop. When full, an
// arbitrary page is dropped for the new one, so junk searches cannot pin the
// cache and leave the pages people actually visit uncached.
const maxCachedPages = 2048

// Product returns the on-sale product with id.
func (d *Display) Product(id string) (Product, bool) {
	i, ok := d.byID[id]
	if !ok {
		return Product{}, false
	}
	return d.Products[i], true
}

// Page returns a rendered page cached under key.
func (d *Display) Page(key string) ([]byte, bool) {
	d.pagesMu.RLock()
	defer d.pagesMu.RUnlock()
	b, ok := d.pages[key]
	return b, ok
}

// KeepPage caches a rendered page under key.
func (d *Display) KeepPage(key string, b []byte) {
	d.pagesMu.Lock()
	defer d.pagesMu.Unlock()
	if len(d.pages) >= maxCachedPages {
		for k := range d.pages { // map order is random: a cheap random eviction
			delete(d.pages, k)
			break
		}
	}
	d.pages[key] = b
}

// Select returns the products in category (all if ""), whose title contains
// query (case-insensitive), as a page of size limit starting at offset, and
// whether more follow.
func (d *Display) Select(category, query string, offset, limit int) ([]Product, bool) {
	q := strings.ToLower(strings.TrimSpace(query))
	var out []Product
	skipped := 0
	for _, p := range d.Products {
		if category != "" && p.Category != category {
			continue
		}
		if q != "" && !titleHas(p, q) {
			continue
		}
		if skipped < offset {
			skipped++
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, p)
	}
	return out, false
}

// Get returns the shop's display, rebuilding it if the store changed.
func (s *Shelf) Get(ctx context.Context, tenantID string) (*Display, error) {
	s.mu.Lock()
	e := s.shops[tenantID]
	if e == nil {
		if len(s.shops) >= maxShelfShops {
			s.shops = map[string]*shelfEntry{}
		}
		e = &shelfEntry{}
		s.shops[tenantID] = e
	}
	s.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := s.now()
	if e.display != nil && now.Sub(e.checked) < s.interval {
		return e.display, nil
	}
	err := s.refresh(ctx, tenantID, e, now)
	if err != nil {
		if e.display != nil {
			return e.display, nil // serve the last good copy through a database hiccup
		}
		return nil, err
	}
	e.checked = now
	return e.display, nil
}

// refresh brings e up to the store: the stamps are read first, so a change
// landing meanwhile is read again next time rather than missed.
func (s *Shelf) refresh(ctx context.Context, tenantID string, e *shelfEntry, now time.Time) error {
	stamp, err := s.store.Stamp(ctx, tenantID)
	if err != nil {
		return err
	}
	if e.display != nil && e.display.Stamp == stamp.Catalog && now.Sub(e.built) < shelfMaxAge {
		if e.stockSeq == stamp.Stock {
			return nil
		}
		if ok, err := s.restock(ctx, tenantID, e); ok || err != nil {
			return err
		}
	}
	products, err := s.store.OnSale(ctx, tenantID)
	if err != nil {
		return err
	}
	e.display, e.stockSeq, e.built = newDisplay(stamp.Catalog, products), stamp.Stock, now
	return nil
}

// Invalidate makes the next Get of the shop recheck the store.
func (s *Shelf) Invalidate(tenantID string) {
	s.mu.Lock()
	e := s.shops[tenantID]
	watchers := s.watchers
	s.mu.Unlock()
	for _, fn := range watchers {
		fn(tenantID)
	}
	if e == nil {
		return
	}
	e.mu.Lock()
	e.checked = time.Time{}
	e.mu.Unlock()
}

func newDisplay(stamp string, products []Product) *Display {
	d := &Display{Stamp: stamp, Products: products, byID: make(map[string]int, len(products)), pages: map[string][]byte{}}
	seen := map[string]bool{}
	for i, p := range products {
		d.byID[p.ID] = i
		if p.Category != "" && !seen[p.Category] {
			seen[p.Category] = true
			d.Categories = append(d.Categories, p.Category)
		}
	}
	sort.Strings(d.Categories)
	return d
}

// titleHas reports whether p's title, in any language, holds q (lower-case).
func titleHas(p Product, q string) bool {
	if strings.Contains(strings.ToLower(p.Title), q) {
		return true
	}
	for _, tr := range p.Translations {
		if strings.Contains(strings.ToLower(tr.Title), q) {
			return true
		}
	}
	return false
}

// CategoryNames names the display's categories in lang, where a product
// translates its category (the first product that does).
func (d *Display) CategoryNames(lang string) map[string]string {
	names := map[string]string{}
	for _, p := range d.Products {
		if tr := p.Translations[lang].Category; tr != "" && names[p.Category] == "" {
			names[p.Category] = tr
		}
	}
	return names
}
