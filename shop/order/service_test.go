package order

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/fan"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

var schemas = []engine.Schema{catalog.Schema, fan.Schema, Schema}

// recorder is a subscriber that records every event it receives and can be
// told to fail.
type recorder struct {
	mu     sync.Mutex
	events []string
	fail   atomic.Bool
}

func (r *recorder) OrderEvent(_ context.Context, _ string, o Order, ev Event) error {
	if r.fail.Load() {
		return errors.New("subscriber down")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, o.ID+"/"+ev.ID)
	return nil
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e == id {
			n++
		}
	}
	return n
}

// fixture is a shop with a catalog and the order service on one engine.
type fixture struct {
	t       *testing.T
	tenant  string
	cat     *catalog.Catalog
	svc     *Service
	rec     *recorder
	sandbox *Sandbox
	clock   time.Time
}

func newFixture(t *testing.T, e *engine.Engine) *fixture {
	store := catalog.NewStore(e)
	cat := catalog.New(store, catalog.NewShelf(store, time.Hour))
	svc := NewService(NewStore(e), cat, fan.NewStore(e), slog.New(slog.NewTextHandler(io.Discard, nil)))
	f := &fixture{t: t, tenant: enginetest.Tenant(t, e), cat: cat, svc: svc, rec: &recorder{},
		sandbox: NewSandbox([]byte("test key")), clock: time.Now().UTC().Truncate(time.Millisecond)}
	svc.now = func() time.Time { return f.clock }
	svc.Subscribe(f.rec)
	return f
}

