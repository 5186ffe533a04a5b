package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

var schemas = []engine.Schema{Schema}

// orders is the fixture's orders by id (the reviews' read of shop/order).
type orders map[string]order.Order

func (o orders) GetForFan(_ context.Context, _, fanID, id string) (order.Order, error) {
	if x, ok := o[id]; ok && x.FanID == fanID {
		return x, nil
	}
	return order.Order{}, fault.NotFound("order")
}

// images accepts the ids it holds.
type images map[string]bool

func (im images) Exists(_ context.Context, _ string, ids ...string) error {
	for _, id := range ids {
		if !im[id] {
			return fault.Invalid("images", "no image %s in this shop", id)
		}
	}
	return nil
}

type fixture struct {
	t      *testing.T
	e      *engine.Engine
	shop   string
	svc    *Service
	orders orders
	now    time.Time
	mu     sync.Mutex
}

func newFixture(t *testing.T, e *engine.Engine) *fixture {
	f := &fixture{t: t, e: e, shop: enginetest.Tenant(t, e), orders: orders{}, now: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}
	f.svc = NewService(NewStore(e), f.orders, nil)
	f.svc.SetClock(func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now })
	f.svc.SetImages(images{"img1": true, "img2": true})
	return f
}

func (f *fixture) advance(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }

// order adds an order of fan with lines of products, in status.
func (f *fixture) order(fan, status string, products ...string) string {
	o := order.Order{ID: engine.NewID(), FanID: fan, Status: status}
	for _, p := range products {
		o.Lines = append(o.Lines, order.Line{ProductID: p, Qty: 1})
	}
	f.orders[o.ID] = o
	return o.ID
}

func status(err error) int {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Status
	}
	if err == nil {
		return 0
	}
	return 500
}

func TestWhoAndWhen(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		fanA, fanB, p := engine.NewID(), engine.NewID(), engine.NewID()
		shipped := f.order(fanA, order.Shipped, p)
		done := f.order(fanA, order.Completed, p)
		in := Input{ProductID: p, Rating: 5, Text: "好喝"}
		cases := []struct {
			name       string
			fan, order string
			in         Input
			want       int
		}{
			{"before receipt", fanA, shipped, in, http.StatusConflict},
			{"another fan's order", fanB, done, in, http.StatusNotFound},
			{"no such line", fanA, done, Input{ProductID: engine.NewID(), Rating: 5}, http.StatusBadRequest},
			{"zero stars", fanA, done, Input{ProductID: p, Rating: 0}, http.StatusBadRequest},
			{"six stars", fanA, done, Input{ProductID: p, Rating: 6}, http.StatusBadRequest},
			{"hidden character", fanA, done, Input{ProductID: p, Rating: 4, Text: "a\u202eb"}, http.StatusBadRequest},
			{"too long", fanA, done, Input{ProductID: p, Rating: 4, Text: string(make([]rune, MaxText+1))}, http.StatusBadRequest},
			{"unknown photo", fanA, done, Input{ProductID: p, Rating: 4, Images: []string{"nope"}}, http.StatusBadRequest},
			{"the buyer after receipt", fanA, done, Input{ProductID: p, Rating: 4, Text: "好喝", Images: []string{"img1"}}, 0},
			{"a second review of the line", fanA, done, in, http.StatusConflict},
		}
		for _, c := range cases {
			_, err := f.svc.Create(ctx, f.shop, c.fan, c.order, c.in)
			if got := status(err); got != c.want {
				t.Errorf("%s: status %d (%v), want %d", c.name, got, err, c.want)
			}
		}
		st, _ := f.svc.Stats(ctx, f.shop, p)
		if st.Count != 1 || st.Sum != 4 || st.Average() != 4 {
			t.Fatalf("rating %+v, want one review of 4 stars", st)
		}
	})
}

func TestReplyOnceAndEditWindow(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		fan, p := engine.NewID(), engine.NewID()
		r, err := f.svc.Create(ctx, f.shop, fan, f.order(fan, order.Completed, p), Input{ProductID: p, Rating: 2, Text: "一般"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Reply(ctx, f.shop, r.ID, "抱歉，已改进"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Reply(ctx, f.shop, r.ID, "again"); status(err) != http.StatusConflict {
			t.Fatalf("second reply: %v, want 409", err)
		}
		if _, err := f.svc.Update(ctx, f.shop, engine.NewID(), r.ID, Edit{Rating: 1}); status(err) != http.StatusNotFound {
			t.Fatalf("edit by another fan: %v, want 404", err)
		}
		f.advance(29 * 24 * time.Hour)
		got, err := f.svc.Update(ctx, f.shop, fan, r.ID, Edit{Rating: 5, Text: "后来很好"})
		if err != nil || got.Rating != 5 {
			t.Fatalf("edit within 30 days: %+v %v", got, err)
		}
		if st, _ := f.svc.Stats(ctx, f.shop, p); st.Count != 1 || st.Sum != 5 {
			t.Fatalf("rating after the edit %+v, want 1 review of 5", st)
		}
		f.advance(24 * time.Hour)
		if _, err := f.svc.Update(ctx, f.shop, fan, r.ID, Edit{Rating: 1}); status(err) != http.StatusConflict {
			t.Fatalf("edit after 30 days: %v, want 409", err)
		}
		stored, _ := f.svc.Get(ctx, f.shop, r.ID)
		if stored.Reply != "抱歉，已改进" || stored.Rating != 5 {
			t.Fatalf("stored %+v", stored)
		}
	})
}

// TestOnePerLineConcurrently: many goroutines review the same line at once;
// exactly one review is recorded and counted, the others get 409s.
func TestOnePerLineConcurrently(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		fan, p := engine.NewID(), engine.NewID()
		id := f.order(fan, order.Completed, p)
		const n = 16
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, conflicts := 0, 0
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.svc.Create(ctx, f.shop, fan, id, Input{ProductID: p, Rating: 1 + i%5})
				mu.Lock()
				defer mu.Unlock()
				switch status(err) {
				case 0:
					ok++
				case http.StatusConflict:
					conflicts++
				default:
					t.Errorf("review: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 1 || conflicts != n-1 {
			t.Fatalf("%d recorded, %d conflicts; want 1 and %d", ok, conflicts, n-1)
		}
		st, _ := f.svc.Stats(ctx, f.shop, p)
		list, total, _ := f.svc.List(ctx, f.shop, p, 10, 0)
		if st.Count != 1 || total != 1 || len(list) != 1 || st.Sum != int64(list[0].Rating) {
			t.Fatalf("rating %+v, list %d/%d", st, len(list), total)
		}
	})
}

