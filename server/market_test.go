package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"microshop/market"
	"microshop/tenants"
	"microshop/tenants/i18n"
)

type marketResults struct {
	Items []struct {
		Shop struct {
			Slug, Name  string
			CreditLevel string `json:"credit_level"`
		} `json:"shop"`
		ProductID string  `json:"product_id"`
		Title     string  `json:"title"`
		Price     int64   `json:"price"`
		Score     float64 `json:"score"`
		URL       string  `json:"url"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// TestMarketEndToEnd: a merchant lists the shop; a shopper finds its
// product by a Chinese substring, opens it from the market and buys; the
// order counts under the market channel; the pages speak both languages;
// unlisting takes it off at once.
func TestMarketEndToEnd(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "mkt-tea")
	other := signUp(t, srv.URL, "mkt-quiet")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "西湖龙井绿茶", "price": 3900, "stock": 10})
	other.apiClient(t, srv.URL).createProduct(map[string]any{"title": "碧螺春绿茶", "price": 2900, "stock": 10})

	var listing struct {
		Listed   bool
		Category string
	}
	if st := api.json(http.MethodPut, "/api/v1/market", map[string]any{"listed": true, "category": "tea"}, &listing); st != http.StatusOK || !listing.Listed {
		t.Fatalf("list: %d %+v", st, listing)
	}
	if st := api.json(http.MethodPut, "/api/v1/market", map[string]any{"category": "weapons"}, nil); st != http.StatusBadRequest {
		t.Errorf("an unknown category: %d, want 400", st)
	}

	visitor := newClient(t, srv.URL)
	var res marketResults
	for _, q := range []string{"绿茶", "龙井"} {
		if st := visitor.json(http.MethodGet, "/m/api/search?q="+url.QueryEscape(q), nil, &res); st != http.StatusOK {
			t.Fatalf("search %s: %d", q, st)
		}
		if len(res.Items) != 1 || res.Items[0].ProductID != tea.ID || res.Items[0].Shop.Slug != s.Slug {
			t.Fatalf("search %s found %+v, want only the listed shop's tea", q, res.Items)
		}
	}
	if st, _ := visitor.do(http.MethodGet, "/m/api/search?cursor=zz", nil, ""); st != http.StatusBadRequest {
		t.Errorf("a bad cursor: %d, want 400", st)
	}

	// From the market to the shop: the order counts under "market".
	buyer := shopper{newClient(t, srv.URL), s.Slug}
	if st, b := buyer.do(http.MethodGet, res.Items[0].URL, nil, ""); st != http.StatusOK {
		t.Fatalf("open %s: %d %.200s", res.Items[0].URL, st, b)
	}
	id := buyer.buy(t, tea.ID, 1)
	var o attributionJSON
	if st := api.json(http.MethodGet, "/api/v1/orders/"+id, nil, &o); st != http.StatusOK || o.Attribution.Channel != "market" {
		t.Errorf("order from the market: %d, channel %q, want market", st, o.Attribution.Channel)
	}

	// The pages, in both languages.
	for _, lang := range i18n.Langs {
		c := newClientIn(t, srv.URL, lang)
		paths := map[string]*client{}
		for _, path := range []string{"/m/", "/m/me", "/m/friends/accept/some-token", "/m/search?q=" + url.QueryEscape("绿茶"), "/m/search?q=nothing-here", "/m/ranking",
			"/m/report?shop=" + s.Slug + "&product_id=" + tea.ID} {
			paths[path] = c
		}
		if n := checkPages(t, paths, lang, []string{"西湖龙井绿茶", s.Name, "nothing-here", s.Slug, tea.ID}); n != len(paths) {
			t.Errorf("%s: %d market pages checked, want %d", lang, n, len(paths))
		}
	}
	var formula struct {
		Relevance float64 `json:"relevance"`
		Terms     []struct {
			Factor string
			Weight float64
		} `json:"quality_terms"`
	}
	if st := visitor.json(http.MethodGet, "/m/api/ranking-formula", nil, &formula); st != http.StatusOK || formula.Relevance != 0.4 || len(formula.Terms) != 8 {
		t.Errorf("formula: %d %+v", st, formula)
	}

	// A report through the form (CSRF) lands in the queue.
	c := newClient(t, srv.URL)
	c.fetchCSRF("/m/report")
	if st, b := c.form("/m/report", url.Values{"shop": {s.Slug}, "product_id": {tea.ID}, "kind": {"counterfeit"}, "text": {"疑似假货"}}); st != http.StatusOK ||
		!strings.Contains(string(b), "review") {
		t.Errorf("report: %d %.300s", st, b)
	}

	// A market visitor's views and favourites stay with the platform: the
	// other shop's merchant sees them through no route.
	shopperOnMarket := newClient(t, srv.URL)
	shopperOnMarket.fetchCSRF("/m/me")
	if st, _ := shopperOnMarket.do(http.MethodGet, "/m/go/"+s.Slug+"/"+tea.ID, nil, ""); st != http.StatusSeeOther ||
		!strings.HasSuffix(shopperOnMarket.location, "/s/"+s.Slug+"/p/"+tea.ID+"?ch=market") {
		t.Errorf("/m/go: %d to %q", st, shopperOnMarket.location)
	}
	if st, b := shopperOnMarket.form("/m/fav", url.Values{"shop": {s.Slug}, "product_id": {tea.ID}}); st != http.StatusSeeOther {
		t.Errorf("save a favourite: %d %.200s", st, b)
	}
	if st, b := shopperOnMarket.do(http.MethodGet, "/m/me", nil, ""); st != http.StatusOK || !strings.Contains(string(b), "西湖龙井绿茶") {
		t.Errorf("/m/me: %d, the favourite shown: %v", st, strings.Contains(string(b), "西湖龙井绿茶"))
	}
	otherAPI, otherConsole := other.apiClient(t, srv.URL), other.consoleClient(t, srv.URL)
	walked := 0
	for _, r := range a.echo.Routes() {
		if r.Method != http.MethodGet || strings.Contains(r.Path, ":") || strings.Contains(r.Path, "*") {
			continue
		}
		var c *client
		switch {
		case strings.HasPrefix(r.Path, "/api/v1/"):
			c = otherAPI
		case strings.HasPrefix(r.Path, "/admin"):
			c = otherConsole
		default:
			continue
		}
		walked++
		if _, b := c.do(http.MethodGet, r.Path, nil, ""); strings.Contains(string(b), tea.ID) || strings.Contains(string(b), "西湖龙井") {
			t.Errorf("%s shows shop %s's product to shop %s", r.Path, s.Slug, other.Slug)
		}
	}
	if walked < 20 {
		t.Errorf("walked %d merchant routes", walked)
	}

	// Unlisted: gone at once.
	if st := api.json(http.MethodPut, "/api/v1/market", map[string]any{"listed": false}, nil); st != http.StatusOK {
		t.Fatalf("unlist: %d", st)
	}
	visitor.json(http.MethodGet, "/m/api/search?q="+url.QueryEscape("绿茶"), nil, &res)
	if len(res.Items) != 0 {
		t.Errorf("after unlisting the market finds %+v", res.Items)
	}
	// A merchant's key reaches no operator route.
	if st, _ := api.do(http.MethodGet, "/api/ops/v1/market/reports", nil, ""); st != http.StatusUnauthorized && st != http.StatusForbidden {
		t.Errorf("a merchant key on the operators' market API: %d", st)
	}
}

// TestMarketPenaltyHidesShop: an operator upholds a report of a prohibited
// product; the product leaves the market and its shop's shelves, and the
// published penalty (30 days off the market) takes the shop's other
// products off too.
func TestMarketPenaltyHidesShop(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "mkt-banned")
	api := s.apiClient(t, srv.URL)
	knife := api.createProduct(map[string]any{"title": "管制刀具", "price": 3900, "stock": 10})
	api.createProduct(map[string]any{"title": "菜刀", "price": 2900, "stock": 10})
	if st := api.json(http.MethodPut, "/api/v1/market", map[string]any{"listed": true}, nil); st != http.StatusOK {
		t.Fatalf("list: %d", st)
	}
	visitor := newClient(t, srv.URL)
	var res marketResults
	visitor.json(http.MethodGet, "/m/api/search?q="+url.QueryEscape("刀"), nil, &res)
	if len(res.Items) != 2 {
		t.Fatalf("before: %+v", res.Items)
	}
	var rep struct{ ID string }
	if st := visitor.json(http.MethodPost, "/m/api/reports", map[string]string{"shop": s.Slug, "product_id": knife.ID, "kind": "prohibited", "text": "违禁品"}, &rep); st != http.StatusCreated {
		t.Fatalf("report: %d", st)
	}
	ctx := context.Background()
	if _, err := a.market.Decide(ctx, tenants.Operator{Email: "ops@example.com"}, rep.ID, market.Decision{Outcome: "uphold"}, a.catalog); err != nil {
		t.Fatal(err)
	}
	if err := a.market.RefreshQuality(ctx); err != nil {
		t.Fatal(err)
	}
	visitor.json(http.MethodGet, "/m/api/search?q="+url.QueryEscape("刀"), nil, &res)
	if len(res.Items) != 0 {
		t.Errorf("a shop off the market by penalty still shows %+v", res.Items)
	}
	st, err := a.credit.Standing(ctx, s.ID)
	if err != nil || !st.OffMarket {
		t.Errorf("standing after an upheld report: %+v %v", st, err)
	}
	var p productJSON
	if api.json(http.MethodGet, "/api/v1/products/"+knife.ID, nil, &p); p.Status != "off_sale" {
		t.Errorf("the prohibited product is %q in its shop, want off_sale", p.Status)
	}
}