func (f *fixture) product(title string, price, stock int64, skus ...catalog.SKUInput) catalog.Product {
	f.t.Helper()
	in := catalog.Input{Title: &title, Price: &price, Stock: &stock}
	if len(skus) > 0 {
		in.SKUs = &skus
	}
	p, err := f.cat.Create(context.Background(), f.tenant, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) stock(productID, skuID string) int64 {
	f.t.Helper()
	p, err := f.cat.Get(context.Background(), f.tenant, productID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, k := range p.SKUs {
		if k.ID == skuID {
			return k.Stock
		}
	}
	return p.Stock
}

var address = Address{Name: "Han Meimei", Phone: "13900001111", Province: "Guangdong", City: "Shenzhen", District: "Nanshan", Detail: "8 Keyuan Road"}

func (f *fixture) place(fanID string, items ...CartItemRequest) (Order, error) {
	return f.svc.Place(context.Background(), f.tenant, fanID, "", PlaceRequest{Items: items, Address: address})
}

func (f *fixture) mustPlace(fanID string, items ...CartItemRequest) Order {
	f.t.Helper()
	o, err := f.place(fanID, items...)
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

func (f *fixture) pay(o Order) error {
	body := f.sandbox.Sign(Notification{TenantID: f.tenant, OrderID: o.ID, TransactionID: "txn-" + o.ID, Amount: o.Payable})
	return f.svc.Notify(context.Background(), f.sandbox, f.tenant, body)
}

func (f *fixture) get(id string) Order {
	f.t.Helper()
	o, err := f.svc.Get(context.Background(), f.tenant, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

func TestOrderLifecycle(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()

		t.Run("place, pay, ship, complete", func(t *testing.T) {
			f := newFixture(t, e)
			if err := f.svc.store.SaveSettings(ctx, f.tenant, Settings{ShippingFee: 800, FreeShippingOver: 10000,
				UnpaidTimeoutMinutes: 30, AutoCompleteDays: 7}); err != nil {
				t.Fatal(err)
			}
			tea := f.product("Tea", 3900, 10)
			set := f.product("Set", 0, 0, catalog.SKUInput{Name: "Blue", Price: 15800, Stock: 2})
			buyer := engine.NewID()
			o := f.mustPlace(buyer, CartItemRequest{ProductID: tea.ID, Qty: 2}, CartItemRequest{ProductID: tea.ID, Qty: 1})
			if o.Status != PendingPayment || len(o.Lines) != 1 || o.Lines[0].Qty != 3 || o.GoodsTotal != 11700 ||
				o.ShippingFee != 0 || o.Payable != 11700 {
				t.Fatalf("order %+v", o)
			}
			if got := f.stock(tea.ID, ""); got != 7 {
				t.Errorf("stock after placing = %d, want 7", got)
			}
			small := f.mustPlace(buyer, CartItemRequest{ProductID: set.ID, SKUID: set.SKUs[0].ID, Qty: 1})
			if small.Payable != 15800 || small.Lines[0].SKUName != "Blue" {
				t.Errorf("sku order %+v", small)
			}
			cheap := f.mustPlace(buyer, CartItemRequest{ProductID: tea.ID, Qty: 1})
			if cheap.ShippingFee != 800 || cheap.Payable != 4700 {
				t.Errorf("shipping below the threshold: %+v", cheap)
			}
			if err := f.pay(o); err != nil {
				t.Fatal(err)
			}
			paid := f.get(o.ID)
			if paid.Status != Paid || paid.Paid != 11700 || paid.Refundable != 11700 || paid.PaidAt == nil ||
				paid.Provider != ProviderSandbox || len(paid.Events) != 0 {
				t.Fatalf("paid order %+v", paid)
			}
			if f.rec.count(o.ID+"/paid") != 1 {
				t.Errorf("paid events: %v", f.rec.events)
			}
			if _, err := f.svc.Cancel(ctx, f.tenant, o.ID, ""); !errors.Is(err, fault.ErrConflict) {
				t.Errorf("cancel a paid order: %v", err)
			}
			if _, err := f.svc.Complete(ctx, f.tenant, o.ID); !errors.Is(err, fault.ErrConflict) {
				t.Errorf("complete an unshipped order: %v", err)
			}
			if _, err := f.svc.Ship(ctx, f.tenant, o.ID, "", "SF1"); !errors.Is(err, fault.ErrInvalid) {
				t.Errorf("ship without carrier: %v", err)
			}
			shipped, err := f.svc.Ship(ctx, f.tenant, o.ID, "SF Express", "SF1234567")
			if err != nil || shipped.Status != Shipped || shipped.TrackingNo != "SF1234567" {
				t.Fatalf("ship: %+v %v", shipped, err)
			}
			if _, err := f.svc.Ship(ctx, f.tenant, o.ID, "SF Express", "SF1"); !errors.Is(err, fault.ErrConflict) {
				t.Errorf("ship twice: %v", err)
			}
			done, err := f.svc.Complete(ctx, f.tenant, o.ID)
			if err != nil || done.Status != Completed || f.rec.count(o.ID+"/completed") != 1 {
				t.Fatalf("complete: %+v %v", done, err)
			}
			// Paying commits the hold: cancelling later does not give stock back.
			if got := f.stock(tea.ID, ""); got != 6 {
				t.Errorf("stock = %d, want 6", got)
			}
		})

		t.Run("a line that cannot be filled fails the order and returns held stock", func(t *testing.T) {
			f := newFixture(t, e)
			a := f.product("Plenty", 100, 50)
			b := f.product("Scarce", 100, 2)
			_, err := f.place(engine.NewID(), CartItemRequest{ProductID: a.ID, Qty: 5}, CartItemRequest{ProductID: b.ID, Qty: 3})
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Code != "out_of_stock" || fe.Status != 409 {
				t.Fatalf("err = %v", err)
			}
			if want := `only 2 of "Scarce" left; you asked for 3`; fe.Message != want {
				t.Errorf("message %q, want %q", fe.Message, want)
			}
			if got := f.stock(a.ID, ""); got != 50 {
				t.Errorf("stock of the filled line = %d, want 50 (given back)", got)
			}
			list, total, err := f.svc.List(ctx, f.tenant, Filter{})
			if err != nil || total != 0 || len(list) != 0 {
				t.Errorf("rejected order listed: %d %v", total, err)
			}
		})

		t.Run("cancel returns stock once", func(t *testing.T) {
			f := newFixture(t, e)
			p := f.product("Cup", 500, 4)
			buyer := engine.NewID()
			o := f.mustPlace(buyer, CartItemRequest{ProductID: p.ID, Qty: 3})
			if _, err := f.svc.CancelForFan(ctx, f.tenant, engine.NewID(), o.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("another buyer cancels: %v", err)
			}
			c, err := f.svc.CancelForFan(ctx, f.tenant, buyer, o.ID)
			if err != nil || c.Status != Cancelled || c.CancelledAt == nil {
				t.Fatalf("cancel: %+v %v", c, err)
			}
			if _, err := f.svc.Cancel(ctx, f.tenant, o.ID, ""); !errors.Is(err, fault.ErrConflict) {
				t.Errorf("cancel twice: %v", err)
			}
			if err := f.svc.Dispatch(ctx, f.tenant, o.ID); err != nil {
				t.Fatal(err)
			}
			if got := f.stock(p.ID, ""); got != 4 {
				t.Errorf("stock = %d, want 4", got)
			}
			if f.rec.count(o.ID+"/cancelled") != 1 {
				t.Errorf("cancelled events %v", f.rec.events)
			}
			if err := f.pay(o); err != nil {
				t.Fatalf("late payment notification: %v", err)
			}
			if got := f.get(o.ID); got.Status != Cancelled {
				t.Errorf("a late payment revived a cancelled order: %s", got.Status)
			}
		})

		t.Run("refunds", func(t *testing.T) {
			f := newFixture(t, e)
			p := f.product("Honey", 5000, 10)
			o := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 2})
			if _, err := f.svc.Refund(ctx, f.tenant, o.ID, RefundRequest{Amount: 100}); !errors.Is(err, fault.ErrConflict) {
				t.Errorf("refund unpaid: %v", err)
			}
			if err := f.pay(o); err != nil {
				t.Fatal(err)
			}
			for _, bad := range []int64{0, -5} {
				if _, err := f.svc.Refund(ctx, f.tenant, o.ID, RefundRequest{Amount: bad}); !errors.Is(err, fault.ErrInvalid) {
					t.Errorf("refund %d: %v", bad, err)
				}
			}
			r, err := f.svc.Refund(ctx, f.tenant, o.ID, RefundRequest{Amount: 3000, Reason: "one jar broke"})
			if err != nil || r.Refunded != 3000 || r.Refundable != 7000 || r.Status != Paid || len(r.Refunds) != 1 {
				t.Fatalf("partial refund: %+v %v", r, err)
			}
			_, err = f.svc.Refund(ctx, f.tenant, o.ID, RefundRequest{Amount: 7001})
			if !errors.Is(err, fault.ErrConflict) || err.Error() != "at most 7000 fen can still be refunded (paid 10000, refunded 3000)" {
				t.Errorf("over-refund: %v", err)
			}
			r, err = f.svc.Refund(ctx, f.tenant, o.ID, RefundRequest{Amount: 7000})
			if err != nil || r.Status != Refunded || r.Refundable != 0 {
				t.Fatalf("full refund: %+v %v", r, err)
			}
			if n := f.rec.count(o.ID + "/refund:" + r.Refunds[1].ID); n != 1 {
				t.Errorf("refund event delivered %d times", n)
			}
		})

		t.Run("wrong amount is not a payment", func(t *testing.T) {
			f := newFixture(t, e)
			p := f.product("Oil", 2800, 10)
			o := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 1})
			body := f.sandbox.Sign(Notification{TenantID: f.tenant, OrderID: o.ID, TransactionID: "t1", Amount: 1})
			if err := f.svc.Notify(ctx, f.sandbox, f.tenant, body); !errors.Is(err, fault.ErrConflict) {
				t.Errorf("wrong amount: %v", err)
			}
			forged := NewSandbox([]byte("other key")).Sign(Notification{TenantID: f.tenant, OrderID: o.ID, TransactionID: "t2", Amount: o.Payable})
			if err := f.svc.Notify(ctx, f.sandbox, f.tenant, forged); err == nil {
				t.Error("forged notification accepted")
			}
			if got := f.get(o.ID); got.Status != PendingPayment {
				t.Errorf("status %s", got.Status)
			}
		})

		t.Run("cron pass: unpaid timeout, interrupted placing, auto-complete, pending events", func(t *testing.T) {
			f := newFixture(t, e)
			p := f.product("Tray", 8900, 10)
			unpaid := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 2})
			shipped := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 1})
			if err := f.pay(shipped); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Ship(ctx, f.tenant, shipped.ID, "EMS", "E1"); err != nil {
				t.Fatal(err)
			}
			// A request that died while placing: order written, one hold taken.
			crashed := Order{ID: engine.NewID(), FanID: engine.NewID(), Status: Placing, Address: address,
				Lines: []Line{{ProductID: p.ID, Title: "Tray", Price: 8900, Qty: 3, Amount: 26700}}, CreatedAt: f.clock, ExpiresAt: f.clock.Add(time.Hour)}
			if err := f.svc.store.Insert(ctx, f.tenant, &crashed); err != nil {
				t.Fatal(err)
			}
			if err := f.cat.Hold(ctx, f.tenant, holdKey(crashed.ID, 0), p.ID, "", 3); err != nil {
				t.Fatal(err)
			}
			if got := f.stock(p.ID, ""); got != 4 {
				t.Fatalf("stock = %d, want 4", got)
			}
			r, err := f.svc.RunJobs(ctx, f.tenant)
			if err != nil || r != (JobReport{}) {
				t.Fatalf("early pass did something: %+v %v", r, err)
			}
			f.rec.fail.Store(true) // subscribers down: events must wait, not vanish
			f.clock = f.clock.Add(11 * 24 * time.Hour)
			r, err = f.svc.RunJobs(ctx, f.tenant)
			if err != nil || r.Expired != 1 || r.Recovered != 1 || r.Completed != 1 || r.Dispatched != 0 {
				t.Fatalf("pass: %+v %v", r, err)
			}
			// The stock keeper (the first subscriber) ran; the recorder after
			// it failed, so the events stay for the next pass.
			if got := f.stock(p.ID, ""); got != 9 {
				t.Errorf("stock = %d, want 9 (2 unpaid + 3 interrupted returned)", got)
			}
			f.rec.fail.Store(false)
			r, err = f.svc.RunJobs(ctx, f.tenant)
			if err != nil || r.Dispatched != 3 {
				t.Fatalf("second pass: %+v %v", r, err)
			}
			// Redelivery ran the stock keeper again: still returned only once.
			if got := f.stock(p.ID, ""); got != 9 {
				t.Errorf("stock after redelivery = %d, want 9", got)
			}
			for _, want := range []string{unpaid.ID + "/cancelled", crashed.ID + "/cancelled", shipped.ID + "/completed"} {
				if f.rec.count(want) != 1 {
					t.Errorf("%s delivered %d times", want, f.rec.count(want))
				}
			}
			if got := f.get(unpaid.ID); got.Status != Cancelled || got.CancelReason != "not paid in time" {
				t.Errorf("unpaid order: %s %q", got.Status, got.CancelReason)
			}
			if r, _ := f.svc.RunJobs(ctx, f.tenant); r != (JobReport{}) {
				t.Errorf("third pass did something: %+v", r)
			}
		})

		t.Run("bad input", func(t *testing.T) {
			f := newFixture(t, e)
			p := f.product("Plain", 100, 10)
			withSKU := f.product("Options", 0, 0, catalog.SKUInput{Name: "A", Price: 100, Stock: 1})
			other := newFixture(t, e).product("Elsewhere", 100, 10)
			var many []CartItemRequest
			for range MaxLines + 1 {
				many = append(many, CartItemRequest{ProductID: engine.NewID(), Qty: 1})
			}
			cases := []struct {
				name  string
				items []CartItemRequest
				addr  Address
				field string
			}{
				{"no items", nil, address, "items"},
				{"zero qty", []CartItemRequest{{ProductID: p.ID, Qty: 0}}, address, "items[0].qty"},
				{"negative qty", []CartItemRequest{{ProductID: p.ID, Qty: -1}}, address, "items[0].qty"},
				{"huge qty", []CartItemRequest{{ProductID: p.ID, Qty: 1000}}, address, "items[0].qty"},
				{"malformed id", []CartItemRequest{{ProductID: "x", Qty: 1}}, address, "items[0].product_id"},
				{"unknown product", []CartItemRequest{{ProductID: engine.NewID(), Qty: 1}}, address, "items[0].product_id"},
				{"another shop's product", []CartItemRequest{{ProductID: other.ID, Qty: 1}}, address, "items[0].product_id"},
				{"option missing", []CartItemRequest{{ProductID: withSKU.ID, Qty: 1}}, address, "sku_id"},
				{"option on a plain product", []CartItemRequest{{ProductID: p.ID, SKUID: engine.NewID(), Qty: 1}}, address, "sku_id"},
				{"too many lines", many, address, "items"},
				{"no name", []CartItemRequest{{ProductID: p.ID, Qty: 1}}, Address{Phone: "13800000000", Province: "a", City: "b", District: "c", Detail: "d"}, "address.name"},
				{"bad phone", []CartItemRequest{{ProductID: p.ID, Qty: 1}}, Address{Name: "a", Phone: "12345", Province: "a", City: "b", District: "c", Detail: "d"}, "address.phone"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, err := f.svc.Place(ctx, f.tenant, engine.NewID(), "", PlaceRequest{Items: tc.items, Address: tc.addr})
					var fe *fault.Error
					if !errors.As(err, &fe) || fe.Status != 400 || fe.Field != tc.field {
						t.Errorf("err = %#v, want a 400 on %s", err, tc.field)
					}
				})
			}
			if got := f.stock(p.ID, ""); got != 10 {
				t.Errorf("bad input changed stock: %d", got)
			}
		})
	})
}

