package pcstore_test

// Fuzzers for every parser a PC store's bytes reach. Their seeds are in
// testdata/fuzz/<name>/ (plus the fixtures, added below); `go test` runs
// the seeds only. To fuzz one:
//
//	go test ./shop/pcstore -run '^$' -fuzz '^FuzzFeed$' -fuzztime 30s
//
// Each checks no panic, that reading ends (the parsers are linear in their
// input), and that every item that comes out without an error is one the
// catalog accepts.

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"microshop/shop/pcstore/source"
)

var fuzzOpt = source.Options{AssumedStock: 10, Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	Prices: source.Prices{Rates: map[string]source.Rate{"USD": {Num: 72315, Den: 10000}}}}

// checkItem fails t if an importable item breaks one of the catalog's rules.
func checkItem(t *testing.T, it source.Item) {
	t.Helper()
	if it.Err != nil {
		if it.Err.Error() == "" {
			t.Fatalf("item error without a message: %+v", it)
		}
		return
	}
	switch {
	case strings.TrimSpace(it.ExternalID) == "" || len(it.ExternalID) > 200:
		t.Fatalf("bad id %q", it.ExternalID)
	case it.Title == "" || utf8.RuneCountInString(it.Title) > source.MaxTitle || !utf8.ValidString(it.Title):
		t.Fatalf("bad title %q", it.Title)
	case utf8.RuneCountInString(it.Description) > source.MaxDescription:
		t.Fatalf("description of %d runes", utf8.RuneCountInString(it.Description))
	case utf8.RuneCountInString(it.Category) > source.MaxCategory:
		t.Fatalf("category %q", it.Category)
	case it.Price < 0 || it.Price > source.MaxPriceFen || it.Stock < 0 || it.Stock > source.MaxStock:
		t.Fatalf("price %d stock %d", it.Price, it.Stock)
	case len(it.Images) > source.MaxImages || len(it.Variants) > source.MaxVariants:
		t.Fatalf("%d images, %d variants", len(it.Images), len(it.Variants))
	}
	for _, im := range it.Images {
		if !strings.HasPrefix(im, "http://") && !strings.HasPrefix(im, "https://") || len(im) > source.MaxImageURL {
			t.Fatalf("image %q", im)
		}
	}
	names := map[string]bool{}
	for _, v := range it.Variants {
		if v.Name == "" || names[v.Name] || utf8.RuneCountInString(v.Name) > source.MaxVariantName || v.Price < 0 || v.Price > source.MaxPriceFen || v.Stock < 0 || v.Stock > source.MaxStock {
			t.Fatalf("variant %+v", v)
		}
		names[v.Name] = true
	}
}

// inTime fails t if fn does not return within a second: a parser that
// hangs on some input is a bug the fuzzer must report (it reports a crash,
// not a slow input, by itself).
func inTime(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("the parser did not return within a second")
	}
}

// addFixtures seeds f with the fixture files (besides testdata/fuzz).
func addFixtures(f *testing.F, names ...string) {
	for _, n := range names {
		f.Add(fixture(f, n))
	}
}

func FuzzFeed(f *testing.F) {
	addFixtures(f, "feed_rss.xml", "feed_atom.xml", "feed.tsv")
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		var err error
		var bad []source.Item
		inTime(t, func() {
			err = source.ParseFeed(bytes.NewReader(data), fuzzOpt, func(it source.Item) error {
				n++
				bad = append(bad, it)
				return nil
			})
		})
		for _, it := range bad {
			checkItem(t, it)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("error without a message")
		}
		if n > len(data)+1 {
			t.Fatalf("%d items from %d bytes", n, len(data))
		}
	})
}

func FuzzShopifyPage(f *testing.F) {
	addFixtures(f, "shopify_products.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		var items []source.Item
		inTime(t, func() {
			_, _ = source.ParseShopifyPage(bytes.NewReader(data), "https://shop.example", fuzzOpt, func(it source.Item) error {
				items = append(items, it)
				return nil
			})
		})
		for _, it := range items {
			checkItem(t, it)
		}
	})
}

func FuzzWooProducts(f *testing.F) {
	addFixtures(f, "woo_products.json", "woo_variations_799.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		// The same bytes as a products page and as a variations page.
		var items []source.Item
		inTime(t, func() {
			vars, _ := source.ParseWooVariations(bytes.NewReader(data))
			_, _ = source.ParseWooProducts(bytes.NewReader(data), func(p source.WooProduct) error {
				items = append(items, p.Item(fuzzOpt, vars))
				return nil
			}, func(it source.Item) error {
				items = append(items, it)
				return nil
			})
		})
		for _, it := range items {
			checkItem(t, it)
		}
	})
}

func FuzzPrice(f *testing.F) {
	for _, s := range []string{"12.34", "12.34 USD", "0.5 RMB", "1,299.00", "-1", "99999999999999999999", "1.0000001", " 7 usd "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := source.ParseAmount(s)
		if err != nil {
			return
		}
		if a.Units < 0 || a.Scale < 0 || a.Scale > 6 {
			t.Fatalf("ParseAmount(%q) = %+v", s, a)
		}
		fen, err := fuzzOpt.Prices.Fen(a)
		if err == nil && (fen < 0 || fen > source.MaxPriceFen) {
			t.Fatalf("Fen(%q) = %d", s, fen)
		}
		// CNY with at most two decimals converts exactly.
		if err == nil && (a.Currency == "" || a.Currency == "CNY") && a.Scale <= 2 {
			back := fen
			for range 2 - a.Scale {
				if back%10 != 0 {
					t.Fatalf("%q: %d fen is not %d units at scale %d", s, fen, a.Units, a.Scale)
				}
				back /= 10
			}
			if back != a.Units {
				t.Fatalf("%q: %d fen is not %d units at scale %d", s, fen, a.Units, a.Scale)
			}
		}
	})
}

func FuzzPlainText(f *testing.F) {
	for _, s := range []string{"<p>a</p><p>b</p>", "<script>x</script>y", "<ul><li>1</li></ul>", "&amp;&lt;&#x41;", "<a href='x'>l</a>", "\x00<br>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var out string
		inTime(t, func() { out = source.PlainText(s) })
		if !utf8.ValidString(out) {
			t.Fatalf("PlainText(%q) = %q: not UTF-8", s, out)
		}
		if strings.Contains(out, "\n\n\n") || strings.TrimSpace(out) != out {
			t.Fatalf("PlainText(%q) = %q: untidy blanks", s, out)
		}
		if l := source.Line(s); strings.ContainsAny(l, "\n\t") {
			t.Fatalf("Line(%q) = %q", s, l)
		}
	})
}
