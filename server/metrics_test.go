package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

const testMetricsToken = "metrics-token-for-tests-0123456789"

// scrape reads /metrics with the token and returns its samples: each
// series as written ("name{labels}") to its value.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testMetricsToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("scrape: %d %s\n%s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	samples := map[string]float64{}
	lines := bufio.NewScanner(res.Body)
	for lines.Scan() {
		line := lines.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

func TestMetricsCountRequests(t *testing.T) {
	cfg := testConfig()
	cfg.MetricsToken = testMetricsToken
	a, srv := startAppWith(t, sqliteEngine(t), cfg)
	a.echo.GET("/test-panic/:id", func(echo.Context) error { panic("boom") })
	get := func(path string) int {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	healthz := `microshop_http_requests_total{method="GET",route="/healthz",status="200"}`
	before := scrape(t, srv.URL)[healthz]
	if st := get("/healthz"); st != http.StatusOK {
		t.Fatalf("healthz: %d", st)
	}
	missing := get("/s/no-such-shop-4711/")
	if st := get("/test-panic/42"); st != http.StatusInternalServerError {
		t.Fatalf("panic: %d", st)
	}
	after := scrape(t, srv.URL)
	if after[healthz] != before+1 {
		t.Errorf("%s went from %v to %v, want one more", healthz, before, after[healthz])
	}
	if after[`microshop_http_request_duration_seconds_count{method="GET",route="/healthz"}`] < 1 {
		t.Errorf("no latency observed for /healthz")
	}
	// A shop's slug is a route parameter: the series names the pattern.
	found := false
	for series, n := range after {
		if strings.Contains(series, "no-such-shop-4711") {
			t.Errorf("a series names the raw URL: %s", series)
		}
		if strings.HasPrefix(series, "microshop_http_requests_total{") && strings.Contains(series, `route="/s/:slug/`) &&
			strings.Contains(series, `status="`+strconv.Itoa(missing)+`"`) && n >= 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no request to /s/:slug/... with status %d counted", missing)
	}
	if after[`microshop_http_requests_total{method="GET",route="/test-panic/:id",status="500"}`] != 1 {
		t.Errorf("a panic is not counted as its 500")
	}
	if after[`microshop_http_requests_total{method="GET",route="/metrics",status="200"}`] < 1 {
		t.Errorf("the first scrape is not counted")
	}
}

func TestMetricsNeedTheToken(t *testing.T) {
	cfg := testConfig()
	cfg.MetricsToken = testMetricsToken
	_, srv := startAppWith(t, sqliteEngine(t), cfg)
	for _, tc := range []struct{ name, auth string }{
		{"no token", ""},
		{"wrong token", "Bearer " + testMetricsToken + "x"},
		{"token without Bearer", testMetricsToken},
		{"basic", "Basic " + testMetricsToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "microshop_") {
				t.Errorf("got %d:\n%.300s", res.StatusCode, body)
			}
		})
	}

	// Without a token configured there is no /metrics.
	_, off := startApp(t, sqliteEngine(t))
	req, _ := http.NewRequest(http.MethodGet, off.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testMetricsToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || strings.Contains(string(body), "microshop_") {
		t.Errorf("/metrics without --metrics-token: %d\n%.300s", res.StatusCode, body)
	}
}

func TestMetricsConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "off by default"},
		{name: "flag", args: []string{"--metrics-token", testMetricsToken}, want: testMetricsToken},
		{name: "env", env: map[string]string{"MICROSHOP_METRICS_TOKEN": testMetricsToken}, want: testMetricsToken},
		{name: "too short", args: []string{"--metrics-token", "short"}, wantErr: "at least 16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.MetricsToken != tc.want {
				t.Fatalf("token %q, err %v; want %q", c.MetricsToken, err, tc.want)
			}
			if strings.Contains(c.String(), testMetricsToken) {
				t.Errorf("the start-up line shows the token: %s", c)
			}
		})
	}
}

