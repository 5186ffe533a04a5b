package source

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"microshop/tenants/fault"
)

// Fetch limits.
const (
	// MaxPageBytes bounds one JSON page (250 Shopify products are well under).
	MaxPageBytes = 32 << 20
	// MaxDownloadBytes bounds a feed as downloaded (it may be compressed).
	MaxDownloadBytes = 256 << 20
	pageTimeout      = 60 * time.Second
	feedTimeout      = 15 * time.Minute
	maxRedirects     = 5
	maxTries         = 3
)

// Client fetches from PC stores: only http(s), with timeouts, size limits
// and a few retries on 429 and 5xx. It connects only to public internet
// addresses (see Public), never to this machine's own: the check runs on
// the address actually dialled, for every connection, so a name that
// resolves to a private address, DNS rebinding and redirects are refused
// alike.
type Client struct {
	hc            *http.Client
	tr            *http.Transport
	allowLoopback atomic.Bool
	allowPrivate  atomic.Bool
	own           *ownAddrs
	userAgent     string
	sleep         func(context.Context, time.Duration) error
}

// NewClient returns a client that connects only to public addresses.
func NewClient() *Client {
	c := &Client{userAgent: "microshop-pcstore/1 (+catalog import)", sleep: sleepCtx,
		own: &ownAddrs{list: net.InterfaceAddrs}}
	c.build(nil)
	return c
}

// build makes the client's transport: TLS trusts roots (nil: the system's).
func (c *Client) build(roots *x509.CertPool) {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: c.control}
	c.tr = &http.Transport{
		Proxy:                 nil, // the address check must see the real peer
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       60 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}
	c.hc = &http.Client{Transport: c.tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("%w: more than %d", errRedirect, maxRedirects)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w to a %s: address", errRedirect, fault.Clip(req.URL.Scheme, 20))
		}
		return nil
	}}
}

// errRedirect is a redirect the client does not follow (not retried).
var errRedirect = errors.New("refused redirect")

// AllowLoopback lets the client connect to loopback (127.0.0.0/8, ::1):
// for tests, whose PC stores are local test servers. Nothing in production
// sets it; every other address is checked as always.
func (c *Client) AllowLoopback(allow bool) { c.allowLoopback.Store(allow) }

// AllowPrivateNetworks lets the client connect to loopback and the private
// ranges (10/8, 172.16/12, 192.168/16, fc00::/7): for the import script an
// operator runs against a store on their own network. The server never
// sets it; link-local (cloud metadata), shared, reserved and multicast
// addresses stay refused.
func (c *Client) AllowPrivateNetworks(allow bool) { c.allowPrivate.Store(allow) }

// WithRootCAs returns a copy of the client whose TLS trusts the
// certificates in pool instead of the system's (tests: a TLS test server).
// The address check applies as before.
func (c *Client) WithRootCAs(pool *x509.CertPool) *Client {
	n := &Client{userAgent: c.userAgent, sleep: c.sleep, own: c.own}
	n.allowLoopback.Store(c.allowLoopback.Load())
	n.allowPrivate.Store(c.allowPrivate.Load())
	n.build(pool)
	return n
}

// FetchError is a fetch that was refused or failed. Its text is the same
// whatever happened (an address that is not public, a closed port, a
// timeout, a TLS failure, an error status), so that linking a store cannot
// be used to probe a network: Detail says what happened, for the server
// log. Nothing the far end sent is quoted, in either.
type FetchError struct {
	// Host is the store's host, as the merchant gave it.
	Host string
	// Status is the HTTP status when the store answered with one, else 0.
	Status int
	// Limit is set when the document is larger than allowed: the limit,
	// in bytes.
	Limit int64
	cause error
}

func (e *FetchError) Error() string {
	if e.Limit > 0 {
		return fmt.Sprintf("the document at %s is larger than the %d MB allowed", e.Host, e.Limit>>20)
	}
	return "could not read the store at " + e.Host
}

// Detail says why the fetch failed, for the server log.
func (e *FetchError) Detail() string {
	if e.cause == nil {
		return e.Error()
	}
	return e.cause.Error()
}

// Unwrap returns the cause (ErrNotPublic for a refused address).
func (e *FetchError) Unwrap() error { return e.cause }

