package pcstore_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/pcstore"
	"microshop/shop/pcstore/source"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

func ptr[T any](v T) *T { return &v }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lister is the shops RunDue sees.
type lister []string

func (l lister) TenantIDs(context.Context) ([]string, error) { return l, nil }

// env is one engine with the catalog and a syncer over it, as the server
// wires them.
type env struct {
	e        *engine.Engine
	cat      *catalog.Catalog
	store    pcstore.Store
	platform tenants.Store
	tenant   string
}

func newEnv(t *testing.T, e *engine.Engine) *env {
	t.Helper()
	cs := catalog.NewStore(e)
	return &env{e: e, cat: catalog.New(cs, catalog.NewShelf(cs, time.Hour)), store: pcstore.NewStore(e),
		platform: tenants.NewStore(e), tenant: enginetest.Tenant(t, e)}
}

// replica is one server's syncer: its own leaser (holder id), loopback
// allowed (the PC stores here are local test servers).
func (v *env) replica(t *testing.T, client *source.Client) *pcstore.Syncer {
	t.Helper()
	if client == nil {
		client = source.NewClient()
	}
	client.AllowLoopback(true)
	s := pcstore.NewSyncer(v.store, v.cat, tenants.NewLeaser(v.platform), lister{v.tenant}, client,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.BatchSize = 20
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

// products returns the shop's products by title.
func (v *env) products(t *testing.T) map[string]catalog.Product {
	t.Helper()
	out := map[string]catalog.Product{}
	for offset := 0; ; offset += 100 {
		items, total, err := v.cat.List(context.Background(), v.tenant, catalog.Filter{Limit: 100, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range items {
			full, err := v.cat.Get(context.Background(), v.tenant, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, dup := out[p.Title]; dup {
				t.Errorf("two products titled %q", p.Title)
			}
			out[p.Title] = full
		}
		if int64(offset+100) >= total {
			return out
		}
	}
}

// feedServer serves a feed whose body the test changes.
type feedServer struct {
	*httptest.Server
	body atomic.Value // []byte
}

func newFeedServer(t *testing.T, body []byte) *feedServer {
	f := &feedServer{}
	f.body.Store(body)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/feed.xml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		_, _ = w.Write(f.body.Load().([]byte))
	}))
	t.Cleanup(f.Close)
	return f
}

func mustSync(t *testing.T, s *pcstore.Syncer, tenant string) pcstore.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := s.Sync(ctx, tenant, "api")
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if r.Status != pcstore.Succeeded {
		t.Fatalf("run %s: status %s, error %q", r.ID, r.Status, r.Error)
	}
	return r
}

func runErrors(t *testing.T, s *pcstore.Syncer, tenant, run string) string {
	t.Helper()
	errs, err := s.RunErrors(context.Background(), tenant, run, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "%s [%s] %s\n", e.Ref, e.ExternalID, e.Message)
	}
	return b.String()
}

