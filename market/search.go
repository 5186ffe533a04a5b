package market

import (
	"context"
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
	if res, ok := s.answers.get(key, stamp, time.Now()); ok {
		return res, nil
	}
	s.mu.RLock()
	listed, factors := s.listed, s.factors
	s.mu.RUnlock()
	hits := s.ranked(q, listed, factors)
	now := s.clock()
	out := Results{Total: len(hits), Items: []Result{}}
	end := min(offset+q.Limit, len(hits))
	top := topK(hits, end)
	if offset < len(top) {
		for _, h := range top[offset:] {
			out.Items = append(out.Items, s.result(h, listed, factors, now))
		}
		if end < len(hits) && end <= maxOffset {
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

// ranked is every hit of q with its score, unordered: only shops listed
// and not off the market, in q's category if it names one.
func (s *Service) ranked(q Query, listed map[string]Shop, factors map[string]ShopFactors) []scoredHit {
	// Hits come grouped by shop more often than not: decide each shop once
	// in a row.
	var last string
	var lastOK bool
	keep := func(it *Item) bool {
		if it.TenantID == last {
			return lastOK
		}
		last = it.TenantID
		sh, ok := listed[it.TenantID]
		lastOK = ok && sh.Listed && (q.Category == "" || sh.Category == q.Category)
		if f, ok := factors[it.TenantID]; ok && f.OffMarket {
			lastOK = false
		}
		return lastOK
	}
	hits := s.idx().Find(q.Text, keep)
	out := make([]scoredHit, len(hits))
	for i, h := range hits {
		out[i] = scoredHit{Hit: h, score: score(h.Relevance, h.Quality)}
	}
	return out
}

// topK returns the best k hits, best first, choosing them with a heap of
// k (a search finds thousands; a page shows twenty).
func topK(hits []scoredHit, k int) []scoredHit {
	if k <= 0 {
		return nil
	}
	// h is a min-heap by better: its root is the worst of the best so far.
	h := make([]scoredHit, 0, min(k, len(hits)))
	down := func(i int) {
		for {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(h) && better(&h[m], &h[l]) {
				m = l
			}
			if r < len(h) && better(&h[m], &h[r]) {
				m = r
			}
			if m == i {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := range hits {
		switch {
		case len(h) < k:
			h = append(h, hits[i])
			for j := len(h) - 1; j > 0; {
				p := (j - 1) / 2
				if !better(&h[p], &h[j]) {
					break
				}
				h[p], h[j] = h[j], h[p]
				j = p
			}
		case better(&hits[i], &h[0]):
			h[0] = hits[i]
			down(0)
		}
	}
	slices.SortFunc(h, func(a, b scoredHit) int {
		if better(&a, &b) {
			return -1
		}
		if better(&b, &a) {
			return 1
		}
		return 0
	})
	return h
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
