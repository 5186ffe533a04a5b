package pcstore_test

// Issue 21: what real catalogs found, each on a small fixture of our own
// (the real files are read by realcatalogs_test.go when present).

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/pcstore"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// sqliteEnv is an env on a fresh SQLite directory.
func sqliteEnv(t *testing.T) *env {
	t.Helper()
	e, err := tenants.OpenSQLite(t.TempDir(), schemas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return newEnv(t, e)
}

// syncRun runs a sync to its end, whatever its status.
func syncRun(t *testing.T, s *pcstore.Syncer, tenant string) pcstore.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := s.Sync(ctx, tenant, "api")
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return r
}

// twoTeas is a Shopify page of two products priced in the store's
// currency.
const twoTeas = `{"products":[
 {"id":1,"title":"Breakfast tea","handle":"breakfast","body_html":"<p>Strong.</p>","variants":[{"id":11,"title":"Default Title","sku":"BT-1","price":"10.00","available":true}]},
 {"id":2,"title":"Earl Grey","handle":"earl-grey","body_html":"","variants":[{"id":21,"title":"Default Title","price":"35.00","compare_at_price":"40.00","available":true}]}]}`

// TestCurrencyNeverGuessed (fault 1): the link's currency is known before
// anything is imported and kept with the link; a sync that cannot confirm
// it (the store's currency lookup fails, or the store now states another)
// fails with the reason and changes no price; a store that never states
// its currency needs the merchant to set it when linking.
func TestCurrencyNeverGuessed(t *testing.T) {
	ctx := context.Background()
	v := sqliteEnv(t)
	s := v.replica(t, nil)
	shop := newFakeStore(t)
	shop.set("/products.json", []byte(twoTeas))
	shop.set("/meta.json", shopifyMeta("EUR"))
	eur := map[string]string{"EUR": "7.8"}

	// The store states EUR: the preview says so, the link keeps it.
	link, prev, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL, Rates: eur})
	if err != nil {
		t.Fatal(err)
	}
	if prev.Currency != "EUR" || !prev.CurrencyFromStore || prev.Importable != 2 || prev.Items[0].Price != 7800 {
		t.Fatalf("preview = %+v", prev)
	}
	if link.Currency != "EUR" || !link.CurrencyFromStore || link.View().Currency != "EUR" {
		t.Fatalf("link = %+v", link.View())
	}
	if r := syncRun(t, s, v.tenant); r.Status != pcstore.Succeeded || r.Counts.Created != 2 {
		t.Fatalf("first sync = %+v", r)
	}
	priced := func() map[string]int64 {
		out := map[string]int64{}
		for title, p := range v.products(t) {
			out[title] = p.Price
		}
		return out
	}
	before := priced()
	if before["Breakfast tea"] != 7800 || before["Earl Grey"] != 27300 {
		t.Fatalf("prices = %v", before)
	}

	// The currency lookup fails (every try): the run fails, saying why,
	// and not a price moves (it used to carry on as yuan: ¥273.00 became
	// ¥35.00).
	shop.fail("/meta.json", http.StatusServiceUnavailable)
	r := syncRun(t, s, v.tenant)
	if r.Status != pcstore.Failed || !strings.Contains(r.Error, "could not confirm the currency") || r.Counts != (pcstore.Counts{}) {
		t.Errorf("sync without the currency = %+v", r)
	}
	if got := priced(); got["Earl Grey"] != before["Earl Grey"] || got["Breakfast tea"] != before["Breakfast tea"] {
		t.Errorf("prices changed: %v, were %v", got, before)
	}
	// Relinking then fails too, with a 422 saying so.
	var fe *fault.Error
	if _, _, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL, Rates: eur}); !errors.As(err, &fe) ||
		fe.Status != 422 || !strings.Contains(fe.Message, "could not confirm the currency") {
		t.Errorf("relink without the currency: %v", err)
	}

	// The store now states another currency: the sync fails until the
	// merchant links it again (and sets a rate for it).
	shop.fail("/meta.json", 0)
	shop.set("/meta.json", shopifyMeta("USD"))
	r = syncRun(t, s, v.tenant)
	if r.Status != pcstore.Failed || !strings.Contains(r.Error, "now in USD, but the link was confirmed in EUR") {
		t.Errorf("sync in another currency = %+v", r)
	}
	// Stating none any more is not confirming it either.
	shop.set("/meta.json", nil)
	if r = syncRun(t, s, v.tenant); r.Status != pcstore.Failed || !strings.Contains(r.Error, "no longer says") {
		t.Errorf("sync without a stated currency = %+v", r)
	}
	if got := priced(); got["Earl Grey"] != before["Earl Grey"] {
		t.Errorf("prices changed: %v", got)
	}

	// A store that never states its currency: linking asks for it…
	if _, _, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL, Rates: eur}); !errors.As(err, &fe) ||
		fe.Field != "currency" || !strings.Contains(fe.Message, "does not say what currency") {
		t.Errorf("link without a currency: %v", err)
	}
	// …and the merchant's is the link's, shown in the preview.
	link, prev, err = s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL, Currency: "eur", Rates: eur})
	if err != nil {
		t.Fatal(err)
	}
	if prev.Currency != "EUR" || prev.CurrencyFromStore || link.Currency != "EUR" || link.CurrencyFromStore {
		t.Errorf("merchant's currency: preview %+v link %+v", prev, link.View())
	}
	if r = syncRun(t, s, v.tenant); r.Status != pcstore.Succeeded || r.Counts.Unchanged != 2 {
		t.Errorf("sync in the merchant's currency = %+v", r)
	}
	// A merchant's currency the store contradicts is refused at link time.
	shop.set("/meta.json", shopifyMeta("USD"))
	if _, _, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL, Currency: "EUR", Rates: eur}); !errors.As(err, &fe) ||
		fe.Field != "currency" || !strings.Contains(fe.Message, "says its prices are in USD, not EUR") {
		t.Errorf("contradicted currency: %v", err)
	}
}