// TestSyncFeed follows a shop through a Google Merchant feed's life: the
// preview imports nothing; the first sync creates what it can and reports
// the rest per item; a rate lets a dollar price in; the micro-shop's own
// status survives syncs; a product gone from the feed goes off sale and
// comes back; an edit in the PC store wins over one in the micro-shop for
// the fields the PC store owns.
func TestSyncFeed(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		v := newEnv(t, e)
		s := v.replica(t, nil)
		feed := newFeedServer(t, fixture(t, "feed_rss.xml"))

		link, prev, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "feed", URL: feed.URL + "/feed.xml"})
		if err != nil {
			t.Fatal(err)
		}
		if prev.Count != 7 || prev.Importable != 2 || prev.ProblemCount != 5 || !prev.Complete ||
			len(prev.Items) != 2 || prev.Items[0].Title != "Longjing Dragon Well 250 g" || prev.Items[0].Price != 29800 {
			t.Fatalf("preview = %+v", prev)
		}
		if link.IntervalMinutes != 60 || link.View().Scheduled {
			t.Errorf("a fresh link is not scheduled before its first sync: %+v", link.View())
		}
		if got := v.products(t); len(got) != 0 {
			t.Fatalf("the preview imported %d products", len(got))
		}

		r := mustSync(t, s, v.tenant)
		if r.Counts != (pcstore.Counts{Created: 2, Failed: 5}) {
			t.Fatalf("first sync counts = %+v\n%s", r.Counts, runErrors(t, s, v.tenant, r.ID))
		}
		errs := runErrors(t, s, v.tenant, r.ID)
		for _, want := range []string{"item 4 [LT-USD] price is in USD, not CNY: set an exchange rate for USD",
			`item 5 [LT-BADPRICE] price "12,50 CNY"`, "item 6 [LT-NOTITLE] no title",
			`item 7 [LT-001] id "LT-001" is listed again (first at item 1)`, "item 8 [LT-HUGE] stock 99999999999 is more than"} {
			if !strings.Contains(errs, want) {
				t.Errorf("run errors lack %q:\n%s", want, errs)
			}
		}
		got := v.products(t)
		tea, cup := got["Longjing Dragon Well 250 g"], got["Celadon Cup"]
		if tea.Price != 29800 || tea.OriginalPrice != 32800 || tea.Stock != pcstore.DefaultAssumedStock || tea.Category != "Green tea" || len(tea.Images) != 3 ||
			tea.Description != "Pre-Qingming Longjing, pan-fired by hand.\n\n250 g tin." || tea.Status != catalog.OnSale {
			t.Errorf("tea = %+v", tea)
		}
		if len(cup.SKUs) != 2 || cup.SKUs[0].Name != "Blue" || cup.SKUs[0].Price != 6800 || cup.SKUs[0].Stock != 12 ||
			cup.SKUs[1].Name != "White" || cup.SKUs[1].Stock != 0 || cup.SKUs[0].Code != "LT-CUP-BLUE" ||
			cup.Price != 6800 { // listed at the cheapest cup in stock: the white one is sold out
			t.Errorf("cup = %+v", cup)
		}

		// A rate lets the dollar kettle in; everything else is unchanged.
		if _, _, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "feed", URL: feed.URL + "/feed.xml",
			Rates: map[string]string{"USD": "7.2"}}); err != nil {
			t.Fatal(err)
		}
		r = mustSync(t, s, v.tenant)
		if r.Counts != (pcstore.Counts{Created: 1, Unchanged: 2, Failed: 4}) {
			t.Fatalf("sync with a rate = %+v\n%s", r.Counts, runErrors(t, s, v.tenant, r.ID))
		}
		if k := v.products(t)["Imported Kettle"]; k.Price != 32760 { // 45.50 × 7.2
			t.Errorf("kettle price = %d, want 32760", k.Price)
		}

		// The merchant takes the tea off sale in the micro-shop: syncs keep it so.
		if _, err := v.cat.Patch(ctx, v.tenant, tea.ID, catalog.Input{Status: ptr(catalog.OffSale)}); err != nil {
			t.Fatal(err)
		}
		r = mustSync(t, s, v.tenant)
		if r.Counts.Unchanged != 3 || r.Counts.Updated != 0 {
			t.Errorf("after the merchant's status change = %+v", r.Counts)
		}

		// The PC store changes a price and drops the kettle.
		body := strings.Replace(string(fixture(t, "feed_rss.xml")), "<g:price>58.00 CNY</g:price>", "<g:price>48.00 CNY</g:price>", 1)
		i, j := strings.Index(body, "<item>\n      <g:id>LT-USD"), strings.Index(body, "<item>\n      <g:id>LT-BADPRICE")
		withoutKettle := body[:i] + body[j:]
		feed.body.Store([]byte(withoutKettle))
		r = mustSync(t, s, v.tenant)
		if r.Counts != (pcstore.Counts{Updated: 1, Unchanged: 1, OffSale: 1, Failed: 4}) {
			t.Fatalf("after the store's changes = %+v\n%s", r.Counts, runErrors(t, s, v.tenant, r.ID))
		}
		got = v.products(t)
		if c := got["Celadon Cup"]; c.SKUs[1].Price != 4800 || c.SKUs[0].ID != cup.SKUs[0].ID || c.SKUs[1].ID != cup.SKUs[1].ID {
			t.Errorf("cup after the price change = %+v (SKU ids must stay)", c.SKUs)
		}
		if k := got["Imported Kettle"]; k.Status != catalog.OffSale {
			t.Errorf("kettle gone from the feed: status %s, want off sale (and not deleted)", k.Status)
		}
		if tea := got["Longjing Dragon Well 250 g"]; tea.Status != catalog.OffSale {
			t.Errorf("tea status %s: the merchant's off-sale was undone", tea.Status)
		}

		// The kettle comes back, and the merchant renames the tea here: the
		// PC store's title wins, the merchant's status stays.
		feed.body.Store([]byte(body))
		if _, err := v.cat.Patch(ctx, v.tenant, tea.ID, catalog.Input{Title: ptr("My own tea title")}); err != nil {
			t.Fatal(err)
		}
		r = mustSync(t, s, v.tenant)
		if r.Counts != (pcstore.Counts{Updated: 2, Unchanged: 1, Failed: 4}) {
			t.Fatalf("after the kettle came back = %+v", r.Counts)
		}
		got = v.products(t)
		if k := got["Imported Kettle"]; k.Status != catalog.OnSale {
			t.Errorf("kettle back in the feed: status %s", k.Status)
		}
		if tea := got["Longjing Dragon Well 250 g"]; tea.ID == "" || tea.Status != catalog.OffSale {
			t.Errorf("tea after the sync = %+v", tea)
		}
		if len(got) != 3 {
			t.Errorf("%d products, want 3 (nothing duplicated, nothing deleted)", len(got))
		}

		runs, err := s.Runs(ctx, v.tenant, time.Time{}, 10)
		if err != nil || len(runs) != 5 {
			t.Fatalf("runs = %d %v", len(runs), err)
		}
		link, _ = s.Link(ctx, v.tenant)
		if !link.View().Scheduled || link.CurrentRun != "" || link.LastRunID != runs[0].ID || link.LastCount != 7 {
			t.Errorf("link after syncs = %+v", link)
		}
	})
}

