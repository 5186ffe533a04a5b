package market

import (
	"slices"
	"testing"
)

func TestIndexFindsChineseSubstrings(t *testing.T) {
	ix := NewIndex()
	ix.SetShopName("t1", "杭州老铺")
	ix.Put(
		Item{ID: "t1/a", TenantID: "t1", Title: "西湖龙井绿茶 250克", Category: "茶叶"},
		Item{ID: "t1/b", TenantID: "t1", Title: "云南普洱熟茶饼", Category: "茶叶"},
		Item{ID: "t1/c", TenantID: "t1", Title: "ＬＥＤ 护眼台灯", Category: "家居"},
		Item{ID: "t1/d", TenantID: "t1", Title: "绿色帆布包", Category: "箱包"},
	)
	all := func(*Item) bool { return true }
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"绿茶", []string{"t1/a"}},
		{"龙井", []string{"t1/a"}},
		{"西湖 绿茶", []string{"t1/a"}},
		{"茶", []string{"t1/a", "t1/b"}},
		{"绿", []string{"t1/a", "t1/d"}},
		{"led", []string{"t1/c"}},                        // full-width letters fold to ASCII, case folds
		{"茶叶", []string{"t1/a", "t1/b"}},                 // the category finds them too
		{"老铺", []string{"t1/a", "t1/b", "t1/c", "t1/d"}}, // and the shop's name
		{"红茶", nil},
		{"茶绿", nil}, // both pairs' characters are there, not the text
	} {
		var got []string
		for _, h := range ix.Find(tc.q, all) {
			got = append(got, h.Item.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Find(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestIndexReplacesAndRemoves(t *testing.T) {
	ix := NewIndex()
	ix.Put(Item{ID: "t/a", TenantID: "t", Title: "西湖龙井"})
	ix.Put(Item{ID: "t/a", TenantID: "t", Title: "黄山毛峰"})
	all := func(*Item) bool { return true }
	if n := len(ix.Find("龙井", all)); n != 0 {
		t.Errorf("the old title still finds the item (%d hits)", n)
	}
	if n := len(ix.Find("毛峰", all)); n != 1 {
		t.Errorf("the new title finds %d items, want 1", n)
	}
	ix.Put(Item{ID: "t/a", TenantID: "t", Title: "黄山毛峰", Delisted: "counterfeit"})
	if n := len(ix.Find("毛峰", all)); n != 0 || ix.Len() != 0 {
		t.Errorf("a delisted item is still found (%d hits, %d held)", n, ix.Len())
	}
	// Many replacements compact the slots and keep answers right.
	for i := range 5000 {
		ix.Put(Item{ID: "t/b", TenantID: "t", Title: []string{"绿茶", "红茶"}[i%2]})
	}
	if got := ix.Find("红茶", all); len(got) != 1 || len(ix.docs) > 4000 {
		t.Errorf("after churn: %d hits for 红茶, %d slots", len(got), len(ix.docs))
	}
}

func TestRelevancePrefersTitle(t *testing.T) {
	ix := NewIndex()
	ix.SetShopName("t", "绿茶小铺")
	ix.Put(Item{ID: "t/a", TenantID: "t", Title: "绿茶 特级"}, Item{ID: "t/b", TenantID: "t", Title: "紫砂壶"})
	hits := ix.Find("绿茶", func(*Item) bool { return true })
	rel := map[string]float64{}
	for _, h := range hits {
		rel[h.Item.ID] = h.Relevance
	}
	if rel["t/a"] != 1 || rel["t/b"] != 0.5 {
		t.Errorf("relevance = %v, want title match 1 (starts with it: capped) and shop-name match 0.5", rel)
	}
}