// TestFeedBareAmounts (fault 1, feeds): a feed's price that names no
// currency is refused, with the reason, unless the link sets the currency.
func TestFeedBareAmounts(t *testing.T) {
	ctx := context.Background()
	v := sqliteEnv(t)
	s := v.replica(t, nil)
	feed := newFakeStore(t)
	feed.set("/feed.tsv", []byte("id\ttitle\tprice\nA\tBare\t12.00\nB\tNamed\t3.00 EUR\n"))
	_, prev, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "feed", URL: feed.URL + "/feed.tsv", Rates: map[string]string{"EUR": "7.8"}})
	if err != nil {
		t.Fatal(err)
	}
	if prev.Importable != 1 || prev.ProblemCount != 1 || !strings.Contains(prev.Problems[0].Message, "names no currency") || prev.Currency != "" {
		t.Errorf("preview without a currency = %+v", prev)
	}
	_, prev, err = s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "feed", URL: feed.URL + "/feed.tsv", Currency: "EUR", Rates: map[string]string{"EUR": "7.8"}})
	if err != nil || prev.Importable != 2 || prev.Currency != "EUR" {
		t.Fatalf("preview with EUR = %+v %v", prev, err)
	}
	mustSync(t, s, v.tenant)
	if got := v.products(t); got["Bare"].Price != 9360 || got["Named"].Price != 2340 {
		t.Errorf("products = %+v", got)
	}
}

// TestWooCurrencyLookupFails (fault 1, WooCommerce): /data/currencies/current
// failing fails the sync, prices untouched.
func TestWooCurrencyLookupFails(t *testing.T) {
	ctx := context.Background()
	v := sqliteEnv(t)
	s := v.replica(t, nil)
	woo := newFakeStore(t)
	woo.set(wooAPI+"/products", []byte(`[{"id":5,"name":"Kettle","type":"simple","status":"publish","price":"20.00","regular_price":"20.00","sku":"K-5","stock_quantity":3,"manage_stock":true,"stock_status":"instock"}]`))
	woo.set(wooAPI+"/data/currencies/current", wooCurrency("DKK"))
	if _, _, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "woocommerce", URL: woo.URL, Key: "ck_1", Secret: "cs_1", Rates: map[string]string{"DKK": "1.05"}}); err != nil {
		t.Fatal(err)
	}
	if r := syncRun(t, s, v.tenant); r.Status != pcstore.Succeeded || v.products(t)["Kettle"].Price != 2100 {
		t.Fatalf("sync = %+v, products %+v", r, v.products(t))
	}
	woo.set(wooAPI+"/products", []byte(`[{"id":5,"name":"Kettle","type":"simple","status":"publish","price":"25.00","regular_price":"25.00","stock_quantity":3,"manage_stock":true}]`))
	woo.fail(wooAPI+"/data/currencies/current", http.StatusBadGateway)
	if r := syncRun(t, s, v.tenant); r.Status != pcstore.Failed || !strings.Contains(r.Error, "could not confirm the currency") {
		t.Errorf("sync = %+v", r)
	}
	if p := v.products(t)["Kettle"]; p.Price != 2100 {
		t.Errorf("price moved to %d without a confirmed currency", p.Price)
	}
}