// shopifyServer serves n generated products from products.json, in pages
// as Shopify does; block, when set, holds the request for that page until
// released.
type shopifyServer struct {
	*httptest.Server
	n        int
	currency string
	mu       sync.Mutex
	pages    map[int]int // page -> requests
	block    int
	blocked  chan struct{} // closed when the blocked page is requested
	release  chan struct{}
}

func newShopify(t *testing.T, n int, currency string) *shopifyServer {
	s := &shopifyServer{n: n, currency: currency, pages: map[int]int{}, blocked: make(chan struct{}), release: make(chan struct{})}
	var product map[string]any
	var page struct {
		Products []map[string]any `json:"products"`
	}
	if err := json.Unmarshal(fixture(t, "shopify_products.json"), &page); err != nil {
		t.Fatal(err)
	}
	product = page.Products[0]
	var once sync.Once
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/meta.json":
			var meta map[string]any
			_ = json.Unmarshal(fixture(t, "shopify_meta.json"), &meta)
			meta["currency"] = s.currency
			_ = json.NewEncoder(w).Encode(meta)
			return
		case "/products.json":
		default:
			http.NotFound(w, r)
			return
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if limit < 1 || limit > 250 || pg < 1 {
			http.Error(w, `{"errors":"bad paging"}`, http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.pages[pg]++
		block := s.block
		s.mu.Unlock()
		if pg == block {
			once.Do(func() { close(s.blocked) })
			select {
			case <-s.release:
			case <-r.Context().Done():
				return
			}
		}
		out := map[string][]map[string]any{"products": {}}
		for i := (pg - 1) * limit; i < pg*limit && i < s.n; i++ {
			p := map[string]any{}
			for k, v := range product {
				p[k] = v
			}
			p["id"] = 1000000 + i
			p["title"] = fmt.Sprintf("Generated tea %04d", i)
			p["handle"] = fmt.Sprintf("tea-%d", i)
			p["variants"] = []map[string]any{{"id": 5000000 + i, "title": "Default Title", "price": fmt.Sprintf("%d.%02d", 10+i, i%100), "available": true}}
			out["products"] = append(out["products"], p)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *shopifyServer) requests(page int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pages[page]
}

// TestSyncResumesAfterCrash interrupts a Shopify import between pages
// (the replica shuts down) and lets another replica's schedule resume it:
// the pages already applied are not read again, and every product exists
// exactly once.
func TestSyncResumesAfterCrash(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		v := newEnv(t, e)
		shop := newShopify(t, 255, "CNY") // page 1: 250, page 2: 5
		first := v.replica(t, nil)
		if _, _, err := first.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL + "/collections/all"}); err != nil {
			t.Fatal(err)
		}
		shop.mu.Lock()
		shop.block = 2
		shop.mu.Unlock()
		r, err := first.Start(ctx, v.tenant, "manual")
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-shop.blocked:
		case <-time.After(2 * time.Minute):
			t.Fatal("page 2 never requested")
		}
		// Page 1 is applied and checkpointed before page 2 is asked for.
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := first.Shutdown(sctx); err != nil {
			t.Fatal(err)
		}
		mid, err := v.store.GetRun(ctx, v.tenant, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if mid.Status != pcstore.Running || mid.Page != 1 || mid.Counts.Created != 250 {
			t.Fatalf("interrupted run = %+v", mid)
		}
		close(shop.release)
		page1 := shop.requests(1) // the preview's and the first pass's

		second := v.replica(t, nil)
		if err := second.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		wctx, cancel2 := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel2()
		done, err := second.Wait(wctx, v.tenant, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != pcstore.Succeeded || done.Resumes != 1 || done.Counts != (pcstore.Counts{Created: 255}) {
			t.Fatalf("resumed run = %+v", done)
		}
		if n := shop.requests(1) - page1; n != 0 {
			t.Errorf("page 1 read %d more times; the resumed run must start after it", n)
		}
		if got := v.products(t); len(got) != 255 {
			t.Errorf("%d products, want 255", len(got))
		}
		// Nothing is due now: the next sync is an interval away.
		if err := second.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		if runs, _ := second.Runs(ctx, v.tenant, time.Time{}, 10); len(runs) != 1 {
			t.Errorf("RunDue started another run: %d runs", len(runs))
		}
		// Once its interval has passed, the next RunDue (on a replica that
		// reads the schedule afresh) syncs the shop: nothing changed.
		l, err := v.store.GetLink(ctx, v.tenant)
		if err != nil {
			t.Fatal(err)
		}
		if !l.View().Scheduled || l.NextRunAt.Before(time.Now().Add(50*time.Minute)) {
			t.Errorf("next run at %v, want an hour from now", l.NextRunAt)
		}
		l.NextRunAt = time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
		if err := v.store.PutLink(ctx, v.tenant, l); err != nil {
			t.Fatal(err)
		}
		third := v.replica(t, nil)
		if err := third.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		runs, _ := third.Runs(ctx, v.tenant, time.Time{}, 10)
		if len(runs) != 2 || runs[0].Trigger != "schedule" {
			t.Fatalf("runs after the interval = %+v", runs)
		}
		if done, err := third.Wait(wctx, v.tenant, runs[0].ID); err != nil || done.Status != pcstore.Succeeded || done.Counts.Unchanged != 255 {
			t.Errorf("scheduled run = %+v %v", done, err)
		}
	})
}

