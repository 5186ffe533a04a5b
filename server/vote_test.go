package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/i18n"
)

type voteRoundJSON struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	StartsAt string `json:"starts_at"`
	EndsAt   string `json:"ends_at"`
}

type voteCastJSON struct {
	RoundID   string `json:"round_id"`
	ProductID string `json:"product_id"`
	Ballots   int64  `json:"ballots"`
	LeftToday int    `json:"votes_left_today"`
}

type voteResultsJSON struct {
	State string `json:"state"`
	Items []struct {
		ProductID string `json:"product_id"`
		Votes     int64  `json:"votes"`
		Series    []struct {
			Votes int64 `json:"votes"`
		} `json:"series"`
	} `json:"items"`
}

// TestVote: a round started at once with ten products; a shopper without
// spending has no ballot (403); 50 votes at once from a shopper with 6
// ballots count 5 (the day's limit), a second vote on a product is a 409;
// a refund keeps the votes cast and leaves no ballot (never below zero);
// the results count per product and hour; the page shows the products in
// a new order per load; another shop sees none of it. On both engines.
func TestVote(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, eng *engine.Engine) {
		a, srv := startApp(t, eng)
		s := signUp(t, srv.URL, "vote-shop")
		api := s.apiClient(t, srv.URL)
		base := "/s/" + s.Slug

		var round voteRoundJSON
		if st := api.json(http.MethodPost, "/api/v1/vote-rounds", map[string]any{"start_now": true}, &round); st != http.StatusCreated || round.State != "open" {
			t.Fatalf("start a round at once: %d %+v", st, round)
		}
		var next voteRoundJSON
		if st := api.json(http.MethodPost, "/api/v1/vote-rounds", map[string]any{}, &next); st != http.StatusCreated || next.State != "scheduled" ||
			next.StartsAt != round.EndsAt {
			t.Fatalf("the next window: %d %+v after %+v", st, next, round)
		}
		var e apiError
		if st := api.json(http.MethodPost, "/api/v1/vote-rounds", map[string]any{"start_now": true}, &e); st != http.StatusConflict || e.Error.Code != "round_overlaps" {
			t.Fatalf("an overlapping round: %d %+v", st, e)
		}
		products := make([]string, 10)
		for i := range products {
			p := api.createProduct(map[string]any{"title": "Tea " + string(rune('A'+i)), "price": 60000, "stock": 100})
			products[i] = p.ID
			if st := api.json(http.MethodPost, "/api/v1/vote-rounds/"+round.ID+"/products",
				map[string]any{"product_id": p.ID, "expected_price": 49900, "target_votes": 3}, nil); st != http.StatusCreated {
				t.Fatalf("add product %d: %d", i, st)
			}
		}
		if st := api.json(http.MethodPost, "/api/v1/vote-rounds/"+round.ID+"/products",
			map[string]any{"product_id": products[0], "expected_price": 100}, &e); st != http.StatusConflict || e.Error.Code != "already_listed" {
			t.Fatalf("a product twice: %d %+v", st, e)
		}
		if st := api.json(http.MethodPost, "/api/v1/vote-rounds/"+round.ID+"/products",
			map[string]any{"product_id": products[0], "expected_price": 100, "extra": 1}, nil); st != http.StatusBadRequest {
			t.Fatalf("an unknown field: %d", st)
		}

		// Another shop sees none of it, and cannot add to it.
		other := signUp(t, srv.URL, "vote-other")
		otherAPI := other.apiClient(t, srv.URL)
		if st := otherAPI.json(http.MethodGet, "/api/v1/vote-rounds/"+round.ID+"/results", nil, nil); st != http.StatusNotFound {
			t.Fatalf("another shop's results: %d", st)
		}
		if st := otherAPI.json(http.MethodPost, "/api/v1/vote-rounds/"+round.ID+"/products",
			map[string]any{"product_id": products[0], "expected_price": 100}, nil); st != http.StatusNotFound {
			t.Fatalf("another shop's round: %d", st)
		}
		var otherRound voteRoundJSON
		otherAPI.json(http.MethodPost, "/api/v1/vote-rounds", map[string]any{"start_now": true}, &otherRound)
		if st := otherAPI.json(http.MethodPost, "/api/v1/vote-rounds/"+otherRound.ID+"/products",
			map[string]any{"product_id": products[0], "expected_price": 100}, nil); st != http.StatusNotFound {
			t.Fatalf("another shop's product: %d", st)
		}

		// No spending, no ballot.
		stranger := newShopper(t, srv.URL, s.Slug, "")
		if st := stranger.json(http.MethodPost, base+"/api/votes", map[string]string{"product_id": products[0]}, &e); st != http.StatusForbidden || e.Error.Code != "no_ballots" {
			t.Fatalf("a vote without ballots: %d %+v", st, e)
		}

		// ¥600 paid: 6 ballots; 50 votes at once over ten products count 5.
		buyer := newShopper(t, srv.URL, s.Slug, "")
		buyer.buy(t, products[0], 1)
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[int]int{}
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := buyer.json(http.MethodPost, base+"/api/votes", map[string]string{"product_id": products[i%10]}, nil)
				mu.Lock()
				got[st]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if got[http.StatusCreated] != 5 || got[http.StatusCreated]+got[http.StatusConflict]+got[http.StatusTooManyRequests] != 50 {
			t.Fatalf("50 votes at once: %v, want 5 counted, the rest 409 or 429", got)
		}
		var b voteCastJSON
		if st := buyer.json(http.MethodGet, base+"/api/votes", nil, &b); st != http.StatusOK || b.Ballots != 1 || b.LeftToday != 0 {
			t.Fatalf("ballots after: %d %+v", st, b)
		}

		// ¥250 paid: 2 ballots; one vote, then a second on the same product
		// (409, also at once); a full refund leaves none, the vote stands.
		second := newShopper(t, srv.URL, s.Slug, "")
		cheap := api.createProduct(map[string]any{"title": "Cup", "price": 25000, "stock": 5})
		paid := second.buy(t, cheap.ID, 1)
		got = map[int]int{}
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := second.json(http.MethodPost, base+"/api/votes", map[string]string{"product_id": products[9]}, nil)
				mu.Lock()
				got[st]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if got[http.StatusCreated] != 1 || got[http.StatusConflict] != 9 {
			t.Fatalf("10 votes at once on one product: %v", got)
		}
		if st := second.json(http.MethodPost, base+"/api/votes", map[string]string{"product_id": products[9]}, &e); st != http.StatusConflict || e.Error.Code != "already_voted" {
			t.Fatalf("a second vote: %d %+v", st, e)
		}
		if st := api.json(http.MethodPost, "/api/v1/orders/"+paid+"/refund", map[string]any{"amount": 25000, "reason": "returned"}, nil); st != http.StatusOK {
			t.Fatalf("refund: %d", st)
		}
		a.settleRefunds()
		if st := second.json(http.MethodGet, base+"/api/votes", nil, &b); st != http.StatusOK || b.Ballots != 0 {
			t.Fatalf("ballots after the refund: %d %+v", st, b)
		}
		if st := second.json(http.MethodPost, base+"/api/votes", map[string]string{"product_id": products[8]}, &e); st != http.StatusForbidden {
			t.Fatalf("a vote after the refund: %d %+v", st, e)
		}

		var res voteResultsJSON
		if st := api.json(http.MethodGet, "/api/v1/vote-rounds/"+round.ID+"/results", nil, &res); st != http.StatusOK || len(res.Items) != 10 || res.State != "open" {
			t.Fatalf("results: %d %+v", st, res)
		}
		total := int64(0)
		for _, it := range res.Items {
			total += it.Votes
			var series int64
			for _, p := range it.Series {
				series += p.Votes
			}
			if series != it.Votes {
				t.Errorf("product %s: %d votes, %d in its series", it.ProductID, it.Votes, series)
			}
		}
		if total != 6 {
			t.Fatalf("%d votes counted, want 6 (5 + 1, the refunded one kept)", total)
		}
		for _, path := range []string{"/api/v1/vote-rounds", "/api/v1/vote-rounds/" + round.ID, "/api/v1/vote-rounds/" + round.ID + "/products"} {
			if st := api.json(http.MethodGet, path, nil, nil); st != http.StatusOK {
				t.Fatalf("GET %s: %d", path, st)
			}
		}
		var extended voteRoundJSON
		if st := api.json(http.MethodPost, "/api/v1/vote-rounds/"+next.ID+"/extend", map[string]any{"ends_at": "2099-01-01T00:00:00Z"}, nil); st != http.StatusBadRequest {
			t.Fatalf("extend past 7 days: %d", st)
		}
		if st := api.json(http.MethodPost, "/api/v1/vote-rounds/"+next.ID+"/extend", map[string]any{"ends_at": addHours(t, next.EndsAt, 48)}, &extended); st != http.StatusOK ||
			extended.EndsAt == next.EndsAt {
			t.Fatalf("extend over a holiday: %d %+v", st, extended)
		}

		// The page: the products in a new order per load, the voter's marked.
		orders := map[string]bool{}
		for range 10 {
			doc := buyer.page(base+"/vote", http.StatusOK)
			var order []string
			doc.Find("[data-product]").Each(func(_ int, li *goquery.Selection) { order = append(order, li.AttrOr("data-product", "")) })
			if len(order) != 10 {
				t.Fatalf("the page shows %d products", len(order))
			}
			orders[strings.Join(order, ",")] = true
			if n := doc.Find("[data-vote]").Length(); n != 5 {
				t.Fatalf("%d products to vote for, want the 5 not voted for", n)
			}
		}
		if len(orders) < 5 {
			t.Fatalf("10 loads showed %d orders", len(orders))
		}
	})
}