// TestNotForSale (fault 2): a price of 0 and product types plugins add are
// refused, each with its reason, in the preview and the run; an option at
// 0 is left out of its product; a product already imported that turns
// free is taken off sale, and comes back when priced again.
func TestNotForSale(t *testing.T) {
	ctx := context.Background()
	v := sqliteEnv(t)
	s := v.replica(t, nil)
	woo := newFakeStore(t)
	woo.set(wooAPI+"/data/currencies/current", wooCurrency("CNY"))
	products := func(kettle string) []byte {
		return []byte(`[
 {"id":1,"name":"Tea tasting","type":"booking","status":"publish","price":"0","regular_price":""},
 {"id":2,"name":"Tea club","type":"subscription","status":"publish","price":"30.00","regular_price":"30.00"},
 {"id":3,"name":"Sample","type":"simple","status":"publish","price":"0.00","regular_price":"0.00"},
 {"id":4,"name":"Kettle","type":"simple","status":"publish","price":"` + kettle + `","regular_price":"` + kettle + `","stock_quantity":2,"manage_stock":true},
 {"id":5,"name":"Cups","type":"variable","status":"publish","price":"10.00","variations":[51,52]}]`)
	}
	woo.set(wooAPI+"/products", products("99.00"))
	woo.set(wooAPI+"/products/5/variations", []byte(`[
 {"id":51,"status":"publish","price":"0.00","regular_price":"0.00","stock_quantity":4,"attributes":[{"name":"Colour","option":"Free sample"}]},
 {"id":52,"status":"publish","price":"10.00","regular_price":"10.00","stock_quantity":4,"attributes":[{"name":"Colour","option":"Blue"}]}]`))
	_, prev, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "woocommerce", URL: woo.URL, Key: "ck_1", Secret: "cs_1"})
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{}
	for _, p := range prev.Problems {
		refused[p.ExternalID] = p.Message
	}
	if prev.Importable != 2 || prev.ProblemCount != 3 || !strings.Contains(refused["1"], `type "booking"`) ||
		!strings.Contains(refused["2"], `type "subscription"`) || !strings.Contains(refused["3"], "price is 0") {
		t.Errorf("preview = %+v", prev)
	}
	if prev.DroppedCount != 1 || !strings.Contains(prev.Dropped[0].Message, "price is 0") {
		t.Errorf("dropped options = %+v", prev.Dropped)
	}
	r := syncRun(t, s, v.tenant)
	if r.Counts != (pcstore.Counts{Created: 2, Failed: 3}) {
		t.Fatalf("counts = %+v\n%s", r.Counts, runErrors(t, s, v.tenant, r.ID))
	}
	errs := runErrors(t, s, v.tenant, r.ID)
	for _, want := range []string{`[1] WooCommerce product type "booking"`, `[2] WooCommerce product type "subscription"`, "[3] price is 0"} {
		if !strings.Contains(errs, want) {
			t.Errorf("run errors lack %q:\n%s", want, errs)
		}
	}
	got := v.products(t)
	if len(got) != 2 || len(got["Cups"].SKUs) != 1 || got["Cups"].SKUs[0].Name != "Blue" || got["Cups"].Price != 1000 {
		t.Errorf("products = %+v", got)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "option not imported") {
		t.Errorf("run notes = %q", r.Notes)
	}

	// The kettle turns free in the PC store: off sale, not at ¥99.
	woo.set(wooAPI+"/products", products("0.00"))
	syncRun(t, s, v.tenant)
	if p := v.products(t)["Kettle"]; p.Status != catalog.OffSale {
		t.Errorf("free kettle = %+v", p)
	}
	// Priced again: back on sale at the new price.
	woo.set(wooAPI+"/products", products("89.00"))
	syncRun(t, s, v.tenant)
	if p := v.products(t)["Kettle"]; p.Status != catalog.OnSale || p.Price != 8900 {
		t.Errorf("kettle priced again = %+v", p)
	}
}

