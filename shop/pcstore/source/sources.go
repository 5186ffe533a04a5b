package source

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Source types.
const (
	Shopify     = "shopify"
	WooCommerce = "woocommerce"
	Feed        = "feed"
)

// Visitor receives what a scan reads. Item is required; the others may be
// nil.
type Visitor struct {
	Item func(Item) error
	// PageDone says every item of page n (1-based) has been passed to
	// Item: a scan resumed after n starts with page n+1.
	PageDone func(n int) error
	// Total is how many products the source lists, when it says.
	Total func(n int64)
	// Bytes reports how much of a feed has been read, of size (-1 unknown).
	Bytes func(read, size int64)
	// Currency is the store's own currency, when the source names one.
	Currency func(code string)
}

// Source is a PC store's catalog.
type Source interface {
	// Key names the store the products come from, for the id mapping:
	// "shopify:<host>", "woocommerce:<host>/<path>", or "feed" (a feed's
	// ids are the merchant's own, whatever carries the feed).
	Key() string
	// Scan reads every product after page after (0: from the start).
	Scan(ctx context.Context, after int, opt Options, v Visitor) error
}

// NewShopify returns the Shopify storefront at address (any page of it).
func NewShopify(c *Client, address string) (Source, error) {
	u, err := CheckURL(address)
	if err != nil {
		return nil, err
	}
	return &shopify{c: c, base: u.Scheme + "://" + u.Host}, nil
}

type shopify struct {
	c    *Client
	base string
}

// shopifyPageSize is products.json's largest page.
const shopifyPageSize = 250

// maxPages bounds a paginated scan (250 × 4000 = a million products).
const maxPages = 4000

func (s *shopify) Key() string {
	return Shopify + ":" + strings.TrimPrefix(strings.TrimPrefix(s.base, "https://"), "http://")
}

func (s *shopify) Scan(ctx context.Context, after int, opt Options, v Visitor) error {
	if cur := s.currency(ctx); cur != "" {
		if v.Currency != nil {
			v.Currency(cur)
		}
		if opt.Prices.Default == "" {
			opt.Prices.Default = cur
		}
	}
	for page := after + 1; page <= maxPages; page++ {
		u := fmt.Sprintf("%s/products.json?limit=%d&page=%d", s.base, shopifyPageSize, page)
		b, _, err := s.c.get(ctx, request{url: u, limit: MaxPageBytes, timeout: pageTimeout, accept: "application/json"})
		if err != nil {
			return err
		}
		i := 0
		n, err := ParseShopifyPage(b, s.base, opt, func(it Item) error {
			i++
			it.Ref = fmt.Sprintf("page %d #%d", page, i)
			return v.Item(it)
		})
		b.Close()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if v.PageDone != nil {
			if err := v.PageDone(page); err != nil {
				return err
			}
		}
		if n < shopifyPageSize {
			return nil
		}
	}
	return fmt.Errorf("the store lists more than %d pages of products", maxPages)
}

// currency reads the store's currency from /meta.json, or "".
func (s *shopify) currency(ctx context.Context) string {
	b, _, err := s.c.get(ctx, request{url: s.base + "/meta.json", limit: 1 << 20, timeout: pageTimeout, accept: "application/json"})
	if err != nil {
		return ""
	}
	defer b.Close()
	var meta struct {
		Currency string `json:"currency"`
	}
	if json.NewDecoder(b).Decode(&meta) != nil || len(meta.Currency) != 3 || !isLetters(meta.Currency) {
		return ""
	}
	return strings.ToUpper(meta.Currency)
}

// NewWooCommerce returns the WooCommerce store at address (the site's
// home; a pasted /wp-json/... address is trimmed back to it), read with a
// REST API key and secret.
func NewWooCommerce(c *Client, address, key, secret string) (Source, error) {
	u, err := CheckURL(address)
	if err != nil {
		return nil, err
	}
	if key == "" || secret == "" {
		return nil, errors.New("a WooCommerce store needs its REST API consumer key and secret (WooCommerce → Settings → Advanced → REST API, read access)")
	}
	path := u.Path
	if i := strings.Index(path, "/wp-json"); i >= 0 {
		path = path[:i]
	}
	base := u.Scheme + "://" + u.Host + strings.TrimRight(path, "/")
	return &woo{c: c, base: base, key: key, secret: secret, now: time.Now}, nil
}

type woo struct {
	c           *Client
	base        string
	key, secret string
	now         func() time.Time
	queryAuth   bool // the host strips Authorization: send the key in the query
}