// addHours is an RFC 3339 time n hours after at.
func addHours(t *testing.T, at string, n int) string {
	t.Helper()
	v, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatalf("time %q: %v", at, err)
	}
	return v.Add(time.Duration(n) * time.Hour).Format(time.RFC3339)
}

// TestVotePagesInBothLanguages: the vote's console pages and the shoppers'
// page, in Chinese and in English, with a round, products and votes.
func TestVotePagesInBothLanguages(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	for _, lang := range i18n.Langs {
		t.Run(lang, func(t *testing.T) {
			a.vote.SetClock(time.Now)
			words := consoleDataOf[lang]
			s := signUp(t, srv.URL, "vote-"+strings.ToLower(lang))
			api := s.apiClient(t, srv.URL)
			if st := api.json(http.MethodPut, "/api/v1/shop", map[string]string{"lang": lang}, nil); st != http.StatusOK {
				t.Fatalf("shop language: %d", st)
			}
			tea := api.createProduct(map[string]any{"title": words[0], "price": 39900, "stock": 10, "images": []string{"/static/demo/p01.svg"}})
			cup := api.createProduct(map[string]any{"title": words[1], "price": 6800, "stock": 10})
			base := "/s/" + s.Slug
			console := s.consoleClient(t, srv.URL)
			u, _ := url.Parse(srv.URL)
			console.http.Jar.SetCookies(u, []*http.Cookie{{Name: i18n.Cookie, Value: lang, Path: "/"}})

			// Empty, then a round started at once from the console's form.
			empty := newClientIn(t, srv.URL, lang)
			emptyDoc := empty.page(base+"/vote", http.StatusOK)
			checkWords(t, "the vote page without a round", visibleText(emptyDoc), lang, []string{s.Name}, storefrontWords)
			console.fetchCSRF("/admin/vote")
			st, body := console.form("/admin/vote", url.Values{"when": {"custom"}, "starts_at": {"2000-01-01T08:00"}})
			if st != http.StatusBadRequest {
				t.Fatalf("a round in the past: %d", st)
			}
			errDoc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
			if err != nil || errDoc.Find(".error").Length() != 1 {
				t.Fatalf("the rounds page with an error: %v %.300s", err, body)
			}
			checkWords(t, "the rounds page with an error", visibleText(errDoc), lang, []string{s.Name, s.Email}, consoleWords)
			if st, body := console.form("/admin/vote", url.Values{"when": {"now"}}); st != http.StatusSeeOther {
				t.Fatalf("start a round: %d %.300s", st, body)
			}
			var list struct{ Items []voteRoundJSON }
			api.json(http.MethodGet, "/api/v1/vote-rounds", nil, &list)
			if len(list.Items) != 1 {
				t.Fatalf("rounds: %+v", list)
			}
			round := list.Items[0].ID
			console.fetchCSRF("/admin/vote/" + round)
			if st, body := console.form("/admin/vote/"+round+"/products", url.Values{"product_id": {tea.ID}, "expected_price": {"299"},
				"target_votes": {"2"}}); st != http.StatusSeeOther {
				t.Fatalf("add a product: %d %.300s", st, body)
			}
			if st, _ := console.form("/admin/vote/"+round+"/products", url.Values{"product_id": {cup.ID}, "expected_price": {"abc"}}); st != http.StatusBadRequest {
				t.Fatalf("a bad price: %d", st)
			}
			api.json(http.MethodPost, "/api/v1/vote-rounds/"+round+"/products", map[string]any{"product_id": cup.ID, "expected_price": 5900}, nil)
			buyer := newShopper(t, srv.URL, s.Slug, "")
			switchTo(t, buyer.client, base+"/", lang)
			buyer.buy(t, tea.ID, 1)
			if st := buyer.json(http.MethodPost, base+"/api/votes", map[string]string{"product_id": tea.ID}, nil); st != http.StatusCreated {
				t.Fatalf("vote: %d", st)
			}
			// Five more voters whose orders ship to one address vote for the
			// cup: it is flagged, and leaves the round.
			for range 5 {
				other := newShopper(t, srv.URL, s.Slug, "")
				other.buy(t, tea.ID, 1)
				if st := other.json(http.MethodPost, base+"/api/votes", map[string]string{"product_id": cup.ID}, nil); st != http.StatusCreated {
					t.Fatalf("vote: %d", st)
				}
			}
			data := []string{s.Name, s.Slug, words[0], words[1]}
			openDoc := buyer.page(base+"/vote", http.StatusOK)
			checkWords(t, "the vote page, voting", visibleText(openDoc), lang, data, storefrontWords)
			if openDoc.Find("[data-vote]").Length() != 1 || openDoc.Find("button[disabled]").Length() != 1 {
				t.Errorf("the vote page: want one product to vote for and one voted")
			}
			pages := map[string]*client{"/admin/vote": console, "/admin/vote/" + round: console}
			if walked := checkPages(t, pages, lang, data); walked != 2 {
				t.Fatalf("walked %d console pages", walked)
			}
			if href := console.page("/admin/vote", http.StatusOK).Find(`[data-round="`+round+`"] a`).AttrOr("href", ""); href != "/admin/vote/"+round {
				t.Errorf("the rounds table links the round to %q", href)
			}
			// The round ends: the deal form, a deal opened from it.
			var r voteRoundJSON
			api.json(http.MethodGet, "/api/v1/vote-rounds/"+round, nil, &r)
			ends, _ := time.Parse(time.RFC3339, r.EndsAt)
			offset := time.Until(ends) + time.Minute
			a.vote.SetClock(func() time.Time { return time.Now().Add(offset) })
			var flags struct {
				Items []struct{ Rule, ProductID string }
			}
			if st := api.json(http.MethodGet, "/api/v1/vote-rounds/"+round+"/flags", nil, &flags); st != http.StatusOK || len(flags.Items) != 1 ||
				flags.Items[0].Rule != "shared_address" {
				t.Fatalf("flags: %d %+v", st, flags)
			}
			doc := console.page("/admin/vote/"+round, http.StatusOK)
			if doc.Find("[data-flag='shared_address']").Length() != 1 {
				t.Errorf("the round page shows no flag")
			}
			if doc.Find("[data-out='"+cup.ID+"'][data-state='removed']").Length() != 1 {
				t.Errorf("the round page does not show the flagged product removed")
			}
			if doc.Find("[data-deal-form='"+tea.ID+"']").Length() != 1 || doc.Find("[data-deal-form]").Length() != 1 {
				t.Fatalf("the deal form: want one, for the voted product")
			}
			checkWords(t, "the ended round", visibleText(doc), lang, data, consoleWords)
			console.fetchCSRF("/admin/vote/" + round)
			dealEnd := ends.Add(48 * time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04")
			if st, body := console.form("/admin/vote/"+round+"/deals", url.Values{"product_id": {tea.ID}, "price": {"199"}, "quantity": {"0"},
				"ends_at": {dealEnd}, "head_start_minutes": {"60"}}); st != http.StatusBadRequest {
				t.Fatalf("a deal of no quantity: %d %.300s", st, body)
			}
			if st, body := console.form("/admin/vote/"+round+"/deals", url.Values{"product_id": {tea.ID}, "price": {"199"}, "quantity": {"10"},
				"ends_at": {dealEnd}, "head_start_minutes": {"60"}}); st != http.StatusSeeOther {
				t.Fatalf("open a deal: %d %.300s", st, body)
			}
			if walked := checkPages(t, pages, lang, data); walked != 2 {
				t.Fatalf("walked %d console pages", walked)
			}
			a.vote.SetClock(func() time.Time { return time.Now().Add(offset + time.Minute) })
			doc = buyer.page(base+"/vote", http.StatusOK)
			if doc.Find("[data-deal]").Length() != 1 {
				t.Errorf("the vote page: want the deal")
			}
			if got := doc.Find("html").AttrOr("lang", ""); got != lang {
				t.Errorf("the vote page: <html lang=%q>", got)
			}
			checkWords(t, "the vote page", visibleText(doc), lang, data, storefrontWords)
			if doc.Find("[data-vote]").Length() != 0 || doc.Find("[data-product]").Length() != 0 {
				t.Errorf("the vote page after the round: want no products to vote for")
			}
		})
	}
}

type groupDealJSON struct {
	ID      string `json:"id"`
	RoundID string `json:"round_id"`
	State   string `json:"state"`
	Price   int64  `json:"price"`
	Sold    int64  `json:"sold"`
	Left    int64  `json:"left"`
}

type pricedOrderJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Lines  []struct {
		Price int64 `json:"price"`
	} `json:"lines"`
}

