package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// withHost sends a request to srv naming host in its Host header, with
// the API key if any, and returns the status, body and headers.
func withHost(t *testing.T, srv, host, method, path, key, body string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, srv+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.50") // inside WeChat: OAuth
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, path, host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// TestHostAllowList: without --base-url the server answers only for the
// hosts it serves; a forged Host header is refused before any handler runs,
// so it never reaches a link, a QR code or the publicly cached widget.js.
func TestHostAllowList(t *testing.T) {
	e := sqliteEngine(t)
	a, srv := startApp(t, e)
	s := signUp(t, srv.URL, "host-shop")
	w := newWXShop(t, a, srv.URL, "host-wx-shop")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))

	paths := []struct{ method, path, key, body string }{
		{http.MethodGet, "/s/host-shop/", "", ""},
		{http.MethodGet, "/s/host-shop/pcstore/widget.js", "", ""},
		{http.MethodGet, "/s/host-shop/qr.png", "", ""},
		{http.MethodGet, "/s/host-wx-shop/", "", ""}, // the OAuth redirect
		{http.MethodGet, "/api/v1/pcstore/widget", s.Key, ""},
		{http.MethodGet, "/api/v1/wechat", w.Key, ""},
		{http.MethodPost, "/api/v1/guides", s.Key, `{"name":"Li Na"}`},
		{http.MethodGet, "/login", "", ""},
		{http.MethodGet, "/no-such-page", "", ""},
	}
	tests := []struct {
		name   string
		host   string
		expect bool // served
	}{
		{"the test server's address", "127.0.0.1:" + port, true},
		{"localhost", "localhost:" + port, true},
		{"localhost in capitals, no port", "LOCALHOST", true},
		{"localhost with a trailing dot", "localhost.:" + port, true},
		{"IPv6 loopback", "[::1]:" + port, true},
		{"a forged host", "evil.example", false},
		{"a forged host with the port", "evil.example:" + port, false},
		{"a look-alike", "127.0.0.1.evil.example", false},
		{"localhost as a subdomain", "localhost.evil.example:" + port, false},
		{"another loopback address", "127.0.0.2:" + port, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range paths {
				status, body, _ := withHost(t, srv.URL, tt.host, p.method, p.path, p.key, p.body)
				refused := status == http.StatusMisdirectedRequest
				if refused == tt.expect {
					t.Errorf("%s %s with Host %q: %d %.80q", p.method, p.path, tt.host, status, body)
				}
				if !tt.expect && strings.Contains(string(body), "evil.example/") {
					t.Errorf("%s %s: the refusal links to the forged host: %.300q", p.method, p.path, body)
				}
			}
		})
	}

	t.Run("the refusal says why", func(t *testing.T) {
		status, body, _ := withHost(t, srv.URL, "evil.example", http.MethodGet, "/api/v1/pcstore/widget", s.Key, "")
		var out apiError
		_ = json.Unmarshal(body, &out)
		if status != http.StatusMisdirectedRequest || out.Error.Code != "misdirected_request" ||
			!strings.Contains(out.Error.Message, `"evil.example"`) || !strings.Contains(out.Error.Message, "--base-url") {
			t.Errorf("%d %s", status, body)
		}
	})
	t.Run("probes answer any host", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz"} {
			if status, body, _ := withHost(t, srv.URL, "10.1.2.3:8080", http.MethodGet, p, "", ""); status != http.StatusOK {
				t.Errorf("%s: %d %s", p, status, body)
			}
		}
	})

	t.Run("--hosts", func(t *testing.T) {
		cfg := testConfig()
		cfg.Hosts = []string{"shop.example.com", "[2001:db8::1]:443"}
		_, srv := startAppWith(t, e, cfg)
		for host, served := range map[string]bool{
			"shop.example.com": true, "SHOP.example.com:8443": true, "[2001:db8::1]": true,
			"localhost": false, "127.0.0.1": false, "evil.example": false,
		} {
			status, body, _ := withHost(t, srv.URL, host, http.MethodGet, "/s/host-shop/pcstore/widget.js", "", "")
			if (status == http.StatusOK) != served || (!served && status != http.StatusMisdirectedRequest) {
				t.Errorf("Host %q: %d %.200s", host, status, body)
			}
		}
	})
}