// CheckURL validates an address a merchant typed: absolute http(s) with a
// host, no credentials in it.
func CheckURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("is required")
	}
	if len(raw) > 2048 {
		return nil, errors.New("is longer than 2048 characters")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a web address", fault.Clip(raw, 60))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("must be an http:// or https:// address, not %s:", fault.Clip(u.Scheme, 20))
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host name", fault.Clip(raw, 60))
	}
	if u.User != nil {
		return nil, errors.New("must not contain a user name or password; use the key and secret fields")
	}
	u.Fragment = ""
	return u, nil
}

// request is one GET.
type request struct {
	url     string
	limit   int64
	timeout time.Duration
	auth    func(*http.Request)
	accept  string
	tries   int // 0: maxTries
}

// body is a response body bounded in size and time: reading past the limit
// fails, and Close ends the request's deadline.
type body struct {
	io.Reader
	resp   *http.Response
	cancel context.CancelFunc
}

func (b *body) Close() error {
	b.cancel()
	return b.resp.Body.Close()
}

// get fetches r.url, retrying 429 and 5xx answers and transport errors a
// few times. Every failure is a *FetchError naming only the host, except
// the end of ctx, which is returned as is.
func (c *Client) get(ctx context.Context, r request) (*body, http.Header, error) {
	u, err := CheckURL(r.url)
	if err != nil {
		return nil, nil, &FetchError{Host: "that address", cause: err}
	}
	host := u.Hostname()
	where := u.Scheme + "://" + u.Host + u.Path // for the log: never the query (it may hold a key)
	fail := func(status int, cause error) *FetchError {
		var ue *url.Error
		if errors.As(cause, &ue) {
			ue.URL = where
		}
		return &FetchError{Host: host, Status: status, cause: cause}
	}
	var last error
	tries := r.tries
	if tries <= 0 {
		tries = maxTries
	}
	for try := 1; try <= tries; try++ {
		rctx, cancel := context.WithTimeout(ctx, r.timeout)
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, r.url, nil)
		if err != nil {
			cancel()
			return nil, nil, fail(0, err)
		}
		req.Header.Set("User-Agent", c.userAgent)
		if r.accept != "" {
			req.Header.Set("Accept", r.accept)
		}
		if r.auth != nil {
			r.auth(req)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if errors.Is(err, ErrNotPublic) || errors.Is(err, errRedirect) {
				return nil, nil, fail(0, err)
			}
			last = fail(0, err)
			if try < tries {
				if err := c.sleep(ctx, backoff(try, nil)); err != nil {
					return nil, nil, err
				}
			}
			continue
		}
		// The body of an error answer is never read: nothing of it can
		// reach a message.
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			resp.Body.Close()
			cancel()
			last = fail(resp.StatusCode, fmt.Errorf("GET %s: answered %d", where, resp.StatusCode))
			if try < tries {
				if err := c.sleep(ctx, backoff(try, resp.Header)); err != nil {
					return nil, nil, err
				}
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			cancel()
			return nil, nil, fail(resp.StatusCode, fmt.Errorf("GET %s: answered %d", where, resp.StatusCode))
		}
		if resp.ContentLength > r.limit {
			resp.Body.Close()
			cancel()
			return nil, nil, &FetchError{Host: host, Status: http.StatusOK, Limit: r.limit,
				cause: fmt.Errorf("GET %s: %d bytes, more than %d", where, resp.ContentLength, r.limit)}
		}
		return &body{Reader: &sizeLimit{r: resp.Body, n: r.limit, limit: r.limit, host: host}, resp: resp, cancel: cancel}, resp.Header, nil
	}
	return nil, nil, last
}

// backoff is how long to wait before try+1: Retry-After when given (at
// most 30 s), else 1 s, 2 s, 4 s...
func backoff(try int, h http.Header) time.Duration {
	if h != nil {
		if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, 30*time.Second)
		}
	}
	return time.Duration(1<<(try-1)) * time.Second
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sizeLimit fails a read past n bytes, saying so; any other failure to
// read the body is a FetchError too.
type sizeLimit struct {
	r     io.Reader
	n     int64
	limit int64
	host  string
}

func (s *sizeLimit) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, &FetchError{Host: s.host, Status: http.StatusOK, Limit: s.limit,
			cause: fmt.Errorf("body of %s longer than %d bytes", s.host, s.limit)}
	}
	if int64(len(p)) > s.n {
		p = p[:s.n]
	}
	n, err := s.r.Read(p)
	s.n -= int64(n)
	if err != nil && err != io.EOF {
		err = &FetchError{Host: s.host, cause: fmt.Errorf("read the body: %w", err)}
	}
	return n, err
}