// TestOneReplicaPerShop: while one replica syncs a shop, another cannot.
func TestOneReplicaPerShop(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		v := newEnv(t, e)
		shop := newShopify(t, 3, "CNY")
		a, b := v.replica(t, nil), v.replica(t, nil)
		if _, _, err := a.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL}); err != nil {
			t.Fatal(err)
		}
		shop.mu.Lock()
		shop.block = 1
		shop.mu.Unlock()
		r, err := a.Start(ctx, v.tenant, "manual")
		if err != nil {
			t.Fatal(err)
		}
		<-shop.blocked
		var busy *pcstore.Busy
		if _, err := b.Start(ctx, v.tenant, "manual"); !errors.As(err, &busy) || !errors.Is(err, fault.ErrConflict) {
			t.Errorf("second replica: %v, want busy", err)
		}
		if _, err := a.Start(ctx, v.tenant, "manual"); !errors.As(err, &busy) || busy.RunID != r.ID {
			t.Errorf("same replica again: %v, want busy with run %s", err, r.ID)
		}
		// Racing starts from many replicas: none gets in.
		var wg sync.WaitGroup
		var started atomic.Int32
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := v.replica(t, nil).Start(ctx, v.tenant, "manual"); err == nil {
					started.Add(1)
				}
			}()
		}
		wg.Wait()
		if started.Load() != 0 {
			t.Errorf("%d replicas started a second sync", started.Load())
		}
		close(shop.release)
		done, err := a.Wait(ctx, v.tenant, r.ID)
		if err != nil || done.Status != pcstore.Succeeded || done.Counts.Created != 3 {
			t.Fatalf("run = %+v %v", done, err)
		}
	})
}