// wooPageSize is the REST API's largest page.
const wooPageSize = 100

func (w *woo) Key() string {
	return WooCommerce + ":" + strings.TrimPrefix(strings.TrimPrefix(w.base, "https://"), "http://")
}

func (w *woo) Scan(ctx context.Context, after int, opt Options, v Visitor) error {
	if cur := w.currency(ctx); cur != "" {
		if v.Currency != nil {
			v.Currency(cur)
		}
		if opt.Prices.Default == "" {
			opt.Prices.Default = cur
		}
	}
	pages := after + 1
	for page := after + 1; page <= pages && page <= maxPages; page++ {
		q := url.Values{"per_page": {strconv.Itoa(wooPageSize)}, "page": {strconv.Itoa(page)},
			"status": {"publish"}, "orderby": {"id"}, "order": {"asc"}}
		b, h, err := w.get(ctx, "/wp-json/wc/v3/products", q)
		if err != nil {
			return err
		}
		tp, tpErr := strconv.Atoi(h.Get("X-WP-TotalPages"))
		if tpErr == nil {
			pages = tp
		}
		if total, err := strconv.ParseInt(h.Get("X-WP-Total"), 10, 64); err == nil && v.Total != nil {
			v.Total(total)
		}
		// Read the page first (at most 100 products), then fetch the
		// variations of the variable ones: one response open at a time.
		var prods []WooProduct
		i := 0
		_, err = ParseWooProducts(b, func(p WooProduct) error {
			prods = append(prods, p)
			return nil
		}, func(it Item) error {
			i++
			it.Ref = fmt.Sprintf("page %d #%d", page, i)
			return v.Item(it)
		})
		b.Close()
		if err != nil {
			return err
		}
		for _, p := range prods {
			i++
			var it Item
			if p.NeedsVariations() {
				vars, err := w.variations(ctx, string(p.ID))
				if err != nil {
					var fe *FetchError
					if !errors.As(err, &fe) {
						return err
					}
					it = Item{ExternalID: string(p.ID), Title: p.Name, Err: itemErr("variations: %v", err)}
				} else {
					it = p.Item(opt, vars)
				}
			} else {
				it = p.Item(opt, nil)
			}
			it.Ref = fmt.Sprintf("page %d #%d", page, i)
			if err := v.Item(it); err != nil {
				return err
			}
		}
		if v.PageDone != nil {
			if err := v.PageDone(page); err != nil {
				return err
			}
		}
		if i == 0 {
			return nil
		}
		if tpErr != nil && i >= wooPageSize {
			pages = page + 1 // no page count: read on until a short page
		}
	}
	return nil
}

