package aftersale

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

var schemas = []engine.Schema{catalog.Schema, fan.Schema, order.Schema, Schema}

// photos is an image store holding the ids it was given.
type photos map[string]bool

func (p photos) Exists(_ context.Context, _ string, ids ...string) error {
	for _, id := range ids {
		if !p[id] {
			return fault.NotFound("image")
		}
	}
	return nil
}

// fixture is a shop with catalog, orders and after-sale on one engine and
// a clock the test moves.
type fixture struct {
	t      *testing.T
	e      *engine.Engine
	shop   string
	cat    *catalog.Catalog
	orders *order.Service
	svc    *Service
	photo  string
	mu     sync.Mutex
	clock  time.Time
}

func newFixture(t *testing.T, e *engine.Engine) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, e: e, shop: enginetest.Tenant(t, e), clock: time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC),
		photo: engine.NewID()}
	cs := catalog.NewStore(e)
	f.cat = catalog.New(cs, catalog.NewShelf(cs, time.Hour))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.orders = order.NewService(order.NewStore(e), f.cat, fan.NewStore(e), log)
	f.orders.SetClock(f.now)
	disputes, err := NewDisputes(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = NewService(Options{Store: NewStore(e), Orders: f.orders, Images: photos{f.photo: true}, Disputes: disputes, Log: log})
	f.svc.SetClock(f.now)
	return f
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.clock = f.clock.Add(d)
	f.mu.Unlock()
}

var address = order.Address{Name: "Han Meimei", Phone: "13900001111", Province: "Guangdong", City: "Shenzhen", District: "Nanshan",
	Detail: "8 Keyuan Road"}

// order places and pays (sandbox) an order of two products, ¥50 × 2 and
// ¥30 × 1, for fan, then moves it to status (paid, shipped, completed).
func (f *fixture) order(fanID, status string) order.Order {
	f.t.Helper()
	ctx := context.Background()
	var items []order.CartItemRequest
	for _, p := range []struct{ price, qty int64 }{{5000, 2}, {3000, 1}} {
		title, stock := "Tea", int64(100)
		prod, err := f.cat.Create(ctx, f.shop, catalog.Input{Title: &title, Price: &p.price, Stock: &stock})
		if err != nil {
			f.t.Fatal(err)
		}
		items = append(items, order.CartItemRequest{ProductID: prod.ID, Qty: p.qty})
	}
	o, err := f.orders.Place(ctx, f.shop, fanID, "", order.PlaceRequest{Items: items, Address: address})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.orders.ConfirmPayment(ctx, f.shop, order.Notification{Provider: order.ProviderSandbox,
		TransactionID: "tx-" + o.ID, OrderID: o.ID, Amount: o.Payable}); err != nil {
		f.t.Fatal(err)
	}
	if status == order.Shipped || status == order.Completed {
		if _, err := f.orders.Ship(ctx, f.shop, o.ID, "SF", "SF100"); err != nil {
			f.t.Fatal(err)
		}
	}
	if status == order.Completed {
		if _, err := f.orders.Complete(ctx, f.shop, o.ID); err != nil {
			f.t.Fatal(err)
		}
	}
	o, err = f.orders.Get(ctx, f.shop, o.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

func (f *fixture) create(fanID, orderID string, in CreateRequest) Request {
	f.t.Helper()
	r, err := f.svc.Create(context.Background(), f.shop, fanID, orderID, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) get(id string) Request {
	f.t.Helper()
	r, err := f.svc.Get(context.Background(), f.shop, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// refunds are the order's refunds carrying request id's mark.
func (f *fixture) refunds(orderID, id string) []order.Refund {
	f.t.Helper()
	o, err := f.orders.Get(context.Background(), f.shop, orderID)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []order.Refund
	for _, r := range o.Refunds {
		if r.Reason == RefundMark(id) {
			out = append(out, r)
		}
	}
	return out
}

// oneRefund fails unless request id has exactly one refund of amount on
// its order, and the request records it.
func (f *fixture) oneRefund(id string, amount int64) {
	f.t.Helper()
	r := f.get(id)
	got := f.refunds(r.OrderID, id)
	if len(got) != 1 || got[0].Amount != amount {
		f.t.Fatalf("refunds of request %s = %+v, want one of %d", id, got, amount)
	}
	if r.RefundStatus != RefundSent || r.RefundID != got[0].ID {
		f.t.Fatalf("request records refund %s %q, want sent %q", r.RefundStatus, r.RefundID, got[0].ID)
	}
}

func (f *fixture) run() JobReport {
	f.t.Helper()
	rep, err := f.svc.RunJobs(context.Background(), f.shop)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

// status fails with the error's status unless err has the one wanted.
func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Status != status {
		t.Fatalf("err = %v, want a %d", err, status)
	}
}

// together runs fn n times at once and waits.
func together(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func asFault(err error) *fault.Error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}
