package market

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"microshop/shop/catalog"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// Categories are the market's categories a listed shop picks one of.
var Categories = []string{"food", "tea", "fresh", "clothing", "beauty", "baby", "home", "digital", "sports", "books", "crafts", "other"}

// QualitySource tells the market how shops serve (the credit rules).
type QualitySource interface {
	ShopFactors(ctx context.Context, tenantIDs []string) (map[string]ShopFactors, error)
}

// RatingSource gives the review ratings of a shop's products.
type RatingSource interface {
	// ProductRatings maps product ids to their average rating × 100 and
	// number of reviews (those without reviews may be left out).
	ProductRatings(ctx context.Context, tenantID string, productIDs []string) (map[string][2]int64, error)
}

// Options are the service's dependencies.
type Options struct {
	Store   Store
	Shelf   *catalog.Shelf
	Quality QualitySource // nil: every shop neutral
	Ratings RatingSource  // nil: no ratings
	Log     *slog.Logger
}

// Service is the market: listings, the feed from catalogs, search.
type Service struct {
	// lookups hears each answer-cache lookup, hit or miss (SetCacheLookups).
	lookups func(hit bool)
	store   Store
	people  PeopleStore
	shelf   *catalog.Shelf
	quality QualitySource
	ratings RatingSource
	// penalizer gives upheld reports their penalty (nil: none).
	penalizer Penalizer
	// staff says which orders are the shop's staff's (nil: none).
	staff StaffCheck
	log   *slog.Logger
	now   func() time.Time
	index *Index

	mu      sync.RWMutex
	listed  map[string]Shop        // every shop with a listing, by tenant id (replaced, never changed)
	factors map[string]ShopFactors // replaced, never changed
	bySlug  map[string]string      // listed's tenant ids by slug, replaced with it
	// since is where following the items table resumes (see Sync).
	since time.Time

	// gen changes with the listings, the shops' factors or the index
	// itself (Rebuild): with the index's version it dates kept answers.
	gen     atomic.Uint64
	answers answerCache
	filters sync.Map // category → *shopFilter (see Service.filter)

	feedMu  sync.Mutex
	pending map[string]bool
	kick    chan struct{}
}

