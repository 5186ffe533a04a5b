package vote

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"

	"go.mongodb.org/mongo-driver/v2/bson"
)

var schemas = []engine.Schema{Schema}

// spending is the fixture's spending per fan (fen).
type spending struct {
	mu    sync.Mutex
	fen   map[string]int64
	first map[string]time.Time
	addr  map[string]string
}

func (s *spending) Spent(_ context.Context, _, fanID string) (Spend, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Spend{Paid: s.fen[fanID], FirstPaidAt: s.first[fanID], Address: s.addr[fanID]}, nil
}

func (s *spending) set(fanID string, fen int64) { s.mu.Lock(); s.fen[fanID] = fen; s.mu.Unlock() }

// profile sets the fan's first paid order and latest address.
func (s *spending) profile(fanID string, first time.Time, addr string) {
	s.mu.Lock()
	s.first[fanID], s.addr[fanID] = first, addr
	s.mu.Unlock()
}

// missingProduct is the one product id the fixture's catalog lacks.
var missingProduct = engine.NewID()

// products are any id asked for but missingProduct, titled by it.
type products struct{}

func (products) Get(_ context.Context, _, id string) (catalog.Product, error) {
	if id == missingProduct {
		return catalog.Product{}, fault.NotFound("product")
	}
	return catalog.Product{ID: id, Title: "tea " + id[:6], Price: 3900}, nil
}

func (products) List(context.Context, string, catalog.Filter) ([]catalog.Product, int64, error) {
	return nil, 0, nil
}

type fixture struct {
	t     *testing.T
	shop  string
	svc   *Service
	spend *spending
	mu    sync.Mutex
	now   time.Time
}

// tuesday10 is Tuesday 2026-12-08 10:00 China time.
var tuesday10 = time.Date(2026, 12, 8, 10, 0, 0, 0, China)

func newFixture(t *testing.T, e *engine.Engine) *fixture {
	f := &fixture{t: t, shop: enginetest.Tenant(t, e), spend: &spending{fen: map[string]int64{}, first: map[string]time.Time{}, addr: map[string]string{}}, now: tuesday10.UTC()}
	f.svc = NewService(NewStore(e), f.spend, products{}, nil)
	f.svc.SetClock(func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now })
	return f
}

func (f *fixture) advance(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }

// round opens a round at once with n products and returns their ids.
func (f *fixture) round(n int) (Round, []string) {
	f.t.Helper()
	ctx := context.Background()
	r, err := f.svc.CreateRound(ctx, f.shop, RoundInput{StartNow: true})
	if err != nil {
		f.t.Fatalf("create round: %v", err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = engine.NewID()
		if _, err := f.svc.AddItem(ctx, f.shop, r.ID, ItemInput{ProductID: ids[i], ExpectedPrice: 2900, TargetVotes: 10}); err != nil {
			f.t.Fatalf("add product %d: %v", i, err)
		}
	}
	return r, ids
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

func TestWindow(t *testing.T) {
	at := func(day, hour int) time.Time { return time.Date(2026, 12, day, hour, 0, 0, 0, China) } // 2026-12-07 is a Monday
	cases := []struct {
		name       string
		now        time.Time
		start, end time.Time
	}{
		{"monday before 08:00", at(7, 7), at(7, 8), at(8, 8)},
		{"monday at 08:00", at(7, 8), at(8, 8), at(9, 8)},
		{"tuesday afternoon", at(8, 15), at(9, 8), at(10, 8)},
		{"thursday: friday's round runs to monday", at(10, 9), at(11, 8), at(14, 8)},
		{"friday after opening: monday's", at(11, 9), at(14, 8), at(15, 8)},
		{"saturday: monday's", at(12, 12), at(14, 8), at(15, 8)},
		{"sunday: monday's", at(13, 23), at(14, 8), at(15, 8)},
	}
	for _, c := range cases {
		s, e := Window(c.now)
		if !s.Equal(c.start) || !e.Equal(c.end) {
			t.Errorf("%s: window %s – %s, want %s – %s", c.name, s.In(China), e.In(China), c.start, c.end)
		}
	}
	if s, e := Window(at(10, 9)); e.Sub(s) != 72*time.Hour {
		t.Errorf("friday's round runs %s, want 72h", e.Sub(s))
	}
}

func TestRounds(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		next, err := f.svc.CreateRound(ctx, f.shop, RoundInput{})
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := Window(f.now); !next.StartsAt.Equal(want) || next.EndsAt.Sub(next.StartsAt) != 24*time.Hour {
			t.Fatalf("default round %+v, want the next 08:00 window", next)
		}
		past := f.now.Add(-time.Hour)
		end := f.now.Add(30 * time.Minute)
		cases := []struct {
			name string
			in   RoundInput
			want int
		}{
			{"overlapping the next window", RoundInput{}, http.StatusConflict},
			{"in the past", RoundInput{StartsAt: &past}, http.StatusBadRequest},
			{"shorter than an hour", RoundInput{StartNow: true, EndsAt: &end}, http.StatusBadRequest},
			{"both ways of starting", RoundInput{StartNow: true, StartsAt: &past}, http.StatusBadRequest},
			{"at once, until the next window", RoundInput{StartNow: true}, 0},
			{"at once again", RoundInput{StartNow: true}, http.StatusConflict},
		}
		for _, c := range cases {
			if _, err := f.svc.CreateRound(ctx, f.shop, c.in); status(err) != c.want {
				t.Errorf("%s: %v, want status %d", c.name, err, c.want)
			}
		}
		cur, err := f.svc.Current(ctx, f.shop)
		if err != nil || !cur.AtOnce || !cur.EndsAt.Equal(next.StartsAt) {
			t.Fatalf("current round %+v %v, want the one started at once, ending at the next window", cur, err)
		}
		// Products join before the start (or within the grace of a round started at once).
		p := engine.NewID()
		if _, err := f.svc.AddItem(ctx, f.shop, cur.ID, ItemInput{ProductID: p, ExpectedPrice: 100}); err != nil {
			t.Fatalf("add within the grace: %v", err)
		}
		if _, err := f.svc.AddItem(ctx, f.shop, cur.ID, ItemInput{ProductID: p, ExpectedPrice: 100}); status(err) != http.StatusConflict {
			t.Fatalf("the same product twice: %v", err)
		}
		if _, err := f.svc.AddItem(ctx, f.shop, cur.ID, ItemInput{ProductID: missingProduct, ExpectedPrice: 100}); status(err) != http.StatusNotFound {
			t.Fatalf("no such product: %v", err)
		}
		if _, err := f.svc.AddItem(ctx, f.shop, cur.ID, ItemInput{ProductID: p, ExpectedPrice: 0}); status(err) != http.StatusBadRequest {
			t.Fatalf("no expected price: %v", err)
		}
		f.advance(SetupGrace)
		if _, err := f.svc.AddItem(ctx, f.shop, cur.ID, ItemInput{ProductID: engine.NewID(), ExpectedPrice: 100}); status(err) != http.StatusConflict {
			t.Fatalf("after the grace: %v", err)
		}
		if _, err := f.svc.AddItem(ctx, f.shop, next.ID, ItemInput{ProductID: engine.NewID(), ExpectedPrice: 100}); err != nil {
			t.Fatalf("to the next round: %v", err)
		}
		// Extending over a holiday: never into the next round, at most 7 days.
		if _, err := f.svc.Extend(ctx, f.shop, cur.ID, next.EndsAt); status(err) != http.StatusConflict {
			t.Fatalf("extend over the next round: %v", err)
		}
		if r, err := f.svc.Extend(ctx, f.shop, next.ID, next.StartsAt.Add(72*time.Hour)); err != nil || r.EndsAt.Sub(r.StartsAt) != 72*time.Hour {
			t.Fatalf("extend: %+v %v", r, err)
		}
		if _, err := f.svc.Extend(ctx, f.shop, next.ID, next.StartsAt.Add(8*24*time.Hour)); status(err) != http.StatusBadRequest {
			t.Fatalf("extend past 7 days: %v", err)
		}
		if list, err := f.svc.Rounds(ctx, f.shop); err != nil || len(list) != 2 || list[0].ID != next.ID {
			t.Fatalf("rounds %+v %v, want the next first", list, err)
		}
	})
}