// TestConcurrency: the money and stock rules under many goroutines. These
// need single-document atomic updates, which FerretDB does not keep.
func TestConcurrency(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()

		t.Run("50 buyers, last 10 units", func(t *testing.T) {
			f := newFixture(t, e)
			p := f.product("Last ten", 100, 10)
			var won, out atomic.Int32
			var wg sync.WaitGroup
			for range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := f.place(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 1})
					var fe *fault.Error
					switch {
					case err == nil:
						won.Add(1)
					case errors.As(err, &fe) && fe.Code == "out_of_stock":
						out.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if won.Load() != 10 || out.Load() != 40 || f.stock(p.ID, "") != 0 {
				t.Errorf("won %d, out of stock %d, stock %d; want 10, 40, 0", won.Load(), out.Load(), f.stock(p.ID, ""))
			}
			_, total, _ := f.svc.List(ctx, f.tenant, Filter{})
			if total != 10 {
				t.Errorf("%d orders listed, want 10", total)
			}
		})

		t.Run("one notification delivered 20 times at once", func(t *testing.T) {
			f := newFixture(t, e)
			p := f.product("Tea", 3900, 10)
			o := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 1})
			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := f.pay(o); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if got := f.get(o.ID); got.Status != Paid || got.Paid != 3900 {
				t.Errorf("order %s paid %d", got.Status, got.Paid)
			}
			if n := f.rec.count(o.ID + "/paid"); n != 1 {
				t.Errorf("paid event delivered %d times, want 1", n)
			}
		})

		t.Run("concurrent partial refunds never exceed what was paid", func(t *testing.T) {
			f := newFixture(t, e)
			p := f.product("Scarf", 10000, 10)
			o := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 1})
			if err := f.pay(o); err != nil {
				t.Fatal(err)
			}
			var ok atomic.Int32
			var wg sync.WaitGroup
			for range 30 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := f.svc.Refund(ctx, f.tenant, o.ID, RefundRequest{Amount: 700})
					if err == nil {
						ok.Add(1)
					} else if !errors.Is(err, fault.ErrConflict) {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			got := f.get(o.ID)
			if ok.Load() != 14 || got.Refunded != 9800 || got.Refundable != 200 || len(got.Refunds) != 14 {
				t.Errorf("%d refunds succeeded, refunded %d, refundable %d; want 14, 9800, 200", ok.Load(), got.Refunded, got.Refundable)
			}
		})

		t.Run("placing and cancelling race: stock ends exact", func(t *testing.T) {
			f := newFixture(t, e)
			p := f.product("Busy", 100, 100)
			var wg sync.WaitGroup
			var live atomic.Int64
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buyer := engine.NewID()
					o, err := f.place(buyer, CartItemRequest{ProductID: p.ID, Qty: 2})
					if err != nil {
						t.Error(err)
						return
					}
					if i%2 == 0 {
						if _, err := f.svc.CancelForFan(ctx, f.tenant, buyer, o.ID); err != nil {
							t.Error(err)
						}
						return
					}
					live.Add(2)
				}()
			}
			wg.Wait()
			if got := f.stock(p.ID, ""); got != 100-live.Load() {
				t.Errorf("stock %d, want %d", got, 100-live.Load())
			}
		})
	})
}

