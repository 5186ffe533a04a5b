package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"microshop/tenants/fault"
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
	// Currency is called, before any item, by the sources that have a
	// currency of their own (Shopify, WooCommerce) with the one the store
	// states, or "" when it states none; an error ends the scan. A store
	// whose currency cannot be looked up (it is down, it refuses) ends the
	// scan with a *CurrencyError instead: its prices are never read in a
	// currency guessed.
	Currency func(code string) error
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

// maxPages bounds a paginated scan (250 × 4000 = a million products).
const maxPages = 4000

// The helpers below are what the paginated stores (Shopify, WooCommerce)
// share.

// storeKey is a paginated store's Key: its type and address without the
// scheme.
func storeKey(typ, base string) string {
	return typ + ":" + strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://")
}

// useCurrency tells v the store's own currency (cur, "" when it states
// none) and makes it the default of prices written without one, unless
// the link already sets one.
func useCurrency(cur string, opt *Options, v Visitor) error {
	if v.Currency != nil {
		if err := v.Currency(cur); err != nil {
			return err
		}
	}
	if opt.Prices.Default == "" {
		opt.Prices.Default = cur
	}
	return nil
}

// CurrencyError is a scan that stopped because the store's currency could
// not be looked up: nothing was read, so no price changes.
type CurrencyError struct {
	Host  string
	cause error
}

func (e *CurrencyError) Error() string {
	return "could not confirm the currency of the store at " + e.Host + ", so no price was read"
}

// Detail says why, for the server log.
func (e *CurrencyError) Detail() string { return e.cause.Error() }

func (e *CurrencyError) Unwrap() error { return e.cause }

// currencyIn reads a three-letter currency code from the JSON object b
// (the answer of a store's currency endpoint) at field: "" when the store
// does not state one (no such endpoint, no such field), a *CurrencyError
// when the answer cannot be had or read.
func currencyIn(host string, b io.ReadCloser, err error, field string) (string, error) {
	var fe *FetchError
	switch {
	case errors.As(err, &fe) && fe.Status == http.StatusNotFound:
		return "", nil
	case err != nil:
		return "", &CurrencyError{Host: host, cause: err}
	}
	defer b.Close()
	var doc map[string]json.RawMessage
	if err := json.NewDecoder(b).Decode(&doc); err != nil {
		return "", &CurrencyError{Host: host, cause: fmt.Errorf("currency: %w", err)}
	}
	raw, ok := doc[field]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var code string
	if json.Unmarshal(raw, &code) != nil || len(code) != 3 || !isLetters(code) {
		return "", &CurrencyError{Host: host, cause: fmt.Errorf("currency %s is not a three-letter code", fault.Clip(string(raw), 20))}
	}
	return strings.ToUpper(code), nil
}

// pageItems passes the items of one page to v.Item, numbered in order:
// their Ref is the page and the place ("page 3 #7").
type pageItems struct {
	v    Visitor
	page int
	n    int // items passed so far
}

func (p *pageItems) emit(it Item) error {
	p.n++
	it.Ref = fmt.Sprintf("page %d #%d", p.page, p.n)
	return p.v.Item(it)
}

// pageDone passes the end of page n to v.PageDone, when it listens.
func (v Visitor) pageDone(n int) error {
	if v.PageDone == nil {
		return nil
	}
	return v.PageDone(n)
}

// jsonPage is the request of one page of a store's JSON API.
func jsonPage(u string) request {
	return request{url: u, limit: MaxPageBytes, timeout: pageTimeout, accept: "application/json"}
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

// hostOf is the host of a store's address, for messages.
func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		return base
	}
	return u.Hostname()
}