// TestRoundStartedBeforeAWindow: a round started at once (or at a time
// given without an end) in the hour before a window opens runs through
// that window, to the next 08:00, instead of being refused as shorter
// than an hour.
func TestRoundStartedBeforeAWindow(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		at := func(day, hour, minute int) time.Time { return time.Date(2026, 12, day, hour, minute, 0, 0, China) } // 12-08 is a Tuesday
		for _, c := range []struct {
			name   string
			now    time.Time
			in     func(now time.Time) RoundInput
			starts time.Time
			ends   time.Time
		}{
			{"at once, tuesday 07:30", at(8, 7, 30), func(time.Time) RoundInput { return RoundInput{StartNow: true} }, at(8, 7, 30), at(9, 8, 0)},
			{"at once, friday 07:01: through the weekend", at(11, 7, 1), func(time.Time) RoundInput { return RoundInput{StartNow: true} }, at(11, 7, 1), at(14, 8, 0)},
			{"at once, tuesday 06:59: an hour and a minute", at(8, 6, 59), func(time.Time) RoundInput { return RoundInput{StartNow: true} }, at(8, 6, 59), at(8, 8, 0)},
			{"from 07:45 given, no end", at(8, 7, 0), func(time.Time) RoundInput { s := at(8, 7, 45); return RoundInput{StartsAt: &s} }, at(8, 7, 45), at(9, 8, 0)},
		} {
			f := newFixture(t, e)
			f.now = c.now.UTC()
			r, err := f.svc.CreateRound(context.Background(), f.shop, c.in(c.now))
			if err != nil || !r.StartsAt.Equal(c.starts) || !r.EndsAt.Equal(c.ends) {
				t.Errorf("%s: %s – %s, %v; want %s – %s", c.name, r.StartsAt.In(China), r.EndsAt.In(China), err, c.starts, c.ends)
			}
		}
	})
}

// TestBallots: ballots from spending, one vote per product and round, five
// a day, a refund keeps the votes cast and gives no new ballots, never
// below zero.
func TestBallots(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		r, ids := f.round(8)
		fanID := engine.NewID()
		if b, err := f.svc.Ballots(ctx, f.shop, fanID); err != nil || b != (Ballots{LeftToday: DailyVotes}) {
			t.Fatalf("a new fan's ballots: %+v %v", b, err)
		}
		if _, err := f.svc.Vote(ctx, f.shop, fanID, ids[0]); status(err) != http.StatusForbidden {
			t.Fatalf("a vote without spending: %v", err)
		}
		f.spend.set(fanID, 99_99)
		if _, err := f.svc.Vote(ctx, f.shop, fanID, ids[0]); status(err) != http.StatusForbidden {
			t.Fatalf("a vote with ¥99.99 spent: %v", err)
		}
		f.spend.set(fanID, 700_00) // 7 ballots
		c, err := f.svc.Vote(ctx, f.shop, fanID, ids[0])
		if err != nil || c.Remaining != 6 || c.LeftToday != 4 || c.RoundID != r.ID {
			t.Fatalf("first vote: %+v %v", c, err)
		}
		if _, err := f.svc.Vote(ctx, f.shop, fanID, ids[0]); status(err) != http.StatusConflict {
			t.Fatalf("second vote on a product: %v", err)
		}
		if _, err := f.svc.Vote(ctx, f.shop, fanID, engine.NewID()); status(err) != http.StatusNotFound {
			t.Fatalf("a product not in the round: %v", err)
		}
		for i := 1; i < 5; i++ {
			if _, err := f.svc.Vote(ctx, f.shop, fanID, ids[i]); err != nil {
				t.Fatalf("vote %d: %v", i+1, err)
			}
		}
		if _, err := f.svc.Vote(ctx, f.shop, fanID, ids[5]); status(err) != http.StatusTooManyRequests {
			t.Fatalf("a sixth vote today: %v", err)
		}
		// The next China day: two ballots left.
		f.advance(15 * time.Hour) // Wednesday 01:00, still inside the round (it ends at 08:00)
		if c, err := f.svc.Vote(ctx, f.shop, fanID, ids[5]); err != nil || c.Remaining != 1 || c.LeftToday != 4 {
			t.Fatalf("a vote the next day: %+v %v", c, err)
		}
		// A refund takes spending to ¥300: the six votes stand, no ballot is left (not -3).
		f.spend.set(fanID, 300_00)
		b, err := f.svc.Ballots(ctx, f.shop, fanID)
		if err != nil || b.Remaining != 0 || b.Used != 6 || b.Earned != 3 {
			t.Fatalf("ballots after the refund: %+v %v", b, err)
		}
		if _, err := f.svc.Vote(ctx, f.shop, fanID, ids[6]); status(err) != http.StatusForbidden {
			t.Fatalf("a vote after the refund: %v", err)
		}
		res, err := f.svc.Results(ctx, f.shop, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		total := int64(0)
		for _, it := range res.Items {
			total += it.Votes
			var series int64
			for _, p := range it.Series {
				series += p.Votes
			}
			if series != it.Votes {
				t.Errorf("product %s: %d votes, %d in its series", it.ProductID, it.Votes, series)
			}
		}
		if total != 6 || res.Items[0].Votes != 1 || len(res.Items) != 8 {
			t.Fatalf("results %+v: want the six votes kept", res)
		}
		page, err := f.svc.Page(ctx, f.shop, fanID)
		if err != nil || len(page.Voted) != 6 || page.Ballots.Remaining != 0 || page.Round == nil {
			t.Fatalf("page %+v %v", page, err)
		}
		// After the round: no vote is open.
		f.advance(8 * time.Hour)
		f.spend.set(fanID, 10_000_00)
		if _, err := f.svc.Vote(ctx, f.shop, fanID, ids[7]); status(err) != http.StatusConflict {
			t.Fatalf("a vote after the round: %v", err)
		}
	})
}

