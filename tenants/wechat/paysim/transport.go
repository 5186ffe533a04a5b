package paysim

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"
)

// How the SDK and the notifications reach the simulator and the shop in
// process.

// Client is an HTTP client whose requests (to api.mch.weixin.qq.com or
// anywhere) the simulator serves in process.
func (s *Simulator) Client() *http.Client {
	return &http.Client{Transport: Handler(s), Timeout: 10 * time.Second}
}

// RewriteClient is an HTTP client that sends requests to base (a listening
// simulator) instead of the host they name.
func RewriteClient(base string) *http.Client {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
		return pooled.RoundTrip(r)
	})}
}

// pooled is the transport of the simulator's HTTP clients and notifier: it
// keeps a connection per concurrent caller (Go's default keeps two per
// host, so 64 buyers paying at once would dial — and the other side
// accept — a connection for most calls).
var pooled = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 128
	return t
}()

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Handler is a transport that serves every request with h in process (the
// simulator itself, or the server's router for notifications).
func Handler(h http.Handler) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		var body []byte
		if r.Body != nil {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				return nil, err
			}
			_ = r.Body.Close()
		}
		in := r.Clone(r.Context())
		in.Body = io.NopCloser(bytes.NewReader(body))
		in.ContentLength = int64(len(body))
		in.RequestURI = r.URL.RequestURI()
		in.Host = r.URL.Host
		if in.RemoteAddr == "" {
			in.RemoteAddr = "127.0.0.1:1"
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, in)
		resp := rec.Result()
		resp.Request = r
		return resp, nil
	})
}
