package main

// The dashboard scenario, -scenario dashboard (issue 16, "Benchmark"):
//
//	go run ./scripts/bench -scenario dashboard          # 100,000 orders over 90 days; 3 rounds of 10 s
//	go run ./scripts/bench -scenario dashboard -short   # 20,000 orders; 1 round of 2 s
//	go run ./scripts/bench -scenario dashboard -pprof DIR  # then CPU and allocation profiles of the server under (b)-(d)
//
// SQLite, timed. It builds ./server, starts it on a fresh data directory,
// opens a shop with 50 products through the API, and stops it. It then
// opens that data directory in this process and feeds the shop's dashboard
// through its real handlers (shop/dashboard: Service.OrderEvent for every
// paid order and every refund, FanEvent for follows and unfollows, Visit
// for page views), as the order dispatcher would, from 64 goroutines: the
// orders spread over the last 90 days (10% partly refunded, channels,
// guides and distributors mixed), every event delivered twice (replays
// must change nothing). It restarts the server and checks that the
// 90-day dashboard's figures equal those computed from the orders fed,
// then load-tests, round after round with the targets interleaved:
//
//	(a) the baseline: a plain Echo server answering "ok" (Echo's hello)
//	(b) GET /api/v1/dashboard?range=30d       (API key)
//	(c) GET /admin?range=30d                  (the console home: figures, SVG charts; session cookie)
//	(d) GET /admin/products                   (another console page, for reference: what any console page costs)
//
// at -conns (64) keep-alive connections, and prints each round and the
// medians with the target: p99 under 50 ms.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"microshop/shop/dashboard"
	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
)

// dashboardOrders is how many orders the shop has (the figure).
func dashboardOrders(short bool) int {
	if short {
		return 20_000
	}
	return 100_000
}

// dashShops is the one shop the seeding feeds.
type dashShops struct{ t tenants.Tenant }

func (s dashShops) TenantByID(context.Context, string) (tenants.Tenant, error) { return s.t, nil }

// dashSeeded is what the seeding fed, computed from the orders themselves.
type dashSeeded struct {
	paid, refunded, orders, follows, unfollows, visits int64
	buyers                                             map[string]bool
}

func dashboardScenario(ctx context.Context, o options) (err error) {
	root, tmp, cleanup, err := workspace(ctx, o, "dashboard")
	if err != nil {
		return err
	}
	defer cleanup(&err)
	n := dashboardOrders(o.short)
	fmt.Printf("load: a shop with %d orders over 90 days; %d keep-alive connections, %s measured (+%s warm-up) per target, %d round(s)\n\n",
		n, o.conns, o.duration, o.warmup, o.rounds)

	bin, err := buildServer(ctx, root, tmp, o.serverPkg, o.pprofDir != "")
	if err != nil {
		return err
	}
	srvAddr, err := freeAddr()
	if err != nil {
		return err
	}
	args := []string{"--addr", srvAddr, "--data", tmp + "/data", "--mongodb-uri=", "--demo=false", "--access-log=false"}
	srvURL := "http://" + srvAddr

	// 1. The shop and its products, through the API; then the server stops.
	srv, err := startProcess(ctx, "server", bin, tmp, nil, args...)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, srv, srvURL+"/readyz"); err != nil {
		return err
	}
	s, err := seedShop(ctx, srvURL, 50)
	if err != nil {
		return err
	}
	var info struct {
		ID       string `json:"id"`
		TimeZone string `json:"time_zone"`
	}
	client := &http.Client{Timeout: 30 * time.Second}
	code, body, err := httpGet(ctx, client, srvURL+"/api/v1/shop", http.Header{"Authorization": {"Bearer " + s.apiKey}})
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("read shop: %d %v %.200s", code, err, body)
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return err
	}
	if err := srv.stop(); err != nil {
		return err
	}

	// 2. The orders, through the dashboard's handlers.
	step := time.Now()
	seeded, err := dashSeed(ctx, tmp+"/data", tenants.Tenant{ID: info.ID, Slug: s.slug, TimeZone: info.TimeZone}, s.productIDs, n)
	if err != nil {
		return err
	}
	fmt.Printf("fed %d paid orders (%d buyers), their refunds, %d follows, %d unfollows and %d page views through the handlers, each event twice, in %s\n",
		seeded.orders, len(seeded.buyers), seeded.follows, seeded.unfollows, seeded.visits, time.Since(step).Round(time.Millisecond))

	// 3. The server again (serving net/http/pprof with -pprof); the
	// figures checked; the console signed in.
	var pprofAddr string
	var env []string
	if o.pprofDir != "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return err
		}
		env = append(env, pprofEnv+"="+pprofAddr)
	}
	if srv, err = startProcess(ctx, "server", bin, tmp, env, args...); err != nil {
		return err
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	if err := waitReady(ctx, srv, srvURL+"/readyz"); err != nil {
		return err
	}
	if err := dashCheck(ctx, client, srvURL, s.apiKey, seeded); err != nil {
		return err
	}
	cookie, err := dashSignIn(ctx, srvURL, "bench@example.com", "bench-password-1")
	if err != nil {
		return err
	}

	// 4. The baseline, in its own process.
	base, baseAddr, err := startBaseline(ctx, tmp)
	if err != nil {
		return err
	}
	defer func() {
		if serr := base.stop(); serr != nil && err == nil {
			err = serr
		}
	}()

	// 5. Load.
	parse := func(raw string) []*url.URL { u, _ := url.Parse(raw); return []*url.URL{u} }
	targets := []target{
		{key: "a", name: `baseline "ok" (Echo hello)`, proc: base, urls: parse("http://" + baseAddr + "/")},
		{key: "b", name: "API dashboard 30d", proc: srv, goal: true, urls: parse(srvURL + "/api/v1/dashboard?range=30d"),
			header: http.Header{"Authorization": {"Bearer " + s.apiKey}}},
		{key: "c", name: "console home 30d", proc: srv, goal: true, urls: parse(srvURL + "/admin?range=30d"),
			header: http.Header{"Cookie": {cookie}}},
		// Another console page, for what every console page costs (session,
		// roles, audit, layout) beside the home's own work.
		{key: "d", name: "console products (reference)", proc: srv, urls: parse(srvURL + "/admin/products"),
			header: http.Header{"Cookie": {cookie}}},
	}
	if err := sanityCheck(ctx, targets); err != nil {
		return err
	}
	fmt.Println()
	rounds, err := measureRounds(ctx, targets, o)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	printDashSummary(os.Stdout, targets, rounds, o)
	if o.pprofDir != "" {
		return profileTargets(ctx, targets[1:], pprofAddr, o)
	}
	return nil
}