func TestIdempotencyKeys(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		now := f.clock
		k := IdemKey{Scope: "fan1", Key: "k1", Hash: "h1", OrderID: engine.NewID(), At: now}
		got, claimed, err := f.svc.store.ClaimKey(ctx, f.tenant, k, now.Add(-idempotencyWindow))
		if err != nil || !claimed || got.OrderID != k.OrderID {
			t.Fatalf("first claim: %+v %v %v", got, claimed, err)
		}
		again := k
		again.OrderID, again.Hash = engine.NewID(), "h2"
		got, claimed, err = f.svc.store.ClaimKey(ctx, f.tenant, again, now.Add(-idempotencyWindow))
		if err != nil || claimed || got.OrderID != k.OrderID || got.Hash != "h1" || got.Status != 0 {
			t.Fatalf("second claim: %+v %v %v", got, claimed, err)
		}
		k.Status, k.Body = 201, []byte(`{"id":"x"}`)
		if err := f.svc.store.FinishKey(ctx, f.tenant, k); err != nil {
			t.Fatal(err)
		}
		got, _, _ = f.svc.store.ClaimKey(ctx, f.tenant, again, now.Add(-idempotencyWindow))
		if got.Status != 201 || string(got.Body) != `{"id":"x"}` {
			t.Errorf("finished key: %+v", got)
		}
		// After the window the key is new again.
		later := again
		later.At = now.Add(25 * time.Hour)
		got, claimed, err = f.svc.store.ClaimKey(ctx, f.tenant, later, later.At.Add(-idempotencyWindow))
		if err != nil || !claimed || got.Hash != "h2" {
			t.Errorf("stale key not taken over: %+v %v %v", got, claimed, err)
		}
		other := IdemKey{Scope: "fan2", Key: "k1", Hash: "h9", OrderID: engine.NewID(), At: now}
		if _, claimed, _ := f.svc.store.ClaimKey(ctx, f.tenant, other, now.Add(-idempotencyWindow)); !claimed {
			t.Error("another fan's identical key clashed")
		}
		// A request that failed on our side releases its key: the retry runs.
		if err := f.svc.store.ReleaseKey(ctx, f.tenant, other); err != nil {
			t.Fatal(err)
		}
		if _, claimed, _ := f.svc.store.ClaimKey(ctx, f.tenant, other, now.Add(-idempotencyWindow)); !claimed {
			t.Error("released key not claimable")
		}
		// Keys past the window are deleted by the cron pass (fan1's was
		// renewed 25 hours on, so only fan2's goes).
		n, err := f.svc.store.DeleteKeysBefore(ctx, f.tenant, now.Add(time.Hour), 10)
		if err != nil || n != 1 {
			t.Errorf("deleted %d keys (%v), want 1", n, err)
		}
		if _, claimed, _ := f.svc.store.ClaimKey(ctx, f.tenant, other, now.Add(-idempotencyWindow)); !claimed {
			t.Error("deleted key still there")
		}
	})
}

