package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

type voteItemJSON struct {
	RoundID   string `json:"round_id"`
	ProductID string `json:"product_id"`
	State     string `json:"state"`
	ShopID    string `json:"shop_id"`
	Votes     int64  `json:"votes"`
	Note      string `json:"note"`
}

// TestMarketVote: a merchant registers products for the market's round
// (pending); the operator approves two and rejects one (the merchant's key
// may not); once the round opens /m/vote shows the approved only; a
// shopper without market ballots gets a 403; a shopper links their fan of
// the shop (¥600 paid: 6 ballots) from the storefront, votes (201), a
// second vote on a product is a 409, also when 20 are sent at once; after
// the round the operator opens a deal in the product's shop. The ops pages
// show the registrations and the round. On both engines.
func TestMarketVote(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, eng *engine.Engine) {
		a, srv := startApp(t, eng)
		s := signUp(t, srv.URL, "mv-shop")
		api := s.apiClient(t, srv.URL)
		products := make([]string, 3)
		for i := range products {
			products[i] = api.createProduct(map[string]any{"title": "Oolong " + string(rune('A'+i)), "price": 60000, "stock": 100}).ID
			var it voteItemJSON
			if st := api.json(http.MethodPost, "/api/v1/market-vote/products", map[string]any{"product_id": products[i], "expected_price": 49900},
				&it); st != http.StatusCreated || it.State != "pending" || it.ShopID != s.ID {
				t.Fatalf("register %d: %d %+v", i, st, it)
			}
		}
		var e apiError
		if st := api.json(http.MethodPost, "/api/v1/market-vote/products", map[string]any{"product_id": products[0], "expected_price": 49900},
			&e); st != http.StatusConflict || e.Error.Code != "already_listed" {
			t.Fatalf("registering twice: %d %+v", st, e)
		}
		var regs struct{ Items []voteItemJSON }
		if st := api.json(http.MethodGet, "/api/v1/market-vote/products", nil, &regs); st != http.StatusOK || len(regs.Items) != 3 {
			t.Fatalf("registrations: %d %+v", st, regs)
		}

		op := newOperator(t, a, "ops@example.com")
		ops := newClient(t, srv.URL)
		ops.key = op.APIKey
		var rounds struct{ Items []voteRoundJSON }
		if st := ops.json(http.MethodGet, "/api/ops/v1/market-vote/rounds", nil, &rounds); st != http.StatusOK || len(rounds.Items) != 1 ||
			rounds.Items[0].State != "scheduled" {
			t.Fatalf("market rounds: %d %+v", st, rounds)
		}
		round := rounds.Items[0]
		decide := func(c *client, product string, approve bool) int {
			return c.json(http.MethodPost, "/api/ops/v1/market-vote/rounds/"+round.ID+"/products/"+product+"/decision",
				map[string]any{"approve": approve, "note": "fits"}, nil)
		}
		if st := decide(api, products[0], true); st != http.StatusUnauthorized {
			t.Fatalf("a merchant's key approving: %d", st)
		}
		for i, approve := range []bool{true, true, false} {
			if st := decide(ops, products[i], approve); st != http.StatusOK {
				t.Fatalf("decide %d: %d", i, st)
			}
		}
		if st := decide(ops, products[2], true); st != http.StatusConflict {
			t.Fatalf("deciding twice: %d", st)
		}
		if st := api.json(http.MethodGet, "/api/v1/market-vote/products", nil, &regs); st != http.StatusOK || regs.Items[2].State != "rejected" ||
			regs.Items[2].Note != "fits" {
			t.Fatalf("the merchant's registrations after: %d %+v", st, regs)
		}

		// The round opens.
		starts, err := time.Parse(time.RFC3339, round.StartsAt)
		if err != nil {
			t.Fatal(err)
		}
		offset := time.Until(starts) + 30*time.Minute
		a.voteMarket.SetClock(func() time.Time { return time.Now().Add(offset) })

		stranger := newClient(t, srv.URL)
		doc := stranger.page("/m/vote", http.StatusOK)
		if n := doc.Find("[data-vote]").Length(); n != 2 {
			t.Fatalf("the market page shows %d products, want the 2 approved", n)
		}
		if doc.Find(`[data-product="`+products[2]+`"]`).Length() != 0 {
			t.Fatal("the market page shows the rejected product")
		}
		if st := stranger.json(http.MethodPost, "/m/api/votes", map[string]string{"product_id": products[0]}, &e); st != http.StatusForbidden ||
			e.Error.Code != "no_ballots" {
			t.Fatalf("a vote without market ballots: %d %+v", st, e)
		}

		// A buyer of the shop links their fan from the storefront and votes.
		buyer := newShopper(t, srv.URL, s.Slug, "")
		buyer.buy(t, products[0], 1)
		if st, _ := buyer.do(http.MethodGet, "/s/"+s.Slug+"/vote/market", nil, ""); st != http.StatusSeeOther ||
			!strings.HasPrefix(buyer.location, "/m/vote/link?token=") {
			t.Fatalf("the storefront's link: %d %q", st, buyer.location)
		}
		link := buyer.location
		if st, _ := buyer.do(http.MethodGet, link, nil, ""); st != http.StatusSeeOther || buyer.location != "/m/vote?done=linked" {
			t.Fatalf("take the link: %d %q", st, buyer.location)
		}
		if st, _ := buyer.do(http.MethodGet, link, nil, ""); st != http.StatusSeeOther || !strings.Contains(buyer.location, "link_error") {
			t.Fatalf("the link again: %d %q", st, buyer.location)
		}
		doc = buyer.page("/m/vote", http.StatusOK)
		if got := strings.TrimSpace(doc.Find("[data-ballots]").Text()); got != "6" {
			t.Fatalf("the page shows %q ballots, want 6", got)
		}
		var cast voteCastJSON
		if st := buyer.json(http.MethodPost, "/m/api/votes", map[string]string{"product_id": products[0]}, &cast); st != http.StatusCreated ||
			cast.Ballots != 5 || cast.LeftToday != 4 {
			t.Fatalf("a market vote: %d %+v", st, cast)
		}
		if st := buyer.json(http.MethodPost, "/m/api/votes", map[string]string{"product_id": products[0]}, &e); st != http.StatusConflict ||
			e.Error.Code != "already_voted" {
			t.Fatalf("a second vote: %d %+v", st, e)
		}
		if st := buyer.json(http.MethodPost, "/m/api/votes", map[string]string{"product_id": products[2]}, nil); st != http.StatusNotFound {
			t.Fatalf("a vote for the rejected product: %d", st)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[int]int{}
		for range 20 {
			wg.Go(func() {
				st := buyer.json(http.MethodPost, "/m/api/votes", map[string]string{"product_id": products[1]}, nil)
				mu.Lock()
				got[st]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if got[http.StatusCreated] != 1 || got[http.StatusConflict] != 19 {
			t.Fatalf("20 votes at once on one product: %v, want 1 counted and 19 × 409", got)
		}
		if st := buyer.json(http.MethodGet, "/m/api/votes", nil, &cast); st != http.StatusOK || cast.Ballots != 4 || cast.LeftToday != 3 {
			t.Fatalf("ballots: %d %+v", st, cast)
		}
		// The shop's own vote page does not count market votes.
		if st := buyer.json(http.MethodGet, "/s/"+s.Slug+"/api/votes", nil, &cast); st != http.StatusOK || cast.Ballots != 6 {
			t.Fatalf("the shop's ballots: %d %+v", st, cast)
		}

		// The pages in both languages (Chinese by default).
		data := []string{s.Name, s.Slug, "Oolong A", "Oolong B", "Oolong C", "fits", op.Operator.Email}
		for lang, title := range map[string]string{"zh-CN": "市场我想团", "en": "Market: I want a group deal"} {
			switchTo(t, buyer.client, "/m/vote", lang)
			doc := buyer.page("/m/vote", http.StatusOK)
			if h1 := doc.Find("h1").Text(); h1 != title {
				t.Errorf("the market vote page in %s: %q, want %q", lang, h1, title)
			}
			checkWords(t, "/m/vote", visibleText(doc), lang, data, storefrontWords)
		}

		// The operator's pages.
		console := opsClient(t, srv.URL, op, "market-vote-ops-1")
		for lang, title := range map[string]string{"zh-CN": "市场投票", "en": "Market votes"} {
			switchTo(t, console, "/ops/vote", lang)
			doc := console.page("/ops/vote", http.StatusOK)
			if h1 := doc.Find("h1").Text(); h1 != title {
				t.Errorf("the ops vote page in %s: %q, want %q", lang, h1, title)
			}
			checkWords(t, "/ops/vote", visibleText(doc), lang, data, consoleWords)
			checkWords(t, "/ops/vote/{id}", visibleText(console.page("/ops/vote/"+round.ID, http.StatusOK)), lang, data, consoleWords)
		}
		doc = console.page("/ops/vote", http.StatusOK)
		if doc.Find(`[data-round="`+round.ID+`"]`).Length() != 1 {
			t.Fatal("the ops page does not list the round")
		}
		if href := doc.Find(`[data-round="`+round.ID+`"] a`).AttrOr("href", ""); href != "/ops/vote/"+round.ID {
			t.Errorf("the ops rounds table links the round to %q", href)
		}
		doc = console.page("/ops/vote/"+round.ID, http.StatusOK)
		if v := strings.TrimSpace(doc.Find(`[data-product="` + products[0] + `"] [data-votes]`).Text()); v != "1" {
			t.Fatalf("the round page shows %q votes for product 0", v)
		}

		// After the round the operator opens product 0 as a deal in its shop.
		// (A minute past the round's end: a Friday's round runs to Monday.)
		ends, err := time.Parse(time.RFC3339, round.EndsAt)
		if err != nil {
			t.Fatal(err)
		}
		ended := time.Until(ends) + time.Minute
		a.voteMarket.SetClock(func() time.Time { return time.Now().Add(ended) })
		a.vote.SetClock(func() time.Time { return time.Now().Add(ended) })
		defer a.vote.SetClock(time.Now)
		var res voteResultsJSON
		if st := ops.json(http.MethodGet, "/api/ops/v1/market-vote/rounds/"+round.ID+"/results", nil, &res); st != http.StatusOK || res.State != "ended" ||
			len(res.Items) != 2 {
			t.Fatalf("results: %d %+v", st, res)
		}
		doc = console.page("/ops/vote/"+round.ID, http.StatusOK)
		if doc.Find(`[data-deal-form="`+products[0]+`"]`).Length() != 1 {
			t.Fatal("the round page offers no deal for the voted product")
		}
		st, b := console.form("/ops/vote/"+round.ID+"/deals", url.Values{"product_id": {products[0]}, "price": {"450.00"}, "quantity": {"30"},
			"head_start_minutes": {"60"}, "ends_at": {time.Now().Add(ended + 72*time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04")}})
		if st != http.StatusSeeOther {
			t.Fatalf("open the deal: %d %.300s", st, b)
		}
		var deals struct{ Items []groupDealJSON }
		if st := api.json(http.MethodGet, "/api/v1/group-deals", nil, &deals); st != http.StatusOK || len(deals.Items) != 1 ||
			deals.Items[0].RoundID != round.ID || deals.Items[0].Price != 45000 {
			t.Fatalf("the shop's deals: %d %+v", st, deals)
		}
		// The voter's market page shows the deal, leading to the product through the shop's link.
		if deal := buyer.page("/m/vote", http.StatusOK).Find("[data-deal='" + deals.Items[0].ID + "'] a.btn"); deal.Length() != 1 ||
			deal.AttrOr("href", "") != "/s/"+s.Slug+"/vote/market?product="+products[0] {
			t.Fatalf("the market page's deal: %d %q", deal.Length(), deal.AttrOr("href", ""))
		}
		if st, _ := buyer.do(http.MethodGet, "/s/"+s.Slug+"/vote/market?product="+products[0], nil, ""); st != http.StatusSeeOther {
			t.Fatalf("the deal's link: %d", st)
		}
		if st, _ := buyer.do(http.MethodGet, buyer.location, nil, ""); st != http.StatusSeeOther || buyer.location != "/s/"+s.Slug+"/p/"+products[0] {
			t.Fatalf("on to the product: %d %q", st, buyer.location)
		}
		if st := ops.json(http.MethodPost, "/api/ops/v1/market-vote/deals", map[string]any{"round_id": round.ID, "product_id": products[0],
			"price": 45000, "quantity": 30, "ends_at": time.Now().Add(ended + 72*time.Hour)}, &e); st != http.StatusConflict {
			t.Fatalf("a second deal: %d %+v", st, e)
		}
	})
}
