package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

var schemas = []engine.Schema{Schema}

type shops map[string]tenants.Tenant

func (s shops) TenantByID(_ context.Context, id string) (tenants.Tenant, error) {
	t, ok := s[id]
	if !ok {
		return t, fault.NotFound("shop")
	}
	return t, nil
}

type fixture struct {
	t    *testing.T
	svc  *Service
	shop tenants.Tenant
}

// now is the fixture's clock: 5 December 2026, 10:00 in Shanghai.
var now = time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, e *engine.Engine) *fixture {
	t.Helper()
	shop := tenants.Tenant{ID: enginetest.Tenant(t, e), Slug: "shop", TimeZone: "Asia/Shanghai"}
	svc := New(Options{Store: NewStore(e), Shops: shops{shop.ID: shop}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	svc.SetClock(func() time.Time { return now })
	return &fixture{t: t, svc: svc, shop: shop}
}

func (f *fixture) deliver(o order.Order, ev order.Event) {
	f.t.Helper()
	if err := f.svc.OrderEvent(context.Background(), f.shop.ID, o, ev); err != nil {
		f.t.Fatalf("deliver %s of %s: %v", ev.ID, o.ID, err)
	}
}

func (f *fixture) read(r string) Dashboard {
	f.t.Helper()
	d, err := f.svc.Read(context.Background(), f.shop, r)
	if err != nil {
		f.t.Fatalf("read %s: %v", r, err)
	}
	return d
}

func paidOrder(id, fanID string, at time.Time, a order.Attribution, lines ...order.Line) (order.Order, order.Event) {
	var total int64
	for _, l := range lines {
		total += l.Amount
	}
	o := order.Order{ID: id, FanID: fanID, Status: order.Paid, Lines: lines, Paid: total, Attribution: a, CreatedAt: at}
	return o, order.Event{ID: order.EventPaid, Type: order.EventPaid, Amount: total, At: at}
}

func line(product string, price, qty int64) order.Line {
	return order.Line{ProductID: product, Price: price, Qty: qty, Amount: price * qty}
}

// TestFiguresFromEvents: a fixture of paid orders and refunds, each event
// delivered three times, gives the figures computed from the fixture, on
// the shop's days (Shanghai: 00:30 on the 5th is the 4th in UTC).
func TestFiguresFromEvents(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		utc := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, time.UTC) }
		guide := order.Attribution{Channel: "guide_qr", GuideID: "g1", StoreID: "s1"}
		dist := order.Attribution{Channel: "share_link", DistributorID: "d1", Path: []string{"d1"}}
		pc := order.Attribution{Channel: "pc_store"}
		market := order.Attribution{Channel: "spring_sale"}
		type ev struct {
			o  order.Order
			ev order.Event
		}
		var evs []ev
		add := func(o order.Order, e order.Event) order.Order { evs = append(evs, ev{o, e}); return o }
		// Today (5 Dec, Shanghai) from 00:30 Shanghai = 4 Dec 16:30 UTC.
		o1 := add(paidOrder("o1", "fanA", utc(4, 16, 30), guide, line("p1", 1000, 2), line("p2", 500, 1)))
		add(paidOrder("o2", "fanA", utc(5, 1, 0), order.Attribution{Channel: "direct"}, line("p1", 1000, 1)))
		// Yesterday at 23:30 Shanghai (4 Dec 15:30 UTC).
		add(paidOrder("o3", "fanB", utc(4, 15, 30), dist, line("p2", 500, 4)))
		// Ten and forty days ago.
		add(paidOrder("o4", "fanC", utc(4, 15, 30).AddDate(0, 0, -9), pc, line("p3", 300, 1)))
		add(paidOrder("o5", "fanD", utc(4, 15, 30).AddDate(0, 0, -39), market, line("p3", 300, 3)))
		// A refund of 1200 of o1 (2500 paid) today, one of all of o3.
		o1.Refunds = []order.Refund{{ID: "r1", Amount: 1200, Status: order.RefundSucceeded}}
		add(o1, order.Event{ID: "refund:r1", Type: order.EventRefunded, Amount: 1200, At: utc(5, 1, 30)})
		o3 := evs[2].o
		o3.Refunds = []order.Refund{{ID: "r2", Amount: 2000, Status: order.RefundSucceeded}}
		add(o3, order.Event{ID: "refund:r2", Type: order.EventRefunded, Amount: 2000, At: utc(5, 1, 40)})
		// Events that are not counted.
		add(o1, order.Event{ID: order.EventShipped, Type: order.EventShipped, At: utc(5, 1, 50)})
		for range 3 {
			for _, x := range evs {
				f.deliver(x.o, x.ev)
			}
		}

		today := f.read("today")
		want := Totals{Paid: 2500 + 1000, Refunded: 1200 + 2000, Orders: 2, Refunds: 2, Buyers: 1, AverageOrder: 1750}
		want.GMV = want.Paid - want.Refunded
		if today.Totals != want {
			t.Errorf("today's totals\n got %+v\nwant %+v", today.Totals, want)
		}
		if len(today.Days) != 1 || today.Days[0].Day != "2026-12-05" || today.Days[0].Buyers != 1 || today.Days[0].Orders != 2 {
			t.Errorf("today's days = %+v", today.Days)
		}
		week := f.read("7d")
		if got := week.Totals; got.Paid != 5500 || got.Orders != 3 || got.Buyers != 2 || got.Refunded != 3200 {
			t.Errorf("7d totals = %+v, want paid 5500, 3 orders, 2 buyers, 3200 refunded", got)
		}
		if n := len(week.Days); n != 7 || week.Days[0].Day != "2026-11-29" || week.Days[5].Paid != 2000 || week.Days[5].Buyers != 1 {
			t.Errorf("7d days = %+v", week.Days)
		}
		month := f.read("30d")
		if got := month.Totals; got.Paid != 5800 || got.Orders != 4 || got.Buyers != 3 {
			t.Errorf("30d totals = %+v, want paid 5800, 4 orders, 3 buyers", got)
		}
		quarter := f.read("90d")
		if got := quarter.Totals; got.Paid != 6700 || got.Orders != 5 || got.Buyers != 4 || got.GMV != 3500 {
			t.Errorf("90d totals = %+v, want paid 6700, 5 orders, 4 buyers, GMV 3500", got)
		}
		chans := map[string]Channel{}
		for _, c := range quarter.Channels {
			chans[c.Channel] = c
		}
		for ch, w := range map[string][2]int64{ChannelGuide: {2500, 1300}, ChannelDirect: {1000, 1000}, ChannelDistributor: {2000, 0},
			ChannelPCStore: {300, 300}, ChannelMarket: {900, 900}, ChannelWeChat: {0, 0}} {
			if c := chans[ch]; c.Paid != w[0] || c.GMV != w[1] {
				t.Errorf("channel %s = %+v, want paid %d, GMV %d", ch, c, w[0], w[1])
			}
		}
		if len(quarter.Channels) != len(Channels) {
			t.Errorf("%d channels, want %d", len(quarter.Channels), len(Channels))
		}
		// p1: 3000 paid (o1 2000, o2 1000), refunded 2000·1200/2500 = 960;
		// p2: 2500 (o1 500, o3 2000), refunded 500·1200/2500 = 240 + 2000.
		tops := map[string]Top{}
		for _, p := range quarter.TopProducts {
			tops[p.ID] = p
		}
		if p := tops["p1"]; p.Paid != 3000 || p.Refunded != 960 || p.Qty != 3 || p.Orders != 2 {
			t.Errorf("p1 = %+v", p)
		}
		if p := tops["p2"]; p.Paid != 2500 || p.Refunded != 2240 || p.Qty != 5 || p.Orders != 2 {
			t.Errorf("p2 = %+v", p)
		}
		if len(quarter.TopProducts) != 3 || quarter.TopProducts[0].ID != "p1" {
			t.Errorf("top products = %+v, want p1 first of 3", quarter.TopProducts)
		}
		if g := quarter.TopGuides; len(g) != 1 || g[0].ID != "g1" || g[0].Paid != 2500 || g[0].Refunded != 1200 {
			t.Errorf("top guides = %+v", g)
		}
		if d := quarter.TopDistributors; len(d) != 1 || d[0].ID != "d1" || d[0].GMV != 0 {
			t.Errorf("top distributors = %+v", d)
		}
		if _, err := f.svc.Read(context.Background(), f.shop, "1y"); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("range 1y: %v, want invalid", err)
		}
	})
}