func TestCart(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		p := f.product("Tea", 3900, 3)
		gone := f.product("Gone", 100, 5)
		buyer := engine.NewID()
		add := func(id string, qty int64) CartView {
			t.Helper()
			v, err := f.svc.SetCartItem(ctx, f.tenant, buyer, CartItemRequest{ProductID: id, Qty: qty}, true)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		add(p.ID, 2)
		v := add(p.ID, 1)
		if len(v.Items) != 1 || v.Items[0].Qty != 3 || !v.Ready || v.GoodsTotal != 11700 {
			t.Fatalf("cart %+v", v)
		}
		add(gone.ID, 1)
		if _, err := f.cat.Patch(ctx, f.tenant, p.ID, catalog.Input{Price: ptr(int64(4200)), Stock: ptr(int64(2))}); err != nil {
			t.Fatal(err)
		}
		if err := f.cat.Delete(ctx, f.tenant, gone.ID); err != nil {
			t.Fatal(err)
		}
		v, err := f.svc.Cart(ctx, f.tenant, buyer)
		if err != nil {
			t.Fatal(err)
		}
		lines := map[string]CartLine{}
		for _, l := range v.Items {
			lines[l.ProductID] = l
		}
		tea, gl := lines[p.ID], lines[gone.ID]
		if v.Ready || tea.Problem != "insufficient_stock" || !tea.PriceChanged || tea.Price != 4200 ||
			tea.PriceSeen != 3900 || gl.Problem != "gone" {
			t.Errorf("cart after changes %+v", v)
		}
		// Changing the line acknowledges the new price.
		v, err = f.svc.SetCartItem(ctx, f.tenant, buyer, CartItemRequest{ProductID: p.ID, Qty: 2}, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range v.Items {
			if l.ProductID == p.ID && (l.PriceChanged || l.Problem != "" || l.Qty != 2) {
				t.Errorf("after setting qty: %+v", l)
			}
		}
		if _, err := f.svc.SetCartItem(ctx, f.tenant, buyer, CartItemRequest{ProductID: p.ID, Qty: 0}, true); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("add 0: %v", err)
		}
		v, err = f.svc.SetCartItem(ctx, f.tenant, buyer, CartItemRequest{ProductID: gone.ID, Qty: 0}, false)
		if err != nil || len(v.Items) != 1 {
			t.Fatalf("remove: %+v %v", v, err)
		}
		o := f.mustPlace(buyer, CartItemRequest{ProductID: p.ID, Qty: 1})
		if v, _ := f.svc.Cart(ctx, f.tenant, buyer); len(v.Items) != 0 {
			t.Errorf("cart not emptied after placing %s", o.ID)
		}
	})
}

