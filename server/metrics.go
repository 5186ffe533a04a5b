package main

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"microshop/shop/order"
)

// metrics is what the server counts for Prometheus, on a registry of its
// own (never the global default one): requests, scheduled jobs, orders
// and payments, the SQLite writers' commits, and the Go runtime and
// process. newServices builds it; GET /metrics serves it to a
// scraper that presents --metrics-token.
type metrics struct {
	registry *prometheus.Registry
	// requests and latency are by route pattern (Echo's c.Path(), so ids
	// in URLs do not multiply the series), method and status.
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// jobRuns, jobFailures and jobDuration are by job name.
	jobRuns     *prometheus.CounterVec
	jobFailures *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	// placed and paid count orders; payments are payment notifications
	// by provider and outcome (order.Counter).
	placed   prometheus.Counter
	paid     prometheus.Counter
	payments *prometheus.CounterVec
	// batches and queued are the SQLite writers' commits: the write
	// transactions each carries, and those queued behind it
	// (engine.WriterMetrics).
	batches prometheus.Histogram
	queued  prometheus.Histogram
	// calls are calls to outside services (WeChat Pay) by outcome.
	calls *prometheus.CounterVec
	// wechatCalls are the WeChat SDK's calls to the WeChat API, by API
	// and outcome (watchWeChatSDK).
	wechatCalls *prometheus.CounterVec
	// cache counts lookups of the caches a request reads first (the
	// storefront's rendered pages, the market's search answers).
	cache *prometheus.CounterVec
}

