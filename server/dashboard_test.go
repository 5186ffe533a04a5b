package main

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

type dashboardJSON struct {
	Range  string `json:"range"`
	From   string `json:"from"`
	To     string `json:"to"`
	Totals struct {
		GMV, Paid, Refunded, Orders, Refunds, Buyers, Visits, Checkins int64
		AverageOrder                                                   int64 `json:"average_order"`
		ActiveFanDays                                                  int64 `json:"active_fan_days"`
	} `json:"totals"`
	Now struct {
		PointsOutstanding int64   `json:"points_outstanding"`
		HealthyRate       float64 `json:"healthy_rate"`
	} `json:"now"`
	Days []struct {
		Day                    string
		Paid, Orders, Checkins int64
	} `json:"days"`
	Channels []struct {
		Channel   string
		Paid, GMV int64
		Orders    int64
		Share     float64
	} `json:"channels"`
	TopProducts []struct {
		ID, Name       string
		Paid, GMV, Qty int64
		Refunded       int64
	} `json:"top_products"`
}

// TestDashboardFromOrders: orders placed, paid and refunded through the
// real services, storefront visits and a check-in give the dashboard the
// figures computed from that fixture, in the API, the console home and its
// CSV; replayed order events change nothing; the range ends today in the
// shop's zone.
func TestDashboardFromOrders(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		s := signUp(t, srv.URL, "dash-shop")
		api := s.apiClient(t, srv.URL)
		base := "/s/" + s.Slug
		tea := api.createProduct(map[string]any{"title": "Green tea", "price": 1000, "stock": 100, "status": "on_sale"})
		cup := api.createProduct(map[string]any{"title": "Tea cup", "price": 2500, "stock": 100, "status": "on_sale"})

		type placed struct {
			shopper *client
			product string
			qty     int
			pay     bool
		}
		alice, bob, carol := newClient(t, srv.URL), newClient(t, srv.URL), newClient(t, srv.URL)
		var ids []string
		var paid int64
		for _, p := range []placed{{alice, tea.ID, 2, true}, {alice, cup.ID, 1, true}, {bob, tea.ID, 1, true}, {carol, cup.ID, 1, false}} {
			var o struct {
				ID      string `json:"id"`
				Payable int64  `json:"payable"`
			}
			if st := p.shopper.json(http.MethodPost, base+"/api/orders", map[string]any{
				"items": []map[string]any{{"product_id": p.product, "qty": p.qty}}, "address": testAddress}, &o); st != http.StatusCreated {
				t.Fatalf("place: %d", st)
			}
			if !p.pay {
				continue
			}
			if st := p.shopper.json(http.MethodPost, base+"/api/orders/"+o.ID+"/pay", map[string]bool{"sandbox_confirm": true}, nil); st != http.StatusOK {
				t.Fatalf("pay: %d", st)
			}
			ids = append(ids, o.ID)
			paid += o.Payable
		}
		if st := api.json(http.MethodPost, "/api/v1/orders/"+ids[0]+"/refund", map[string]any{"amount": 500, "reason": "one leaked"}, nil); st != http.StatusOK {
			t.Fatalf("refund: %d", st)
		}
		a.settleRefunds()
		for range 3 {
			if st, _ := carol.do(http.MethodGet, base+"/", nil, ""); st != http.StatusOK {
				t.Fatalf("storefront: %d", st)
			}
		}
		if st := bob.json(http.MethodPost, base+"/api/checkin", map[string]any{}, nil); st != http.StatusCreated {
			t.Fatalf("check in: %d", st)
		}

		// The figures computed from the fixture, from the orders themselves.
		var want struct{ paid, refunded, orders int64 }
		buyers := map[string]bool{}
		for _, id := range ids {
			o, err := a.orders.Get(context.Background(), s.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			want.paid += o.Paid
			want.refunded += o.Refunded
			want.orders++
			buyers[o.FanID] = true
		}
		if want.paid != paid || want.refunded != 500 || len(buyers) != 2 {
			t.Fatalf("fixture: %+v, %d buyers", want, len(buyers))
		}
		check := func(when string) {
			t.Helper()
			var d dashboardJSON
			if st := api.json(http.MethodGet, "/api/v1/dashboard?range=7d", nil, &d); st != http.StatusOK {
				t.Fatalf("dashboard: %d", st)
			}
			tot := d.Totals
			if tot.Paid != want.paid || tot.Refunded != want.refunded || tot.GMV != want.paid-want.refunded || tot.Orders != want.orders ||
				tot.Buyers != int64(len(buyers)) || tot.Refunds != 1 || tot.AverageOrder != want.paid/want.orders {
				t.Errorf("%s: totals %+v, want %+v and %d buyers", when, tot, want, len(buyers))
			}
			if tot.Visits != 3 || tot.Checkins != 1 || tot.ActiveFanDays != 1 {
				t.Errorf("%s: visits %d, check-ins %d, active %d; want 3, 1, 1", when, tot.Visits, tot.Checkins, tot.ActiveFanDays)
			}
			if len(d.Days) != 7 || d.Days[6].Day != d.To || d.Days[6].Paid != want.paid || d.Days[6].Checkins != 1 {
				t.Errorf("%s: days %+v", when, d.Days)
			}
			for _, ch := range d.Channels {
				if ch.Channel == "direct" && (ch.Paid != want.paid || ch.Share != 100) || ch.Channel != "direct" && ch.Paid != 0 {
					t.Errorf("%s: channel %+v", when, ch)
				}
			}
			if len(d.TopProducts) != 2 || d.TopProducts[0].Name != "Green tea" || d.TopProducts[0].Paid != 3000 || d.TopProducts[0].Qty != 3 ||
				d.TopProducts[0].Refunded != 500 || d.TopProducts[1].Name != "Tea cup" || d.TopProducts[1].GMV != 2500 {
				t.Errorf("%s: top products %+v", when, d.TopProducts)
			}
		}
		check("after the orders")

		// Replays: every paid and refund event delivered again, twice.
		for _, id := range ids {
			o, err := a.orders.Get(context.Background(), s.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			evs := []order.Event{{ID: order.EventPaid, Type: order.EventPaid, Amount: o.Paid, At: *o.PaidAt}}
			for _, r := range o.Refunds {
				evs = append(evs, order.Event{ID: "refund:" + r.ID, Type: order.EventRefunded, Amount: r.Amount, At: *r.SettledAt})
			}
			for range 2 {
				for _, ev := range evs {
					if err := a.dash.OrderEvent(context.Background(), s.ID, o, ev); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		check("after replays")

		// The console home and a chart's CSV, in Chinese.
		console := s.consoleClient(t, srv.URL)
		console.header = http.Header{"Accept-Language": {"zh-CN"}}
		st, page := console.do(http.MethodGet, "/admin?range=7d", nil, "")
		if st != http.StatusOK || !strings.Contains(string(page), "每日成交额") || !strings.Contains(string(page), "<svg") ||
			!strings.Contains(string(page), `href="/admin/dashboard.csv?chart=gmv&amp;range=7d"`) || !strings.Contains(string(page), "¥") {
			t.Fatalf("console home: %d %.600s", st, page)
		}
		st, body := console.do(http.MethodGet, "/admin/dashboard.csv?chart=gmv&range=7d", nil, "")
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\ufeff"))).ReadAll()
		if st != http.StatusOK || err != nil || len(rows) != 8 || rows[0][0] != "日期" {
			t.Fatalf("csv: %d %v %q", st, err, body)
		}
		if last := rows[7]; last[1] != catalog.FormatYuan(want.paid) || last[2] != "5.00" {
			t.Errorf("csv today = %v, want paid %s refunded 5.00", last, catalog.FormatYuan(want.paid))
		}
		if st, _ := console.do(http.MethodGet, "/admin/dashboard.csv?chart=pie", nil, ""); st != http.StatusBadRequest {
			t.Errorf("unknown chart: %d, want 400", st)
		}
		var bad apiError
		if st := api.json(http.MethodGet, "/api/v1/dashboard?range=1y", nil, &bad); st != http.StatusBadRequest || bad.Error.Field != "range" {
			t.Errorf("range 1y: %d %+v", st, bad)
		}

		// The range ends today in the shop's zone.
		if st := api.json(http.MethodPut, "/api/v1/shop", map[string]any{"time_zone": "Pacific/Kiritimati"}, nil); st != http.StatusOK {
			t.Fatalf("set zone: %d", st)
		}
		kiri, _ := time.LoadLocation("Pacific/Kiritimati")
		var d dashboardJSON
		if st := api.json(http.MethodGet, "/api/v1/dashboard?range=today", nil, &d); st != http.StatusOK ||
			d.To != time.Now().In(kiri).Format(time.DateOnly) || d.From != d.To || len(d.Days) != 1 {
			t.Errorf("today in Kiritimati: %d %s..%s (%d days)", st, d.From, d.To, len(d.Days))
		}
	})
}

// TestFollowCountsAtOnce: a WeChat follow is a new fan on the dashboard and
// in the shop's segments as soon as the push is answered (and the work
// queued after it done), without waiting for the hourly audience sync; an
// unfollow takes the fan out again.
func TestFollowCountsAtOnce(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		w := newWXShop(t, a, srv.URL, "dash-wx")
		api := w.apiClient(t, srv.URL)
		appID := w.settings.AppID
		followers := func() int64 {
			t.Helper()
			var out struct {
				Count int64 `json:"count"`
			}
			if st := api.json(http.MethodPost, "/api/v1/segments/count", map[string]any{"subscribed": "yes"}, &out); st != http.StatusOK {
				t.Fatalf("count: %d", st)
			}
			return out.Count
		}
		if n := followers(); n != 0 {
			t.Fatalf("%d followers before any follow", n)
		}
		openID := w.sim.OpenID(appID, "dash-phone")
		follow := w.sim.Follow(appID, openID)
		if st, _ := w.deliver(t, w.settings, follow); st != http.StatusOK {
			t.Fatalf("follow: %d", st)
		}
		a.wechat.fans.Wait()
		if n := followers(); n != 1 {
			t.Errorf("%d followers in the segment after a follow, want 1", n)
		}
		var tot struct {
			Totals struct {
				NewFans int64 `json:"new_fans"`
			} `json:"totals"`
		}
		if st := api.json(http.MethodGet, "/api/v1/dashboard?range=today", nil, &tot); st != http.StatusOK || tot.Totals.NewFans != 1 {
			t.Errorf("dashboard: %d, %d new fans, want 1", st, tot.Totals.NewFans)
		}
		unfollow := w.sim.Unfollow(appID, openID)
		if st, _ := w.deliver(t, w.settings, unfollow); st != http.StatusOK {
			t.Fatalf("unfollow: %d", st)
		}
		a.wechat.fans.Wait()
		if n := followers(); n != 0 {
			t.Errorf("%d followers in the segment after the unfollow, want 0", n)
		}
	})
}

// BenchmarkConsolePage times one console request through the app's
// handler in process, without the network: what the console's shared
// middleware and layout cost beside a page's own work. Profile with
//
//	go test ./server/ -run '^$' -bench ConsolePage -benchtime 2s -cpuprofile /tmp/console.pprof
func BenchmarkConsolePage(b *testing.B) {
	a, srv := startApp(b, sqliteEngine(b))
	s := signUp(b, srv.URL, "bench-console")
	api := s.apiClient(b, srv.URL)
	for i := range 20 {
		api.createProduct(map[string]any{"title": "Tea " + strings.Repeat("x", i), "price": 1000 + i, "stock": 100, "status": "on_sale"})
	}
	owner := s.consoleClient(b, srv.URL)
	u, _ := url.Parse(srv.URL)
	var cookies []string
	for _, ck := range owner.http.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	cookie := strings.Join(cookies, "; ")
	for _, path := range []string{"/admin?range=30d", "/admin/products", "/api/v1/dashboard?range=30d"} {
		get := func() *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Host = u.Host
			req.Header.Set("Cookie", cookie)
			req.Header.Set("Accept-Language", "zh-CN,zh;q=0.9")
			if strings.HasPrefix(path, "/api/") {
				req.Header.Set("Authorization", "Bearer "+s.Key)
			}
			rec := httptest.NewRecorder()
			a.echo.ServeHTTP(rec, req)
			return rec
		}
		if rec := get(); rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %.300s", path, rec.Code, rec.Body.String())
		}
		b.Run(strings.NewReplacer("/", "_", "?", "_").Replace(path), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if rec := get(); rec.Code != http.StatusOK {
						b.Errorf("GET %s: %d", path, rec.Code)
						return
					}
				}
			})
			// CPU time per request (the process's, GC included): a figure the
			// other processes on a shared machine disturb less than ns/op.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
		})
	}
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