// TestBaseURLOverHost: with --base-url every address the server hands out
// is made from it, whatever Host the request names.
func TestBaseURLOverHost(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		cfg := testConfig()
		cfg.BaseURL = "https://shop.example.com"
		a, srv := startAppWith(t, e, cfg)
		w := newWXShop(t, a, srv.URL, "base-shop")
		const forged = "evil.example"
		check := func(what, got, want string) {
			t.Helper()
			if !strings.Contains(got, want) || strings.Contains(got, forged) {
				t.Errorf("%s: want %s, got %.400s", what, want, got)
			}
		}

		status, js, _ := withHost(t, srv.URL, forged, http.MethodGet, "/s/base-shop/pcstore/widget.js", "", "")
		if status != http.StatusOK {
			t.Fatalf("widget.js: %d %s", status, js)
		}
		check("widget.js", strings.ReplaceAll(string(js), `\/`, "/"), "https://shop.example.com/s/base-shop/?ch=pc_store")

		_, widget, _ := withHost(t, srv.URL, forged, http.MethodGet, "/api/v1/pcstore/widget", w.Key, "")
		check("the widget's snippet", string(widget), `"link":"https://shop.example.com/s/base-shop/?ch=pc_store"`)

		_, settings, _ := withHost(t, srv.URL, forged, http.MethodGet, "/api/v1/wechat", w.Key, "")
		check("the WeChat push URL", string(settings), `"push_url":"https://shop.example.com/wx/base-shop"`)

		var store struct{ ID string }
		_, b, _ := withHost(t, srv.URL, forged, http.MethodPost, "/api/v1/stores", w.Key, `{"name":"West Lake"}`)
		if err := json.Unmarshal(b, &store); err != nil || store.ID == "" {
			t.Fatalf("create store: %s", b)
		}
		_, guide, _ := withHost(t, srv.URL, forged, http.MethodPost, "/api/v1/guides", w.Key, `{"name":"Li Na","store_id":"`+store.ID+`"}`)
		check("a guide's link", string(guide), `"link":"https://shop.example.com/s/base-shop/?g=`)

		status, _, h := withHost(t, srv.URL, forged, http.MethodGet, "/s/base-shop/", "", "")
		loc, _ := url.Parse(h.Get("Location"))
		if status != http.StatusFound || loc == nil {
			t.Fatalf("storefront inside WeChat: %d %q", status, h.Get("Location"))
		}
		check("the OAuth redirect_uri", loc.Query().Get("redirect_uri"), "https://shop.example.com/s/base-shop/wx/oauth")
	})
}

// TestHostsConfig: live WeChat needs --base-url; --hosts takes host names.
func TestHostsConfig(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		expectErr string
		expect    []string // allowed hosts, nil for any
	}{
		{name: "sandbox defaults", args: nil, expect: []string{"localhost", "127.0.0.1", "::1"}},
		{name: "the --addr host joins", args: []string{"--addr", "shop.lan:8080"}, expect: []string{"localhost", "127.0.0.1", "::1", "shop.lan"}},
		{name: "an unspecified --addr does not", args: []string{"--addr", "0.0.0.0:8080"}, expect: []string{"localhost", "127.0.0.1", "::1"}},
		{name: "--base-url serves any host", args: []string{"--base-url", "https://shop.example.com/"}, expect: nil},
		{name: "--hosts replaces the defaults", args: []string{"--hosts", "a.example, B.example:8080,[::1]"}, expect: []string{"a.example", "b.example", "::1"}},
		{name: "--hosts from the environment, with --base-url", env: map[string]string{"MICROSHOP_HOSTS": "a.example", "MICROSHOP_BASE_URL": "https://shop.example.com"},
			expect: []string{"a.example", "shop.example.com"}},
		{name: "live without --base-url", args: []string{"--wechat", "live"}, expectErr: "--base-url"},
		{name: "live with --base-url", args: []string{"--wechat", "live", "--base-url", "https://shop.example.com"}, expect: nil},
		{name: "a URL in --hosts", args: []string{"--hosts", "https://a.example/"}, expectErr: "--hosts"},
		{name: "a port that is not one", args: []string{"--hosts", "a.example:http"}, expectErr: "--hosts"},
		{name: "a space in --hosts", args: []string{"--hosts", "a example"}, expectErr: "--hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.expectErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.expectErr) {
					t.Fatalf("err %v, want one about %s", err, tt.expectErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.allowedHosts(); strings.Join(got, ",") != strings.Join(tt.expect, ",") || (got == nil) != (tt.expect == nil) {
				t.Errorf("allowed hosts %q, want %q", got, tt.expect)
			}
			if strings.HasSuffix(cfg.BaseURL, "/") {
				t.Errorf("base URL %q keeps its slash", cfg.BaseURL)
			}
		})
	}
}