// newMetrics registers the server's collectors on a new registry.
func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microshop_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "microshop_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microshop_job_runs_total",
			Help: "Runs of a scheduled job (a run that found another replica holding its lease is not counted).",
		}, []string{"job"}),
		jobFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microshop_job_failures_total",
			Help: "Runs of a scheduled job that failed as a whole or in at least one shop.",
		}, []string{"job"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "microshop_job_duration_seconds",
			Help:    "Duration of a scheduled job's run over every shop.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 120, 300},
		}, []string{"job"}),
		placed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microshop_orders_placed_total",
			Help: "Orders placed (awaiting payment).",
		}),
		paid: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microshop_orders_paid_total",
			Help: "Orders paid.",
		}),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microshop_payments_total",
			Help: "Payment notifications applied, by provider and outcome (paid, repeated, flagged for a refund, refused).",
		}, []string{"provider", "outcome"}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "microshop_sqlite_commit_batch_size",
			Help:    "Write transactions carried by one commit of a shop's SQLite file (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		queued: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "microshop_sqlite_write_queue_length",
			Help:    "Write transactions still queued on a shop's SQLite file when a commit starts.",
			Buckets: []float64{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microshop_outbound_calls_total",
			Help: "Calls to an outside service, by service and outcome (ok: a 2xx answer; refused: another status; failed: no answer).",
		}, []string{"service", "outcome"}),
		wechatCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microshop_wechat_api_calls_total",
			Help: "Calls to the WeChat API (official accounts: tokens, messages, QR codes, OAuth …), by API path and outcome " +
				"(ok; error: an answer with a non-zero errcode; refused: a non-2xx status; failed: no answer).",
		}, []string{"api", "outcome"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microshop_cache_lookups_total",
			Help: "Lookups of a cache, by cache (storefront_pages, market_answers) and outcome (hit, miss).",
		}, []string{"cache", "outcome"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.jobRuns, m.jobFailures, m.jobDuration, m.placed, m.paid, m.payments,
		m.batches, m.queued, m.calls, m.wechatCalls, m.cache,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// request counts one answered request (a nil m counts nothing).
func (m *metrics) request(route, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched" // no route, not even a group's: never the raw URL
	}
	method = knownMethod(method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(took.Seconds())
}

// job counts one run of the job name (a nil m counts nothing).
func (m *metrics) job(name string, took time.Duration, failed bool) {
	if m == nil {
		return
	}
	m.jobRuns.WithLabelValues(name).Inc()
	if failed {
		m.jobFailures.WithLabelValues(name).Inc()
	}
	m.jobDuration.WithLabelValues(name).Observe(took.Seconds())
}

// OrderPlaced counts an order placed (order.Counter).
func (m *metrics) OrderPlaced() { m.placed.Inc() }

// PaymentApplied counts a payment notification by provider and outcome;
// one that paid its order counts the order paid (order.Counter).
func (m *metrics) PaymentApplied(provider, outcome string) {
	m.payments.WithLabelValues(provider, outcome).Inc()
	if outcome == order.PaymentPaid {
		m.paid.Inc()
	}
}

// WriteBatch observes one commit of a SQLite writer (engine.WriterMetrics).
func (m *metrics) WriteBatch(size, queued int) {
	m.batches.Observe(float64(size))
	m.queued.Observe(float64(queued))
}

// knownMethod is method, or "other" for a method HTTP does not define (a
// client's made-up method must not make a series).
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// handler is GET /metrics: the registry in Prometheus' format for a
// request bearing token (Authorization: Bearer <token>), a 401 otherwise.
func (m *metrics) handler(token string) echo.HandlerFunc {
	h := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	want := []byte("Bearer " + token)
	return func(c echo.Context) error {
		got := []byte(strings.TrimSpace(c.Request().Header.Get(echo.HeaderAuthorization)))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
			return echo.ErrUnauthorized
		}
		h.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// countCalls returns c with each call counted as service's in
// microshop_outbound_calls_total by outcome (a nil m counts nothing).
func (m *metrics) countCalls(service string, c *http.Client) *http.Client {
	if m == nil {
		return c
	}
	out := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = countingTransport{base: base, count: func(outcome string) { m.calls.WithLabelValues(service, outcome).Inc() }}
	return &out
}

// countingTransport counts each round trip by its outcome.
type countingTransport struct {
	base  http.RoundTripper
	count func(outcome string)
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	switch {
	case err != nil:
		t.count("failed")
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		t.count("ok")
	default:
		t.count("refused")
	}
	return resp, err
}

// The WeChat SDK (github.com/silenceper/wechat/v2) sends its calls with
// http.DefaultClient, so that client's transport counts them, once per
// process, into every app's metrics that asked (a process runs one app;
// tests run many, each counting every call).
var wechatSDK struct {
	once     sync.Once
	mu       sync.Mutex
	watchers []*metrics
}

// watchWeChatSDK counts the WeChat SDK's calls in
// microshop_wechat_api_calls_total (a nil m counts nothing).
func (m *metrics) watchWeChatSDK() {
	if m == nil {
		return
	}
	wechatSDK.mu.Lock()
	wechatSDK.watchers = append(wechatSDK.watchers, m)
	wechatSDK.mu.Unlock()
	wechatSDK.once.Do(func() {
		base := http.DefaultClient.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		http.DefaultClient.Transport = weChatTransport{base: base}
	})
}

// weChatTransport counts the calls to WeChat API paths (weChatAPI) by
// outcome and passes every other request through.
type weChatTransport struct{ base http.RoundTripper }

func (t weChatTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	api, ok := weChatAPI(r.URL.Path)
	if !ok {
		return t.base.RoundTrip(r)
	}
	resp, err := t.base.RoundTrip(r)
	outcome := "ok"
	switch {
	case err != nil:
		outcome = "failed"
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		outcome = "refused"
	case weChatError(resp):
		outcome = "error"
	}
	wechatSDK.mu.Lock()
	watchers := wechatSDK.watchers
	wechatSDK.mu.Unlock()
	for _, m := range watchers {
		m.wechatCalls.WithLabelValues(api, outcome).Inc()
	}
	return resp, err
}

// weChatAPI is the API a request path names (/cgi-bin/message/custom/send),
// if it is a WeChat API path: under /cgi-bin/, /sns/, /customservice/,
// /datacube/ or /wxa/, of lower-case letters, digits, _, - and /, at most 64
// characters (so no path makes a series of its own).
func weChatAPI(path string) (string, bool) {
	known := false
	for _, p := range []string{"/cgi-bin/", "/sns/", "/customservice/", "/datacube/", "/wxa/"} {
		known = known || strings.HasPrefix(path, p)
	}
	if !known || len(path) > 64 {
		return "", false
	}
	for _, c := range path {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '/') {
			return "", false
		}
	}
	return path, true
}

// weChatError reports whether a WeChat API answer is an error: JSON with
// a non-zero errcode (WeChat answers errors with status 200). The body is
// read (up to 64 KiB; a longer or non-JSON one, a picture, is left as it
// is) and put back for the SDK.
func weChatError(resp *http.Response) bool {
	ct := resp.Header.Get("Content-Type")
	if resp.Body == nil || !strings.Contains(ct, "json") && !strings.HasPrefix(ct, "text/plain") {
		return false
	}
	const limit = 64 << 10
	head, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil || len(head) > limit {
		return false
	}
	var answer struct {
		ErrCode int64 `json:"errcode"`
	}
	return json.Unmarshal(head, &answer) == nil && answer.ErrCode != 0
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

// cacheLookups returns what counts the lookups of the named cache (nil
// with no metrics).
func (m *metrics) cacheLookups(name string) func(hit bool) {
	if m == nil {
		return nil
	}
	hit, miss := m.cache.WithLabelValues(name, "hit"), m.cache.WithLabelValues(name, "miss")
	return func(ok bool) {
		if ok {
			hit.Inc()
		} else {
			miss.Inc()
		}
	}
}