// TestOriginalPricesAndCodes (faults 3, 4, 5): Shopify's compare_at_price,
// WooCommerce's regular price beside a sale price and a feed's price
// beside its sale price become the crossed-out price (only when above the
// price), kept by syncs; the SKUs keep the merchant's codes, searchable in
// the console; a product is listed at its cheapest option in stock.
func TestOriginalPricesAndCodes(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		enginetest.AllowFullScan(t, e, "products", "the console's search by title or SKU code matches a substring, which no index bounds")
		ctx := context.Background()
		v := newEnv(t, e)
		s := v.replica(t, nil)
		shop := newFakeStore(t)
		shop.set("/meta.json", shopifyMeta("CNY"))
		shop.set("/products.json", []byte(`{"products":[
 {"id":1,"title":"Casio watch","handle":"w","variants":[{"id":11,"title":"Default Title","sku":"W-1","price":"399.00","compare_at_price":"499.00","available":true}]},
 {"id":2,"title":"Casio clock","handle":"c","variants":[{"id":21,"title":"Default Title","price":"99.00","compare_at_price":"99.00","available":true}]},
 {"id":3,"title":"Casio band","handle":"b","variants":[{"id":31,"title":"Default Title","price":"59.00","compare_at_price":"39.00","available":true}]},
 {"id":4,"title":"iPod","handle":"i","variants":[
   {"id":41,"title":"Pink","sku":"IPOD-PINK","price":"199.00","compare_at_price":"249.00","inventory_quantity":0,"available":false},
   {"id":42,"title":"Black","sku":"IPOD-BLACK","price":"229.00","compare_at_price":"249.00","inventory_quantity":7,"available":true},
   {"id":43,"title":"Red","sku":"IPOD-RED","price":"239.00","inventory_quantity":3,"available":true}]}]}`))
		if _, _, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL}); err != nil {
			t.Fatal(err)
		}
		if r := mustSync(t, s, v.tenant); r.Counts.Created != 4 {
			t.Fatalf("counts = %+v", r.Counts)
		}
		got := v.products(t)
		if p := got["Casio watch"]; p.Price != 39900 || p.OriginalPrice != 49900 {
			t.Errorf("watch = %d (%d)", p.Price, p.OriginalPrice)
		}
		if p := got["Casio clock"]; p.OriginalPrice != 0 {
			t.Errorf("an original price equal to the price is none: %d", p.OriginalPrice)
		}
		if p := got["Casio band"]; p.OriginalPrice != 0 {
			t.Errorf("an original price below the price is none: %d", p.OriginalPrice)
		}
		ipod := got["iPod"]
		if len(ipod.SKUs) != 3 || ipod.SKUs[0].Code != "IPOD-PINK" || ipod.SKUs[1].OriginalPrice != 24900 || ipod.SKUs[2].OriginalPrice != 0 {
			t.Errorf("ipod skus = %+v", ipod.SKUs)
		}
		// The pink one is cheapest but sold out: listed at the black one.
		if ipod.Price != 22900 || ipod.OriginalPrice != 24900 || ipod.Stock != 10 {
			t.Errorf("ipod listed at %d (%d), stock %d; want 22900 (24900), 10", ipod.Price, ipod.OriginalPrice, ipod.Stock)
		}
		// Searchable by code in the console.
		list, _, err := v.cat.List(ctx, v.tenant, catalog.Filter{Query: "ipod-bl", Limit: 10})
		if err != nil || len(list) != 1 || list[0].Title != "iPod" {
			t.Errorf("search by code = %+v %v", list, err)
		}
		// Kept by the next sync: nothing to change.
		if r := mustSync(t, s, v.tenant); r.Counts.Unchanged != 4 {
			t.Errorf("second sync = %+v", r.Counts)
		}

		// WooCommerce: the regular price beside a sale price, variation SKUs.
		woo := newFakeStore(t)
		woo.set(wooAPI+"/data/currencies/current", wooCurrency("CNY"))
		woo.set(wooAPI+"/products", []byte(`[
 {"id":7,"name":"Colombian","type":"simple","status":"publish","sku":"COL","price":"15.99","regular_price":"17.99","sale_price":"15.99","on_sale":true,"stock_quantity":100},
 {"id":8,"name":"House blend","type":"variable","status":"publish","price":"14.99","variations":[81,82]}]`))
		woo.set(wooAPI+"/products/8/variations", []byte(`[
 {"id":81,"sku":"HB-250","price":"14.99","regular_price":"14.99","sale_price":"","stock_status":"instock","stock_quantity":25,"attributes":[{"name":"Size","option":"250g"}]},
 {"id":82,"sku":"HB-1K","price":"49.99","regular_price":"54.99","sale_price":"49.99","stock_status":"instock","stock_quantity":15,"attributes":[{"name":"Size","option":"1kg"}]}]`))
		if _, _, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "woocommerce", URL: woo.URL, Key: "ck", Secret: "cs"}); err != nil {
			t.Fatal(err)
		}
		mustSync(t, s, v.tenant)
		got = v.products(t)
		if p := got["Colombian"]; p.Price != 1599 || p.OriginalPrice != 1799 || p.Stock != 100 {
			t.Errorf("colombian = %+v", p)
		}
		hb := got["House blend"]
		if len(hb.SKUs) != 2 || hb.SKUs[0].Code != "HB-250" || hb.SKUs[0].OriginalPrice != 0 || hb.SKUs[1].Price != 4999 ||
			hb.SKUs[1].OriginalPrice != 5499 || hb.SKUs[1].Stock != 15 {
			t.Errorf("house blend = %+v", hb.SKUs)
		}
	})
}