// TestSyncShopifyCurrency: a store in dollars imports only with a rate.
func TestSyncShopifyCurrency(t *testing.T) {
	e, err := tenants.OpenSQLite(t.TempDir(), schemas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ctx := context.Background()
	v := newEnv(t, e)
	shop := newShopify(t, 4, "USD")
	s := v.replica(t, nil)
	_, prev, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL})
	if err != nil {
		t.Fatal(err)
	}
	if prev.Currency != "USD" || prev.Importable != 0 || prev.ProblemCount != 4 || !strings.Contains(strings.Join(prev.Notes, " "), "set an exchange rate for USD") {
		t.Errorf("preview of a dollar store = %+v", prev)
	}
	r := mustSync(t, s, v.tenant)
	if r.Counts != (pcstore.Counts{Failed: 4}) {
		t.Errorf("without a rate: %+v", r.Counts)
	}
	if _, _, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "shopify", URL: shop.URL, Rates: map[string]string{"usd": "7.1234"}}); err != nil {
		t.Fatal(err)
	}
	r = mustSync(t, s, v.tenant)
	if r.Counts != (pcstore.Counts{Created: 4}) {
		t.Fatalf("with a rate: %+v", r.Counts)
	}
	// 11.01 USD × 7.1234 = 78.428634 yuan: 7843 fen, rounded half up.
	if p := v.products(t)["Generated tea 0001"]; p.Price != 7843 {
		t.Errorf("price = %d, want 7843", p.Price)
	}
}