// TestReplayConcurrently: many deliveries of one event at once count it
// once; a buyer's two orders of a day count one buyer.
func TestReplayConcurrently(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		at := now.Add(-time.Hour)
		a, aev := paidOrder("a", "fan1", at, order.Attribution{Channel: "direct"}, line("p1", 700, 1))
		b, bev := paidOrder("b", "fan1", at, order.Attribution{Channel: "direct"}, line("p1", 700, 1))
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			o, ev := a, aev
			if i%2 == 1 {
				o, ev = b, bev
			}
			wg.Go(func() { errs <- f.svc.OrderEvent(context.Background(), f.shop.ID, o, ev) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		d := f.read("today")
		if d.Totals.Orders != 2 || d.Totals.Paid != 1400 || d.Totals.Buyers != 1 || d.Days[0].Buyers != 1 {
			t.Errorf("totals %+v, day %+v: want 2 orders, 1400 paid, 1 buyer", d.Totals, d.Days[0])
		}
		if p := d.TopProducts; len(p) != 1 || p[0].Orders != 2 || p[0].Qty != 2 {
			t.Errorf("top products %+v", p)
		}
	})
}

// TestFansAndVisits: follows, unfollows and interacting fans count once
// per event (and fan and day); page views add up when flushed.
func TestFansAndVisits(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		at := now.Add(-time.Hour)
		evs := []fan.Event{
			{FanID: "f1", Kind: fan.Subscribed, At: at}, {FanID: "f2", Kind: fan.Subscribed, At: at},
			{FanID: "f2", Kind: fan.Unsubscribed, At: at.Add(time.Minute)},
			{FanID: "f1", Kind: fan.Wrote, At: at}, {FanID: "f1", Kind: fan.Clicked, At: at.Add(time.Second)},
			{FanID: "f3", Kind: fan.Scanned, At: at},
		}
		for range 2 {
			for _, ev := range evs {
				if err := f.svc.FanEvent(ctx, f.shop.ID, ev); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := f.svc.Interacted(ctx, f.shop.ID, "f4", at); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			f.svc.Visit(f.shop)
		}
		d := f.read("today")
		if got := d.Totals; got.NewFans != 2 || got.Unfollows != 1 || got.ActiveFanDays != 3 || got.Visits != 5 {
			t.Errorf("totals %+v: want 2 new fans, 1 unfollow, 3 active, 5 visits", got)
		}
	})
}