// TestConcurrentVotes: 50 votes at once from one shopper with 6 ballots
// across 10 products count exactly 5 (the daily limit); 20 at once on one
// product count once.
func TestConcurrentVotes(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		r, ids := f.round(10)
		race := func(fanID string, n int, product func(i int) string) map[int]int {
			var wg sync.WaitGroup
			var mu sync.Mutex
			got := map[int]int{}
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := f.svc.Vote(ctx, f.shop, fanID, product(i))
					mu.Lock()
					got[status(err)]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			return got
		}
		fanA := engine.NewID()
		f.spend.set(fanA, 600_00)
		got := race(fanA, 50, func(i int) string { return ids[i%10] })
		if got[0] != 5 || got[500] != 0 || got[0]+got[http.StatusConflict]+got[http.StatusTooManyRequests] != 50 {
			t.Fatalf("50 votes at once: %v, want exactly 5 counted, the rest 409 or 429", got)
		}
		fanB := engine.NewID()
		f.spend.set(fanB, 300_00)
		got = race(fanB, 20, func(int) string { return ids[3] })
		if got[0] != 1 || got[http.StatusConflict] != 19 {
			t.Fatalf("20 votes at once on one product: %v, want one counted, 19 conflicts", got)
		}
		// Fewer ballots than the day allows: never below zero.
		fanC := engine.NewID()
		f.spend.set(fanC, 200_00)
		got = race(fanC, 10, func(i int) string { return ids[i] })
		if got[0] != 2 || got[http.StatusForbidden] != 8 {
			t.Fatalf("10 votes at once with 2 ballots: %v", got)
		}
		if b, err := f.svc.Ballots(ctx, f.shop, fanC); err != nil || b.Remaining != 0 || b.Used != 2 {
			t.Fatalf("ballots of C: %+v %v", b, err)
		}
		res, err := f.svc.Results(ctx, f.shop, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		total := int64(0)
		for _, it := range res.Items {
			total += it.Votes
		}
		if total != 8 {
			t.Fatalf("%d votes counted, want 8 (5 + 1 + 2)", total)
		}
		for _, fanID := range []string{fanA, fanB, fanC} {
			a, err := NewStore(e).Account(ctx, f.shop, fanID, r.ID)
			if err != nil || int64(len(a.Voted)) != a.Used {
				t.Fatalf("fan %s: %+v %v, want a vote per ballot used", fanID, a, err)
			}
		}
	})
}

// TestRandomOrder: each load shows the round's products in a new random
// order, each product equally often in each position. The test: over N
// loads of 8 products, each product's positions are uniform by Pearson's
// chi-square (7 degrees of freedom) under 41.9, the critical value at
// p = 1e-6 (Wilson–Hilferty), so the test fails by chance about once in
// 10^5 runs; and the loads show many different permutations.
func TestRandomOrder(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		_, ids := f.round(8)
		loads := 2000
		if e.Kind() == engine.Mongo {
			loads = 400 // FerretDB is slow; 50 per cell is still a fair chi-square
		}
		counts := map[string][]int{}
		for _, id := range ids {
			counts[id] = make([]int, len(ids))
		}
		perms := map[string]int{}
		for range loads {
			p, err := f.svc.Page(ctx, f.shop, "")
			if err != nil {
				t.Fatal(err)
			}
			key := ""
			for pos, it := range p.Items {
				counts[it.ProductID][pos]++
				key += it.ProductID[len(it.ProductID)-4:]
			}
			perms[key]++
		}
		expected := float64(loads) / float64(len(ids))
		for id, c := range counts {
			chi := 0.0
			for _, n := range c {
				d := float64(n) - expected
				chi += d * d / expected
			}
			if chi > 41.9 {
				t.Errorf("product %s: positions %v, chi-square %.1f over 41.9", id, c, chi)
			}
		}
		// 8! = 40320 orders: N loads repeat one at most a few times.
		if len(perms) < loads*9/10 {
			t.Errorf("%d loads showed %d different orders", loads, len(perms))
		}
	})
}

