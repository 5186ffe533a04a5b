package points

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// shopFixture adds a catalog and the order service, with points plugged
// in as the discounter and a subscriber.
type shopFixture struct {
	*fixture
	cat    *catalog.Catalog
	orders *order.Service
}

func newShop(t *testing.T, e *engine.Engine) *shopFixture {
	f := newFixture(t, e)
	cs := catalog.NewStore(e)
	cat := catalog.New(cs, catalog.NewShelf(cs, time.Hour))
	orders := order.NewService(order.NewStore(e), cat, f.fans, slog.New(slog.NewTextHandler(io.Discard, nil)))
	orders.SetClock(f.now)
	orders.SetDiscounter(f.svc)
	orders.Subscribe(f.svc)
	return &shopFixture{fixture: f, cat: cat, orders: orders}
}

func (f *shopFixture) product(price, stock int64) catalog.Product {
	f.t.Helper()
	title := "Tea"
	p, err := f.cat.Create(context.Background(), f.shop.ID, catalog.Input{Title: &title, Price: &price, Stock: &stock})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

var address = order.Address{Name: "Han Meimei", Phone: "13900001111", Province: "Guangdong", City: "Shenzhen", District: "Nanshan", Detail: "8 Keyuan Road"}

func (f *shopFixture) place(fanID, productID string, qty, points int64) (order.Order, error) {
	return f.orders.Place(context.Background(), f.shop.ID, fanID, "", order.PlaceRequest{
		Items: []order.CartItemRequest{{ProductID: productID, Qty: qty}}, Address: address, Points: points})
}

func (f *shopFixture) pay(o order.Order) order.Order {
	f.t.Helper()
	ctx := context.Background()
	if err := f.orders.ConfirmPayment(ctx, f.shop.ID, order.Notification{Provider: order.ProviderSandbox,
		TransactionID: "tx-" + o.ID, OrderID: o.ID, Amount: o.Payable}); err != nil {
		f.t.Fatal(err)
	}
	got, err := f.orders.Get(ctx, f.shop.ID, o.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

func TestRedemptionRoundTrip(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newShop(t, e)
		// 100 points take ¥1 off, at most half the goods; 2 points per yuan paid.
		f.rules(func(r *Rules) { r.RedeemPointsPerYuan, r.RedeemMaxPercent, r.OrderPointsPerYuan = 100, 50, 2 })
		p := f.product(10000, 10) // ¥100
		id := f.fan()
		f.apply(id, Op{Key: "early", Kind: KindAdjust, Points: 3000, ExpiresAt: jan})
		f.apply(id, Op{Key: "late", Kind: KindAdjust, Points: 3000, ExpiresAt: mar})

		// Asking for 10,000 points on ¥100 of goods uses 5,000 (¥50, the cap),
		// the earliest expiring first.
		o, err := f.place(id, p.ID, 1, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		if o.Discount != 5000 || o.Payable != 5000 {
			t.Fatalf("discount %d payable %d", o.Discount, o.Payable)
		}
		if a := f.account(id); a.Balance != 1000 || len(a.Lots) != 1 || !a.Lots[0].ExpiresAt.Equal(mar) {
			t.Fatalf("after redemption: %+v", a)
		}
		// Paid ¥50: 100 points earned.
		o = f.pay(o)
		if a := f.account(id); a.Balance != 1100 {
			t.Fatalf("after payment: %+v", a)
		}
		// Refund ¥20 of the ¥50 paid: 40% of the reward (40 points) goes,
		// 40% of the 5,000 redeemed (2,000) comes back with its expiry.
		if _, err := f.orders.Refund(ctx, f.shop.ID, o.ID, order.RefundRequest{Amount: 2000, Reason: "damaged"}); err != nil {
			t.Fatal(err)
		}
		a := f.account(id)
		if a.Balance != 1100-40+2000 {
			t.Fatalf("after partial refund: %+v", a)
		}
		if a.Lots[0].Points != 2000 || !a.Lots[0].ExpiresAt.Equal(jan) {
			t.Fatalf("returned lot %+v, want 2000 expiring %s", a.Lots[0], jan)
		}
		// The rest of the money: everything comes back, the whole reward goes.
		if _, err := f.orders.Refund(ctx, f.shop.ID, o.ID, order.RefundRequest{Amount: 3000, Reason: "all"}); err != nil {
			t.Fatal(err)
		}
		a = f.account(id)
		if a.Balance != 6000 {
			t.Fatalf("after full refund: %+v, want the 6000 points the fan started with", a)
		}
		var jans, mars int64
		for _, l := range a.Lots {
			switch {
			case l.ExpiresAt.Equal(jan):
				jans += l.Points
			case l.ExpiresAt.Equal(mar):
				mars += l.Points
			}
		}
		if jans != 3000 || mars != 3000 {
			t.Fatalf("lots %+v: want 3000 expiring in January and 3000 in March again", a.Lots)
		}
		// Redelivering every event changes nothing.
		o, _ = f.orders.Get(ctx, f.shop.ID, o.ID)
		for _, ev := range []order.Event{{ID: order.EventPaid, Type: order.EventPaid}, {ID: "refund:" + o.Refunds[0].ID, Type: order.EventRefunded, Amount: 2000},
			{ID: "refund:" + o.Refunds[1].ID, Type: order.EventRefunded, Amount: 3000}} {
			if err := f.svc.OrderEvent(ctx, f.shop.ID, o, ev); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.account(id); got.Balance != 6000 {
			t.Fatalf("after redelivery: %+v", got)
		}
		f.checkConsistent(id)
	})
}

func TestRedemptionCancelledAndRefused(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newShop(t, e)
		f.rules(func(r *Rules) { r.RedeemPointsPerYuan, r.RedeemMaxPercent = 10, 100 })
		p := f.product(1000, 1)
		id := f.fan()
		f.apply(id, Op{Key: "grant", Kind: KindAdjust, Points: 50, ExpiresAt: feb})

		cases := []struct {
			name   string
			points int64
			want   error
		}{
			{"more points than the fan has", 80, fault.ErrConflict},
			{"too few points for any discount", 0, nil},
			{"negative points", -5, fault.ErrInvalid},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.place(id, p.ID, 1, tc.points)
				if tc.want == nil {
					if err != nil {
						t.Fatalf("no points asked: %v", err)
					}
					return
				}
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Status != tc.want.(*fault.Error).Status {
					t.Fatalf("got %v, want status %d", err, tc.want.(*fault.Error).Status)
				}
			})
		}
		// The product is now held by the order placed above; another with
		// points fails on stock, and its points come straight back.
		if _, err := f.place(id, p.ID, 1, 50); !errors.Is(err, catalog.ErrOutOfStock) && !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("out of stock: %v", err)
		}
		if a := f.account(id); a.Balance != 50 {
			t.Fatalf("after a rejected order: %+v", a)
		}
		// An order with points, cancelled: the points come back once.
		q := f.product(1000, 5)
		o, err := f.place(id, q.ID, 1, 50)
		if err != nil || o.Discount != 500 {
			t.Fatalf("place: %+v %v", o, err)
		}
		if _, err := f.orders.Cancel(ctx, f.shop.ID, o.ID, "changed my mind"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.OrderEvent(ctx, f.shop.ID, o, order.Event{ID: order.EventCancelled, Type: order.EventCancelled}); err != nil {
			t.Fatal(err)
		}
		a := f.account(id)
		if a.Balance != 50 || len(a.Lots) != 1 || !a.Lots[0].ExpiresAt.Equal(feb) {
			t.Fatalf("after cancel: %+v", a)
		}
		f.checkConsistent(id)
	})
}
