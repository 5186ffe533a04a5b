package market

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkSearch searches 100,000 items of 1,000 listed shops in memory:
// the part of a market search that is the market's own.
func BenchmarkSearch(b *testing.B) {
	origins := []string{"西湖", "安吉", "武夷山", "云南", "福建", "黄山", "信阳", "杭州", "苏州", "成都", "宁夏", "新疆", "东北", "潮汕", "景德镇"}
	products := []string{"龙井绿茶", "白茶", "大红袍", "普洱熟茶", "铁观音", "毛峰", "毛尖", "丝绸围巾", "刺绣手帕", "枸杞", "红枣", "五常大米", "单丛茶", "青花瓷茶具", "蜂蜜", "腊肠", "牛肉干", "核桃", "手工皂", "竹编篮"}
	packs := []string{"250克", "500克", "礼盒装", "家庭装", "特级", "一级", "新品", "经典款"}
	s := New(Options{})
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	for shop := range 1000 {
		tid := fmt.Sprintf("t%04d", shop)
		s.setShop(Shop{TenantID: tid, Slug: fmt.Sprintf("shop-%d", shop), Name: fmt.Sprintf("好物小店%d号", shop), Listed: true, Category: "tea"})
		var items []Item
		for p := range 100 {
			title := origins[r.IntN(len(origins))] + products[r.IntN(len(products))] + " " + packs[r.IntN(len(packs))]
			items = append(items, Item{ID: fmt.Sprintf("%s/p%03d", tid, p), TenantID: tid, ProductID: fmt.Sprintf("p%03d", p),
				Title: title, Category: "特产", Price: 1000, CreatedAt: now})
		}
		s.idx().Put(items...)
	}
	queries := []string{"绿茶", "龙井", "白茶", "普洱", "铁观音", "围巾", "枸杞", "大米", "茶具", "蜂蜜", "西湖龙井", "云南 普洱", "礼盒", "牛肉干", "核桃", "手工", "新疆 红枣", "毛尖", "单丛", "竹编"}
	start := time.Now()
	total := 0
	for i := range 400 {
		res, err := s.Search(context.Background(), Query{Text: queries[i%len(queries)]})
		if err != nil {
			b.Fatal(err)
		}
		total += res.Total
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/400, "µs/search")
	b.ReportMetric(float64(total)/400, "hits/search")
}