func ptr[T any](v T) *T { return &v }

type fixedAttributor Attribution

func (a fixedAttributor) Attribute(context.Context, string, string) (Attribution, error) {
	return Attribution(a), nil
}

func TestAttributionIsSnapshotted(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		p := f.product("Tea", 100, 10)
		plain := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 1})
		if got := f.get(plain.ID).Attribution; got.Channel != "direct" || got.DistributorID != "" {
			t.Errorf("without an attributor: %+v", got)
		}
		want := Attribution{Channel: "share_link", DistributorID: "d1", Path: []string{"d1", "d0"}, GuideID: "g1", StoreID: "s1"}
		f.svc.SetAttributor(fixedAttributor(want))
		o := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: p.ID, Qty: 1})
		got := f.get(o.ID).Attribution
		if got.Channel != want.Channel || got.DistributorID != "d1" || len(got.Path) != 2 || got.Path[1] != "d0" || got.GuideID != "g1" {
			t.Errorf("attribution %+v, want %+v", got, want)
		}
		// Rebinding later does not move the order.
		f.svc.SetAttributor(fixedAttributor(Attribution{Channel: "guide_qr", GuideID: "g2"}))
		if got := f.get(o.ID).Attribution; got.GuideID != "g1" {
			t.Errorf("old order moved to %+v", got)
		}
	})
}

