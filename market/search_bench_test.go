package market

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkSearch searches 100,000 items of 1,000 listed shops in memory:
// the part of a market search that is the market's own. "cached" asks the
// 20 queries over and over (the answer cache); "uncached" computes every
// page (Index.Top); "scoring-all" is how a page was computed before Top
// (every hit scored, the page taken from a heap), for comparison.
func BenchmarkSearch(b *testing.B) {
	origins := []string{"西湖", "安吉", "武夷山", "云南", "福建", "黄山", "信阳", "杭州", "苏州", "成都", "宁夏", "新疆", "东北", "潮汕", "景德镇"}
	products := []string{"龙井绿茶", "白茶", "大红袍", "普洱熟茶", "铁观音", "毛峰", "毛尖", "丝绸围巾", "刺绣手帕", "枸杞", "红枣", "五常大米", "单丛茶", "青花瓷茶具", "蜂蜜", "腊肠", "牛肉干", "核桃", "手工皂", "竹编篮"}
	packs := []string{"250克", "500克", "礼盒装", "家庭装", "特级", "一级", "新品", "经典款"}
	s := New(Options{})
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	for shop := range 1000 {
		tid := fmt.Sprintf("t%04d", shop)
		s.setShop(Shop{TenantID: tid, Slug: fmt.Sprintf("shop-%d", shop), Name: fmt.Sprintf("好物小店%d号", shop), Listed: true, Category: Categories[shop%len(Categories)]})
		var items []Item
		for p := range 100 {
			title := origins[r.IntN(len(origins))] + products[r.IntN(len(products))] + " " + packs[r.IntN(len(packs))]
			items = append(items, Item{ID: fmt.Sprintf("%s/p%03d", tid, p), TenantID: tid, ProductID: fmt.Sprintf("p%03d", p),
				Title: title, Category: "特产", Price: 1000, CreatedAt: now.Add(-time.Duration(r.IntN(2000)) * time.Hour)})
		}
		s.idx().Put(items...)
	}
	s.requality()
	queries := []string{"绿茶", "龙井", "白茶", "普洱", "铁观音", "围巾", "枸杞", "大米", "茶具", "蜂蜜", "西湖龙井", "云南 普洱", "礼盒", "牛肉干", "核桃", "手工", "新疆 红枣", "毛尖", "单丛", "竹编"}
	ctx := context.Background()
	run := func(b *testing.B, search func(q Query) int) {
		total, n := 0, 0
		for b.Loop() {
			total += search(Query{Text: queries[n%len(queries)]})
			n++
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/search")
		b.ReportMetric(float64(total)/float64(n), "hits/search")
	}
	b.Run("cached", func(b *testing.B) {
		run(b, func(q Query) int {
			res, err := s.Search(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			return res.Total
		})
	})
	b.Run("uncached", func(b *testing.B) {
		run(b, func(q Query) int {
			top, total := s.top(q, s.listed, s.factors, defaultLimit)
			for _, h := range top {
				s.result(h, s.listed, s.factors, now)
			}
			return total
		})
	})
	b.Run("scoring-all", func(b *testing.B) {
		run(b, func(q Query) int {
			hits := s.ranked(q, s.listed, s.factors)
			for _, h := range topK(hits, defaultLimit) {
				s.result(h, s.listed, s.factors, now)
			}
			return len(hits)
		})
	})
	for _, q := range []string{"礼盒", "西湖龙井", "云南 普洱", ""} {
		b.Run("uncached/"+q, func(b *testing.B) {
			for b.Loop() {
				s.top(Query{Text: q}, s.listed, s.factors, defaultLimit)
			}
		})
		b.Run("scoring-all/"+q, func(b *testing.B) {
			for b.Loop() {
				topK(s.ranked(Query{Text: q}, s.listed, s.factors), defaultLimit)
			}
		})
	}
}
