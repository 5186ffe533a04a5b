package source_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/pcstore/source"
)

func TestParseAmount(t *testing.T) {
	cases := []struct {
		given string
		want  source.Amount
		err   string
	}{
		{"12.34", source.Amount{Units: 1234, Scale: 2}, ""},
		{"12.34 USD", source.Amount{Units: 1234, Scale: 2, Currency: "USD"}, ""},
		{" 12.34usd ", source.Amount{Units: 1234, Scale: 2, Currency: "USD"}, ""},
		{"1299 CNY", source.Amount{Units: 1299, Currency: "CNY"}, ""},
		{"0.5 RMB", source.Amount{Units: 5, Scale: 1, Currency: "CNY"}, ""},
		{"007.10", source.Amount{Units: 710, Scale: 2}, ""},
		{"0.000001", source.Amount{Units: 1, Scale: 6}, ""},
		{"", source.Amount{}, "empty"},
		{"USD", source.Amount{}, "no amount"},
		{"12,34", source.Amount{}, "write it as"},
		{"1,299.00 USD", source.Amount{}, "write it as"},
		{"-5.00", source.Amount{}, "write it as"},
		{"+5.00", source.Amount{}, "write it as"},
		{"1e3", source.Amount{}, "write it as"},
		{"12.", source.Amount{}, "both sides"},
		{".5", source.Amount{}, "both sides"},
		{"1.2.3", source.Amount{}, "more than one"},
		{"1.1234567", source.Amount{}, "decimals"},
		{"1234567890123456789", source.Amount{}, "too large"},
		{"12.34 US", source.Amount{}, "write it as"},
		{"12.34 US$", source.Amount{}, "write it as"},
		{"NaN", source.Amount{}, "no amount"},
		{"１２.３４", source.Amount{}, "write it as"}, // full-width digits
	}
	for _, tc := range cases {
		t.Run(tc.given, func(t *testing.T) {
			got, err := source.ParseAmount(tc.given)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseAmount(%q) = %+v, %v; want error with %q", tc.given, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseAmount(%q) = %+v, %v; want %+v", tc.given, got, err, tc.want)
			}
		})
	}
}

func TestPricesFen(t *testing.T) {
	usd, _ := source.ParseRate("7.2315")
	jpy, _ := source.ParseRate("0.0482")
	p := source.Prices{Default: "CNY", Rates: map[string]source.Rate{"USD": usd, "JPY": jpy}}
	cases := []struct {
		name  string
		given string
		prod  source.Prices
		want  int64
		err   string
	}{
		{"plain yuan", "12.34", p, 1234, ""},
		{"whole yuan", "12 CNY", p, 1200, ""},
		{"one decimal", "0.5", p, 50, ""},
		{"trailing zeros beyond the fen", "9.990000 CNY", p, 999, ""},
		{"fractions of a fen", "9.995 CNY", p, 0, "fractions of a fen"},
		{"dollars at a rate", "10.00 USD", p, 7232, ""}, // 72.315 → 72.32 (half up)
		{"dollars exact", "100 USD", p, 72315, ""},
		{"yen", "1500 JPY", p, 7230, ""},
		{"half up", "0.01 USD", p, 7, ""}, // 0.072315 yuan = 7.2315 fen → 7
		{"no rate", "5 EUR", p, 0, "set an exchange rate for EUR"},
		{"default currency", "10", source.Prices{Default: "USD", Rates: p.Rates}, 7232, ""},
		{"default without rate", "10", source.Prices{Default: "HKD"}, 0, "HKD"},
		// A currency is never guessed: without the store's (or the
		// merchant's) currency, a bare amount is refused, not read as yuan.
		{"no currency anywhere", "10", source.Prices{Rates: p.Rates}, 0, "names no currency"},
		{"a named currency needs no default", "10 CNY", source.Prices{}, 1000, ""},
		{"the catalog's limit", "100000000.00", p, 10_000_000_000, ""},
		{"over the catalog's limit", "100000000.01", p, 0, "more than"},
		{"over the limit after the rate", "99999999 USD", p, 0, "more than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.prod.ParsePrice(tc.given)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%q = %d, %v; want error with %q", tc.given, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%q = %d, %v; want %d", tc.given, got, err, tc.want)
			}
		})
	}
}

func TestRate(t *testing.T) {
	cases := []struct {
		given, back string
		ok          bool
	}{
		{"7.2315", "7.2315", true},
		{"0.0482", "0.0482", true},
		{"7", "7", true},
		{"0", "", false},
		{"-1", "", false},
		{"7.2 USD", "", false},
		{"abc", "", false},
	}
	for _, tc := range cases {
		r, err := source.ParseRate(tc.given)
		if (err == nil) != tc.ok {
			t.Errorf("ParseRate(%q) error %v, want ok=%v", tc.given, err, tc.ok)
			continue
		}
		if tc.ok && r.String() != tc.back {
			t.Errorf("ParseRate(%q).String() = %q", tc.given, r.String())
		}
	}
}

