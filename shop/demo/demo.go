// Package demo opens the demo shop a fresh installation starts with, so a
// newcomer sees a working storefront at once: a dozen products with images
// drawn locally (static/demo), no network needed.
package demo

import (
	"context"
	"fmt"

	"microshop/shop/catalog"
	"microshop/tenants"
	"microshop/tenants/engine"
)

// Slug is the demo shop's address.
const Slug = "demo"

// Email is the demo shop's console login.
const Email = "demo@microshop.local"

type item struct {
	title, category, desc string
	price, stock          int64
	skus                  []catalog.SKUInput
}

var items = []item{
	{"Jasmine Green Tea", "Tea", "Spring-picked green tea scented with fresh jasmine blossoms.", 3900, 120,
		[]catalog.SKUInput{{Name: "100 g", Price: 3900, Stock: 80}, {Name: "250 g", Price: 8800, Stock: 40}}},
	{"Aged Pu-erh Cake", "Tea", "A 357 g pressed cake, aged eight years in Menghai.", 26800, 15, nil},
	{"Celadon Tea Cup", "Teaware", "Hand-thrown Longquan celadon, 80 ml.", 6800, 40, nil},
	{"Silk Scarf", "Gifts", "Hangzhou mulberry silk, 90 × 90 cm.", 19900, 25,
		[]catalog.SKUInput{{Name: "Peony red", Price: 19900, Stock: 10}, {Name: "Lake blue", Price: 19900, Stock: 15}}},
	{"Wildflower Honey", "Pantry", "Raw honey from the Qinling mountains, 500 g jar.", 5800, 60, nil},
	{"Canvas Tote", "Gifts", "Heavy cotton canvas tote with the shop's mark.", 4900, 100, nil},
	{"West Lake Longjing", "Tea", "Pre-Qingming Longjing, pan-fired by hand.", 32800, 20, nil},
	{"Tieguanyin Oolong Tin", "Tea", "Anxi Tieguanyin, lightly roasted, 125 g tin.", 12800, 35, nil},
	{"Travel Tea Set", "Teaware", "A pot, four cups and a cloth case.", 15800, 18, nil},
	{"Osmanthus Rice Cakes", "Pantry", "Soft glutinous rice cakes with osmanthus syrup, box of 12.", 3600, 80, nil},
	{"Sichuan Chili Oil", "Pantry", "Small-batch chili crisp with Erjingtiao peppers.", 2800, 150, nil},
	{"Bamboo Tea Tray", "Teaware", "Drained bamboo tray for gongfu brewing.", 8900, 22, nil},
}

// Seed opens the demo shop with its products and returns its console
// password (random, printed once in the log).
func Seed(ctx context.Context, svc *tenants.Service, cat *catalog.Catalog, imageURL func(n int) string) (tenants.Tenant, string, error) {
	password := engine.NewSecret(engine.IDLen)
	t, _, _, err := svc.SignUp(ctx, tenants.SignUp{Name: "Teahouse Demo", Slug: Slug, Email: Email, Password: password})
	if err != nil {
		return tenants.Tenant{}, "", fmt.Errorf("demo shop: %w", err)
	}
	// Created oldest first so the storefront (newest first) lists them in
	// the order above.
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		images := []string{imageURL(i + 1)}
		in := catalog.Input{Title: &it.title, Description: &it.desc, Category: &it.category, Images: &images}
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
