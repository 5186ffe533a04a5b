package source_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/pcstore/source"
)

// TestPublicAddress: only global unicast addresses outside the IANA
// special-purpose registries are public; a mapped IPv4 is judged as IPv4.
func TestPublicAddress(t *testing.T) {
	cases := []struct {
		given  string
		expect bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"100.63.255.255", true},
		{"100.128.0.1", true},
		{"172.32.0.1", true},
		{"192.0.3.1", true},
		{"198.17.255.255", true},
		{"198.20.0.1", true},
		{"223.255.255.255", true},
		{"::ffff:8.8.8.8", true},
		{"2606:4700:4700::1111", true},
		{"2001:200::1", true},
		{"2003::1", true},

		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"10.0.0.1", false},
		{"100.64.0.1", false},
		{"100.127.255.254", false},
		{"127.0.0.1", false},
		{"127.1.2.3", false},
		{"169.254.169.254", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.0.0.1", false},
		{"192.0.0.170", false},
		{"192.0.2.1", false},
		{"192.88.99.1", false},
		{"192.168.1.1", false},
		{"198.18.0.1", false},
		{"198.19.255.254", false},
		{"198.51.100.1", false},
		{"203.0.113.1", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		{"::", false},
		{"::1", false},
		{"::127.0.0.1", false},
		{"::ffff:0.0.0.0", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:192.0.2.1", false},
		{"64:ff9b::7f00:1", false},
		{"64:ff9b::808:808", false},
		{"64:ff9b:1::1", false},
		{"100::1", false},
		{"2001::1", false},
		{"2001:1ff::1", false},
		{"2001:db8::1", false},
		{"2002:7f00:1::1", false},
		{"2002:808:808::1", false},
		{"3fff::1", false},
		{"fc00::1", false},
		{"fd00::2", false},
		{"fe80::1", false},
		{"febf::1", false},
		{"ff02::1", false},
		{"ff0e::1", false},
	}
	for _, tc := range cases {
		t.Run(tc.given, func(t *testing.T) {
			if got := source.Public(netip.MustParseAddr(tc.given)); got != tc.expect {
				t.Errorf("Public(%s) = %v, want %v", tc.given, got, tc.expect)
			}
		})
	}
}

// counter is a server on every interface that counts the connections it
// accepts and answers a one-product feed.
type counter struct {
	srv  *httptest.Server
	hits atomic.Int32
	port string
}

func newCounter(t *testing.T) *counter {
	t.Helper()
	ln, err := net.Listen("tcp", ":0") // every interface, v4 and v6
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	c.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		io.WriteString(w, "id\ttitle\tprice\nA\tA thing\t1.00\n")
	})}}
	c.srv.Start()
	t.Cleanup(c.srv.Close)
	_, c.port, _ = net.SplitHostPort(ln.Addr().String())
	return c
}

func (c *counter) url(host string) string {
	return "http://" + net.JoinHostPort(host, c.port) + "/feed.tsv"
}

// ownAddresses are this machine's interface addresses, loopback excepted.
func ownAddresses(t *testing.T) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().IsLoopback() && !p.Addr().IsLinkLocalUnicast() {
			out = append(out, p.Addr().String())
		}
	}
	return out
}

// TestRefusedAtConnect: every non-public destination is refused on the
// address dialled (so a name that resolves to one is refused too), before
// any connection, with the same error as any failed fetch. With loopback
// allowed (tests), only loopback gets through.
func TestRefusedAtConnect(t *testing.T) {
	srv := newCounter(t)
	hosts := []struct {
		host     string
		loopback bool
	}{
		{"localhost", true},
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"10.0.0.1", false},
		{"100.64.0.1", false},
		{"169.254.169.254", false},
		{"172.16.0.1", false},
		{"192.0.0.1", false},
		{"192.0.2.1", false},
		{"192.88.99.1", false},
		{"192.168.1.1", false},
		{"198.18.0.1", false},
		{"198.51.100.1", false},
		{"203.0.113.1", false},
		{"224.0.0.1", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		{"::", false},
		{"::ffff:0.0.0.0", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"64:ff9b::7f00:1", false},
		{"64:ff9b:1::1", false},
		{"100::1", false},
		{"2001::1", false},
		{"2001:db8::1", false},
		{"2002:7f00:1::1", false},
		{"fc00::1", false},
		{"fe80::1", false},
		{"ff02::1", false},
	}
	for _, own := range ownAddresses(t) {
		hosts = append(hosts, struct {
			host     string
			loopback bool
		}{own, false})
	}
	loopbacks := int32(0)
	for _, h := range hosts {
		if h.loopback {
			loopbacks++
		}
	}
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		loopbacks -= 2 // no IPv6 here: ::1 and ::ffff:127.0.0.1 are not reached, whatever the check
	} else {
		ln.Close()
	}
	for _, mode := range []string{"default", "loopback allowed"} {
		t.Run(mode, func(t *testing.T) {
			c := source.NewClient()
			source.NoBackoff(c)
			c.AllowLoopback(mode != "default")
			for _, h := range hosts {
				t.Run(h.host, func(t *testing.T) {
					t.Parallel()
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
					defer cancel()
					err := source.Fetch(ctx, c, srv.url(h.host), time.Second)
					if h.loopback && mode != "default" {
						if err != nil && !source.Refused(err) && strings.Contains(h.host, ":") {
							t.Skipf("no IPv6 loopback here: %v", err)
						}
						if err != nil {
							t.Fatalf("loopback with loopback allowed: %v", err)
						}
						return
					}
					if !source.Refused(err) {
						t.Fatalf("%s fetched, not refused at connect time: %v", h.host, err)
					}
					want := "could not read the store at " + strings.Trim(h.host, "[]")
					if err.Error() != want {
						t.Errorf("error %q, want %q", err, want)
					}
				})
			}
		})
	}
	if hits := srv.hits.Load(); hits > loopbacks { // only the loopback cases, with loopback allowed
		t.Errorf("the server was reached %d times, want %d", hits, loopbacks)
	}
}