func TestPlainText(t *testing.T) {
	cases := []struct{ name, given, want string }{
		{"plain", "Just text", "Just text"},
		{"tags and entities", "<p>Tea &amp; cups&nbsp;&lt;3</p>", "Tea & cups <3"},
		{"paragraphs", "<p>One</p><p>Two</p>", "One\n\nTwo"},
		{"line breaks", "a<br>b<br/>c", "a\nb\nc"},
		{"list", "<ul><li>x</li><li>y</li></ul>", "• x\n• y"},
		{"script and style dropped", `<style>p{}</style><script>alert("x")</script><p>ok</p>`, "ok"},
		{"unclosed script drops the rest", `<p>a</p><script>bad`, "a"},
		{"attributes never leak", `<a href="javascript:x" onclick="y">link</a>`, "link"},
		{"whitespace collapsed", "<p>  a \n\n\t b  </p>", "a b"},
		// Text without tags keeps its lines: paragraphs and "- " lists.
		{"plain text keeps paragraphs", "  a \n\n\n\t b  ", "a\n\nb"},
		{"plain text keeps lists", "Features:\r\n- waterproof\n-  breathable\n\nSize: M", "Features:\n- waterproof\n- breathable\n\nSize: M"},
		{"plain text decodes entities", "Tea &amp; cups\n3 < 4", "Tea & cups\n3 < 4"},
		{"broken html", "<p><b>bold</p>text<", "bold\n\ntext<"},
		{"comments", "a<!-- secret -->b", "ab"},
		{"cdata-ish", "<![CDATA[x]]>y", "y"},
		{"chinese", "<p>茉莉花茶</p>", "茉莉花茶"},
		{"control characters", "a\x00b\x07c", "abc"},
		{"bidirectional controls", "<p>tea\u202Etxt.exe\u2066x\u2069</p>", "teatxt.exex"},
		{"bytes that are not UTF-8", "t\xffea", "tea"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := source.PlainText(tc.given); got != tc.want {
				t.Errorf("PlainText(%q) = %q, want %q", tc.given, got, tc.want)
			}
		})
	}
}

// TestLine: a one-line field from a PC store (a title, a variant name, a
// category) is cleaned, never refused: blanks and control characters
// become one space, bidirectional controls and bytes that are not UTF-8
// are dropped.
func TestLine(t *testing.T) {
	for _, tc := range []struct{ given, when, expect string }{
		{"plain", "Jasmine Pearl", "Jasmine Pearl"},
		{"a NUL", "Jasmine\x00Pearl", "Jasmine Pearl"},
		{"a tab and a line break", "Jasmine\t\r\nPearl", "Jasmine Pearl"},
		{"a line separator", "Jasmine\u2028Pearl", "Jasmine Pearl"},
		{"a right-to-left override", "Jasmine \u202Egpj.exe", "Jasmine gpj.exe"},
		{"isolates and marks", "\u2067Jasmine\u2069 \u200FPearl\u061C", "Jasmine Pearl"},
		{"bytes that are not UTF-8", "Jas\xc3mine", "Jasmine"},
		{"entities", "Tea &amp; cups\u202E", "Tea & cups"},
	} {
		t.Run(tc.given, func(t *testing.T) {
			if got := source.Line(tc.when); got != tc.expect {
				t.Errorf("Line(%q) = %q, want %q", tc.when, got, tc.expect)
			}
		})
	}
}