// New returns the market service; Load fills its index.
func New(o Options) *Service {
	s := &Service{store: o.Store, people: o.Store, shelf: o.Shelf, quality: o.Quality, ratings: o.Ratings, log: o.Log,
		now: time.Now, index: NewIndex(), listed: map[string]Shop{}, factors: map[string]ShopFactors{},
		pending: map[string]bool{}, kick: make(chan struct{}, 1)}
	s.requality()
	return s
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetQuality plugs the credit rules in.
func (s *Service) SetQuality(q QualitySource) { s.quality = q }

// SetRatings plugs the review ratings in.
func (s *Service) SetRatings(r RatingSource) { s.ratings = r }

// idx is the search index (Rebuild replaces it whole).
func (s *Service) idx() *Index {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.index
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Listing is a shop's listing as the merchant sees it.
func (s *Service) Listing(ctx context.Context, t tenants.Tenant) (Shop, error) {
	sh, ok, err := s.store.Shop(ctx, t.ID)
	if err != nil {
		return Shop{}, err
	}
	if !ok {
		sh = Shop{TenantID: t.ID, Category: "other"}
	}
	sh.Slug, sh.Name = t.Slug, t.Name
	return sh, nil
}

// ListingInput is PUT /api/v1/market's body.
type ListingInput struct {
	Listed   *bool   `json:"listed"`
	Category *string `json:"category"`
}

// SetListing lists or unlists a shop. Listing feeds its on-sale products
// at once; unlisting takes them off the market at once.
func (s *Service) SetListing(ctx context.Context, t tenants.Tenant, in ListingInput) (Shop, error) {
	sh, err := s.Listing(ctx, t)
	if err != nil {
		return Shop{}, err
	}
	if in.Listed != nil {
		sh.Listed = *in.Listed
	}
	if in.Category != nil {
		if !slices.Contains(Categories, *in.Category) {
			return Shop{}, fault.Invalid("category", "must be one of %v", Categories)
		}
		sh.Category = *in.Category
	}
	sh.Updated = s.clock()
	if err := s.store.SaveShop(ctx, sh); err != nil {
		return Shop{}, err
	}
	s.setShop(sh)
	if _, err := s.feed(ctx, t.ID, true); err != nil {
		return Shop{}, err
	}
	return sh, s.Sync(ctx)
}

// setShop records a listing. The listings map is replaced, never changed,
// so a search reads the one it took without a lock.
func (s *Service) setShop(sh Shop) {
	s.mu.Lock()
	if old, ok := s.listed[sh.TenantID]; !ok || old != sh {
		listed := make(map[string]Shop, len(s.listed)+1)
		bySlug := make(map[string]string, len(s.listed)+1)
		for id, v := range s.listed {
			listed[id] = v
			bySlug[v.Slug] = id
		}
		listed[sh.TenantID] = sh
		bySlug[sh.Slug] = sh.TenantID
		s.listed, s.bySlug = listed, bySlug
		s.gen.Add(1)
	}
	s.mu.Unlock()
	s.idx().SetShopName(sh.TenantID, sh.Name)
}

// Changed is the catalog's watcher: a listed shop's catalog changed on
// this replica, so its items are fed again soon (changes within a moment
// are fed once).
func (s *Service) Changed(tenantID string) {
	s.mu.RLock()
	sh, ok := s.listed[tenantID]
	s.mu.RUnlock()
	if !ok || !sh.Listed {
		return
	}
	s.feedMu.Lock()
	s.pending[tenantID] = true
	s.feedMu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// FeedReport says what a feed wrote.
type FeedReport struct {
	Written int `json:"written"`
}

// Feed feeds one shop's products to the market now and brings this
// replica's index up to date (the job run for one shop).
func (s *Service) Feed(ctx context.Context, tenantID string) (FeedReport, error) {
	if _, ok, err := s.store.Shop(ctx, tenantID); err != nil || !ok {
		return FeedReport{}, err
	}
	if err := s.Sync(ctx); err != nil {
		return FeedReport{}, err
	}
	n, err := s.feed(ctx, tenantID, true)
	if err != nil {
		return FeedReport{}, err
	}
	return FeedReport{Written: n}, s.Sync(ctx)
}

// feed writes a shop's on-sale products to the items table: changed ones
// replaced, gone ones (or all, for an unlisted shop) left as tombstones.
//
// Ratings are read again only when full (listing, the job): a catalog
// change (a sale's stock, an edit) carries the item's last ones forward,
// so a busy shop's feed reads its shelf and the market's table only.
func (s *Service) feed(ctx context.Context, tenantID string, full bool) (int, error) {
	s.mu.RLock()
	sh := s.listed[tenantID]
	s.mu.RUnlock()
	have, err := s.store.Items(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	old := make(map[string]Item, len(have))
	for _, it := range have {
		old[it.ID] = it
	}
	now := s.clock()
	var put []Item
	if sh.Listed {
		d, err := s.shelf.Get(ctx, tenantID)
		if err != nil {
			return 0, err
		}
		var ratings map[string][2]int64
		if s.ratings != nil && full {
			ids := make([]string, len(d.Products))
			for i, p := range d.Products {
				ids[i] = p.ID
			}
			if ratings, err = s.ratings.ProductRatings(ctx, tenantID, ids); err != nil {
				return 0, err
			}
		}
		for _, p := range d.Products {
			it := Item{ID: itemID(tenantID, p.ID), TenantID: tenantID, ProductID: p.ID, Title: p.Title,
				Category: p.Category, Price: p.Price, CreatedAt: p.CreatedAt.UTC().Truncate(time.Millisecond)}
			if len(p.Images) > 0 {
				it.Image = p.Images[0]
			}
			prev, ok := old[it.ID]
			if r, found := ratings[p.ID]; found {
				it.Rating, it.Reviews = r[0], r[1]
			} else if ok && !full {
				it.Rating, it.Reviews = prev.Rating, prev.Reviews
			}
			it.Hash = hashItem(it, p.Stock > 0)
			if p.Stock <= 0 {
				it.Deleted = true // sold out: not offered on the market
			}
			delete(old, it.ID)
			if ok && prev.Hash == it.Hash && prev.Deleted == it.Deleted {
				continue
			}
			it.Updated = now
			put = append(put, it)
		}
	}
	for _, it := range old {
		if !it.Deleted {
			it.Deleted, it.Updated = true, now
			put = append(put, it)
		}
	}
	return len(put), s.store.PutItems(ctx, put)
}

func hashItem(it Item, inStock bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s\x00%d\x00%d\x00%v", it.Title, it.Category, it.Price, it.Image, it.Rating, it.Reviews, inStock)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// overlap is how far back each Sync reads again, for writes of other
// replicas stamped slightly earlier than they became visible.
const overlap = 3 * time.Second

// Sync brings the local index up to the items and listings tables.
func (s *Service) Sync(ctx context.Context) error {
	s.mu.RLock()
	since := s.since
	s.mu.RUnlock()
	next := s.clock()
	from := time.Time{}
	if !since.IsZero() {
		from = since.Add(-overlap)
	}
	shops, err := s.store.ShopsSince(ctx, from)
	if err != nil {
		return err
	}
	for _, sh := range shops {
		s.setShop(sh)
	}
	items, err := s.store.ItemsSince(ctx, from)
	if err != nil {
		return err
	}
	s.idx().Put(items...)
	s.mu.Lock()
	if s.since.Before(next) {
		s.since = next
	}
	s.mu.Unlock()
	return nil
}

// RefreshQuality reads every listed shop's factors again.
//
// Sales (the sales term and repeat buyers) are the market's own count of
// the last days' paid orders (sales.go), added to the source's factors.
func (s *Service) RefreshQuality(ctx context.Context) error {
	sales, err := s.countRecentSales(ctx)
	if err != nil {
		return err
	}
	f := map[string]ShopFactors{}
	if s.quality != nil {
		s.mu.RLock()
		ids := make([]string, 0, len(s.listed))
		for id, sh := range s.listed {
			if sh.Listed {
				ids = append(ids, id)
			}
		}
		s.mu.RUnlock()
		if f, err = s.quality.ShopFactors(ctx, ids); err != nil {
			return err
		}
	}
	f = withSales(f, sales)
	s.mu.Lock()
	s.factors = f
	s.mu.Unlock()
	s.gen.Add(1)
	s.requality()
	return nil
}

// requality scores every indexed item's quality with the shops' current
// factors and today's freshness.
func (s *Service) requality() {
	s.mu.RLock()
	factors := s.factors
	s.mu.RUnlock()
	now := s.clock()
	s.idx().Requality(func(it *Item) float64 {
		sf, ok := factors[it.TenantID]
		if !ok {
			sf = NeutralFactors
		}
		return itemFactors(0, it, sf, now).Quality()
	})
}

// Run feeds changed shops and follows the tables until ctx ends: what
// changed on this replica is searchable within a second, what changed on
// another within about two.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	quality := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.kick:
			time.Sleep(200 * time.Millisecond) // let a burst of changes settle into one feed
		}
		s.feedMu.Lock()
		pending := s.pending
		s.pending = map[string]bool{}
		s.feedMu.Unlock()
		for id := range pending {
			if _, err := s.feed(ctx, id, false); err != nil && ctx.Err() == nil {
				s.log.Warn("market feed", "tenant", id, "err", err)
			}
		}
		if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("market sync", "err", err)
		}
		if time.Since(quality) > time.Minute {
			quality = time.Now()
			if err := s.RefreshQuality(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("market quality", "err", err)
			}
		}
	}
}

// RebuildReport says what Rebuild did.
type RebuildReport struct {
	Shops int `json:"shops"`
	Items int `json:"items"`
}

// Rebuild feeds every listed shop again from its catalog and rebuilds this
// replica's index from the items table (the nightly job, and a repair).
func (s *Service) Rebuild(ctx context.Context) (RebuildReport, error) {
	return s.RebuildFeeding(ctx, nil)
}

// RebuildFeeding is Rebuild feeding again only the listed shops refeed
// accepts (nil: all): the scheduled job's, over the shops written lately
// (an idle shop's catalog and ratings are what the table holds). Unlisted
// shops' items are tombstoned without opening the shop, as always.
func (s *Service) RebuildFeeding(ctx context.Context, refeed func(tenantID string) bool) (RebuildReport, error) {
	shops, err := s.store.ShopsSince(ctx, time.Time{})
	if err != nil {
		return RebuildReport{}, err
	}
	var rep RebuildReport
	for _, sh := range shops {
		s.setShop(sh)
		if sh.Listed && refeed != nil && !refeed(sh.TenantID) {
			rep.Shops++
			continue
		}
		if _, err := s.feed(ctx, sh.TenantID, true); err != nil {
			return rep, fmt.Errorf("feed %s: %w", sh.Slug, err)
		}
		if sh.Listed {
			rep.Shops++
		}
	}
	fresh := NewIndex()
	fresh.quality = s.idx().quality
	items, err := s.store.ItemsSince(ctx, time.Time{})
	if err != nil {
		return rep, err
	}
	for _, sh := range shops {
		fresh.shops[sh.TenantID] = sh.Name
	}
	fresh.Put(items...)
	s.mu.Lock()
	s.index = fresh
	s.mu.Unlock()
	s.gen.Add(1)
	rep.Items = fresh.Len()
	if _, err := s.PruneSales(ctx); err != nil {
		return rep, err
	}
	return rep, s.RefreshQuality(ctx)
}

// SetCacheLookups plugs in what hears each lookup of the search answer
// cache, hit or miss (the server's metrics).
func (s *Service) SetCacheLookups(fn func(hit bool)) { s.lookups = fn }