// TestPlainTextDescriptions (fault 6): a feed's description without HTML
// keeps its paragraphs and its list.
func TestPlainTextDescriptions(t *testing.T) {
	ctx := context.Background()
	v := sqliteEnv(t)
	s := v.replica(t, nil)
	feed := newFakeStore(t)
	feed.set("/feed.xml", []byte(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>Shop</title>
<item><g:id>A1</g:id><title>Argan oil</title><link>https://shop.example/a1</link>
<description>Pure argan oil from Morocco.

Benefits:
- Softens the skin
- Strengthens hair

Size: 100 ml</description>
<g:price>5.000 OMR</g:price><g:sale_price>4.500 OMR</g:sale_price><g:availability>in stock</g:availability></item>
</channel></rss>`))
	if _, _, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "feed", URL: feed.URL + "/feed.xml", Rates: map[string]string{"OMR": "18.7"}}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, s, v.tenant)
	p := v.products(t)["Argan oil"]
	want := "Pure argan oil from Morocco.\n\nBenefits:\n- Softens the skin\n- Strengthens hair\n\nSize: 100 ml"
	if p.Description != want {
		t.Errorf("description = %q, want %q", p.Description, want)
	}
	// 4.500 OMR × 18.7 = 84.15 yuan; 5.000 OMR = 93.50 yuan crossed out.
	if p.Price != 8415 || p.OriginalPrice != 9350 {
		t.Errorf("price %d (%d), want 8415 (9350)", p.Price, p.OriginalPrice)
	}
}

// TestFeedVariantNames (fault 7): a group's name is the title its
// variants share, without a dangling separator or a half segment
// ("— Charcoal, Size"), and its SKUs are named by the attributes that
// differ only (never the material or gender all share).
func TestFeedVariantNames(t *testing.T) {
	ctx := context.Background()
	v := sqliteEnv(t)
	s := v.replica(t, nil)
	feed := newFakeStore(t)
	feed.set("/feed.tsv", []byte("id\ttitle\tprice\titem_group_id\tcolor\tsize\tgender\tage_group\tmaterial\n"+
		"gl-b-m\tGlacier Ski Jacket — Black, Size M\t349.00 CNY\tgl\tBlack\tM\tmale\tadult\tpolyester\n"+
		"gl-b-l\tGlacier Ski Jacket — Black, Size L\t349.00 CNY\tgl\tBlack\tL\tmale\tadult\tpolyester\n"+
		"gl-r-m\tGlacier Ski Jacket — Crimson, Size M\t349.00 CNY\tgl\tCrimson\tM\tmale\tadult\tpolyester\n"+
		"cr-s\tMerino Crew — Charcoal, Size S\t89.00 CNY\tcr\tCharcoal\tS\tunisex\tadult\tmerino wool\n"+
		"cr-l\tMerino Crew — Charcoal, Size L\t89.00 CNY\tcr\tCharcoal\tL\tunisex\tadult\tmerino wool\n"+
		"cup-b\tTea cup - Blue\t68.00 CNY\tcup\t\t\t\t\t\n"+
		"cup-w\tTea cup - White\t58.00 CNY\tcup\t\t\t\t\t\n"))
	if _, _, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "feed", URL: feed.URL + "/feed.tsv"}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, s, v.tenant)
	got := v.products(t)
	names := func(p catalog.Product) string {
		var out []string
		for _, k := range p.SKUs {
			out = append(out, k.Name+"="+k.Code)
		}
		return strings.Join(out, ", ")
	}
	for title, want := range map[string]string{
		"Glacier Ski Jacket": "Black / M=gl-b-m, Black / L=gl-b-l, Crimson / M=gl-r-m",
		"Merino Crew":        "S=cr-s, L=cr-l",
		"Tea cup":            "Blue=cup-b, White=cup-w",
	} {
		p, ok := got[title]
		if !ok {
			t.Errorf("no product %q in %v", title, keys(got))
			continue
		}
		if n := names(p); n != want {
			t.Errorf("%s: options %q, want %q", title, n, want)
		}
	}
}

func keys(m map[string]catalog.Product) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestBadVariation (fault 8): one bad variation (a stock of 16.5, no
// price) does not reject its product: the good ones are imported and the
// bad reported; stock is read whether manage_stock is true, "parent" or
// missing, and a missing one with a quantity is not an assumed 100.
func TestBadVariation(t *testing.T) {
	ctx := context.Background()
	v := sqliteEnv(t)
	s := v.replica(t, nil)
	woo := newFakeStore(t)
	woo.set(wooAPI+"/data/currencies/current", wooCurrency("CNY"))
	woo.set(wooAPI+"/products", []byte(`[
 {"id":846,"name":"Shirt","type":"variable","status":"publish","price":"10","manage_stock":true,"stock_quantity":30,"variations":[1,2,3,4,5]},
 {"id":900,"name":"Beans","type":"simple","status":"publish","price":"18.99","regular_price":"18.99","stock_status":"instock","stock_quantity":50}]`))
	woo.set(wooAPI+"/products/846/variations", []byte(`[
 {"id":1,"sku":"S-1","price":"10","regular_price":"10","manage_stock":true,"stock_quantity":4,"stock_status":"instock","attributes":[{"name":"Size","option":"S"}]},
 {"id":2,"sku":"S-2","price":"11","regular_price":"11","manage_stock":"parent","stock_quantity":30,"stock_status":"instock","attributes":[{"name":"Size","option":"M"}]},
 {"id":3,"sku":"S-3","price":"12","regular_price":"12","stock_quantity":16.5,"stock_status":"instock","attributes":[{"name":"Size","option":"L"}]},
 {"id":4,"sku":"S-4","price":"","regular_price":"","stock_status":"instock","attributes":[{"name":"Size","option":"XL"}]},
 {"id":5,"sku":"S-5","price":"13","regular_price":"13","manage_stock":false,"stock_status":"instock","attributes":[{"name":"Size","option":"XXL"}]}]`))
	_, prev, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "woocommerce", URL: woo.URL, Key: "ck", Secret: "cs", AssumedStock: ptr(int64(100))})
	if err != nil {
		t.Fatal(err)
	}
	if prev.Importable != 2 || prev.DroppedCount != 2 || !strings.Contains(prev.Dropped[0].Message, `"16.5" is not a whole number`) ||
		!strings.Contains(prev.Dropped[1].Message, "no price") {
		t.Errorf("preview = %+v", prev)
	}
	r := mustSync(t, s, v.tenant)
	if r.Counts != (pcstore.Counts{Created: 2}) {
		t.Errorf("counts = %+v", r.Counts)
	}
	notes := strings.Join(r.Notes, "\n")
	if !strings.Contains(notes, "variant 3 (L)") || !strings.Contains(notes, "variant 4 (XL)") {
		t.Errorf("run notes = %s", notes)
	}
	got := v.products(t)
	shirt := got["Shirt"]
	var stocks []string
	for _, k := range shirt.SKUs {
		stocks = append(stocks, k.Name+":"+k.Code+":"+strconv.FormatInt(k.Stock, 10))
	}
	if strings.Join(stocks, " ") != "S:S-1:4 M:S-2:30 XXL:S-5:100" {
		t.Errorf("shirt options = %v", stocks)
	}
	if p := got["Beans"]; p.Stock != 50 {
		t.Errorf("beans without manage_stock: stock %d, want its quantity 50", p.Stock)
	}
}
