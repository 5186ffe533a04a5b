package vote

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// notices records the notices a notifier was asked for, by key.
type notices struct {
	mu   sync.Mutex
	keys map[string]int
}

func (n *notices) DealOpened(_ context.Context, _, _, key string, _ Deal) error {
	n.mu.Lock()
	n.keys[key]++
	n.mu.Unlock()
	return nil
}

// votedRound is a round with products, voted for by voters (each with
// ballots) on product 0, then ended.
func (f *fixture) votedRound(voters int) (Round, []string, []string) {
	f.t.Helper()
	ctx := context.Background()
	r, ids := f.round(3)
	fans := make([]string, voters)
	for i := range fans {
		fans[i] = engine.NewID()
		f.spend.set(fans[i], 100_00)
		if _, err := f.svc.Vote(ctx, f.shop, fans[i], ids[0]); err != nil {
			f.t.Fatalf("vote %d: %v", i, err)
		}
	}
	f.mu.Lock()
	f.now = r.EndsAt.Add(time.Minute)
	f.mu.Unlock()
	return r, ids, fans
}

func TestDeals(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		r, ids := f.round(3)
		voter := engine.NewID()
		f.spend.set(voter, 100_00)
		if _, err := f.svc.Vote(ctx, f.shop, voter, ids[0]); err != nil {
			t.Fatal(err)
		}
		in := DealInput{RoundID: r.ID, ProductID: ids[0], Price: 2900, Quantity: 10, EndsAt: f.now.Add(48 * time.Hour)}
		if _, err := f.svc.CreateDeal(ctx, f.shop, in); status(err) != http.StatusConflict {
			t.Fatalf("a deal before the round ends: %v", err)
		}
		f.mu.Lock()
		f.now = r.EndsAt.Add(time.Minute)
		f.mu.Unlock()
		in.EndsAt = f.now.Add(48 * time.Hour)
		bad := func(mod func(*DealInput)) DealInput { x := in; mod(&x); return x }
		minus := -5
		cases := []struct {
			name string
			in   DealInput
			want int
		}{
			{"above the product's price", bad(func(x *DealInput) { x.Price = 3901 }), http.StatusBadRequest},
			{"no quantity", bad(func(x *DealInput) { x.Quantity = 0 }), http.StatusBadRequest},
			{"ending before the head start", bad(func(x *DealInput) { x.EndsAt = f.now.Add(30 * time.Minute) }), http.StatusBadRequest},
			{"a negative head start", bad(func(x *DealInput) { x.HeadStartMinutes = &minus }), http.StatusBadRequest},
			{"a product without votes", bad(func(x *DealInput) { x.ProductID = ids[1] }), http.StatusConflict},
			{"a product not in the round", bad(func(x *DealInput) { x.ProductID = engine.NewID() }), http.StatusBadRequest},
			{"no such round", bad(func(x *DealInput) { x.RoundID = engine.NewID() }), http.StatusBadRequest},
			{"the deal", in, 0},
			{"a second deal on the product", in, http.StatusConflict},
		}
		for _, c := range cases {
			if _, err := f.svc.CreateDeal(ctx, f.shop, c.in); status(err) != c.want {
				t.Errorf("%s: %v, want status %d", c.name, err, c.want)
			}
		}
		deals, err := f.svc.Deals(ctx, f.shop)
		if err != nil || len(deals) != 1 || deals[0].Votes != 1 || deals[0].PublicAt.Sub(deals[0].StartsAt) != DefaultHeadStart {
			t.Fatalf("deals %+v %v", deals, err)
		}
		d := deals[0]
		// The voters' head start, then everyone, until the end.
		other := engine.NewID()
		price := func(fan string) int64 {
			t.Helper()
			id, p, err := f.svc.DealPrice(ctx, f.shop, fan, ids[0], 1, f.clockNow())
			if err != nil || (id != "" && id != d.ID) {
				t.Fatalf("deal price: %q %d %v", id, p, err)
			}
			return p
		}
		if v, pd, err := f.svc.ProductDeal(ctx, f.shop, ids[0]); err != nil || pd == nil || pd.ID != d.ID || v != d.ID+"|voters_only|10" {
			t.Fatalf("the product page's deal: %q %+v %v", v, pd, err)
		}
		if _, pd, err := f.svc.ProductDeal(ctx, f.shop, ids[1]); err != nil || pd != nil {
			t.Fatalf("a product without a deal: %+v %v", pd, err)
		}
		if price(voter) != 2900 || price(other) != 0 {
			t.Fatalf("head start: voter %d, other %d", price(voter), price(other))
		}
		f.advance(DefaultHeadStart)
		if price(other) != 2900 {
			t.Fatalf("after the head start: %d", price(other))
		}
		if _, p, _ := f.svc.DealPrice(ctx, f.shop, other, ids[0], 11, f.clockNow()); p != 0 {
			t.Fatalf("more than the quantity at the group price: %d", p)
		}
		f.advance(48 * time.Hour)
		if price(voter) != 0 {
			t.Fatalf("after the end: %d", price(voter))
		}
	})
}