// TestPaymentsThatCannotPay: money that arrives for an order it cannot pay
// (cancelled meanwhile, or paid already by another transaction) is kept,
// flagged for a refund once however often it is notified, listed to the
// merchant, and leaves the order as it was until marked refunded.
func TestPaymentsThatCannotPay(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		tea := f.product("Tea", 3900, 100)
		notify := func(o Order, txn string) {
			t.Helper()
			body := f.sandbox.Sign(Notification{TenantID: f.tenant, OrderID: o.ID, TransactionID: txn, Amount: o.Payable})
			if err := f.svc.Notify(ctx, f.sandbox, f.tenant, body); err != nil {
				t.Fatalf("notify %s: %v", txn, err)
			}
		}
		payments := func(o Order) []Payment {
			t.Helper()
			ps, err := f.svc.OrderPayments(ctx, f.tenant, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			return ps
		}

		// Cancelled while the shopper paid.
		late := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: tea.ID, Qty: 1})
		if _, err := f.svc.Cancel(ctx, f.tenant, late.ID, "out of town"); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			notify(late, "txn-late")
		}
		if o := f.get(late.ID); o.Status != Cancelled || o.Paid != 0 {
			t.Fatalf("late payment changed the order: %s, paid %d", o.Status, o.Paid)
		}
		ps := payments(late)
		if len(ps) != 1 || ps[0].Refund != PaymentToRefund || !strings.Contains(ps[0].Reason, "cancelled") || ps[0].Amount != late.Payable {
			t.Fatalf("late payment: %+v", ps)
		}
		provider := ps[0].Provider

		// Paid twice: the second transaction is flagged, the order keeps the
		// first, and one paid event went out.
		twice := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: tea.ID, Qty: 1})
		notify(twice, "txn-first")
		notify(twice, "txn-second")
		if o := f.get(twice.ID); o.Status != Paid || o.TransactionID != "txn-first" || f.rec.count(twice.ID+"/"+EventPaid) != 1 {
			t.Fatalf("order paid twice: %s by %s, %d paid events", o.Status, o.TransactionID, f.rec.count(twice.ID+"/"+EventPaid))
		}
		ps = payments(twice)
		if len(ps) != 2 || ps[0].Refund != "" || ps[1].Refund != PaymentToRefund || !strings.Contains(ps[1].Reason, "txn-first") {
			t.Fatalf("payments of the order paid twice: %+v", ps)
		}

		list, err := f.svc.PaymentsToRefund(ctx, f.tenant, "", 0)
		if err != nil || len(list) != 2 {
			t.Fatalf("to refund: %+v, %v", list, err)
		}

		// Marking refunded: once, for the order it belongs to, and only a
		// flagged payment.
		cases := []struct {
			name, order, txn string
			want             error
		}{
			{"another order's payment", twice.ID, "txn-late", fault.ErrNotFound},
			{"the payment that paid", twice.ID, "txn-first", fault.ErrConflict},
			{"flagged", late.ID, "txn-late", nil},
			{"flagged, again", late.ID, "txn-late", fault.ErrConflict},
			{"no transaction", late.ID, "", fault.ErrInvalid},
		}
		for _, c := range cases {
			p, err := f.svc.MarkRefunded(ctx, f.tenant, c.order, provider, c.txn)
			if !errors.Is(err, c.want) || (c.want == nil && (p.Refund != PaymentRefunded || p.RefundedAt == nil)) {
				t.Errorf("%s: %+v, %v (want %v)", c.name, p, err, c.want)
			}
		}
		if list, err := f.svc.PaymentsToRefund(ctx, f.tenant, PaymentRefunded, 10); err != nil || len(list) != 1 || list[0].TransactionID != "txn-late" {
			t.Errorf("refunded: %+v, %v", list, err)
		}
		if _, err := f.svc.PaymentsToRefund(ctx, f.tenant, "bogus", 10); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("bad refund state: %v", err)
		}

		racing := f.mustPlace(engine.NewID(), CartItemRequest{ProductID: tea.ID, Qty: 1})
		if _, err := f.svc.Cancel(ctx, f.tenant, racing.ID, ""); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { notify(racing, "txn-racing") })
		}
		wg.Wait()
		if ps := payments(racing); len(ps) != 1 || ps[0].Refund != PaymentToRefund {
			t.Fatalf("20 concurrent late notifications: %+v", ps)
		}
		// Marking it refunded from several consoles at once: one succeeds.
		var marked atomic.Int32
		for range 10 {
			wg.Go(func() {
				_, err := f.svc.MarkRefunded(ctx, f.tenant, racing.ID, provider, "txn-racing")
				switch {
				case err == nil:
					marked.Add(1)
				case !errors.Is(err, fault.ErrConflict):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if marked.Load() != 1 {
			t.Fatalf("%d concurrent marks succeeded, want 1", marked.Load())
		}
	})
}
