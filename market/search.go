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
	results, err := s.ranked(q)
	if err != nil {
		return Results{}, err
	}
	out := Results{Total: len(results), Items: []Result{}}
	if offset < len(results) {
		end := min(offset+q.Limit, len(results))
		out.Items = results[offset:end]
		if end < len(results) && end <= maxOffset {
			out.NextCursor = strconv.Itoa(end)
		}
	}
	return out, nil
}

// ranked is every result of q, best first.
func (s *Service) ranked(q Query) ([]Result, error) {
	s.mu.RLock()
	listed, factors := s.listed, s.factors
	s.mu.RUnlock()
	keep := func(it *Item) bool {
		sh, ok := listed[it.TenantID]
		if !ok || !sh.Listed || (q.Category != "" && sh.Category != q.Category) {
			return false
		}
		f, ok := factors[it.TenantID]
		return !ok || !f.OffMarket
	}
	s.mu.RLock()
	hits := s.index.Find(q.Text, keep)
	s.mu.RUnlock()
	now := s.clock()
	results := make([]Result, len(hits))
	for i := range hits {
		results[i] = s.result(hits[i], listed, factors, now)
	}
	slices.SortFunc(results, func(a, b Result) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Shop.Slug+"/"+a.ProductID, b.Shop.Slug+"/"+b.ProductID)
	})
	return results, nil
}

func (s *Service) result(h Hit, listed map[string]Shop, shopFactors map[string]ShopFactors, now time.Time) Result {
	sh := listed[h.Item.TenantID]
	sf, ok := shopFactors[h.Item.TenantID]
	if !ok {
		sf = NeutralFactors
	}
	f := itemFactors(h.Relevance, &h.Item, sf, now)
	r := Result{Shop: ResultShop{Slug: sh.Slug, Name: sh.Name, CreditLevel: sf.Level}, ProductID: h.Item.ProductID,
		Title: h.Item.Title, Price: h.Item.Price, Image: h.Item.Image, Reviews: h.Item.Reviews,
		Score: f.Score(), Factors: f, URL: "/s/" + sh.Slug + "/p/" + h.Item.ProductID + "?ch=market"}
	if h.Item.Reviews > 0 {
		r.Rating = float64(h.Item.Rating) / 100
	}
	return r
}