// TestRedirectToRefused: a redirect from an allowed store to a refused
// address is refused when dialled; nothing reaches it.
func TestRedirectToRefused(t *testing.T) {
	target := newCounter(t)
	dests := []string{
		target.url("0.0.0.0"),
		target.url("::"),
		target.url("169.254.169.254"),
		target.url("10.0.0.1"),
		"http://[::ffff:169.254.169.254]/latest/meta-data/",
	}
	for _, own := range ownAddresses(t) {
		dests = append(dests, target.url(own))
	}
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	t.Cleanup(store.Close)
	c := source.NewClient()
	source.NoBackoff(c)
	c.AllowLoopback(true)
	for _, dest := range dests {
		t.Run(dest, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			err := source.Fetch(ctx, c, store.URL+"/feed?to="+dest, time.Second)
			if !source.Refused(err) {
				t.Fatalf("redirect to %s not refused at connect time: %v", dest, err)
			}
			if err.Error() != "could not read the store at 127.0.0.1" {
				t.Errorf("error %q names something else than the store", err)
			}
		})
	}
	if n := target.hits.Load(); n != 0 {
		t.Errorf("the refused address was reached %d times", n)
	}
}

// TestFetchErrorsAlike: a refused address, a closed port, an error status
// with a body, a TLS failure, a timeout, an unknown host and a bad redirect
// all read the same, never quoting what the far end sent; the details are
// for the server log.
func TestFetchErrorsAlike(t *testing.T) {
	const secret = "SECRET-BODY-root:x:0:0"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			http.Error(w, secret, http.StatusInternalServerError)
		case "/404":
			http.Error(w, secret, http.StatusNotFound)
		case "/401":
			http.Error(w, secret, http.StatusUnauthorized)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, secret) }))
	t.Cleanup(tlsSrv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/feed"
	ln.Close()

	open := source.NewClient()
	source.NoBackoff(open)
	open.AllowLoopback(true)
	strict := source.NewClient()
	source.NoBackoff(strict)
	cases := []struct {
		name   string
		client *source.Client
		url    string
	}{
		{"refused address", strict, srv.URL + "/500"},
		{"closed port", open, closed},
		{"500 with a body", open, srv.URL + "/500"},
		{"404 with a body", open, srv.URL + "/404"},
		{"401 with a body", open, srv.URL + "/401"},
		{"tls failure", open, tlsSrv.URL + "/feed"},
		{"timeout", open, srv.URL + "/slow"},
		{"redirect loop", open, srv.URL + "/loop"},
		{"redirect to file", open, srv.URL + "/to-file"},
	}
	want := "could not read the store at 127.0.0.1"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := source.Fetch(context.Background(), tc.client, tc.url, 300*time.Millisecond)
			var fe *source.FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %#v, want a FetchError", err)
			}
			if err.Error() != want || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q, want %q", err, want)
			}
			if d := fe.Detail(); d == "" || strings.Contains(d, "SECRET") {
				t.Errorf("detail %q: want the cause, without the body", d)
			}
		})
	}
	t.Run("unknown host", func(t *testing.T) {
		err := source.Fetch(context.Background(), open, "http://no-such-store.invalid/feed", time.Second)
		if err == nil || err.Error() != "could not read the store at no-such-store.invalid" {
			t.Errorf("unknown host: %v", err)
		}
	})
	t.Run("fetched", func(t *testing.T) {
		ok := newCounter(t)
		if err := source.Fetch(context.Background(), open, ok.url("127.0.0.1"), time.Second); err != nil {
			t.Errorf("a good fetch failed: %v", err)
		}
	})
}

// TestOwnPublicAddressRefused: the machine's own interface addresses are
// refused even when they are public.
func TestOwnPublicAddressRefused(t *testing.T) {
	c := source.NewClient()
	c.AllowLoopback(true)
	source.SetOwnAddresses(c, "8.8.8.8", "2606:4700:4700::1111")
	cases := []struct {
		given  string
		expect bool // refused
	}{
		{"8.8.8.8", true},
		{"::ffff:8.8.8.8", true},
		{"2606:4700:4700::1111", true},
		{"8.8.4.4", false},
		{"127.0.0.1", false}, // loopback allowed
	}
	for _, tc := range cases {
		err := source.CheckAddress(c, netip.MustParseAddr(tc.given))
		if got := source.Refused(err); got != tc.expect {
			t.Errorf("%s: refused %v (%v), want %v", tc.given, got, err, tc.expect)
		}
	}
}
