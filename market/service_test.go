package market_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/market"
	"microshop/shop/catalog"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// world is a market over a real engine with real catalogs.
type world struct {
	e       *engine.Engine
	catalog *catalog.Catalog
	market  *market.Service
}

func newWorld(t *testing.T, e *engine.Engine) *world {
	t.Helper()
	store, err := market.NewStore(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	cs := catalog.NewStore(e)
	shelf := catalog.NewShelf(cs, time.Hour)
	w := &world{e: e, catalog: catalog.New(cs, shelf)}
	w.market = market.New(market.Options{Store: store, Shelf: shelf})
	shelf.Watch(w.market.Changed)
	return w
}

// shop provisions a shop with products titled titles (price 100 fen each,
// stock 5) and returns it with its product ids.
func (w *world) shop(t *testing.T, slug string, titles ...string) (tenants.Tenant, []string) {
	t.Helper()
	tn := tenants.Tenant{ID: enginetest.Tenant(t, w.e), Slug: slug, Name: slug + "的店"}
	var ids []string
	for _, title := range titles {
		price, stock := int64(100), int64(5)
		p, err := w.catalog.Create(context.Background(), tn.ID, catalog.Input{Title: &title, Price: &price, Stock: &stock})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	return tn, ids
}

func (w *world) list(t *testing.T, tn tenants.Tenant, listed bool) {
	t.Helper()
	cat := "tea"
	if _, err := w.market.SetListing(context.Background(), tn, market.ListingInput{Listed: &listed, Category: &cat}); err != nil {
		t.Fatal(err)
	}
}

func (w *world) find(t *testing.T, q string) []string {
	t.Helper()
	res, err := w.market.Search(context.Background(), market.Query{Text: q, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res.Items {
		out = append(out, r.Shop.Slug+":"+r.Title)
	}
	return out
}

func TestListingDecidesWhatIsFound(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{catalog.Schema}, func(t *testing.T, e *engine.Engine) {
		w := newWorld(t, e)
		a, _ := w.shop(t, "teahouse", "西湖龙井绿茶", "紫砂壶")
		b, _ := w.shop(t, "hidden", "碧螺春绿茶")
		if got := w.find(t, "绿茶"); len(got) != 0 {
			t.Fatalf("before any listing the market finds %v", got)
		}
		w.list(t, a, true)
		w.list(t, b, false)
		if got := w.find(t, "绿茶"); len(got) != 1 || got[0] != "teahouse:西湖龙井绿茶" {
			t.Fatalf("绿茶 finds %v, want only the listed shop's 西湖龙井绿茶", got)
		}
		if got := w.find(t, "龙井"); len(got) != 1 {
			t.Errorf("龙井 finds %v", got)
		}
		w.list(t, a, false)
		if got := w.find(t, "绿茶"); len(got) != 0 {
			t.Errorf("after unlisting the market still finds %v", got)
		}
	})
}

func TestCatalogChangesReachTheMarket(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{catalog.Schema}, func(t *testing.T, e *engine.Engine) {
		w := newWorld(t, e)
		a, ids := w.shop(t, "teahouse", "西湖龙井")
		w.list(t, a, true)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan struct{})
		go func() { w.market.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		title := "安吉白茶"
		start := time.Now()
		if _, err := w.catalog.Patch(context.Background(), a.ID, ids[0], catalog.Input{Title: &title}); err != nil {
			t.Fatal(err)
		}
		// The market takes a change within a fraction of a second (a kick,
		// then 200 ms to settle); the bounds leave room for a loaded machine.
		for len(w.find(t, "白茶")) == 0 {
			if time.Since(start) > 15*time.Second {
				t.Fatalf("a renamed product is not found by its new title within 15 s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("a renamed product was found by its new title after %v", time.Since(start).Round(10*time.Millisecond))
		if got := w.find(t, "龙井"); len(got) != 0 {
			t.Errorf("the old title still finds %v", got)
		}
		// Off sale: gone.
		off := catalog.OffSale
		if _, err := w.catalog.Patch(context.Background(), a.ID, ids[0], catalog.Input{Status: &off}); err != nil {
			t.Fatal(err)
		}
		for len(w.find(t, "白茶")) != 0 {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("a product taken off sale is still on the market")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func TestOperatorDecidesReportOnce(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{catalog.Schema}, func(t *testing.T, e *engine.Engine) {
		w := newWorld(t, e)
		a, ids := w.shop(t, "fakes", "名牌手表")
		w.list(t, a, true)
		ctx := context.Background()
		r, err := w.market.Report(ctx, "visitor1", market.ReportInput{Shop: "fakes", ProductID: ids[0], Kind: "prohibited", Text: "假货"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.market.Report(ctx, "v", market.ReportInput{Shop: "fakes", ProductID: "nope", Kind: "counterfeit", Text: "x"}); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a report of a product not on the market: %v, want not found", err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := w.market.Decide(ctx, tenants.Operator{Email: "op@example.com"}, r.ID,
					market.Decision{Outcome: "uphold", Note: "属实"}, w.catalog)
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, fault.ErrConflict):
					t.Errorf("decide: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d decisions won, want 1", wins.Load())
		}
		if got := w.find(t, "手表"); len(got) != 0 {
			t.Errorf("an upheld report leaves the product on the market: %v", got)
		}
		p, err := w.catalog.Get(ctx, a.ID, ids[0])
		if err != nil || p.Status != catalog.OffSale {
			t.Errorf("a prohibited product stays on sale in its shop: %v %v", p.Status, err)
		}
		// The feed never puts a delisted product back.
		on := catalog.OnSale
		if _, err := w.catalog.Patch(ctx, a.ID, ids[0], catalog.Input{Status: &on}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.market.Feed(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if got := w.find(t, "手表"); len(got) != 0 {
			t.Errorf("the feed put a delisted product back: %v", got)
		}
	})
}

// quality gives fixed factors per shop.
type quality map[string]market.ShopFactors

func (q quality) ShopFactors(context.Context, []string) (map[string]market.ShopFactors, error) {
	return q, nil
}

// TestRankingFollowsPublishedFormula works the formula by hand on two shops
// selling the same product: one with better credit and shipping, one with
// a penalty that takes it off the market.
func TestRankingFollowsPublishedFormula(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{catalog.Schema}, func(t *testing.T, e *engine.Engine) {
		w := newWorld(t, e)
		now := time.Now().UTC()
		w.market.SetClock(func() time.Time { return now })
		good, _ := w.shop(t, "good", "龙井绿茶")
		fair, _ := w.shop(t, "fair", "龙井绿茶")
		banned, _ := w.shop(t, "banned", "龙井绿茶")
		for _, s := range []tenants.Tenant{good, fair, banned} {
			w.list(t, s, true)
		}
		w.market.SetQuality(quality{
			good.ID:   {Credit: 90, Level: "excellent", AfterSaleRate: 0.02, OnTime: 0.95, RepeatBuyers: 0.3, Interaction: 0.12},
			fair.ID:   {Credit: 60, Level: "fair", AfterSaleRate: 0.10, OnTime: 0.70, RepeatBuyers: 0.1, Interaction: 0.05},
			banned.ID: {Credit: 100, OnTime: 1, RepeatBuyers: 1, Interaction: 1, OffMarket: true},
		})
		if err := w.market.RefreshQuality(context.Background()); err != nil {
			t.Fatal(err)
		}
		res, err := w.market.Search(context.Background(), market.Query{Text: "龙井绿茶"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) != 2 || res.Items[0].Shop.Slug != "good" || res.Items[1].Shop.Slug != "fair" {
			t.Fatalf("results %+v, want good then fair, banned left out", res.Items)
		}
		// By hand: relevance 1 (title match, starts with the query, capped);
		// no reviews: rating 0.75; created now: freshness 1.
		// No sales yet: the sales term is 0.
		// good: 0.2×0.9 + 0.2×0.75 + 0.15×0.98 + 0.1×0.95 + 0.1×0 + 0.1×0.3 + 0.1×1 + 0.05×1 = 0.752
		// fair: 0.2×0.6 + 0.2×0.75 + 0.15×0.90 + 0.1×0.70 + 0.1×0 + 0.1×0.1 + 0.1×0.5 + 0.05×1 = 0.585
		for i, want := range []float64{0.4 + 0.6*0.752, 0.4 + 0.6*0.585} {
			if got := res.Items[i].Score; math.Abs(got-want) > 1e-6 {
				t.Errorf("%s scores %v, want %v", res.Items[i].Shop.Slug, got, want)
			}
		}
		if res.Items[0].Shop.CreditLevel != "excellent" {
			t.Errorf("credit level %q", res.Items[0].Shop.CreditLevel)
		}
	})
}

func TestSearchRefusesBadInput(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{catalog.Schema}, func(t *testing.T, e *engine.Engine) {
		w := newWorld(t, e)
		for _, q := range []market.Query{
			{Category: "weapons"}, {Cursor: "abc"}, {Cursor: "-1"}, {Text: string(make([]rune, 65))},
		} {
			if _, err := w.market.Search(context.Background(), q); !errors.Is(err, fault.ErrInvalid) {
				t.Errorf("Search(%+v) = %v, want invalid", q, err)
			}
		}
	})
}
