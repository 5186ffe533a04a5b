package market

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

// searchByScoringAll is how Search answered before Index.Top: every hit of
// Find scored, the page chosen with a heap (topK). Top must answer the same.
func searchByScoringAll(s *Service, q Query) Results {
	offset := 0
	if q.Cursor != "" {
		offset, _ = strconv.Atoi(q.Cursor)
	}
	if q.Limit <= 0 {
		q.Limit = defaultLimit
	}
	q.Limit = min(q.Limit, maxLimit)
	listed, factors := s.listed, s.factors
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

// seededMarket is a market of shops with random titles, listings,
// categories, penalties, ratings and ages: many items share a quality
// (ties broken by id), and words hit titles, categories and shop names.
func seededMarket(t testing.TB, shops, perShop int, seed uint64) (*Service, *rand.Rand) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 99))
	origins := []string{"西湖", "安吉", "武夷山", "云南", "福建", "黄山", "杭州", "新疆", "ＬＥＤ", "Apple"}
	products := []string{"龙井绿茶", "白茶", "大红袍", "普洱熟茶", "铁观音", "毛峰", "丝绸围巾", "枸杞", "红枣", "五常大米", "青花瓷茶具", "蜂蜜", "led台灯", "礼盒"}
	packs := []string{"250克", "礼盒装", "家庭装", "特级", "新品", "", "（限量）", "绿茶礼盒"}
	cats := []string{"特产", "茶叶", "绿茶", "礼盒", "", "家居"}
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	s := New(Options{})
	s.SetClock(func() time.Time { return now })
	factors := map[string]ShopFactors{}
	for shop := range shops {
		tid := fmt.Sprintf("t%04d", shop)
		name := fmt.Sprintf("好物小店%d号", shop)
		if shop%7 == 0 {
			name = "西湖茶庄" + strconv.Itoa(shop)
		}
		s.setShop(Shop{TenantID: tid, Slug: fmt.Sprintf("s%d", shop), Name: name, Listed: shop%11 != 5,
			Category: Categories[r.IntN(3)]})
		if shop%13 != 0 { // the others stay neutral
			factors[tid] = ShopFactors{Credit: 60 + 10*r.IntN(4), Level: "good", AfterSaleRate: float64(r.IntN(3)) / 20,
				OnTime: 1 - float64(r.IntN(2))/10, RepeatBuyers: float64(r.IntN(3)) / 4, Interaction: float64(r.IntN(3)) / 20,
				OffMarket: shop%17 == 3}
		}
		var items []Item
		for p := range perShop {
			title := origins[r.IntN(len(origins))] + products[r.IntN(len(products))] + " " + packs[r.IntN(len(packs))]
			if shop == 2 && p == 1 {
				title = "坏\xff字节绿茶" // not valid UTF-8: checked by its text
			}
			it := Item{ID: fmt.Sprintf("%s/p%03d", tid, p), TenantID: tid, ProductID: fmt.Sprintf("p%03d", p), Title: title,
				Category: cats[r.IntN(len(cats))], Price: 100, CreatedAt: now.Add(-time.Duration(r.IntN(4)) * 30 * 24 * time.Hour)}
			if r.IntN(3) == 0 {
				it.Rating, it.Reviews = int64(300+50*r.IntN(5)), 1+int64(r.IntN(9))
			}
			items = append(items, it)
		}
		s.idx().Put(items...)
	}
	// Shops whose ids are prefixes of one another, product ids of every
	// length: ties among them are broken by the id strings' order.
	for _, tid := range []string{"x", "x0", "x!"} {
		s.setShop(Shop{TenantID: tid, Slug: "slug-" + tid, Name: "西湖茶庄", Listed: true, Category: "food"})
		var items []Item
		for _, pid := range []string{"a", "a0", "ab", "a\x00", "abcdefgh1", "abcdefgh0", "abcdefg"} {
			items = append(items, Item{ID: tid + "/" + pid, TenantID: tid, ProductID: pid, Title: "西湖绿茶", Category: "茶叶",
				Price: 100, CreatedAt: now})
		}
		items = append(items, Item{ID: tid + "-odd", TenantID: tid, ProductID: "odd", Title: "西湖绿茶", CreatedAt: now})
		s.idx().Put(items...)
	}
	s.factors = factors
	s.requality()
	return s, r
}