// dashSeed feeds n orders over the last 90 days to the shop's dashboard
// through its handlers, each event twice, from 64 goroutines.
func dashSeed(ctx context.Context, dir string, t tenants.Tenant, products []string, n int) (dashSeeded, error) {
	eng, err := tenants.OpenSQLite(dir, dashboard.Schema)
	if err != nil {
		return dashSeeded{}, err
	}
	defer eng.Close()
	svc := dashboard.New(dashboard.Options{Store: dashboard.NewStore(eng), Shops: dashShops{t},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	now := time.Now()
	// The orders fall within the 90 days of the shop's 90-day range: from
	// midnight 89 days ago, in the shop's zone, to now.
	y, m, d := now.In(t.Location()).Date()
	start := time.Date(y, m, d-89, 0, 0, 0, 0, t.Location())
	seeded := dashSeeded{buyers: map[string]bool{}}
	rng := rand.New(rand.NewPCG(16, 90))
	type job struct {
		o   order.Order
		evs []order.Event
	}
	jobs := make([]job, n)
	fans := max(1, n*3/10) // buyers come back: about 3.3 orders each
	for i := range jobs {
		at := start.Add(time.Duration(rng.Int64N(int64(now.Sub(start)))))
		lines := make([]order.Line, 1+rng.IntN(3))
		var total int64
		for j := range lines {
			price, qty := int64(500+rng.IntN(20)*500), int64(1+rng.IntN(3))
			lines[j] = order.Line{ProductID: products[rng.IntN(len(products))], Price: price, Qty: qty, Amount: price * qty}
			total += price * qty
		}
		a := order.Attribution{Channel: "direct"}
		switch k := rng.IntN(10); {
		case k < 3:
			a = order.Attribution{Channel: "guide_qr", GuideID: "guide" + strconv.Itoa(rng.IntN(8)), StoreID: "store1"}
		case k < 5:
			d := "dist" + strconv.Itoa(rng.IntN(40))
			a = order.Attribution{Channel: "share_link", DistributorID: d, Path: []string{d}}
		case k < 6:
			a.Channel = "pc_store"
		case k < 7:
			a.Channel = "wechat_qr"
		case k < 8:
			a.Channel = "double11"
		}
		fanID := "fan" + strconv.Itoa(rng.IntN(fans))
		o := order.Order{ID: "bench" + strconv.Itoa(i), FanID: fanID, Status: order.Paid, Lines: lines, Paid: total, Attribution: a}
		evs := []order.Event{{ID: order.EventPaid, Type: order.EventPaid, Amount: total, At: at}}
		seeded.paid += total
		seeded.orders++
		seeded.buyers[fanID] = true
		if rng.IntN(10) == 0 {
			r := total / 2
			refundAt := at.Add(time.Duration(rng.Int64N(int64(now.Sub(at)))))
			o.Refunds = []order.Refund{{ID: "r" + strconv.Itoa(i), Amount: r, Status: order.RefundSucceeded}}
			evs = append(evs, order.Event{ID: "refund:r" + strconv.Itoa(i), Type: order.EventRefunded, Amount: r, At: refundAt})
			seeded.refunded += r
		}
		jobs[i] = job{o, evs}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan job)
	for range 64 {
		wg.Go(func() {
			for j := range next {
				for range 2 { // every event delivered twice: the replay changes nothing
					for _, ev := range j.evs {
						if err := svc.OrderEvent(ctx, t.ID, j.o, ev); err != nil {
							mu.Lock()
							first = cmpErr(first, err)
							mu.Unlock()
						}
					}
				}
			}
		})
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	if first != nil {
		return seeded, first
	}
	// Follows and unfollows (each twice), and page views: about 30 visits
	// per order, counted per day with the service's clock on that day.
	for i := range n / 4 {
		ev := fan.Event{FanID: "fan" + strconv.Itoa(i), Kind: fan.Subscribed, At: start.Add(time.Duration(rng.Int64N(int64(now.Sub(start)))))}
		if i%5 == 0 {
			ev.Kind = fan.Unsubscribed
			seeded.unfollows++
		} else {
			seeded.follows++
		}
		for range 2 {
			if err := svc.FanEvent(ctx, t.ID, ev); err != nil {
				return seeded, err
			}
		}
	}
	for d := range 90 {
		day := now.AddDate(0, 0, -d)
		svc.SetClock(func() time.Time { return day })
		views := n * 30 / 90
		for range views {
			svc.Visit(t)
		}
		seeded.visits += int64(views)
		if err := svc.FlushVisits(ctx, t.ID); err != nil {
			return seeded, err
		}
	}
	return seeded, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// dashCheck compares the 90-day dashboard with what was fed.
func dashCheck(ctx context.Context, client *http.Client, srvURL, key string, want dashSeeded) error {
	code, body, err := httpGet(ctx, client, srvURL+"/api/v1/dashboard?range=90d", http.Header{"Authorization": {"Bearer " + key}})
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("dashboard: %d %v %.300s", code, err, body)
	}
	var d struct {
		Totals struct {
			GMV, Paid, Refunded, Orders, Buyers, Visits int64
			NewFans                                     int64 `json:"new_fans"`
			Unfollows                                   int64
		}
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return err
	}
	got := d.Totals
	if got.Paid != want.paid || got.Refunded != want.refunded || got.GMV != want.paid-want.refunded || got.Orders != want.orders ||
		got.Buyers != int64(len(want.buyers)) || got.Visits != want.visits || got.NewFans != want.follows || got.Unfollows != want.unfollows {
		return fmt.Errorf("90-day dashboard %+v differs from what was fed: paid %d, refunded %d, %d orders, %d buyers, %d visits, %d follows, %d unfollows",
			got, want.paid, want.refunded, want.orders, len(want.buyers), want.visits, want.follows, want.unfollows)
	}
	fmt.Printf("90-day dashboard = the orders fed: GMV ¥%d.%02d (paid %d fen, refunded %d fen), %d orders, %d buyers, %d visits, %d follows, %d unfollows\n",
		got.GMV/100, got.GMV%100, got.Paid, got.Refunded, got.Orders, got.Buyers, got.Visits, got.NewFans, got.Unfollows)
	return nil
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// dashSignIn signs in to the console and returns the Cookie header that
// carries the session.
func dashSignIn(ctx context.Context, srvURL, email, password string) (string, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	code, body, err := httpGet(ctx, client, srvURL+"/login", nil)
	if err != nil || code != http.StatusOK {
		return "", fmt.Errorf("login page: %d %v", code, err)
	}
	m := csrfField.FindSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("login page without a CSRF field")
	}
	resp, err := client.PostForm(srvURL+"/login", url.Values{"email": {email}, "password": {password}, "_csrf": {string(m[1])}})
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("sign in: status %d", resp.StatusCode)
	}
	u, _ := url.Parse(srvURL + "/admin")
	var cookie string
	for _, c := range jar.Cookies(u) {
		if cookie != "" {
			cookie += "; "
		}
		cookie += c.Name + "=" + c.Value
	}
	return cookie, nil
}

// printDashSummary prints the medians over rounds beside the baseline,
// with the target for the dashboard: p99 under 50 ms, no errors.
func printDashSummary(w io.Writer, ts []target, rounds [][]result, o options) {
	fmt.Fprintf(w, "median of %d round(s), %s each, %d connections\n", len(rounds), o.duration, o.conns)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\treq/s\tp50\tp99\terrors\tvs (a)\ttarget (issue)\tresult")
	for i, t := range ts {
		var rps, p50, p99, rat []float64
		var errs int64
		for _, res := range rounds {
			r := res[i]
			rps = append(rps, r.reqPerSec)
			p50 = append(p50, float64(r.pct(0.50)))
			p99 = append(p99, float64(r.pct(0.99)))
			rat = append(rat, ratio(r, res[0]))
			errs += r.errs
		}
		goal, verdict := "(reference)", ""
		if t.goal {
			goal, verdict = fmt.Sprintf("p99 < %s, no errors", goalP99), "PASS"
			if time.Duration(median(p99)) >= goalP99 || errs > 0 {
				verdict = "FAIL"
			}
		}
		fmt.Fprintf(tw, "(%s) %s\t%.0f\t%s\t%s\t%d\t%.2fx\t%s\t%s\n", t.key, t.name, median(rps), ms(time.Duration(median(p50))),
			ms(time.Duration(median(p99))), errs, median(rat), goal, verdict)
	}
	tw.Flush()
}