func (w *woo) variations(ctx context.Context, id string) ([]WooVariation, error) {
	if strings.Trim(id, "0123456789") != "" || id == "" {
		return nil, &FetchError{Msg: fmt.Sprintf("product id %q is not a number", clip(id, 20))}
	}
	var out []WooVariation
	pages := 1
	for page := 1; page <= pages && page <= 3; page++ {
		b, h, err := w.get(ctx, "/wp-json/wc/v3/products/"+id+"/variations",
			url.Values{"per_page": {strconv.Itoa(wooPageSize)}, "page": {strconv.Itoa(page)}})
		if err != nil {
			return nil, err
		}
		if tp, err := strconv.Atoi(h.Get("X-WP-TotalPages")); err == nil {
			pages = tp
		}
		vs, err := ParseWooVariations(b)
		b.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func (w *woo) currency(ctx context.Context) string {
	b, _, err := w.get(ctx, "/wp-json/wc/v3/data/currencies/current", nil)
	if err != nil {
		return ""
	}
	defer b.Close()
	var cur struct {
		Code string `json:"code"`
	}
	if json.NewDecoder(b).Decode(&cur) != nil || len(cur.Code) != 3 || !isLetters(cur.Code) {
		return ""
	}
	return strings.ToUpper(cur.Code)
}

// get calls the REST API. Over HTTPS the key goes in HTTP Basic auth (and,
// if the host strips that header and answers 401, in the query string, as
// WooCommerce also accepts); over plain HTTP WooCommerce requires OAuth 1.0a
// signatures, so the secret never crosses the wire.
func (w *woo) get(ctx context.Context, path string, q url.Values) (*body, http.Header, error) {
	if q == nil {
		q = url.Values{}
	}
	endpoint := w.base + path
	if strings.HasPrefix(w.base, "http://") {
		signed := w.oauth(endpoint, q)
		return w.c.get(ctx, request{url: endpoint + "?" + signed.Encode(), limit: MaxPageBytes, timeout: pageTimeout, accept: "application/json"})
	}
	r := request{url: endpoint + "?" + q.Encode(), limit: MaxPageBytes, timeout: pageTimeout, accept: "application/json",
		auth: func(req *http.Request) { req.SetBasicAuth(w.key, w.secret) }}
	if w.queryAuth {
		r = w.queryRequest(endpoint, q)
	}
	b, h, err := w.c.get(ctx, r)
	var fe *FetchError
	if !w.queryAuth && errors.As(err, &fe) && fe.Status == http.StatusUnauthorized {
		w.queryAuth = true
		return w.c.get(ctx, w.queryRequest(endpoint, q))
	}
	return b, h, err
}

func (w *woo) queryRequest(endpoint string, q url.Values) request {
	qq := url.Values{}
	for k, v := range q {
		qq[k] = v
	}
	qq.Set("consumer_key", w.key)
	qq.Set("consumer_secret", w.secret)
	return request{url: endpoint + "?" + qq.Encode(), limit: MaxPageBytes, timeout: pageTimeout, accept: "application/json"}
}

// oauth signs a GET the way WooCommerce checks it (one-legged OAuth 1.0a,
// HMAC-SHA256, the consumer secret plus "&" as the key).
func (w *woo) oauth(endpoint string, q url.Values) url.Values {
	p := url.Values{}
	for k, v := range q {
		p[k] = v
	}
	p.Set("oauth_consumer_key", w.key)
	p.Set("oauth_timestamp", strconv.FormatInt(w.now().Unix(), 10))
	p.Set("oauth_nonce", strconv.FormatInt(w.now().UnixNano(), 36))
	p.Set("oauth_signature_method", "HMAC-SHA256")
	p.Set("oauth_signature", WooSignature("GET", endpoint, p, w.secret))
	return p
}

// WooSignature computes WooCommerce's OAuth 1.0a signature of a request:
// parameters sorted by name, each name and value percent-encoded and joined
// with %3D and %26, then METHOD&encoded-URL&parameters, HMAC-SHA256 with
// secret+"&". Exported for the test server that checks it.
func WooSignature(method, endpoint string, params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "oauth_signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, rawURLEncode(k)+"%3D"+rawURLEncode(params.Get(k)))
	}
	base := strings.ToUpper(method) + "&" + rawURLEncode(endpoint) + "&" + strings.Join(parts, "%26")
	mac := hmac.New(sha256.New, []byte(secret+"&"))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// rawURLEncode is PHP's rawurlencode (RFC 3986: only A-Z a-z 0-9 - _ . ~
// unescaped).
func rawURLEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// NewFeedURL returns the product feed at address.
func NewFeedURL(c *Client, address string) (Source, error) {
	u, err := CheckURL(address)
	if err != nil {
		return nil, err
	}
	return &feedSource{open: func(ctx context.Context) (io.ReadCloser, int64, error) {
		b, _, err := c.get(ctx, request{url: u.String(), limit: MaxDownloadBytes, timeout: feedTimeout,
			accept: "application/xml, application/rss+xml, application/atom+xml, text/tab-separated-values, text/plain, */*"})
		if err != nil {
			return nil, 0, err
		}
		return b, b.resp.ContentLength, nil
	}}, nil
}

// NewFeedReader returns a feed read from open (an upload, a file), which
// returns the document and its size (-1 unknown).
func NewFeedReader(open func(ctx context.Context) (io.ReadCloser, int64, error)) Source {
	return &feedSource{open: open}
}

type feedSource struct {
	open func(ctx context.Context) (io.ReadCloser, int64, error)
}

func (f *feedSource) Key() string { return Feed }

func (f *feedSource) Scan(ctx context.Context, after int, opt Options, v Visitor) error {
	rc, size, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	var r io.Reader = rc
	if v.Bytes != nil {
		r = &counter{r: rc, size: size, report: v.Bytes}
	}
	return ParseFeed(r, opt, v.Item)
}

// counter reports bytes read, at most every 256 KB.
type counter struct {
	r        io.Reader
	n, last  int64
	size     int64
	report   func(read, size int64)
	finished bool
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n-c.last >= 256<<10 || (err == io.EOF && !c.finished) {
		c.last = c.n
		c.finished = err == io.EOF
		c.report(c.n, c.size)
	}
	return n, err
}
