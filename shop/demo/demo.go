// Package demo opens the demo shop a fresh installation starts with, so a
// newcomer sees a working storefront at once: a dozen products with images
// drawn locally (static/demo), no network needed. The shop speaks Chinese;
// its products carry English translations, so the storefront in English
// shows English products.
package demo

import (
	"context"
	"fmt"

	"microshop/shop/catalog"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/i18n"
)

// Slug is the demo shop's address.
const Slug = "demo"

// Email is the demo shop's console login.
const Email = "demo@microshop.local"

// item is one demo product: its words in Chinese (the shop's own) and in
// English (its translation), price and stock in fen and units.
type item struct {
	title, category, desc       string
	titleEn, categoryEn, descEn string
	price, stock                int64
	skus                        []catalog.SKUInput
}

var items = []item{
	{"茉莉花茶", "茶叶", "明前绿茶以新鲜茉莉花窨制，花香鲜灵，回味甘甜。",
		"Jasmine Green Tea", "Tea", "Spring-picked green tea scented with fresh jasmine blossoms.", 3900, 120,
		[]catalog.SKUInput{{Name: "100 g", Price: 3900, Stock: 80}, {Name: "250 g", Price: 8800, Stock: 40}}},
	{"勐海陈年普洱茶饼", "茶叶", "357 克紧压茶饼，勐海仓储陈化八年。",
		"Aged Pu-erh Cake", "Tea", "A 357 g pressed cake, aged eight years in Menghai.", 26800, 15, nil},
	{"龙泉青瓷茶杯", "茶具", "龙泉青瓷手工拉坯，容量 80 毫升。",
		"Celadon Tea Cup", "Teaware", "Hand-thrown Longquan celadon, 80 ml.", 6800, 40, nil},
	{"杭州真丝方巾", "礼品", "杭州桑蚕丝，90 × 90 厘米。",
		"Silk Scarf", "Gifts", "Hangzhou mulberry silk, 90 × 90 cm.", 19900, 25,
		[]catalog.SKUInput{{Name: "90 × 90 cm", Price: 19900, Stock: 10}, {Name: "110 × 110 cm", Price: 25900, Stock: 15}}},
	{"秦岭百花蜜", "食品", "秦岭山区天然原蜜，500 克装。",
		"Wildflower Honey", "Pantry", "Raw honey from the Qinling mountains, 500 g jar.", 5800, 60, nil},
	{"帆布手提袋", "礼品", "厚棉帆布手提袋，印有本店标志。",
		"Canvas Tote", "Gifts", "Heavy cotton canvas tote with the shop's mark.", 4900, 100, nil},
	{"西湖龙井", "茶叶", "明前西湖龙井，手工炒制。",
		"West Lake Longjing", "Tea", "Pre-Qingming Longjing, pan-fired by hand.", 32800, 20, nil},
	{"安溪铁观音罐装", "茶叶", "安溪铁观音，轻焙火，125 克罐装。",
		"Tieguanyin Oolong Tin", "Tea", "Anxi Tieguanyin, lightly roasted, 125 g tin.", 12800, 35, nil},
	{"旅行茶具套装", "茶具", "一壶四杯，附布艺收纳包。",
		"Travel Tea Set", "Teaware", "A pot, four cups and a cloth case.", 15800, 18, nil},
	{"桂花糖年糕", "食品", "软糯年糕配桂花糖浆，一盒 12 块。",
		"Osmanthus Rice Cakes", "Pantry", "Soft glutinous rice cakes with osmanthus syrup, box of 12.", 3600, 80, nil},
	{"四川红油辣子", "食品", "二荆条辣椒小批量熬制的香辣脆。",
		"Sichuan Chili Oil", "Pantry", "Small-batch chili crisp with Erjingtiao peppers.", 2800, 150, nil},
	{"竹制茶盘", "茶具", "带储水的竹制茶盘，功夫泡茶用。",
		"Bamboo Tea Tray", "Teaware", "Drained bamboo tray for gongfu brewing.", 8900, 22, nil},
}

// Seed opens the demo shop with its products and returns its console
// password (random, printed once in the log).
func Seed(ctx context.Context, svc *tenants.Service, cat *catalog.Catalog, imageURL func(n int) string) (tenants.Tenant, string, error) {
	password := engine.NewSecret(engine.IDLen)
	t, _, _, err := svc.SignUp(ctx, tenants.SignUp{Name: "茶馆 Teahouse", Slug: Slug, Email: Email, Password: password})
	if err != nil {
		return tenants.Tenant{}, "", fmt.Errorf("demo shop: %w", err)
	}
	// Created oldest first so the storefront (newest first) lists them in
	// the order above.
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		images := []string{imageURL(i + 1)}
		translations := map[string]catalog.ProductText{i18n.En: {Title: it.titleEn, Description: it.descEn, Category: it.categoryEn}}
		in := catalog.Input{Title: &it.title, Description: &it.desc, Category: &it.category, Images: &images,
			Translations: &translations}
		if it.skus != nil {
			in.SKUs = &it.skus
		} else {
			in.Price, in.Stock = &it.price, &it.stock
		}
		if _, err := cat.Create(ctx, t.ID, in); err != nil {
			return tenants.Tenant{}, "", fmt.Errorf("demo product %q: %w", it.title, err)
		}
	}
	return t, password, nil
}