func (f *fixture) clockNow() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }

// TestDealQuantity: 50 orders claim one unit each of a deal of 20 at once:
// exactly 20 get it; a replay changes nothing; a cancelled order gives its
// unit back once.
func TestDealQuantity(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		r, ids, _ := f.votedRound(1)
		d, err := f.svc.CreateDeal(ctx, f.shop, DealInput{RoundID: r.ID, ProductID: ids[0], Price: 1900, Quantity: 20,
			EndsAt: f.now.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		orders := make([]string, 50)
		got := map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range orders {
			orders[i] = engine.NewID()
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := f.svc.ClaimDeal(ctx, f.shop, d.ID, orders[i], 1)
				mu.Lock()
				got[status(err)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if got[0] != 20 || got[http.StatusConflict] != 30 {
			t.Fatalf("50 claims at once of 20: %v", got)
		}
		if d, _ = f.svc.Deal(ctx, f.shop, d.ID); d.Sold != 20 || d.State(f.clockNow()) != DealSoldOut {
			t.Fatalf("deal %+v, want 20 sold", d)
		}
		// Find a winner: its replay is a no-op; its cancellation frees one unit, once.
		var winner string
		for _, o := range orders {
			if ok, _ := NewStore(e).Release(ctx, f.shop, o); ok {
				winner = o
				break
			}
		}
		if winner == "" {
			t.Fatal("no order holds a unit")
		}
		if err := f.svc.OrderEvent(ctx, f.shop, order.Order{ID: winner}, order.Event{ID: order.EventCancelled, Type: order.EventCancelled}); err != nil {
			t.Fatal(err)
		}
		if d, _ = f.svc.Deal(ctx, f.shop, d.ID); d.Sold != 19 {
			t.Fatalf("after a cancellation (twice): %d sold, want 19", d.Sold)
		}
		if err := f.svc.ClaimDeal(ctx, f.shop, d.ID, engine.NewID(), 2); status(err) != http.StatusConflict {
			t.Fatalf("two units with one left: %v", err)
		}
		last := engine.NewID()
		for range 2 {
			if err := f.svc.ClaimDeal(ctx, f.shop, d.ID, last, 1); err != nil {
				t.Fatalf("the last unit (and its replay): %v", err)
			}
		}
		if d, _ = f.svc.Deal(ctx, f.shop, d.ID); d.Sold != 20 {
			t.Fatalf("%d sold, want 20", d.Sold)
		}
	})
}

// TestDealNotices: the voters of a deal's product are told once when it
// opens, however many passes run at once or again.
func TestDealNotices(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		n := &notices{keys: map[string]int{}}
		f.svc.SetNotifier(n)
		r, ids, fans := f.votedRound(5)
		start := f.clockNow().Add(time.Hour)
		d, err := f.svc.CreateDeal(ctx, f.shop, DealInput{RoundID: r.ID, ProductID: ids[0], Price: 1900, Quantity: 20,
			StartsAt: &start, EndsAt: start.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if told, err := f.svc.NotifyDeals(ctx, f.shop); err != nil || told != 0 {
			t.Fatalf("before the deal opens: told %d %v", told, err)
		}
		f.advance(time.Hour)
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.svc.NotifyDeals(ctx, f.shop); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if told, err := f.svc.NotifyDeals(ctx, f.shop); err != nil || told != 0 {
			t.Fatalf("a pass after all were told: told %d %v", told, err)
		}
		if len(n.keys) != len(fans) {
			t.Fatalf("notices %v, want one key per voter (%d)", n.keys, len(fans))
		}
		for _, fan := range fans {
			if n.keys["group-deal:"+d.ID+":"+fan] == 0 {
				t.Errorf("voter %s not told", fan)
			}
		}
		if d, _ = f.svc.Deal(ctx, f.shop, d.ID); !d.Notified {
			t.Fatalf("deal %+v not marked notified", d)
		}
	})
}
