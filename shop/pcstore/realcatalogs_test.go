package pcstore_test

// The import over real catalogs published by real stores and by the
// platforms themselves (issue 21), read from the shared fixtures folder
// (../../../shared/fixtures/pcstore, or $PCSTORE_FIXTURES) when it is
// there: never copied into the repository. Every file SOURCES.txt lists is
// served by a local store speaking its platform's format, previewed,
// imported, and checked: the products the source lists, imported and
// refused (with why), prices and crossed-out prices in fen, SKU codes and
// the currency.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"microshop/shop/catalog"
	"microshop/shop/pcstore"
	"microshop/tenants/fault"
)

// fixturesDir is where the shared real catalogs are, "" when absent.
func fixturesDir(t *testing.T) string {
	dir := os.Getenv("PCSTORE_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "fixtures", "pcstore")
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.txt")); err != nil {
		t.Skipf("no shared real catalogs at %s (set PCSTORE_FIXTURES): %v", dir, err)
	}
	return dir
}

// listedFiles are the files SOURCES.txt lists ("-> shopify/x.json").
func listedFiles(t *testing.T, dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "SOURCES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`-> ((?:shopify|woocommerce|merchant)/\S+)`).FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// Exchange rates the test shop sets (yuan per unit).
var realRates = map[string]string{"EUR": "7.8", "USD": "7.2", "INR": "0.085", "DKK": "1.05", "OMR": "18.7", "CZK": "0.31"}

// realProduct is what a test expects of one imported product.
type realProduct struct {
	price, original, stock int64
	skus                   string // "name=code:price/original:stock, …" ("" for none)
}

// realCase is one store: the files it serves and what importing gives.
type realCase struct {
	name  string
	files []string // as SOURCES.txt names them
	serve func(t *testing.T, f *fakeStore, read func(string) []byte)
	link  pcstore.LinkInput // URL set by the test
	// without is what linking without the merchant's currency says ("" :
	// it links, the store stating its own).
	without string
	// currency and stated are the link's currency and whether the store
	// stated it.
	currency string
	stated   bool
	listed   int64             // products the source lists (as the store serves them)
	created  int64             // imported
	refused  map[string]string // external id → part of why
	dropped  int64             // options left out of imported products
	products map[string]realProduct
	// totals over every imported product: the sum of prices and of
	// crossed-out prices (fen), how many show one, and how many codes
	// were kept (a product's own, without options, and each SKU's).
	sumPrice, sumOriginal int64
	withOriginal, codes   int
	// multiline is how many descriptions keep more than one line.
	multiline int
}

func TestRealCatalogs(t *testing.T) {
	dir := fixturesDir(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	covered := map[string]bool{}
	for _, tc := range realCases {
		for _, f := range tc.files {
			covered[f] = true
		}
	}
	for _, f := range listedFiles(t, dir) {
		if !covered[f] {
			t.Errorf("SOURCES.txt lists %s, which no case imports", f)
		}
	}
	for _, tc := range realCases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			v := sqliteEnv(t)
			s := v.replica(t, nil)
			store := newFakeStore(t)
			tc.serve(t, store, read)
			in := tc.link
			in.URL = store.URL + in.URL
			in.Rates = realRates
			if in.Type == "woocommerce" {
				in.Key, in.Secret = "ck_test", "cs_test"
			}
			if tc.without != "" {
				bare := in
				bare.Currency = ""
				var fe *fault.Error
				if _, _, err := s.SaveLink(ctx, v.tenant, bare); !errors.As(err, &fe) || !strings.Contains(fe.Message, tc.without) {
					t.Errorf("linking without a currency: %v, want %q", err, tc.without)
				}
			}
			link, prev, err := s.SaveLink(ctx, v.tenant, in)
			if err != nil {
				t.Fatal(err)
			}
			if link.Currency != tc.currency || link.CurrencyFromStore != tc.stated || prev.Currency != tc.currency {
				t.Errorf("currency: link %q (stated %v), preview %q; want %q (stated %v)", link.Currency, link.CurrencyFromStore, prev.Currency, tc.currency, tc.stated)
			}
			if prev.Count != tc.listed || prev.Importable != tc.created || prev.ProblemCount != int64(len(tc.refused)) || prev.DroppedCount != tc.dropped {
				t.Errorf("preview: %d listed, %d importable, %d refused, %d options dropped; want %d, %d, %d, %d",
					prev.Count, prev.Importable, prev.ProblemCount, prev.DroppedCount, tc.listed, tc.created, len(tc.refused), tc.dropped)
			}
			r := mustSync(t, s, v.tenant)
			if r.Counts != (pcstore.Counts{Created: tc.created, Failed: int64(len(tc.refused))}) {
				t.Errorf("run counts = %+v, want %d created, %d failed", r.Counts, tc.created, len(tc.refused))
			}
			errs, err := s.RunErrors(ctx, v.tenant, r.ID, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range errs {
				want, ok := tc.refused[e.ExternalID]
				if !ok || !strings.Contains(e.Message, want) {
					t.Errorf("refused %s (%s) %q: %q, want %q", e.ExternalID, e.Ref, e.Title, e.Message, want)
				}
			}
			all := allProducts(t, v)
			got := map[string]catalog.Product{} // by title, for the samples (titles may repeat)
			for _, p := range all {
				got[p.Title] = p
			}
			var sumPrice, sumOriginal int64
			withOriginal, codes, multiline := 0, 0, 0
			for _, p := range all {
				if strings.Contains(p.Description, "\n") {
					multiline++
				}
				sumPrice += p.Price
				if p.ShowsOriginal() {
					sumOriginal += p.OriginalPrice
					withOriginal++
				}
				if p.Code != "" { // a product without options carries its own
					codes++
				}
				for _, k := range p.SKUs {
					if k.Code != "" {
						codes++
					}
				}
				if p.Price <= 0 || p.Status != catalog.OnSale {
					t.Errorf("%q imported at %d fen, %s", p.Title, p.Price, p.Status)
				}
			}
			if int64(len(all)) != tc.created || sumPrice != tc.sumPrice || sumOriginal != tc.sumOriginal || withOriginal != tc.withOriginal || codes != tc.codes {
				t.Errorf("imported %d: prices sum %d, originals sum %d over %d, %d codes; want %d: %d, %d over %d, %d",
					len(all), sumPrice, sumOriginal, withOriginal, codes, tc.created, tc.sumPrice, tc.sumOriginal, tc.withOriginal, tc.codes)
			}
			if multiline != tc.multiline {
				t.Errorf("%d descriptions of more than one line, want %d", multiline, tc.multiline)
			}
			for title, want := range tc.products {
				p, ok := got[title]
				if !ok {
					t.Errorf("no product %q", title)
					continue
				}
				if p.Price != want.price || p.OriginalPrice != want.original || p.Stock != want.stock || skuLine(p) != want.skus {
					t.Errorf("%q = %d (%d) stock %d, skus %q; want %d (%d) stock %d, skus %q",
						title, p.Price, p.OriginalPrice, p.Stock, skuLine(p), want.price, want.original, want.stock, want.skus)
				}
			}
			if testing.Verbose() {
				report(t, tc, prev, len(all), got, errs)
			}
			// Nothing changes in a second sync.
			if r2 := mustSync(t, s, v.tenant); r2.Counts != (pcstore.Counts{Unchanged: tc.created, Failed: int64(len(tc.refused))}) {
				t.Errorf("second sync = %+v", r2.Counts)
			}
		})
	}
}

