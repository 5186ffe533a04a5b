package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
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

// Client fetches from PC stores: only http(s), with timeouts, size limits,
// a few retries on 429 and 5xx, and (unless allowed) never to loopback,
// private or link-local addresses, checked on the address actually dialled
// so DNS tricks do not get around it.
type Client struct {
	hc           *http.Client
	allowPrivate atomic.Bool
	userAgent    string
	sleep        func(context.Context, time.Duration) error
}

// NewClient returns a client that refuses private addresses.
func NewClient() *Client {
	c := &Client{userAgent: "microshop-pcstore/1 (+catalog import)", sleep: sleepCtx}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: c.checkDial}
	tr := &http.Transport{
		Proxy:                 nil, // the address check must see the real peer
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       60 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}
	c.hc = &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		// FetchErrors, so get does not retry them.
		if len(via) >= maxRedirects {
			return &FetchError{Msg: fmt.Sprintf("more than %d redirects", maxRedirects)}
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return &FetchError{Msg: fmt.Sprintf("redirected to a %s: address; only http and https are fetched", fault.Clip(req.URL.Scheme, 20))}
		}
		return nil
	}}
	return c
}

// AllowPrivateNetworks lets the client fetch from loopback and private
// addresses: for tests, and for installations whose PC store is on the
// same network.
func (c *Client) AllowPrivateNetworks(allow bool) { c.allowPrivate.Store(allow) }

// WithTransport replaces the client's transport (tests: a TLS test server's).
// The private-address check applies only to the default transport.
func (c *Client) WithTransport(rt http.RoundTripper) *Client {
	hc := *c.hc
	hc.Transport = rt
	n := &Client{hc: &hc, userAgent: c.userAgent, sleep: c.sleep}
	n.allowPrivate.Store(c.allowPrivate.Load())
	return n
}

func (c *Client) checkDial(network, address string, _ syscall.RawConn) error {
	if c.allowPrivate.Load() {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || isCGNAT(ip) {
		return &FetchError{Msg: fmt.Sprintf("%s is a private or local network address; only public PC stores can be linked", host)}
	}
	return nil
}

// isCGNAT: 100.64.0.0/10, shared address space (often cloud metadata).
func isCGNAT(ip net.IP) bool {
	ip4 := ip.To4()
	return ip4 != nil && ip4[0] == 100 && ip4[1]&0xC0 == 64
}

// FetchError is a fetch that failed for a reason the merchant can act on.
type FetchError struct {
	URL    string
	Status int // the HTTP status, 0 for transport errors
	Msg    string
}

func (e *FetchError) Error() string {
	if e.URL == "" {
		return e.Msg
	}
	return e.Msg + " (" + e.URL + ")"
}

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
// few times, and returns the body and its declared length (-1 unknown).
func (c *Client) get(ctx context.Context, r request) (*body, http.Header, error) {
	if _, err := CheckURL(r.url); err != nil {
		return nil, nil, &FetchError{URL: r.url, Msg: "the address " + err.Error()}
	}
	var last error
	for try := 1; try <= maxTries; try++ {
		rctx, cancel := context.WithTimeout(ctx, r.timeout)
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, r.url, nil)
		if err != nil {
			cancel()
			return nil, nil, &FetchError{URL: r.url, Msg: "bad address: " + err.Error()}
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
			var fe *FetchError
			if errors.As(err, &fe) {
				return nil, nil, &FetchError{URL: r.url, Msg: fe.Msg}
			}
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			last = &FetchError{URL: r.url, Msg: "could not reach the store: " + transportMsg(err)}
			if err := c.sleep(ctx, backoff(try, nil)); err != nil {
				return nil, nil, err
			}
			continue
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			resp.Body.Close()
			cancel()
			last = statusError(r.url, resp.StatusCode)
			if try < maxTries {
				if err := c.sleep(ctx, backoff(try, resp.Header)); err != nil {
					return nil, nil, err
				}
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			cancel()
			return nil, nil, statusError(r.url, resp.StatusCode)
		}
		if resp.ContentLength > r.limit {
			resp.Body.Close()
			cancel()
			return nil, nil, &FetchError{URL: r.url, Status: 200, Msg: fmt.Sprintf("the document is %d MB, more than the %d MB allowed", resp.ContentLength>>20, r.limit>>20)}
		}
		return &body{Reader: &sizeLimit{r: resp.Body, n: r.limit, url: r.url}, resp: resp, cancel: cancel}, resp.Header, nil
	}
	return nil, nil, last
}

func transportMsg(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "no such host " + dns.Name
	}
	return fault.Clip(err.Error(), 120)
}

func statusError(u string, status int) *FetchError {
	msg := fmt.Sprintf("the store answered %d %s", status, http.StatusText(status))
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += ": check the API key and secret, and that they may read products"
	case http.StatusNotFound:
		msg += ": check the address (and the store type)"
	case http.StatusTooManyRequests:
		msg += ": too many requests; the next sync tries again"
	}
	return &FetchError{URL: u, Status: status, Msg: msg}
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

// sizeLimit fails a read past n bytes, saying so.
type sizeLimit struct {
	r   io.Reader
	n   int64
	url string
}

func (s *sizeLimit) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, &FetchError{URL: s.url, Msg: "the document is larger than allowed"}
	}
	if int64(len(p)) > s.n {
		p = p[:s.n]
	}
	n, err := s.r.Read(p)
	s.n -= int64(n)
	return n, err
}
