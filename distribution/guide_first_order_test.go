package distribution_test

import (
	"sync"
	"testing"
	"time"

	"microshop/distribution"
	"microshop/distribution/guide"
	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestGuideFirstOrders: the funnel's first-order step counts a fan once,
// on the fan's first ever paid order when a guide brought it, however
// often that order's paid event is delivered and however many orders of
// the fan are paid at once; a fan who first bought without a guide, or
// who had paid orders before, is no first order of a guide.
func TestGuideFirstOrders(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.settings(func(s *distribution.Settings) { s.Enabled = false })
		g := f.svc.Guides()
		store, _ := g.CreateLocation(f.ctx, f.shop.ID, guide.LocationInput{Name: ptr("West Lake")})
		li, err := g.CreateGuide(f.ctx, f.shop.ID, guide.GuideInput{Name: ptr("Li"), StoreID: &store.ID})
		if err != nil {
			t.Fatal(err)
		}
		now := f.clock.now()
		orderOf := func(fanID string, amount int64) order.Order {
			return order.Order{ID: engine.NewID(), FanID: fanID, Status: order.Paid, GoodsTotal: amount, Payable: amount,
				Paid: amount, Refundable: amount, PaidAt: &now, Attribution: f.attribute(fanID),
				Lines: []order.Line{{ProductID: engine.NewID(), Title: "Tea", Price: amount, Qty: 1, Amount: amount}}}
		}
		paid := func(o order.Order) order.Event {
			return order.Event{ID: order.EventPaid, Type: order.EventPaid, Amount: o.Paid, At: now}
		}

		// fan1 came through Li: four orders paid at once, each delivered
		// by eight goroutines.
		fan1 := engine.NewID()
		f.visit(fan1, distribution.Touch{GuideCode: li.Code, Via: "link"})
		var orders []order.Order
		for i := range 4 {
			orders = append(orders, orderOf(fan1, int64(1000*(i+1))))
		}
		if orders[0].Attribution.GuideID != li.ID {
			t.Fatalf("attribution %+v", orders[0].Attribution)
		}
		var wg sync.WaitGroup
		for range 8 {
			for _, o := range orders {
				wg.Go(func() {
					if err := f.svc.OrderEvent(f.ctx, f.shop.ID, o, paid(o)); err != nil {
						t.Error(err)
					}
				})
			}
		}
		wg.Wait()

		// fan2 first bought with no guide, then through Li.
		fan2 := engine.NewID()
		f.event(orderOf(fan2, 500), paid(orderOf(fan2, 500)))
		f.visit(fan2, distribution.Touch{GuideCode: li.Code, Via: "link"})
		second := orderOf(fan2, 700)
		if second.Attribution.GuideID != li.ID {
			t.Fatalf("fan2's attribution %+v", second.Attribution)
		}
		f.event(second, paid(second))

		// fan3 had a paid order before first orders were marked.
		fan3 := engine.NewID()
		if _, _, err := f.svc.Store().RecordSale(f.ctx, f.shop.ID, distribution.Sale{OrderID: engine.NewID(), FanID: fan3,
			Channel: "direct", PaidAt: now}); err != nil {
			t.Fatal(err)
		}
		f.visit(fan3, distribution.Touch{GuideCode: li.Code, Via: "link"})
		third := orderOf(fan3, 900)
		f.event(third, paid(third))

		// fan4's first order came through Li, delivered again later.
		fan4 := engine.NewID()
		f.visit(fan4, distribution.Touch{GuideCode: li.Code, Via: "link"})
		fourth := orderOf(fan4, 300)
		for range 3 {
			f.event(fourth, paid(fourth))
		}

		day := guide.DayOf(now, time.FixedZone("CST", 8*3600))
		days, err := g.Store().Days(f.ctx, f.shop.ID, guide.DayFilter{GuideID: li.ID, From: day, To: day})
		if err != nil || len(days) != 1 {
			t.Fatalf("days %+v %v", days, err)
		}
		if c := days[0].Counts; c.FirstOrders != 2 || c.Orders != 7 || c.OrderingFans != 4 {
			t.Errorf("funnel %+v: want 2 first orders (fan1, fan4) of 7 orders by 4 fans", c)
		}
		if b := f.binding(fan1); b.PaidOrders != 4 {
			t.Errorf("fan1's paid orders %d", b.PaidOrders)
		}
		r, err := g.Funnel(f.ctx, f.shop.ID, guide.ReportQuery{Group: "guide", Period: "range", From: day, To: day})
		if err != nil || len(r.Rows) != 1 || r.Rows[0].FirstOrders != 2 || r.Total.FirstOrders != 2 {
			t.Errorf("report %+v %v", r, err)
		}
	})
}
