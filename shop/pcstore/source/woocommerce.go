package source

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"microshop/tenants/fault"
)

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

// woo reads a store through the WooCommerce REST API v3, page by page.
type woo struct {
	c           *Client
	base        string
	key, secret string
	now         func() time.Time
	queryAuth   bool // the host strips Authorization: send the key in the query
}

// wooPageSize is the REST API's largest page.
const wooPageSize = 100

func (w *woo) Key() string { return storeKey(WooCommerce, w.base) }

func (w *woo) Scan(ctx context.Context, after int, opt Options, v Visitor) error {
	cur, err := w.currency(ctx)
	if err != nil {
		return err
	}
	if err := useCurrency(cur, &opt, v); err != nil {
		return err
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
		items := &pageItems{v: v, page: page}
		_, err = ParseWooProducts(b, func(p WooProduct) error {
			prods = append(prods, p)
			return nil
		}, items.emit)
		b.Close()
		if err != nil {
			return err
		}
		for _, p := range prods {
			it, err := w.item(ctx, p, opt)
			if err != nil {
				return err
			}
			if err := items.emit(it); err != nil {
				return err
			}
		}
		if err := v.pageDone(page); err != nil {
			return err
		}
		if items.n == 0 {
			return nil
		}
		if tpErr != nil && items.n >= wooPageSize {
			pages = page + 1 // no page count: read on until a short page
		}
	}
	return nil
}

// item maps a product to an Item, fetching its variations when it has
// them; variations the store refuses make an item error, anything else
// ends the scan.
func (w *woo) item(ctx context.Context, p WooProduct, opt Options) (Item, error) {
	if !p.NeedsVariations() {
		return p.Item(opt, nil), nil
	}
	if id := string(p.ID); id == "" || strings.Trim(id, "0123456789") != "" {
		return Item{ExternalID: id, Title: p.Name, Err: itemErr("product id %q is not a number", fault.Clip(id, 20))}, nil
	}
	vars, err := w.variations(ctx, string(p.ID))
	if err != nil {
		var fe *FetchError
		if !errors.As(err, &fe) {
			return Item{}, err
		}
		return Item{ExternalID: string(p.ID), Title: p.Name, Err: itemErr("variations: %v", err)}, nil
	}
	return p.Item(opt, vars), nil
}

func (w *woo) variations(ctx context.Context, id string) ([]WooVariation, error) {
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

// currency reads the store's currency ("" when it states none).
func (w *woo) currency(ctx context.Context) (string, error) {
	b, _, err := w.get(ctx, "/wp-json/wc/v3/data/currencies/current", nil)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	var fe *FetchError
	if errors.As(err, &fe) && fe.Status == http.StatusUnauthorized {
		return "", err // the key is refused: say so, as for the products
	}
	return currencyIn(hostOf(w.base), b, err, "code")
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
		return w.c.get(ctx, jsonPage(endpoint+"?"+w.oauth(endpoint, q).Encode()))
	}
	r := jsonPage(endpoint + "?" + q.Encode())
	r.auth = func(req *http.Request) { req.SetBasicAuth(w.key, w.secret) }
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
	qq := maps.Clone(q)
	qq.Set("consumer_key", w.key)
	qq.Set("consumer_secret", w.secret)
	return jsonPage(endpoint + "?" + qq.Encode())
}

// oauth signs a GET the way WooCommerce checks it (one-legged OAuth 1.0a,
// HMAC-SHA256, the consumer secret plus "&" as the key).
func (w *woo) oauth(endpoint string, q url.Values) url.Values {
	p := maps.Clone(q)
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