func TestMetricsCountJobs(t *testing.T) {
	cfg := testConfig()
	cfg.MetricsToken = testMetricsToken
	a, srv := startAppWith(t, sqliteEngine(t), cfg)
	signUp(t, srv.URL, "metrics-jobs")
	ok := job{name: "probe_ok", shop: func(*app, context.Context, string) (any, error) { return struct{ Done int }{1}, nil }}
	bad := job{name: "probe_bad", shop: func(*app, context.Context, string) (any, error) { return nil, errors.New("boom") }}
	for _, j := range []job{ok, ok, bad} {
		if _, err := a.runJob(t.Context(), j, nil); err != nil {
			t.Fatalf("run %s: %v", j.name, err)
		}
	}
	m := scrape(t, srv.URL)
	for series, want := range map[string]float64{
		`microshop_job_runs_total{job="probe_ok"}`:              2,
		`microshop_job_failures_total{job="probe_ok"}`:          0,
		`microshop_job_duration_seconds_count{job="probe_ok"}`:  2,
		`microshop_job_runs_total{job="probe_bad"}`:             1,
		`microshop_job_failures_total{job="probe_bad"}`:         1,
		`microshop_job_duration_seconds_count{job="probe_bad"}`: 1,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
	var payments []string
	for series := range m {
		if strings.HasPrefix(series, "microshop_payments_total") {
			payments = append(payments, series)
		}
	}
	t.Logf("payments: %v", payments)
}

func TestMetricsCountOrders(t *testing.T) {
	cfg := testConfig()
	cfg.MetricsToken = testMetricsToken
	_, srv := startAppWith(t, sqliteEngine(t), cfg)
	s := signUp(t, srv.URL, "metrics-orders")
	tea := s.apiClient(t, srv.URL).createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 10})
	buyer := newShopper(t, srv.URL, s.Slug, "")
	buyer.buy(t, tea.ID, 1) // placed and paid (the sandbox pays through the WeChat Pay simulator)
	buyer.buy(t, tea.ID, 2)
	var unpaid orderJSON
	if st := buyer.json(http.MethodPost, "/s/"+s.Slug+"/api/orders", map[string]any{
		"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress}, &unpaid); st != http.StatusCreated {
		t.Fatalf("place: %d", st)
	}
	m := scrape(t, srv.URL)
	for series, want := range map[string]float64{
		`microshop_orders_placed_total`:                                  3,
		`microshop_orders_paid_total`:                                    2,
		`microshop_payments_total{outcome="paid",provider="wechat_pay"}`: 2,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
	// The sandbox's payments called the WeChat Pay simulator, as live ones call WeChat Pay.
	if n := m[`microshop_outbound_calls_total{outcome="ok",service="wechat_pay"}`]; n < 2 {
		t.Errorf("WeChat Pay calls counted: %v", n)
	}
	// Every write of those orders went through the shop's SQLite writer.
	if n := m["microshop_sqlite_commit_batch_size_count"]; n < 3 {
		t.Errorf("SQLite commits observed: %v", n)
	}
	if m["microshop_sqlite_commit_batch_size_sum"] < m["microshop_sqlite_commit_batch_size_count"] {
		t.Errorf("a commit carried no write: sum %v over %v commits", m["microshop_sqlite_commit_batch_size_sum"], m["microshop_sqlite_commit_batch_size_count"])
	}
}

// TestMetricsCountWeChatCalls: calls to WeChat API paths through
// http.DefaultClient (the WeChat SDK's client) count by API and outcome,
// errcode answers as errors, with the answer still whole for the caller;
// other requests pass uncounted.
func TestMetricsCountWeChatCalls(t *testing.T) {
	m := newMetrics()
	m.watchWeChatSDK()
	wx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cgi-bin/token":
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			io.WriteString(w, `{"access_token":"tok","expires_in":7200}`)
		case "/cgi-bin/message/custom/send":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, `{"errcode":45015,"errmsg":"response out of time limit"}`)
		case "/cgi-bin/showqrcode":
			w.Header().Set("Content-Type", "image/jpeg")
			io.WriteString(w, "\xff\xd8 not json")
		default:
			http.Error(w, "no", http.StatusBadGateway)
		}
	}))
	defer wx.Close()
	get := func(path string) string {
		t.Helper()
		res, err := http.DefaultClient.Get(wx.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	if b := get("/cgi-bin/token?grant_type=client_credential"); b != `{"access_token":"tok","expires_in":7200}` {
		t.Errorf("token answer reached the caller as %q", b)
	}
	get("/cgi-bin/token")
	if b := get("/cgi-bin/message/custom/send"); !strings.Contains(b, "45015") {
		t.Errorf("error answer reached the caller as %q", b)
	}
	get("/cgi-bin/showqrcode")
	get("/cgi-bin/menu/create")
	get("/somewhere/else")
	get("/cgi-bin/Weird%20Path")
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if _, err := http.DefaultClient.Get(closed.URL + "/sns/oauth2/access_token"); err == nil {
		t.Fatal("a closed server answered")
	}
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]float64{} // "api outcome" → count
	for _, f := range families {
		if f.GetName() != "microshop_wechat_api_calls_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			calls[labels["api"]+" "+labels["outcome"]] = s.GetCounter().GetValue()
		}
	}
	for _, tc := range []struct {
		api, outcome string
		want         float64
	}{
		{"/cgi-bin/token", "ok", 2},
		{"/cgi-bin/message/custom/send", "error", 1},
		{"/cgi-bin/showqrcode", "ok", 1},
		{"/cgi-bin/menu/create", "refused", 1},
		{"/sns/oauth2/access_token", "failed", 1},
	} {
		if got := calls[tc.api+" "+tc.outcome]; got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.api, tc.outcome, got, tc.want)
		}
	}
	if len(calls) != 5 {
		t.Errorf("series %v, want the 5 above (other paths uncounted)", calls)
	}
}

// TestMetricsCountCacheLookups: the storefront's page cache counts a miss
// when a page is first rendered and a hit when it is served again.
func TestMetricsCountCacheLookups(t *testing.T) {
	cfg := testConfig()
	cfg.MetricsToken = testMetricsToken
	_, srv := startAppWith(t, sqliteEngine(t), cfg)
	s := signUp(t, srv.URL, "cache-metrics")
	p := s.apiClient(t, srv.URL).createProduct(map[string]any{"title": "Longjing", "price": 3900, "stock": 5})
	hit := `microshop_cache_lookups_total{cache="storefront_pages",outcome="hit"}`
	miss := `microshop_cache_lookups_total{cache="storefront_pages",outcome="miss"}`
	before := scrape(t, srv.URL)
	shopper := newClient(t, srv.URL)
	for range 3 {
		shopper.page("/s/"+s.Slug+"/p/"+p.ID, http.StatusOK)
	}
	after := scrape(t, srv.URL)
	if got := after[miss] - before[miss]; got != 1 {
		t.Errorf("%s grew by %v, want 1 (the first rendering)", miss, got)
	}
	if got := after[hit] - before[hit]; got != 2 {
		t.Errorf("%s grew by %v, want 2 (the page served again twice)", hit, got)
	}
}