// allProducts lists every product of the shop, with its SKUs.
func allProducts(t *testing.T, v *env) []catalog.Product {
	t.Helper()
	var out []catalog.Product
	for offset := 0; ; offset += 100 {
		items, total, err := v.cat.List(context.Background(), v.tenant, catalog.Filter{Limit: 100, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, items...)
		if int64(offset+100) >= total {
			return out
		}
	}
}

// skuLine writes a product's SKUs as "name=code:price/original:stock, …".
func skuLine(p catalog.Product) string {
	var out []string
	for _, k := range p.SKUs {
		out = append(out, fmt.Sprintf("%s=%s:%d/%d:%d", k.Name, k.Code, k.Price, k.OriginalPrice, k.Stock))
	}
	return strings.Join(out, ", ")
}

// report logs what a case imported (go test -v), for the table.
func report(t *testing.T, tc realCase, prev pcstore.Preview, imported int, got map[string]catalog.Product, errs []pcstore.RunError) {
	t.Logf("%s: listed %d, imported %d, refused %d, options dropped %d, currency %s", tc.name, prev.Count, imported, len(errs), prev.DroppedCount, prev.Currency)
	for _, e := range errs {
		t.Logf("  refused %s %q: %s", e.ExternalID, e.Title, e.Message)
	}
	for _, d := range prev.Dropped {
		t.Logf("  option dropped %s: %s", d.ExternalID, d.Message)
	}
	titles := make([]string, 0, len(got))
	for k := range got {
		titles = append(titles, k)
	}
	sort.Strings(titles)
	if len(titles) > 12 {
		titles = titles[:12]
	}
	for _, k := range titles {
		p := got[k]
		t.Logf("  %q: %d (%d) stock %d skus %q", k, p.Price, p.OriginalPrice, p.Stock, skuLine(p))
	}
}

// shopifyProducts serves a Shopify products.json (its "products" list as
// the storefront pages it).
func shopifyProducts(name, meta string) func(*testing.T, *fakeStore, func(string) []byte) {
	return func(t *testing.T, f *fakeStore, read func(string) []byte) {
		f.set("/products.json", read(name))
		if meta != "" {
			f.set("/meta.json", shopifyMeta(meta))
		}
	}
}

// wooStore serves a WooCommerce products list, the variations of some
// products (product id → file) and, when given, the store's currency.
func wooStore(products string, variations map[string]string, currency string) func(*testing.T, *fakeStore, func(string) []byte) {
	return func(t *testing.T, f *fakeStore, read func(string) []byte) {
		f.set(wooAPI+"/products", read(products))
		for id, name := range variations {
			f.set(wooAPI+"/products/"+id+"/variations", read(name))
		}
		if currency != "" {
			f.set(wooAPI+"/data/currencies/current", wooCurrency(currency))
		}
	}
}

// unwrap reads a Jetpack envelope {"data": [...]}.
func unwrap(t *testing.T, b []byte) []byte {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil || len(env.Data) == 0 {
		t.Fatalf("not a {\"data\": …} envelope: %v", err)
	}
	return env.Data
}

// sameJSON says whether a and b hold the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}

var realCases = []realCase{
	{name: "shopify localboxes (EUR)", files: []string{"shopify/localboxes_annies_farm_products.json"},
		serve: shopifyProducts("shopify/localboxes_annies_farm_products.json", "EUR"),
		link:  pcstore.LinkInput{Type: "shopify", URL: "/"}, currency: "EUR", stated: true,
		listed: 17, created: 17, sumPrice: 224718, codes: 3, multiline: 15,
		products: map[string]realProduct{
			// 35.00 EUR at 7.8: a single option that is not "Default Title" is a SKU.
			"Medium organic vegetable box": {27300, 0, 100, "1 week=17:27300/0:100"},
			"Organic Honey 900g":           {8580, 0, 100, ""},
		}},
	{name: "shopify casio (INR)", files: []string{"shopify/casio_price_alerts_products.json"},
		serve: shopifyProducts("shopify/casio_price_alerts_products.json", "INR"),
		link:  pcstore.LinkInput{Type: "shopify", URL: "/"}, currency: "INR", stated: true,
		listed: 10, created: 8, refused: map[string]string{"9999": "price is 0", "10101": "no variants"},
		sumPrice: 608073, sumOriginal: 522666, withOriginal: 5, codes: 10,
		products: map[string]realProduct{
			// 21995 INR compare-at 31425 at 0.085.
			"GM-2110D-3A": {130870, 186958, 100, ""},
			// A compare-at price below the price is none.
			"Price Above Compare": {102000, 0, 100, ""},
			// The cheap option is sold out: listed at the other one.
			"Deep But Sold Out": {74800, 85000, 100, "Option 1=X4:8500/85000:0, Option 2=X5:74800/85000:100"},
			"Multi Variant":     {42500, 85000, 200, "Option 1=X2:76500/85000:100, Option 2=X3:42500/85000:100"},
		}},
	{name: "shopify ipod (states no currency)", files: []string{"shopify/scraper_shopify_ipod_products.json"},
		serve: shopifyProducts("shopify/scraper_shopify_ipod_products.json", ""),
		link:  pcstore.LinkInput{Type: "shopify", URL: "/", Currency: "USD"}, without: "does not say what currency", currency: "USD",
		listed: 2, created: 2, sumPrice: 286560, codes: 5,
		products: map[string]realProduct{
			"IPod Nano - 8GB": {143280, 0, 100, "Pink=IPOD2008PINK:143280/0:10, Red=IPOD2008RED:143280/0:20, Green=IPOD2008GREEN:143280/0:30, Black=IPOD2008BLACK:143280/0:40"},
		}},
	{name: "shopify natsana (states no currency)", files: []string{"shopify/natsana_natural_elements_de_products.json"},
		serve: shopifyProducts("shopify/natsana_natural_elements_de_products.json", ""),
		link:  pcstore.LinkInput{Type: "shopify", URL: "/", Currency: "EUR"}, without: "does not say what currency", currency: "EUR",
		listed: 1, created: 1, sumPrice: 34453, codes: 1, sumOriginal: 40537, withOriginal: 1,
		products: map[string]realProduct{
			// 44.17 EUR compare-at 51.97, at 7.8, rounded half up.
			"After Workout Bundle": {34453, 40537, 3764, ""},
		}},
	{name: "woocommerce eva terminal (states no currency)", files: []string{"woocommerce/eva_terminal_products.json",
		"woocommerce/eva_terminal_variations_101.json", "woocommerce/eva_terminal_variations_102.json"},
		serve: wooStore("woocommerce/eva_terminal_products.json", map[string]string{
			"101": "woocommerce/eva_terminal_variations_101.json", "102": "woocommerce/eva_terminal_variations_102.json"}, ""),
		link: pcstore.LinkInput{Type: "woocommerce", URL: "/", Currency: "EUR"}, without: "does not say what currency", currency: "EUR",
		listed: 5, created: 5, sumPrice: 67820, sumOriginal: 14032, withOriginal: 1, multiline: 3,
		products: map[string]realProduct{
			// Stock read from stock_quantity though manage_stock is missing.
			"House Blend Signature": {11692, 0, 40, "250g=:11692/0:25, 1kg=:38992/42892:15"},
			"Colombian Supremo":     {12472, 14032, 100, ""},
			"Decaf Swiss Water":     {13252, 0, 0, ""},
		}},
	{name: "woocommerce ios app responses (USD)", files: []string{"woocommerce/woo_ios_products-load-all.raw.json",
		"woocommerce/woo_ios_product-variations-load-all.raw.json"},
		serve: func(t *testing.T, f *fakeStore, read func(string) []byte) {
			// The app's responses are in a Jetpack envelope; the REST API
			// answers with the arrays inside, as the unwrapped files hold
			// them. The 846 variations are served as product 36's.
			products, variations := unwrap(t, read("woocommerce/woo_ios_products-load-all.raw.json")), unwrap(t, read("woocommerce/woo_ios_product-variations-load-all.raw.json"))
			if !sameJSON(products, read("woocommerce/woo_ios_products.json")) || !sameJSON(variations, read("woocommerce/woo_ios_variations_846.json")) {
				t.Errorf("the unwrapped files are not the envelopes' arrays")
			}
			f.set(wooAPI+"/products", products)
			f.set(wooAPI+"/products/36/variations", variations)
			f.set(wooAPI+"/data/currencies/current", wooCurrency("USD"))
		},
		link: pcstore.LinkInput{Type: "woocommerce", URL: "/"}, currency: "USD", stated: true,
		listed: 10, created: 6, refused: map[string]string{"282": `type "booking"`, "81": "grouped", "37": "external",
			// Its 8 variations: one with a stock of 16.5, seven without a price.
			"36": `stock_quantity "16.5" is not a whole number`},
		sumPrice: 5438880, sumOriginal: 265680, withOriginal: 3, multiline: 1,
		products: map[string]realProduct{
			"Dymo LabelWriter 4XL": {155520, 200880, 100, ""},
		}},
	{name: "woocommerce REST docs (states no currency)", files: []string{"woocommerce/wc_rest_docs_list_products.json",
		"woocommerce/wc_rest_docs_list_variations_product22.json"},
		serve: wooStore("woocommerce/wc_rest_docs_list_products.json", map[string]string{
			"799": "woocommerce/wc_rest_docs_list_variations_product22.json"}, ""),
		link: pcstore.LinkInput{Type: "woocommerce", URL: "/", Currency: "USD"}, without: "does not say what currency", currency: "USD",
		listed: 2, created: 1, refused: map[string]string{"799": "without published variations"}, sumPrice: 15833,
		products: map[string]realProduct{"Premium Quality": {15833, 0, 100, ""}}},
	{name: "woocommerce victorfenger.dk (DKK)", files: []string{"woocommerce/grave_swagger_victorfenger_dk_products.json"},
		serve: wooStore("woocommerce/grave_swagger_victorfenger_dk_products.json", nil, "DKK"),
		link:  pcstore.LinkInput{Type: "woocommerce", URL: "/"}, currency: "DKK", stated: true,
		// 28 products, 19 of them "importing": the API lists the 9 published.
		listed: 9, created: 6, refused: map[string]string{"182": "no price", "143": "without published variations", "142": "without published variations"},
		sumPrice: 1168755, codes: 4, sumOriginal: 8925, withOriginal: 2,
		products: map[string]realProduct{
			"Belt":                                {5775, 6825, 100, ""},
			"Hjerte gravsten, Multicolour granit": {1049895, 0, 100, ""},
		}},
	{name: "feed matjar makhzoon oman (OMR, Arabic)", files: []string{"merchant/matjar_makhzoon_oman_ar.rss.xml"},
		serve: func(t *testing.T, f *fakeStore, read func(string) []byte) {
			f.set("/feed.xml", read("merchant/matjar_makhzoon_oman_ar.rss.xml"))
		},
		link:   pcstore.LinkInput{Type: "feed", URL: "/feed.xml"},
		listed: 129, created: 129, sumPrice: 4504629, codes: 129, sumOriginal: 5972916, withOriginal: 129, multiline: 57,
		products: map[string]realProduct{
			// 20.22 OMR, 27.08 crossed out, at 18.7.
			"مصفف هواء ساخن احترافي 6*1": {37811, 50640, 100, ""},
		}},
	{name: "feed importpc (CZK, Czech)", files: []string{"merchant/importpc_cz.rss.xml"},
		serve: func(t *testing.T, f *fakeStore, read func(string) []byte) {
			f.set("/feed.xml", read("merchant/importpc_cz.rss.xml"))
		},
		link:   pcstore.LinkInput{Type: "feed", URL: "/feed.xml"},
		listed: 1255, created: 1254, refused: map[string]string{"BC-FU-LI3560": "listed again"}, sumPrice: 42453756, codes: 1254,
		products: map[string]realProduct{"Baterie BC/LE-T570": {43989, 0, 100, ""}}},
	{name: "feed gmc learning site (EUR, variants)", files: []string{"merchant/gmc_learning_site_variants.tsv"},
		serve: func(t *testing.T, f *fakeStore, read func(string) []byte) {
			f.set("/feed.tsv", read("merchant/gmc_learning_site_variants.tsv"))
		},
		link:   pcstore.LinkInput{Type: "feed", URL: "/feed.tsv"},
		listed: 6, created: 6, sumPrice: 822120, codes: 22,
		products: map[string]realProduct{
			"Tundra Merino Base Layer Crew": {69420, 0, 200, "S=tundra-merino-crew-charcoal-s:69420/0:100, L=tundra-merino-crew-charcoal-l:69420/0:100"},
			"Polar Touch-screen Glove": {46020, 0, 400, "Black / M=polar-glove-black-m:46020/0:100, Black / L=polar-glove-black-l:46020/0:100, " +
				"Navy / M=polar-glove-navy-m:46020/0:100, Navy / L=polar-glove-navy-l:46020/0:100"},
			"Aurora Knit Beanie": {22620, 0, 100, ""},
		}},
}