// TestReadCountsViewsBeingFlushed: a dashboard read right after a page
// view counts it even when the view set off a background flush that has
// taken the counts but not yet written them (the read's own flush waits
// for it).
func TestReadCountsViewsBeingFlushed(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		var mu sync.Mutex
		clock := now
		f.svc.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
		for i := range 100 {
			mu.Lock()
			clock = clock.Add(flushEvery) // every view is due a background flush
			mu.Unlock()
			f.svc.Visit(f.shop)
			if got := f.read("today").Totals.Visits; got != int64(i+1) {
				t.Fatalf("after %d views the dashboard counts %d", i+1, got)
			}
		}
	})
}

func TestMerge(t *testing.T) {
	got := merge([]Inc{{Day: "d", Dim: DimProduct, Key: "p", Counts: Counts{Qty: 1}}, {Day: "d", Dim: DimProduct, Key: "p", Counts: Counts{Qty: 2}},
		{Day: "d", Dim: DimShop}, {Day: "d", Dim: DimShop, Once: "x", Counts: Counts{Buyers: 1}}})
	want := fmt.Sprint([]Inc{{Day: "d", Dim: DimProduct, Key: "p", Counts: Counts{Qty: 3}}, {Day: "d", Dim: DimShop, Once: "x", Counts: Counts{Buyers: 1}}})
	if fmt.Sprint(got) != want {
		t.Errorf("merge = %v, want %v", got, want)
	}
}