// TestAggregatesUnderConcurrency: reviews of many orders of one product
// arriving at once add up exactly.
func TestAggregatesUnderConcurrency(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		p := engine.NewID()
		const n = 24
		type job struct {
			fan, order string
			rating     int
		}
		var jobs []job
		var want int64
		for i := range n {
			fan := engine.NewID()
			jobs = append(jobs, job{fan, f.order(fan, order.Completed, p), 1 + i%5})
			want += int64(1 + i%5)
		}
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.svc.Create(ctx, f.shop, j.fan, j.order, Input{ProductID: p, Rating: j.rating}); err != nil {
					t.Errorf("review: %v", err)
				}
			}()
		}
		wg.Wait()
		st, err := f.svc.Stats(ctx, f.shop, p)
		if err != nil || st.Count != n || st.Sum != want {
			t.Fatalf("rating %+v %v, want %d reviews summing %d", st, err, n, want)
		}
		count, sum, err := f.svc.RatingSince(ctx, f.shop, f.now.Add(-time.Hour))
		if err != nil || count != n || sum != want {
			t.Fatalf("since: %d %d %v", count, sum, err)
		}
		if n, err := f.svc.Repair(ctx, f.shop); err != nil || n != 0 {
			t.Fatalf("repair found %d uncounted (%v), want none", n, err)
		}
	})
}

// TestShopsApart: one shop's reviews are never another's.
func TestShopsApart(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		other := enginetest.Tenant(t, e)
		ctx := context.Background()
		fan, p := engine.NewID(), engine.NewID()
		r, err := f.svc.Create(ctx, f.shop, fan, f.order(fan, order.Completed, p), Input{ProductID: p, Rating: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Get(ctx, other, r.ID); status(err) != http.StatusNotFound {
			t.Fatalf("another shop's review: %v", err)
		}
		if _, err := f.svc.Reply(ctx, other, r.ID, "x"); status(err) != http.StatusNotFound {
			t.Fatalf("reply to another shop's review: %v", err)
		}
		if list, total, _ := f.svc.List(ctx, other, "", 10, 0); len(list) != 0 || total != 0 {
			t.Fatalf("another shop lists %d", total)
		}
		if st, _ := f.svc.Stats(ctx, other, p); st.Count != 0 {
			t.Fatalf("another shop's rating %+v", st)
		}
	})
}

// TestProductBlockVersion: a new review, an edit and a reply each change
// the product page's version.
func TestProductBlockVersion(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		fan, p := engine.NewID(), engine.NewID()
		seen := map[string]bool{}
		check := func(step string) {
			v, data, err := f.svc.ProductBlock(ctx, f.shop, p)
			if err != nil {
				t.Fatal(err)
			}
			if seen[v] {
				t.Fatalf("%s: version %s seen before", step, v)
			}
			seen[v] = true
			if _, err := data(); err != nil {
				t.Fatal(err)
			}
		}
		check("none")
		r, _ := f.svc.Create(ctx, f.shop, fan, f.order(fan, order.Completed, p), Input{ProductID: p, Rating: 3})
		check("review")
		f.svc.Update(ctx, f.shop, fan, r.ID, Edit{Rating: 4})
		check("edit")
		f.svc.Reply(ctx, f.shop, r.ID, fmt.Sprint("thanks"))
		check("reply")
	})
}

// TestRepairUncounted: a review a crash left out of its product's rating
// (MongoDB: inserted, never counted) is counted by the repair pass, once.
func TestRepairUncounted(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		if e.Kind() != engine.Mongo {
			t.Skip("on SQLite a review and its rating are one transaction")
		}
		f := newFixture(t, e)
		ctx := context.Background()
		fan, p := engine.NewID(), engine.NewID()
		if _, err := f.svc.Create(ctx, f.shop, fan, f.order(fan, order.Completed, p), Input{ProductID: p, Rating: 4}); err != nil {
			t.Fatal(err)
		}
		crashed := reviewDoc{ID: engine.NewID(), OrderID: engine.NewID(), FanID: fan, ProductID: p, Rating: 2, Images: []string{},
			CreatedAt: f.now, UpdatedAt: f.now}
		if err := e.Mongo(f.shop).C("reviews").InsertOne(ctx, crashed); err != nil {
			t.Fatal(err)
		}
		f.advance(2 * time.Minute)
		for round, want := range []int{1, 0} {
			if n, err := f.svc.Repair(ctx, f.shop); err != nil || n != want {
				t.Fatalf("repair %d: %d %v, want %d", round, n, err, want)
			}
		}
		st, _ := f.svc.Stats(ctx, f.shop, p)
		all, _ := f.svc.Stats(ctx, f.shop, allProducts)
		if st.Count != 2 || st.Sum != 6 || all.Count != 2 || all.Sum != 6 {
			t.Fatalf("rating %+v, shop %+v; want 2 reviews summing 6", st, all)
		}
	})
}
