package market

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"microshop/tenants/fault"
)

// Query is a market search.
type Query struct {
	Text     string
	Category string
	Cursor   string
	Limit    int
}

// Result is one product a search found.
type Result struct {
	Shop      ResultShop `json:"shop"`
	ProductID string     `json:"product_id"`
	Title     string     `json:"title"`
	Price     int64      `json:"price"`
	Image     string     `json:"image"`
	// Rating is the average review rating (1 to 5), 0 without reviews.
	Rating  float64 `json:"rating"`
	Reviews int64   `json:"reviews"`
	Score   float64 `json:"score"`
	// URL opens the product in its shop, the visit counted under the
	// market channel.
	URL     string  `json:"url"`
	Factors Factors `json:"-"`
}

// ResultShop is the shop a result belongs to.
type ResultShop struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	CreditLevel string `json:"credit_level"`
}

// Results are a page of a search.
type Results struct {
	Items      []Result `json:"items"`
	NextCursor string   `json:"next_cursor"`
	Total      int      `json:"total"`
}

const (
	defaultLimit = 20
	maxLimit     = 50
	maxOffset    = 1000
	maxQuery     = 64
)

// Search finds listed products matching q, best first by the published
// formula. Only shops that are listed and not off the market by a penalty
// are searched; an operator's delisting takes a product out at once.
func (s *Service) Search(ctx context.Context, q Query) (Results, error) {
	q.Text = strings.TrimSpace(q.Text)
	if len([]rune(q.Text)) > maxQuery {
		return Results{}, fault.Invalid("q", "must be at most %d characters", maxQuery)
	}
	if q.Category != "" && !slices.Contains(Categories, q.Category) {
		return Results{}, fault.Invalid("category", "must be one of %v", Categories)
	}
	offset := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 || n > maxOffset {
			return Results{}, fault.Invalid("cursor", "is not a cursor this search gave")
		}
		offset = n
	}
	if q.Limit <= 0 {
		q.Limit = defaultLimit
	}
	q.Limit = min(q.Limit, maxLimit)
	ix := s.idx()
	key := answerKey{text: q.Text, category: q.Category, offset: offset, limit: q.Limit}
	stamp := answerStamp{index: ix, version: ix.Version(), gen: s.gen.Load()}
	res, hit := s.answers.get(key, stamp, time.Now())
	if s.lookups != nil {
		s.lookups(hit)
	}
	if hit {
		return res, nil
	}
	s.mu.RLock()
	listed, factors := s.listed, s.factors
	s.mu.RUnlock()
	top, total := s.top(q, listed, factors, offset+q.Limit)
	now := s.clock()
	out := Results{Total: total, Items: []Result{}}
	end := min(offset+q.Limit, total)
	if offset < len(top) {
		for _, h := range top[offset:] {
			out.Items = append(out.Items, s.result(h, listed, factors, now))
		}
		if end < total && end <= maxOffset {
			out.NextCursor = strconv.Itoa(end)
		}
	}
	s.answers.put(key, stamp, out, time.Now())
	return out, nil
}

// scoredHit is a hit with its score by the formula.
type scoredHit struct {
	Hit
	score float64
}

// better orders hits best first: by score, then by id (a stable order for
// ties, so pages don't overlap).
func better(a, b *scoredHit) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.Item.ID < b.Item.ID
}

// shown says whether a shop's products may be shown for a search in
// category ("" any): listed, not off the market, in the category.
func shown(category string, listed map[string]Shop, factors map[string]ShopFactors) func(tenantID string) bool {
	return func(tenantID string) bool {
		sh, ok := listed[tenantID]
		if !ok || !sh.Listed || (category != "" && sh.Category != category) {
			return false
		}
		f, ok := factors[tenantID]
		return !ok || !f.OffMarket
	}
}

// top is the best k hits of q, best first, and how many there are in all
// (Index.Top): only shops listed and not off the market, in q's category
// if it names one.
func (s *Service) top(q Query, listed map[string]Shop, factors map[string]ShopFactors, k int) ([]scoredHit, int) {
	ix, keep := s.idx(), shown(q.Category, listed, factors)
	return ix.Top(q.Text, k, s.filter(ix, q.Category, listed, factors, keep), keep)
}

// shopFilter is which of an index's shops a search in category may show,
// by the index's shop number (Index.ShopFilter): asked once per index,
// listings, factors and category, not per search. The listings and
// factors maps are replaced whole on every change, never changed, so
// their identity says which ones a filter was made from (the filter holds
// them, so their addresses are not reused meanwhile).
type shopFilter struct {
	index    *Index
	listed   map[string]Shop
	factors  map[string]ShopFactors
	category string
	shown    []bool
}

func same[M any](a, b M) bool { return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer() }

func (s *Service) filter(ix *Index, category string, listed map[string]Shop, factors map[string]ShopFactors, keep func(string) bool) []bool {
	if v, ok := s.filters.Load(category); ok {
		if f := v.(*shopFilter); f.index == ix && same(f.listed, listed) && same(f.factors, factors) {
			return f.shown
		}
	}
	f := &shopFilter{index: ix, listed: listed, factors: factors, category: category, shown: ix.ShopFilter(keep)}
	s.filters.Store(category, f)
	return f.shown
}

// ranked is every hit of q with its score, unordered: only shops listed
// and not off the market, in q's category if it names one. (Search and
// the recommendations take only the best few, through top; the operator's
// explanation places one product among all.)
func (s *Service) ranked(q Query, listed map[string]Shop, factors map[string]ShopFactors) []scoredHit {
	// Hits come grouped by shop more often than not: decide each shop once
	// in a row.
	show := shown(q.Category, listed, factors)
	var last string
	var lastOK bool
	keep := func(it *Item) bool {
		if it.TenantID == last {
			return lastOK
		}
		last = it.TenantID
		lastOK = show(it.TenantID)
		return lastOK
	}
	hits := s.idx().Find(q.Text, keep)
	out := make([]scoredHit, len(hits))
	for i, h := range hits {
		out[i] = scoredHit{Hit: h, score: score(h.Relevance, h.Quality)}
	}
	return out
}

func (s *Service) result(h scoredHit, listed map[string]Shop, shopFactors map[string]ShopFactors, now time.Time) Result {
	sh := listed[h.Item.TenantID]
	sf, ok := shopFactors[h.Item.TenantID]
	if !ok {
		sf = NeutralFactors
	}
	f := itemFactors(h.Relevance, h.Item, sf, now)
	r := Result{Shop: ResultShop{Slug: sh.Slug, Name: sh.Name, CreditLevel: sf.Level}, ProductID: h.Item.ProductID,
		Title: h.Item.Title, Price: h.Item.Price, Image: h.Item.Image, Reviews: h.Item.Reviews,
		Score: f.Score(), Factors: f, URL: "/s/" + sh.Slug + "/p/" + h.Item.ProductID + "?ch=market"}
	if h.Item.Reviews > 0 {
		r.Rating = float64(h.Item.Rating) / 100
	}
	return r
}