var equivalenceQueries = []string{
	"", "绿茶", "绿", "茶", "礼盒", "龙井", "西湖龙井", "西湖 绿茶", "云南 普洱", "茶 礼盒", "茶庄", "西湖茶庄",
	"好物", "小店", "特产", "茶叶", "led", "ＬＥＤ", "LED台灯", "apple", "Apple 红枣", "大红袍", "红茶", "茶绿",
	"限量", "（限量）", "250克", "礼盒装 特级", "坏", "字节", "节绿", "\xff", "龙井绿茶礼盒", "白", "不存在",
	"茶 茶", "绿 茶", "西湖 绿茶 礼盒", "西湖龙井 礼盒", "礼盒 西湖龙井", "特级 茶", "好物 绿茶", "茶庄 龙井", "led 台灯", "坏 绿茶",
	"茶叶 白茶", "家庭装 红枣 新疆", "新品 绿茶", "绿茶 不存在",
}

func TestTopAnswersAsScoringAll(t *testing.T) {
	s, r := seededMarket(t, 60, 40, 1)
	check := func(stage string) {
		t.Helper()
		n := 0
		for _, text := range equivalenceQueries {
			for _, cat := range []string{"", "food", "tea", "fresh", "books"} {
				for _, page := range []struct{ cursor, limit int }{{0, 0}, {0, 1}, {0, 7}, {20, 20}, {5, 50}, {40, 20}, {1000, 50}, {997, 3}} {
					q := Query{Text: text, Category: cat, Limit: page.limit}
					if page.cursor > 0 {
						q.Cursor = strconv.Itoa(page.cursor)
					}
					want := searchByScoringAll(s, q)
					got, err := s.Search(context.Background(), q)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: Search(%+v) = total %d, %d items, next %q; scoring all: total %d, %d items, next %q\ngot  %v\nwant %v",
							stage, q, got.Total, len(got.Items), got.NextCursor, want.Total, len(want.Items), want.NextCursor, ids(got), ids(want))
					}
					n += got.Total
				}
			}
		}
		if n == 0 {
			t.Fatalf("%s: nothing found at all", stage)
		}
		// Pages follow one another without overlap or gap.
		var walked []string
		q := Query{Text: "茶", Limit: 13}
		for {
			res, err := s.Search(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			walked = append(walked, ids(res)...)
			if res.NextCursor == "" {
				break
			}
			q.Cursor = res.NextCursor
		}
		all := searchByScoringAll(s, Query{Text: "茶", Limit: 50})
		if want := min(all.Total, maxOffset+13); len(walked) < min(want, maxOffset) || len(slices.Compact(slices.Clone(walked))) != len(walked) {
			t.Errorf("%s: walking the pages of 茶 gave %d items (total %d)", stage, len(walked), all.Total)
		}
	}
	check("seeded")

	// Churn: renames, removals, delistings (dead slots, then compaction),
	// a shop renamed, new factors.
	ix := s.idx()
	for i := range 3000 {
		shop := r.IntN(60)
		id := fmt.Sprintf("t%04d/p%03d", shop, r.IntN(40))
		it := Item{ID: id, TenantID: fmt.Sprintf("t%04d", shop), ProductID: id[6:], Title: []string{"绿茶新品", "红茶礼盒", "普洱 老茶"}[i%3],
			Category: "茶叶", Price: 100, CreatedAt: s.clock().Add(-time.Duration(i) * time.Hour)}
		switch i % 10 {
		case 7:
			it.Deleted = true
		case 8:
			it.Delisted = "counterfeit"
		}
		ix.Put(it)
	}
	s.setShop(Shop{TenantID: "t0003", Slug: "s3", Name: "绿茶专卖", Listed: true, Category: "tea"})
	check("after churn")
	f := s.factors
	nf := make(map[string]ShopFactors, len(f))
	for id, v := range f {
		v.Credit = 100 - v.Credit/2
		nf[id] = v
	}
	s.factors = nf
	s.gen.Add(1)
	s.requality()
	check("after new factors")
	// A shop id holding a "/": shops' ties fall back to the id strings.
	s.setShop(Shop{TenantID: "x/", Slug: "slash", Name: "西湖茶庄", Listed: true, Category: "food"})
	s.idx().Put(Item{ID: "x//a", TenantID: "x/", ProductID: "a", Title: "西湖绿茶", CreatedAt: s.clock()},
		Item{ID: "x//a0", TenantID: "x/", ProductID: "a0", Title: "西湖绿茶", CreatedAt: s.clock()})
	s.requality()
	if s.idx().slashFree {
		t.Fatal("a shop id with a slash did not turn off ranking shops by id")
	}
	check("with a slash in a shop id")
}

func ids(res Results) []string {
	var out []string
	for _, it := range res.Items {
		out = append(out, it.Shop.Slug+"/"+it.ProductID)
	}
	return out
}