// wooServer speaks the WooCommerce REST API v3: products in pages with
// X-WP-Total and X-WP-TotalPages, variations per product, the store's
// currency, and its authentication (Basic over HTTPS, OAuth 1.0a over HTTP).
func wooServer(t *testing.T, tls bool, key, secret string) *httptest.Server {
	products := fixture(t, "woo_products.json")
	extra := `[{"id":900,"name":"Page Two Teapot","permalink":"https://woo.example/product/teapot/","type":"simple","status":"publish","description":"<p>Yixing clay.</p>","price":"268","regular_price":"268","manage_stock":true,"stock_quantity":3,"stock_status":"instock","categories":[{"id":3,"name":"Teaware"}],"images":[],"variations":[]}]`
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ok := false
		if tls {
			k, s, basic := r.BasicAuth()
			ok = basic && k == key && s == secret
		} else {
			sig := q.Get("oauth_signature")
			ts, _ := strconv.ParseInt(q.Get("oauth_timestamp"), 10, 64)
			endpoint := "http://" + r.Host + r.URL.Path
			ok = q.Get("oauth_consumer_key") == key && q.Get("consumer_secret") == "" && time.Since(time.Unix(ts, 0)) < 15*time.Minute &&
				sig == source.WooSignature(r.Method, endpoint, q, secret)
		}
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":"woocommerce_rest_cannot_view","message":"Sorry, you cannot list resources.","data":{"status":401}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		switch {
		case r.URL.Path == "/shop/wp-json/wc/v3/data/currencies/current":
			_, _ = w.Write(fixture(t, "woo_currency.json"))
		case r.URL.Path == "/shop/wp-json/wc/v3/products":
			if q.Get("status") != "publish" || q.Get("per_page") != "100" {
				http.Error(w, "unexpected query", http.StatusBadRequest)
				return
			}
			w.Header().Set("X-WP-Total", "5")
			w.Header().Set("X-WP-TotalPages", "2")
			if q.Get("page") == "2" {
				_, _ = io.WriteString(w, extra)
				return
			}
			_, _ = w.Write(products)
		case r.URL.Path == "/shop/wp-json/wc/v3/products/799/variations":
			w.Header().Set("X-WP-Total", "2")
			w.Header().Set("X-WP-TotalPages", "1")
			_, _ = w.Write(fixture(t, "woo_variations_799.json"))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"code":"rest_no_route","message":"No route was found matching the URL and request method.","data":{"status":404}}`)
		}
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestSyncWooCommerce(t *testing.T) {
	cases := []struct {
		name string
		tls  bool
	}{
		{"https with basic auth", true},
		{"http with oauth 1.0a signatures", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := tenants.OpenSQLite(t.TempDir(), schemas...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			ctx := context.Background()
			v := newEnv(t, e)
			srv := wooServer(t, tc.tls, "ck_good", "cs_good")
			client := source.NewClient()
			if tc.tls {
				pool := x509.NewCertPool()
				pool.AddCert(srv.Certificate())
				client = client.WithRootCAs(pool)
			}
			s := v.replica(t, client)

			_, _, err = s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "woocommerce", URL: srv.URL + "/shop/wp-json/wc/v3", Key: "ck_good", Secret: "cs_bad"})
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Status != 422 || !strings.Contains(fe.Message, "could not read the store at 127.0.0.1") || !strings.Contains(fe.Message, "key and secret") {
				t.Fatalf("wrong secret: %v", err)
			}
			_, prev, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "woocommerce", URL: srv.URL + "/shop", Key: "ck_good", Secret: "cs_good"})
			if err != nil {
				t.Fatal(err)
			}
			if prev.Listed != 5 || prev.Count != 5 || prev.Importable != 4 || prev.Currency != "CNY" {
				t.Errorf("preview = %+v", prev)
			}
			r := mustSync(t, s, v.tenant)
			if r.Counts != (pcstore.Counts{Created: 4, Failed: 1}) || r.Total != 5 {
				t.Fatalf("counts = %+v total %d\n%s", r.Counts, r.Total, runErrors(t, s, v.tenant, r.ID))
			}
			if errs := runErrors(t, s, v.tenant, r.ID); !strings.Contains(errs, "[788] a WooCommerce grouped product") {
				t.Errorf("errors = %s", errs)
			}
			got := v.products(t)
			hoodie := got["Ship Your Idea – Hoodie"]
			if len(hoodie.SKUs) != 2 || hoodie.SKUs[0].Name != "Black" || hoodie.SKUs[0].Price != 2000 || hoodie.SKUs[0].Stock != pcstore.DefaultAssumedStock ||
				hoodie.SKUs[1].Price != 1850 || hoodie.SKUs[1].Stock != 4 || hoodie.Category != "Clothing" || len(hoodie.Images) != 3 {
				t.Errorf("hoodie = %+v", hoodie)
			}
			if p := got["Premium Quality"]; p.Price != 2199 || p.Stock != 37 {
				t.Errorf("simple product = %+v", p)
			}
			if p := got["Sale Mug"]; p.Price != 850 || p.Stock != 0 || p.Description != "A mug on sale." {
				t.Errorf("sale mug = %+v", p)
			}
			if p := got["Page Two Teapot"]; p.Price != 26800 || p.Stock != 3 {
				t.Errorf("page two = %+v", p)
			}
			// Editing the interval without retyping the secret keeps it.
			l, _, err := s.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "woocommerce", URL: srv.URL + "/shop", Key: "ck_good", IntervalMinutes: ptr(30)})
			if err != nil || l.IntervalMinutes != 30 || !l.View().HasSecret {
				t.Fatalf("edit without the secret: %+v %v", l.View(), err)
			}
			if r := mustSync(t, s, v.tenant); r.Counts != (pcstore.Counts{Unchanged: 4, Failed: 1}) {
				t.Errorf("second sync = %+v", r.Counts)
			}
		})
	}
}

// TestSyncUploadedFeed: a TSV file uploaded, previewed and imported; the
// upload stays readable (by any replica) until replaced.
func TestSyncUploadedFeed(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		v := newEnv(t, e)
		s := v.replica(t, nil)
		l, prev, err := s.SaveUpload(ctx, v.tenant, "catalog.tsv", strings.NewReader(string(fixture(t, "feed.tsv"))), pcstore.LinkInput{AssumedStock: ptr(int64(9))})
		if err != nil {
			t.Fatal(err)
		}
		if l.UploadName != "catalog.tsv" || l.IntervalMinutes != 0 || prev.Importable != 3 || prev.ProblemCount != 2 {
			t.Fatalf("link %+v preview %+v", l, prev)
		}
		r := mustSync(t, s, v.tenant)
		if r.Counts != (pcstore.Counts{Created: 3, Failed: 2}) {
			t.Fatalf("counts = %+v\n%s", r.Counts, runErrors(t, s, v.tenant, r.ID))
		}
		got := v.products(t)
		if p := got["Osmanthus Rice Cakes"]; p.Description != "Soft rice cakes with osmanthus syrup.\nBox of 12." || p.Stock != 80 || p.Category != "Sweets" || len(p.Images) != 3 {
			t.Errorf("cakes = %+v", p)
		}
		if p := got["Silk Scarf"]; len(p.SKUs) != 2 || p.SKUs[0].Price != 17900 || p.SKUs[1].Price != 21900 {
			t.Errorf("scarf = %+v", p)
		}
		if _, _, err := s.SaveUpload(ctx, v.tenant, "empty.tsv", strings.NewReader(""), pcstore.LinkInput{}); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("empty upload: %v", err)
		}
		if _, _, err := s.SaveUpload(ctx, v.tenant, "page.html", strings.NewReader("<html><body>hi</body></html>"), pcstore.LinkInput{}); err == nil ||
			!strings.Contains(err.Error(), "web page") {
			t.Errorf("html upload: %v", err)
		}
		if l2, _ := s.Link(ctx, v.tenant); l2.UploadID != l.UploadID {
			t.Errorf("a refused upload replaced the link's: %+v", l2)
		}
	})
}

// TestLinkInput: bad link settings are a 400 naming the field.
func TestLinkInput(t *testing.T) {
	e, err := tenants.OpenSQLite(t.TempDir(), schemas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	v := newEnv(t, e)
	s := v.replica(t, nil)
	s.Client().AllowLoopback(false)
	cases := []struct {
		name  string
		in    pcstore.LinkInput
		field string
		code  int
	}{
		{"no type", pcstore.LinkInput{URL: "https://a.example"}, "type", 400},
		{"unknown type", pcstore.LinkInput{Type: "magento", URL: "https://a.example"}, "type", 400},
		{"no url", pcstore.LinkInput{Type: "shopify"}, "url", 400},
		{"ftp url", pcstore.LinkInput{Type: "feed", URL: "ftp://a.example/feed.xml"}, "url", 400},
		{"file url", pcstore.LinkInput{Type: "feed", URL: "file:///etc/passwd"}, "url", 400},
		{"javascript url", pcstore.LinkInput{Type: "feed", URL: "javascript:alert(1)"}, "url", 400},
		{"credentials in url", pcstore.LinkInput{Type: "feed", URL: "https://u:p@a.example/f.xml"}, "url", 400},
		{"woo without key", pcstore.LinkInput{Type: "woocommerce", URL: "https://a.example"}, "key", 400},
		{"woo without secret", pcstore.LinkInput{Type: "woocommerce", URL: "https://a.example", Key: "ck"}, "secret", 400},
		{"key for shopify", pcstore.LinkInput{Type: "shopify", URL: "https://a.example", Key: "ck"}, "key", 400},
		{"bad currency", pcstore.LinkInput{Type: "feed", URL: "https://a.example/f", Currency: "dollars"}, "currency", 400},
		{"rate for CNY", pcstore.LinkInput{Type: "feed", URL: "https://a.example/f", Rates: map[string]string{"CNY": "1"}}, "rates", 400},
		{"float-looking rate", pcstore.LinkInput{Type: "feed", URL: "https://a.example/f", Rates: map[string]string{"USD": "7.2e0"}}, "rates", 400},
		{"zero rate", pcstore.LinkInput{Type: "feed", URL: "https://a.example/f", Rates: map[string]string{"USD": "0"}}, "rates", 400},
		{"interval too short", pcstore.LinkInput{Type: "feed", URL: "https://a.example/f", IntervalMinutes: ptr(1)}, "interval_minutes", 400},
		{"negative stock", pcstore.LinkInput{Type: "feed", URL: "https://a.example/f", AssumedStock: ptr(int64(-1))}, "assumed_stock", 400},
		{"loopback store", pcstore.LinkInput{Type: "feed", URL: "http://127.0.0.1:9/feed.xml"}, "url", 422},
		{"private store", pcstore.LinkInput{Type: "shopify", URL: "http://10.0.0.1"}, "url", 422},
		{"metadata address", pcstore.LinkInput{Type: "feed", URL: "http://169.254.169.254/latest/meta-data"}, "url", 422},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.SaveLink(context.Background(), v.tenant, tc.in)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Status != tc.code || fe.Field != tc.field || fe.Message == "" {
				t.Fatalf("err = %#v, want %d on %q", err, tc.code, tc.field)
			}
		})
	}
	if _, err := s.Link(context.Background(), v.tenant); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("a refused link was saved: %v", err)
	}
	if _, err := s.Start(context.Background(), v.tenant, "api"); !errors.Is(err, fault.ErrConflict) {
		t.Errorf("sync without a link: %v", err)
	}
}