// TestGroupDeal: after the round, a voted product opens as a group deal;
// its voter buys at the group price during the head start, anyone else at
// the regular price; then everyone may, and 50 buyers at once never take
// more than the quantity at the group price; a cancelled order gives its
// unit back. On both engines.
func TestGroupDeal(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, eng *engine.Engine) {
		a, srv := startApp(t, eng)
		s := signUp(t, srv.URL, "deal-shop")
		api := s.apiClient(t, srv.URL)
		base := "/s/" + s.Slug
		tea := api.createProduct(map[string]any{"title": "Longjing", "price": 39900, "stock": 500})
		var round voteRoundJSON
		if st := api.json(http.MethodPost, "/api/v1/vote-rounds", map[string]any{"start_now": true}, &round); st != http.StatusCreated {
			t.Fatalf("round: %d", st)
		}
		if st := api.json(http.MethodPost, "/api/v1/vote-rounds/"+round.ID+"/products", map[string]any{"product_id": tea.ID, "expected_price": 19900}, nil); st != http.StatusCreated {
			t.Fatalf("add: %d", st)
		}
		voter := newShopper(t, srv.URL, s.Slug, "")
		voter.buy(t, tea.ID, 1) // ¥399: 3 ballots
		if st := voter.json(http.MethodPost, base+"/api/votes", map[string]string{"product_id": tea.ID}, nil); st != http.StatusCreated {
			t.Fatalf("vote: %d", st)
		}
		deal := map[string]any{"round_id": round.ID, "product_id": tea.ID, "price": 19900, "quantity": 20, "head_start_minutes": 60}
		ends, _ := time.Parse(time.RFC3339, round.EndsAt)
		deal["ends_at"] = ends.Add(72 * time.Hour).Format(time.RFC3339)
		var e apiError
		if st := api.json(http.MethodPost, "/api/v1/group-deals", deal, &e); st != http.StatusConflict || e.Error.Code != "round_not_ended" {
			t.Fatalf("a deal during the round: %d %+v", st, e)
		}

		// The round ends: the vote's and the orders' clocks move past it.
		var mu sync.Mutex
		offset := time.Until(ends) + time.Minute
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
		a.vote.SetClock(clock)
		a.orders.SetClock(clock)
		var d groupDealJSON
		if st := api.json(http.MethodPost, "/api/v1/group-deals", deal, &d); st != http.StatusCreated || d.State != "voters_only" || d.Left != 20 {
			t.Fatalf("open the deal: %d %+v", st, d)
		}
		if st := api.json(http.MethodPost, "/api/v1/group-deals", deal, &e); st != http.StatusConflict || e.Error.Code != "deal_exists" {
			t.Fatalf("a second deal: %d %+v", st, e)
		}
		if st := s.apiClient(t, srv.URL).json(http.MethodGet, "/api/v1/group-deals/"+d.ID, nil, nil); st != http.StatusOK {
			t.Fatalf("get the deal: %d", st)
		}
		if st := signUp(t, srv.URL, "deal-other").apiClient(t, srv.URL).json(http.MethodGet, "/api/v1/group-deals/"+d.ID, nil, nil); st != http.StatusNotFound {
			t.Fatalf("another shop's deal: %d", st)
		}
		place := func(c *client) (int, pricedOrderJSON) {
			var o pricedOrderJSON
			st := c.json(http.MethodPost, base+"/api/orders", map[string]any{
				"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress}, &o)
			return st, o
		}
		// The head start: the voter at the group price, another at the regular one.
		if st, o := place(voter.client); st != http.StatusCreated || o.Lines[0].Price != 19900 {
			t.Fatalf("the voter's order: %d %+v", st, o)
		}
		if st, o := place(newClient(t, srv.URL)); st != http.StatusCreated || o.Lines[0].Price != 39900 {
			t.Fatalf("another's order in the head start: %d %+v", st, o)
		}
		if doc := voter.page(base+"/vote", http.StatusOK); doc.Find("[data-deal='"+d.ID+"']").Length() != 1 {
			t.Fatal("the vote page does not show the deal")
		}
		// The product page shows the deal: its group price and state.
		if box := voter.page(base+"/p/"+tea.ID, http.StatusOK).Find(".group-deal[data-deal='" + d.ID + "']"); box.Length() != 1 ||
			!strings.Contains(box.Text(), "199.00") || box.Find("[data-countdown]").Length() != 1 {
			t.Fatalf("the product page does not show the deal: %q", box.Text())
		}
		// Its share card: the group price and what is left.
		if card := voter.page(base+"/p/"+tea.ID, http.StatusOK).Find(`meta[name="ms-share"]`); card.Length() != 1 ||
			!strings.Contains(card.AttrOr("data-title", ""), "¥199.00") || !strings.Contains(card.AttrOr("data-desc", ""), "19") {
			t.Fatalf("the product page's share card: %d %q %q", card.Length(), card.AttrOr("data-title", ""), card.AttrOr("data-desc", ""))
		}
		if card := voter.page(base+"/vote", http.StatusOK).Find(`meta[name="ms-share"]`); card.Length() != 1 || !strings.Contains(card.AttrOr("data-title", ""), s.Name) {
			t.Fatalf("the vote page's share card: %d %q", card.Length(), card.AttrOr("data-title", ""))
		}
		// The checkout and the cart show the voter the group price, the regular one beside it; another sees the regular.
		co := voter.page(base+"/checkout?product="+tea.ID+"&qty=2", http.StatusOK)
		if co.Find("[data-group-price]").Length() != 1 || !strings.Contains(co.Find(".buyrow .price").Text(), "199.00") ||
			!strings.Contains(co.Find("[data-regular-price]").Text(), "399.00") || !strings.Contains(co.Find("[data-goods-total]").Text(), "398.00") {
			t.Fatalf("the voter's checkout: %q", co.Find(".box").Text())
		}
		other := newShopper(t, srv.URL, s.Slug, "")
		if co := other.page(base+"/checkout?product="+tea.ID+"&qty=1", http.StatusOK); co.Find("[data-group-price]").Length() != 0 ||
			!strings.Contains(co.Find("[data-goods-total]").Text(), "399.00") {
			t.Fatalf("another's checkout in the head start: %q", co.Find(".box").Text())
		}
		if st := voter.json(http.MethodPost, base+"/api/cart/items", map[string]any{"product_id": tea.ID, "qty": 1}, nil); st != http.StatusOK {
			t.Fatalf("add to the cart: %d", st)
		}
		if cart := voter.page(base+"/cart", http.StatusOK); cart.Find("[data-group-price]").Length() != 1 ||
			!strings.Contains(cart.Find("[data-goods-total]").Text(), "199.00") {
			t.Fatalf("the voter's cart: %q", cart.Find("#cart").Text())
		}

		// After the head start: 50 buyers at once, 19 units left.
		mu.Lock()
		offset += time.Hour
		mu.Unlock()
		var wg sync.WaitGroup
		var omu sync.Mutex
		group, regular, refused := 0, 0, 0
		var groupOrder string
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, o := place(newClient(t, srv.URL))
				omu.Lock()
				defer omu.Unlock()
				switch {
				case st == http.StatusCreated && o.Lines[0].Price == 19900:
					group++
					groupOrder = o.ID
				case st == http.StatusCreated:
					regular++
				case st == http.StatusConflict:
					refused++
				default:
					t.Errorf("place: %d", st)
				}
			}()
		}
		wg.Wait()
		if group != 19 || group+regular+refused != 50 {
			t.Fatalf("50 buyers at once: %d at the group price, %d regular, %d refused; want 19 at the group price", group, regular, refused)
		}
		if st := api.json(http.MethodGet, "/api/v1/group-deals/"+d.ID, nil, &d); st != http.StatusOK || d.Sold != 20 || d.State != "sold_out" {
			t.Fatalf("the deal: %d %+v", st, d)
		}
		// A cancelled order gives its unit back.
		if st := api.json(http.MethodPost, "/api/v1/orders/"+groupOrder+"/cancel", map[string]string{"reason": "changed mind"}, nil); st != http.StatusOK {
			t.Fatalf("cancel: %d", st)
		}
		if st := api.json(http.MethodGet, "/api/v1/group-deals/"+d.ID, nil, &d); st != http.StatusOK || d.Sold != 19 || d.Left != 1 {
			t.Fatalf("after a cancellation: %d %+v", st, d)
		}
		var list struct{ Items []groupDealJSON }
		if st := api.json(http.MethodGet, "/api/v1/group-deals", nil, &list); st != http.StatusOK || len(list.Items) != 1 {
			t.Fatalf("deals: %d %+v", st, list)
		}
	})
}