// TestCrashBetweenBallotAndVote: on MongoDB a vote is a conditional update
// of the fan's ballots (keeping the vote pending) followed by its record;
// a crash in between leaves the ballot spent and the vote pending, and the
// repair records it once however often it runs (SQLite writes both in one
// transaction and has nothing to repair).
func TestCrashBetweenBallotAndVote(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		r, ids := f.round(2)
		fan := engine.NewID()
		f.spend.set(fan, 30000)
		ms, ok := f.svc.store.(*mongoStore)
		if !ok { // SQLite
			if n, err := f.svc.RepairVotes(ctx, f.shop); n != 0 || err != nil {
				t.Fatalf("repair on SQLite: %d %v", n, err)
			}
			return
		}
		if _, err := f.svc.Vote(ctx, f.shop, fan, ids[1]); err != nil { // a vote that finished: nothing pending
			t.Fatal(err)
		}
		v := Vote{RoundID: r.ID, ProductID: ids[0], FanID: fan, Day: f.now.In(China).Format(time.DateOnly), At: f.now}
		if _, err := ms.takeBallot(ctx, f.shop, v, 3); err != nil { // …and the process dies here
			t.Fatal(err)
		}
		// Another crashed vote, of another fan, for the concurrent repairs.
		other := engine.NewID()
		f.spend.set(other, 30000)
		if _, err := ms.takeBallot(ctx, f.shop, Vote{RoundID: r.ID, ProductID: ids[0], FanID: other, Day: v.Day, At: f.now}, 3); err != nil {
			t.Fatal(err)
		}
		votes := func() int64 {
			t.Helper()
			res, err := f.svc.Results(ctx, f.shop, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range res.Items {
				if it.ProductID == ids[0] {
					return it.Votes
				}
			}
			return -1
		}
		if n, err := f.svc.RepairVotes(ctx, f.shop); n != 0 || err != nil || votes() != 0 {
			t.Fatalf("repair before the vote is a minute old: %d %v, %d votes", n, err, votes())
		}
		f.advance(2 * repairAge)
		if n, err := ms.RepairVotes(ctx, f.shop, f.now.Add(-repairAge)); n != 2 || err != nil {
			t.Fatalf("first repair: %d %v, want the 2 crashed votes (not the finished one)", n, err)
		}
		// Crashed again, the same votes (a replay of the crash): repairs
		// racing each other count each once.
		for _, id := range []string{fan, other} {
			if _, err := ms.c(f.shop, "vote_fans").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
				bson.D{{Key: "$push", Value: bson.D{{Key: "pending", Value: pendingOf(Vote{RoundID: r.ID, ProductID: ids[0], Day: v.Day, At: f.now.Add(-2 * repairAge)})}}}}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var repaired atomic.Int64
		for range 5 {
			wg.Go(func() {
				n, err := f.svc.RepairVotes(ctx, f.shop)
				if err != nil {
					t.Error(err)
				}
				repaired.Add(int64(n))
			})
		}
		wg.Wait()
		if got := votes(); got != 2 || repaired.Load() < 2 {
			t.Errorf("after 5 concurrent repairs: %d votes (%d repairs), want the two votes counted once each", got, repaired.Load())
		}
		if n, err := f.svc.RepairVotes(ctx, f.shop); n != 0 || err != nil {
			t.Errorf("a repair after the vote was recorded: %d %v", n, err)
		}
		b, err := f.svc.Ballots(ctx, f.shop, fan)
		if err != nil || b.Used != 2 {
			t.Errorf("ballots after the repair: %+v %v, want the two used (one each vote)", b, err)
		}
		if _, err := f.svc.Vote(ctx, f.shop, fan, ids[0]); status(err) != http.StatusConflict {
			t.Errorf("voting again for the repaired vote's product: %v, want 409", err)
		}
	})
}