func collect(t *testing.T, r io.Reader) ([]source.Item, error) {
	t.Helper()
	var items []source.Item
	err := source.ParseFeed(r, source.Options{Prices: source.Prices{Default: "CNY"}, AssumedStock: 100, Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		func(it source.Item) error { items = append(items, it); return nil })
	return items, err
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFeedFormats(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(fixture(t, "feed.tsv"))
	zw.Close()
	utf16 := []byte{0xFF, 0xFE}
	for _, r := range "id\ttitle\tprice\nU1\tTea 茶\t1.00\n" {
		utf16 = append(utf16, byte(r), byte(r>>8))
	}
	rss := fixture(t, "feed_rss.xml")
	truncated := rss[:bytes.Index(rss, []byte("</item>"))+200]
	gb18030 := []byte("id\ttitle\tprice\nG1\t\xc2\xcc\xb2\xe8\t2.00\n") // 绿茶 in GB18030
	cases := []struct {
		name   string
		body   []byte
		ids    []string
		titles []string
		errs   int
		err    string
	}{
		{"rss", fixture(t, "feed_rss.xml"), []string{"LT-001", "LT-CUP", "LT-USD", "LT-BADPRICE", "LT-NOTITLE", "LT-001", "LT-HUGE"}, nil, 4, ""}, // duplicates are the syncer's to find
		{"atom", fixture(t, "feed_atom.xml"), []string{"LT-101", "LT-102"}, []string{"Tieguanyin Oolong 125 g", "Bamboo Tray"}, 0, ""},
		{"tsv", fixture(t, "feed.tsv"), []string{"TSV-1", "TSV-2", "TSV-3", "TSV-4", "TSV-5"}, nil, 2, ""},
		{"gzip tsv", gz.Bytes(), []string{"TSV-1", "TSV-2", "TSV-3", "TSV-4", "TSV-5"}, nil, 2, ""},
		{"utf-16 tsv", utf16, []string{"U1"}, []string{"Tea 茶"}, 0, ""},
		{"gb18030 tsv", gb18030, []string{"G1"}, []string{"绿茶"}, 0, ""},
		{"crlf tsv", []byte("id\ttitle\tprice\r\nC1\tCup\t3.00\r\n"), []string{"C1"}, []string{"Cup"}, 0, ""},
		{"empty", nil, nil, nil, 0, "empty"},
		{"html page", []byte("<!doctype html><html><body>shop</body></html>"), nil, nil, 0, "web page"},
		{"other xml", []byte("<catalog><product/></catalog>"), nil, nil, 0, "not an RSS or Atom"},
		{"truncated xml", truncated, []string{"LT-001"}, nil, 0, "well-formed"},
		{"tsv without id column", []byte("name\tprice\nx\t1\n"), nil, nil, 0, "including id"},
		{"xml bomb entity", []byte(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><rss><channel><item><g:id>1</g:id><title>&b;</title><g:price>1</g:price></item></channel></rss>`), nil, nil, 0, "well-formed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			items, err := collect(t, bytes.NewReader(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var ids, titles []string
			errs := 0
			for _, it := range items {
				ids = append(ids, it.ExternalID)
				titles = append(titles, it.Title)
				if it.Err != nil {
					errs++
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.ids) {
				t.Errorf("ids = %q, want %q", ids, tc.ids)
			}
			if tc.titles != nil && fmt.Sprint(titles) != fmt.Sprint(tc.titles) {
				t.Errorf("titles = %q, want %q", titles, tc.titles)
			}
			if errs != tc.errs {
				t.Errorf("%d item errors, want %d: %+v", errs, tc.errs, items)
			}
		})
	}
}

func TestFeedSalePriceDates(t *testing.T) {
	feed := func(span string) string {
		return "id\ttitle\tprice\tsale_price\tsale_price_effective_date\nS\tTea\t10.00 CNY\t8.00 CNY\t" + span + "\n"
	}
	cases := []struct {
		span string
		want int64
	}{
		{"", 800},
		{"2024-12-01T00:00+08:00/2025-02-01T00:00+08:00", 800},
		{"2025-06-01T00:00Z/2025-07-01T00:00Z", 1000},
		{"2020-01-01/2020-02-01", 1000},
		{"garbage", 800},
	}
	for _, tc := range cases {
		items, err := collect(t, strings.NewReader(feed(tc.span)))
		if err != nil || len(items) != 1 || items[0].Price != tc.want {
			t.Errorf("span %q: %+v %v, want price %d", tc.span, items, err, tc.want)
		}
	}
}

func TestShopifyAndWooPages(t *testing.T) {
	opt := source.Options{Prices: source.Prices{Default: "CNY"}, AssumedStock: 5}
	var items []source.Item
	n, err := source.ParseShopifyPage(bytes.NewReader(fixture(t, "shopify_products.json")), "https://lotus.example", opt,
		func(it source.Item) error { items = append(items, it); return nil })
	if err != nil || n != 3 || len(items) != 3 {
		t.Fatalf("shopify: %d %v %+v", n, err, items)
	}
	if it := items[0]; it.Price != 1250 || it.Stock != 5 || it.Code != "JP-50" || len(it.Images) != 2 || !strings.HasPrefix(it.Images[1], "https://cdn.shopify.com") ||
		it.URL != "https://lotus.example/products/jasmine-pearl-green-tea" || strings.Contains(it.Description, "alert") {
		t.Errorf("single-variant product = %+v", it)
	}
	if it := items[1]; len(it.Variants) != 2 || it.Variants[1].Stock != 0 || it.Variants[0].ExternalID != "43712266633363" {
		t.Errorf("multi-variant product = %+v", it)
	}
	if items[2].Err == nil {
		t.Errorf("1,299.00 accepted: %+v", items[2])
	}
	bad := []struct{ name, body, err string }{
		{"not json", "<html>", "malformed"},
		{"no products key", `{"errors":"Not Found"}`, "Shopify"},
		{"products not a list", `{"products":{}}`, "array"},
		{"truncated", `{"products":[{"id":1,"title":"x"`, "truncated"},
	}
	for _, tc := range bad {
		_, err := source.ParseShopifyPage(strings.NewReader(tc.body), "", opt, func(source.Item) error { return nil })
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
	// Long, equal option names are cut and numbered, not looped over.
	long := strings.Repeat("长", 70)
	items = nil
	_, err = source.ParseShopifyPage(strings.NewReader(`{"products":[{"id":1,"title":"T","variants":[{"id":2,"title":"`+long+`","price":"1"},{"id":3,"title":"`+long+`","price":"2"},{"id":4,"title":"`+long+`","price":"3"}]}]}`),
		"", opt, func(it source.Item) error { items = append(items, it); return nil })
	if err != nil || len(items) != 1 || len(items[0].Variants) != 3 || items[0].Variants[0].Name == items[0].Variants[1].Name ||
		items[0].Variants[1].Name == items[0].Variants[2].Name || !strings.HasSuffix(items[0].Variants[2].Name, "(3)") {
		t.Errorf("long equal option names: %v %+v", err, items)
	}
	// A product of the wrong shape is an item error; the page goes on.
	items = nil
	_, err = source.ParseShopifyPage(strings.NewReader(`{"products":[{"id":1,"title":["x"]},{"id":2,"title":"ok","variants":[{"id":3,"title":"Default Title","price":"1.00"}]}]}`),
		"", opt, func(it source.Item) error { items = append(items, it); return nil })
	if err != nil || len(items) != 2 || items[0].Err == nil || items[1].Err != nil || items[1].Price != 100 {
		t.Errorf("wrong-shaped product: %v %+v", err, items)
	}
	var woo []source.Item
	_, err = source.ParseWooProducts(bytes.NewReader(fixture(t, "woo_products.json")),
		func(p source.WooProduct) error { woo = append(woo, p.Item(opt, nil)); return nil },
		func(it source.Item) error { woo = append(woo, it); return nil })
	if err != nil || len(woo) != 4 || woo[1].Price != 2199 || woo[1].Stock != 37 || woo[3].Err == nil {
		t.Errorf("woo: %v %+v", err, woo)
	}
}

func TestClientLimits(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flaky":
			if hits.Add(1) < 3 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "id\ttitle\tprice\nF\tFlaky\t1.00\n")
		case "/huge":
			w.Header().Set("Content-Length", fmt.Sprint(source.MaxDownloadBytes+1))
			w.WriteHeader(http.StatusOK)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/gone":
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := source.NewClient()
	ctx := context.Background()
	scan := func(c *source.Client, path string) ([]source.Item, error) {
		src, err := source.NewFeedURL(c, srv.URL+path)
		if err != nil {
			return nil, err
		}
		var items []source.Item
		err = src.Scan(ctx, 0, source.Options{Prices: source.Prices{Default: "CNY"}}, source.Visitor{Item: func(it source.Item) error { items = append(items, it); return nil }})
		return items, err
	}
	if _, err := scan(c, "/flaky"); !errors.Is(err, source.ErrNotPublic) {
		t.Errorf("loopback fetched by default: %v", err)
	}
	c.AllowLoopback(true)
	if items, err := scan(c, "/flaky"); err != nil || len(items) != 1 || hits.Load() != 3 {
		t.Errorf("retries: %v %+v after %d hits", err, items, hits.Load())
	}
	var fe *source.FetchError
	if _, err := scan(c, "/huge"); !errors.As(err, &fe) || !strings.Contains(err.Error(), "MB") {
		t.Errorf("oversized: %v", err)
	}
	if _, err := scan(c, "/to-file"); !errors.As(err, &fe) || !strings.Contains(fe.Detail(), "file: address") {
		t.Errorf("redirect to file: %v", err)
	}
	if _, err := scan(c, "/gone"); !errors.As(err, &fe) || fe.Status != 404 {
		t.Errorf("404: %v", err)
	}
	for _, bad := range []string{"file:///etc/passwd", "gopher://x", "http://", "https://user:pw@x.example/"} {
		if _, err := source.NewFeedURL(c, bad); err == nil {
			t.Errorf("NewFeedURL(%q) accepted", bad)
		}
	}
}