// TestVoteBar: the operator bars a shop from votes for 1 to 6 months with a
// reason; the shop's merchant cannot open a round and sees why.
func TestVoteBar(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "barred-shop")
	api := s.apiClient(t, srv.URL)
	op := newOperator(t, a, "ops@example.com")
	ops := newClient(t, srv.URL)
	ops.key = op.APIKey
	for _, c := range []struct {
		body map[string]any
		want int
	}{
		{map[string]any{"tenant_id": s.ID, "months": 7, "reason": "brushing"}, http.StatusBadRequest},
		{map[string]any{"tenant_id": s.ID, "months": 0, "reason": "brushing"}, http.StatusBadRequest},
		{map[string]any{"tenant_id": "nosuchshop000000", "months": 1, "reason": "brushing"}, http.StatusBadRequest},
		{map[string]any{"tenant_id": s.ID, "months": 3, "reason": "20 new accounts voted from one address"}, http.StatusOK},
	} {
		if st := ops.json(http.MethodPost, "/api/ops/v1/vote-bars", c.body, nil); st != c.want {
			t.Fatalf("bar %v: %d, want %d", c.body, st, c.want)
		}
	}
	if st := api.json(http.MethodPost, "/api/ops/v1/vote-bars", map[string]any{"tenant_id": s.ID, "months": 1, "reason": "x"}, nil); st != http.StatusUnauthorized {
		t.Fatalf("a merchant's key on the operator's call: %d", st)
	}
	if st := ops.json(http.MethodGet, "/api/ops/v1/vote-bars/"+s.ID, nil, nil); st != http.StatusOK {
		t.Fatalf("read the bar: %d", st)
	}
	var e apiError
	if st := api.json(http.MethodPost, "/api/v1/vote-rounds", map[string]any{"start_now": true}, &e); st != http.StatusForbidden ||
		e.Error.Code != "vote_barred" || !strings.Contains(e.Error.Message, "20 new accounts voted from one address") {
		t.Fatalf("a round while barred: %d %+v", st, e)
	}
	console := s.consoleClient(t, srv.URL)
	doc := console.page("/admin/vote", http.StatusOK)
	if bar := doc.Find("[data-bar]"); bar.Length() != 1 || !strings.Contains(bar.Text(), "20 new accounts voted from one address") {
		t.Fatalf("the console does not show the bar")
	}
	checkWords(t, "the barred shop's rounds", visibleText(doc), i18n.En, []string{s.Name, s.Email, "20 new accounts voted from one address"}, consoleWords)
}
