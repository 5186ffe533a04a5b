package points

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	wxmsg "github.com/silenceper/wechat/v2/officialaccount/message"
	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/shop/catalog"
	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

var schemas = []engine.Schema{catalog.Schema, fan.Schema, order.Schema, Schema}

// shops is a TenantLookup over tenants known by id.
type shops map[string]tenants.Tenant

func (s shops) TenantByID(_ context.Context, id string) (tenants.Tenant, error) {
	if t, ok := s[id]; ok {
		return t, nil
	}
	return tenants.Tenant{}, fault.NotFound("shop")
}

// notices records what the service asked to tell fans.
type notices struct {
	mu       sync.Mutex
	expiring map[string]int
	checkin  map[string]int
}

func (n *notices) PointsExpiring(_ context.Context, _, fanID string, points int64, at time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.expiring[fmt.Sprintf("%s/%d/%s", fanID, points, at.Format(time.RFC3339))]++
	return nil
}

func (n *notices) CheckinReminder(_ context.Context, _, fanID, day string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.checkin[fanID+"/"+day]++
	return nil
}

// fixture is a shop with the points service on one engine and a clock
// the test moves.
type fixture struct {
	t      *testing.T
	e      *engine.Engine
	shop   tenants.Tenant
	store  Store
	fans   fan.Store
	svc    *Service
	notes  *notices
	mu     sync.Mutex
	clock  time.Time
	lookup shops
}

func newFixture(t *testing.T, e *engine.Engine) *fixture {
	t.Helper()
	f := &fixture{t: t, e: e, store: NewStore(e), fans: fan.NewStore(e),
		notes: &notices{expiring: map[string]int{}, checkin: map[string]int{}},
		clock: time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)}
	f.shop = tenants.Tenant{ID: enginetest.Tenant(t, e), Slug: "shop", TimeZone: "Asia/Shanghai"}
	f.lookup = shops{f.shop.ID: f.shop}
	f.svc = NewService(f.store, f.fans, f.lookup, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.svc.SetClock(f.now)
	f.svc.SetNotifier(f.notes)
	return f
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

func (f *fixture) set(t time.Time) {
	f.mu.Lock()
	f.clock = t
	f.mu.Unlock()
}

func (f *fixture) rules(edit func(r *Rules)) {
	f.t.Helper()
	r := DefaultRules()
	edit(&r)
	if _, err := f.svc.SaveRules(context.Background(), f.shop.ID, r); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) fan() string {
	f.t.Helper()
	id := engine.NewID()
	if _, err := f.fans.Ensure(context.Background(), f.shop.ID, id, "direct", f.now()); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) apply(fanID string, ops ...Op) Result {
	f.t.Helper()
	res, err := f.store.Apply(context.Background(), f.shop.ID, fanID, Batch{Ops: ops, At: f.now().Truncate(time.Millisecond)})
	if err != nil {
		f.t.Fatalf("apply %v: %v", ops, err)
	}
	return res
}

func (f *fixture) account(fanID string) Account {
	f.t.Helper()
	a, err := f.store.Account(context.Background(), f.shop.ID, fanID)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// ledger returns the fan's whole ledger, oldest first.
func (f *fixture) ledger(fanID string) []Entry {
	f.t.Helper()
	var out []Entry
	if err := f.store.Entries(context.Background(), f.shop.ID, fanID, func(e Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// checkConsistent asserts the account equals its rebuild from the ledger.
func (f *fixture) checkConsistent(fanID string) {
	f.t.Helper()
	a := f.account(fanID)
	r, err := Rebuild(a, f.ledger(fanID))
	if err != nil {
		f.t.Fatalf("rebuild: %v", err)
	}
	if !sameLedgerState(a, r) {
		f.t.Fatalf("account %+v differs from its rebuild %+v", a, r)
	}
	if a.Balance < 0 {
		f.t.Fatalf("negative balance %d", a.Balance)
	}
}

var (
	jan = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	feb = time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	mar = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
)

func TestLedger(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		cases := []struct {
			name    string
			ops     [][]Op // batches
			wantErr error
			balance int64
			lots    []Lot
			entries int
		}{
			{name: "credits make lots, earliest expiry first, never last",
				ops:     [][]Op{{{Key: "a", Kind: KindAdjust, Points: 10, ExpiresAt: feb}}, {{Key: "b", Kind: KindAdjust, Points: 5}}, {{Key: "c", Kind: KindAdjust, Points: 7, ExpiresAt: jan}}},
				balance: 22, lots: []Lot{{ID: "L3", Points: 7, ExpiresAt: jan}, {ID: "L1", Points: 10, ExpiresAt: feb}, {ID: "L2", Points: 5}}, entries: 3},
			{name: "credits with one expiry share a lot",
				ops:     [][]Op{{{Key: "a", Kind: KindAdjust, Points: 10, ExpiresAt: feb}}, {{Key: "b", Kind: KindAdjust, Points: 5, ExpiresAt: feb}}},
				balance: 15, lots: []Lot{{ID: "L1", Points: 15, ExpiresAt: feb}}, entries: 2},
			{name: "debits take the earliest expiry first",
				ops:     [][]Op{{{Key: "a", Kind: KindAdjust, Points: 10, ExpiresAt: feb}, {Key: "b", Kind: KindAdjust, Points: 10, ExpiresAt: jan}}, {{Key: "c", Kind: KindRedeem, Points: -15}}},
				balance: 5, lots: []Lot{{ID: "L1", Points: 5, ExpiresAt: feb}}, entries: 3},
			{name: "a debit larger than the balance is refused, changing nothing",
				ops:     [][]Op{{{Key: "a", Kind: KindAdjust, Points: 10}}, {{Key: "b", Kind: KindRedeem, Points: -11}}},
				wantErr: ErrInsufficient, balance: 10, lots: []Lot{{ID: "L1", Points: 10}}, entries: 1},
			{name: "a capped debit takes the balance and no more",
				ops:     [][]Op{{{Key: "a", Kind: KindAdjust, Points: 10}}, {{Key: "b", Kind: KindClawback, Points: -25, Cap: true}}},
				balance: 0, lots: []Lot{}, entries: 2},
			{name: "a replayed batch is a no-op",
				ops:     [][]Op{{{Key: "a", Kind: KindAdjust, Points: 10}}, {{Key: "a", Kind: KindAdjust, Points: 10}}, {{Key: "a", Kind: KindAdjust, Points: 99}}},
				balance: 10, lots: []Lot{{ID: "L1", Points: 10}}, entries: 1},
			{name: "returned lots keep their expiries",
				ops:     [][]Op{{{Key: "a", Kind: KindAdjust, Points: 10, ExpiresAt: jan}}, {{Key: "r", Kind: KindRedeem, Points: -10}}, {{Key: "back", Kind: KindRedeemReturn, Lots: []Move{{Points: 4, ExpiresAt: jan}, {Points: 6, ExpiresAt: mar}}}}},
				balance: 10, lots: []Lot{{ID: "L3", Points: 4, ExpiresAt: jan}, {ID: "L3.1", Points: 6, ExpiresAt: mar}}, entries: 3},
			{name: "expiry takes due lots only, one entry each",
				ops:     [][]Op{{{Key: "a", Kind: KindAdjust, Points: 10, ExpiresAt: jan}, {Key: "b", Kind: KindAdjust, Points: 3, ExpiresAt: feb}, {Key: "c", Kind: KindAdjust, Points: 1, ExpiresAt: mar}}, {{Kind: KindExpiry, ExpireDue: feb}}, {{Kind: KindExpiry, ExpireDue: feb}}},
				balance: 1, lots: []Lot{{ID: "L3", Points: 1, ExpiresAt: mar}}, entries: 5},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t, e)
				id := f.fan()
				var err error
				for _, b := range tc.ops {
					_, err = f.store.Apply(context.Background(), f.shop.ID, id, Batch{Ops: b, At: f.now()})
					if err != nil && !errors.Is(err, tc.wantErr) {
						t.Fatalf("apply: %v", err)
					}
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("last batch: got %v, want %v", err, tc.wantErr)
				}
				a := f.account(id)
				if a.Balance != tc.balance {
					t.Errorf("balance %d, want %d", a.Balance, tc.balance)
				}
				if fmt.Sprint(a.Lots) != fmt.Sprint(tc.lots) {
					t.Errorf("lots %v, want %v", a.Lots, tc.lots)
				}
				if got := f.ledger(id); len(got) != tc.entries {
					t.Errorf("%d entries, want %d: %+v", len(got), tc.entries, got)
				}
				f.checkConsistent(id)
			})
		}
	})
}

// TestConcurrentCheckin: 100 check-ins of one fan at once give one award.
// It rests only on the unique (fan, day) insert, so it runs on FerretDB too.
func TestConcurrentCheckin(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.rules(func(r *Rules) { r.BasePoints, r.StreakRewards = 5, []Reward{{1, 2}} })
		id := f.fan()
		var awarded, already atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := f.svc.CheckIn(context.Background(), f.shop, id)
				if err != nil {
					errs <- err
					return
				}
				if r.Already {
					already.Add(1)
				}
				awarded.Add(r.PointsAwarded)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if awarded.Load() != 7 || already.Load() != 99 {
			t.Fatalf("awarded %d points, %d already: want 7 once and 99 already", awarded.Load(), already.Load())
		}
		if a := f.account(id); a.Balance != 7 || a.Streak != 1 || a.Days != 1 {
			t.Fatalf("account %+v", a)
		}
		if n := len(f.ledger(id)); n != 2 {
			t.Fatalf("%d ledger entries, want 2 (check-in and bonus)", n)
		}
		days, err := f.store.Days(context.Background(), f.shop.ID, "2026-11-20", "2026-11-20")
		if err != nil || len(days) != 1 || days[0].Checkins != 1 || days[0].Points != 7 {
			t.Fatalf("daily counter %+v %v", days, err)
		}
	})
}

// TestConcurrentApply: many batches racing on one account, some repeated,
// leave exactly the sum of the distinct ones (revision race on MongoDB, a
// transaction on SQLite).
func TestConcurrentApply(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		id := f.fan()
		f.apply(id, Op{Key: "seed", Kind: KindAdjust, Points: 100})
		var wg sync.WaitGroup
		var refused atomic.Int64
		for i := 0; i < 60; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				op := Op{Key: fmt.Sprintf("k%d", i%20), Kind: KindAdjust, Points: 3, ExpiresAt: jan}
				if i%20 >= 10 {
					op = Op{Key: fmt.Sprintf("k%d", i%20), Kind: KindRedeem, Points: -20}
				}
				_, err := f.store.Apply(context.Background(), f.shop.ID, id, Batch{Ops: []Op{op}, At: f.now()})
				if errors.Is(err, ErrInsufficient) {
					refused.Add(1)
					return
				}
				if err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		entries := f.ledger(id)
		var sum int64
		keys := map[string]bool{}
		for _, en := range entries {
			if keys[en.Key] {
				t.Fatalf("key %s twice", en.Key)
			}
			keys[en.Key] = true
			sum += en.Points
		}
		a := f.account(id)
		if a.Balance != sum || a.Balance < 0 {
			t.Fatalf("balance %d, ledger sum %d", a.Balance, sum)
		}
		// 100 + 10×3 = 130 points cover six redemptions of 20 at most.
		if redeemed := (130 - a.Balance) / 20; redeemed > 6 || a.Balance != 130-20*redeemed {
			t.Fatalf("balance %d after redemptions", a.Balance)
		}
		f.checkConsistent(id)
		if n, err := f.store.Outstanding(context.Background(), f.shop.ID); err != nil || n != a.Balance {
			t.Fatalf("outstanding %d %v, want %d", n, err, a.Balance)
		}
	})
}

// at is a Shanghai wall-clock time.
func at(day string, hour, minute int) time.Time {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	d, _ := time.ParseInLocation(time.DateOnly, day, loc)
	return d.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute).UTC()
}

func TestStreaks(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		type step struct {
			at                time.Time
			streak            int
			awarded           int64
			already           bool
			cycleDays, cycStr int
		}
		cases := []struct {
			name  string
			rules func(r *Rules)
			steps []step
		}{
			{name: "days are the shop's: 23:30 and 00:10 Shanghai are two days though one UTC date",
				rules: func(r *Rules) { r.BasePoints, r.StreakRewards, r.Cycle = 1, []Reward{{2, 10}}, CycleNever },
				steps: []step{{at: at("2026-11-20", 23, 30), streak: 1, awarded: 1}, {at: at("2026-11-21", 0, 10), streak: 2, awarded: 11},
					{at: at("2026-11-21", 23, 59), streak: 2, already: true}}},
			{name: "a missed day starts the streak over",
				rules: func(r *Rules) { r.BasePoints, r.StreakRewards, r.Cycle = 1, []Reward{{2, 10}}, CycleNever },
				steps: []step{{at: at("2026-11-20", 9, 0), streak: 1, awarded: 1}, {at: at("2026-11-22", 9, 0), streak: 1, awarded: 1},
					{at: at("2026-11-23", 9, 0), streak: 2, awarded: 11}}},
			{name: "across the end of the month the streak continues; the monthly cycle starts over",
				rules: func(r *Rules) {
					r.BasePoints, r.Cycle = 1, CycleMonth
					r.StreakRewards, r.CumulativeRewards = []Reward{{2, 10}}, []Reward{{3, 100}}
				},
				steps: []step{{at: at("2026-11-29", 8, 0), streak: 1, awarded: 1}, {at: at("2026-11-30", 8, 0), streak: 2, awarded: 11},
					{at: at("2026-12-01", 0, 5), streak: 3, awarded: 1, cycleDays: 1, cycStr: 1},
					{at: at("2026-12-02", 8, 0), streak: 4, awarded: 11, cycleDays: 2, cycStr: 2},
					{at: at("2026-12-04", 8, 0), streak: 1, awarded: 101, cycleDays: 3, cycStr: 1}}},
			{name: "the weekly cycle starts on Monday",
				rules: func(r *Rules) { r.BasePoints, r.Cycle, r.StreakRewards = 2, CycleWeek, []Reward{{2, 5}} },
				steps: []step{{at: at("2026-11-22", 12, 0), streak: 1, awarded: 2}, // Sunday
					{at: at("2026-11-23", 12, 0), streak: 2, awarded: 2, cycleDays: 1, cycStr: 1}, // Monday
					{at: at("2026-11-24", 12, 0), streak: 3, awarded: 7, cycleDays: 2, cycStr: 2}}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t, e)
				f.rules(tc.rules)
				id := f.fan()
				var total int64
				for i, s := range tc.steps {
					f.set(s.at)
					r, err := f.svc.CheckIn(context.Background(), f.shop, id)
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					total += r.PointsAwarded
					if r.Streak != s.streak || r.PointsAwarded != s.awarded || r.Already != s.already || r.Balance != total {
						t.Fatalf("step %d at %s: got %+v, want streak %d awarded %d already %t balance %d", i, s.at, r, s.streak, s.awarded, s.already, total)
					}
					if s.cycleDays > 0 {
						c, err := f.store.Checkin(context.Background(), f.shop.ID, id, r.Day)
						if err != nil || c.CycleDays != s.cycleDays || c.CycleStreak != s.cycStr {
							t.Fatalf("step %d: check-in %+v %v, want cycle days %d streak %d", i, c, err, s.cycleDays, s.cycStr)
						}
					}
				}
				f.checkConsistent(id)
			})
		}
	})
}

// TestExpiry: a lot expires once however often the pass runs, reminders go
// out once per expiry, and a lot given back with a past expiry expires too.
func TestExpiry(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.rules(func(r *Rules) {
			r.Expiry, r.ExpiryMonths, r.RemindDays, r.BasePoints, r.StreakRewards = ExpiryMonths, 1, 7, 10, nil
		})
		id, other := f.fan(), f.fan()
		f.set(at("2026-11-20", 10, 0))
		if _, err := f.svc.CheckIn(context.Background(), f.shop, id); err != nil {
			t.Fatal(err)
		}
		f.set(at("2026-11-21", 10, 0))
		if _, err := f.svc.CheckIn(context.Background(), f.shop, id); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CheckIn(context.Background(), f.shop, other); err != nil {
			t.Fatal(err)
		}
		a := f.account(id)
		if len(a.Lots) != 2 || !a.NextExpiry.Equal(at("2026-12-21", 0, 0)) {
			t.Fatalf("lots %+v next %s", a.Lots, a.NextExpiry)
		}
		ctx := context.Background()
		// A week before: reminded, once.
		f.set(at("2026-12-15", 9, 0))
		for i := 0; i < 3; i++ {
			if _, err := f.svc.RunJobs(ctx, f.shop.ID); err != nil {
				t.Fatal(err)
			}
		}
		// Each fan's next expiry is within the 7 days: one reminder each,
		// for the earliest lot only.
		want := fmt.Sprintf("%s/10/%s", id, at("2026-12-21", 0, 0).Format(time.RFC3339))
		wantOther := fmt.Sprintf("%s/10/%s", other, at("2026-12-22", 0, 0).Format(time.RFC3339))
		if f.notes.expiring[want] != 1 || f.notes.expiring[wantOther] != 1 || len(f.notes.expiring) != 2 {
			t.Fatalf("expiry reminders %v, want %s and %s once", f.notes.expiring, want, wantOther)
		}
		// Past both expiries: each lot expires once, however many passes,
		// and some of them racing.
		f.set(at("2026-12-23", 0, 0))
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.svc.RunJobs(ctx, f.shop.ID); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if _, err := f.svc.RunJobs(ctx, f.shop.ID); err != nil {
			t.Fatal(err)
		}
		var expired int
		for _, en := range f.ledger(id) {
			if en.Kind == KindExpiry {
				expired++
			}
		}
		if a := f.account(id); a.Balance != 0 || expired != 2 || a.Expired != 20 {
			t.Fatalf("after expiry: %+v, %d expiry entries", a, expired)
		}
		if a := f.account(other); a.Balance != 0 || a.Expired != 10 {
			t.Fatalf("other fan after expiry: %+v", a)
		}
		f.checkConsistent(id)
		if n, err := f.store.Outstanding(ctx, f.shop.ID); err != nil || n != 0 {
			t.Fatalf("outstanding %d %v", n, err)
		}
	})
}

// TestOutboxRepair: on MongoDB a crash between the account update and the
// ledger copy leaves entries in the account's outbox; a replay finds them
// there, a read copies them, and so does the pass.
func TestOutboxRepair(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		if e.Kind() != engine.Mongo {
			t.Skip("the outbox exists on MongoDB only; SQLite writes the account and the entries in one transaction")
		}
		f := newFixture(t, e)
		ctx := context.Background()
		crash := func(id string) {
			t.Helper()
			res := f.apply(id, Op{Key: "grant", Kind: KindAdjust, Points: 30})
			unflush(t, f, id, res.Entries[0])
		}
		cases := []struct {
			name   string
			repair func(id string)
		}{
			{"a replayed batch is recognised in the outbox", func(id string) {
				if res := f.apply(id, Op{Key: "grant", Kind: KindAdjust, Points: 30}); res.Applied {
					t.Fatal("replay applied again")
				}
			}},
			{"the next batch copies the outbox", func(id string) { f.apply(id, Op{Key: "more", Kind: KindAdjust, Points: 1}) }},
			{"the pass copies the outbox", func(string) {
				if r, err := f.svc.RunJobs(ctx, f.shop.ID); err != nil || r.Flushed != 1 {
					t.Fatalf("pass %+v %v", r, err)
				}
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				id := f.fan()
				crash(id)
				tc.repair(id)
				if _, err := f.store.Entry(ctx, f.shop.ID, id, "grant"); err != nil {
					t.Fatalf("entry after repair: %v", err)
				}
				if dirty, _ := f.store.Dirty(ctx, f.shop.ID, 10); len(dirty) != 0 {
					t.Fatalf("still dirty: %v", dirty)
				}
				f.checkConsistent(id)
			})
		}
	})
}

// TestRebuild: an account damaged behind the store's back is recomputed
// from the ledger.
func TestRebuild(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		id := f.fan()
		f.apply(id, Op{Key: "a", Kind: KindAdjust, Points: 40, ExpiresAt: jan})
		f.apply(id, Op{Key: "b", Kind: KindAdjust, Points: 2})
		f.apply(id, Op{Key: "c", Kind: KindRedeem, Points: -15})
		want := f.account(id)
		if _, changed, err := f.svc.Rebuild(ctx, f.shop.ID, id); err != nil || changed {
			t.Fatalf("rebuild of a sound account: changed %t %v", changed, err)
		}
		if e.Kind() == engine.SQLite {
			db, _ := e.SQL(f.shop.ID)
			if _, err := db.Exec(ctx, `UPDATE points_accounts SET balance = 999, lots = '[]' WHERE tenant_id = ? AND fan_id = ?`, id); err != nil {
				t.Fatal(err)
			}
		} else {
			if _, err := e.Mongo(f.shop.ID).C("points_accounts").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "balance", Value: 999}, {Key: "lots", Value: []Lot{}}}}}); err != nil {
				t.Fatal(err)
			}
		}
		got, changed, err := f.svc.Rebuild(ctx, f.shop.ID, id)
		if err != nil || !changed || got.Balance != want.Balance || fmt.Sprint(got.Lots) != fmt.Sprint(want.Lots) {
			t.Fatalf("rebuild: %+v changed %t %v; want %+v", got, changed, err, want)
		}
		f.checkConsistent(id)
	})
}

func TestCheckinReminders(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		opted, checked, silent := f.fan(), f.fan(), f.fan()
		for _, id := range []string{opted, checked} {
			if err := f.svc.SetReminder(ctx, f.shop.ID, id, true); err != nil {
				t.Fatal(err)
			}
		}
		f.set(at("2026-11-20", 9, 0))
		if _, err := f.svc.CheckIn(ctx, f.shop, checked); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CheckIn(ctx, f.shop, silent); err != nil {
			t.Fatal(err)
		}
		// Before the reminder hour (20:00): nothing; after: once per day.
		if _, err := f.svc.RunJobs(ctx, f.shop.ID); err != nil {
			t.Fatal(err)
		}
		if len(f.notes.checkin) != 0 {
			t.Fatalf("reminded before the hour: %v", f.notes.checkin)
		}
		f.set(at("2026-11-20", 20, 30))
		for i := 0; i < 3; i++ {
			if _, err := f.svc.RunJobs(ctx, f.shop.ID); err != nil {
				t.Fatal(err)
			}
		}
		if f.notes.checkin[opted+"/2026-11-20"] != 1 || len(f.notes.checkin) != 1 {
			t.Fatalf("reminders %v: want %s once", f.notes.checkin, opted)
		}
		if err := f.svc.SetReminder(ctx, f.shop.ID, opted, false); err != nil {
			t.Fatal(err)
		}
		f.set(at("2026-11-21", 21, 0))
		if _, err := f.svc.RunJobs(ctx, f.shop.ID); err != nil {
			t.Fatal(err)
		}
		if f.notes.checkin[checked+"/2026-11-21"] != 1 || len(f.notes.checkin) != 2 {
			t.Fatalf("reminders %v", f.notes.checkin)
		}
	})
}

func TestStats(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.rules(func(r *Rules) { r.BasePoints, r.StreakRewards, r.RedeemPointsPerYuan = 10, nil, 100 })
		ctx := context.Background()
		a, b := f.fan(), f.fan()
		for i, day := range []string{"2026-11-18", "2026-11-19", "2026-11-20"} {
			f.set(at(day, 10, 0))
			for _, id := range []string{a, b} {
				if id == b && i == 0 {
					continue
				}
				if _, err := f.svc.CheckIn(ctx, f.shop, id); err != nil {
					t.Fatal(err)
				}
			}
		}
		st, err := f.svc.Stats(ctx, f.shop)
		if err != nil {
			t.Fatal(err)
		}
		if st.TodayCheckins() != 2 || st.Outstanding != 50 || st.Value != 50 || len(st.Days) != 14 {
			t.Fatalf("stats %+v", st)
		}
		if st.Streaks[1].Fans != 1 || st.Streaks[2].Fans != 1 {
			t.Fatalf("streaks %+v", st.Streaks)
		}
		enginetest.AllowFullScan(t, e, "points_accounts",
			"RebuildCounters sums every account's balance on purpose: a repair an operator runs, never a page or a job")
		if err := f.svc.RebuildCounters(ctx, f.shop, 14); err != nil {
			t.Fatal(err)
		}
		st2, err := f.svc.Stats(ctx, f.shop)
		if err != nil || fmt.Sprint(st2.Days) != fmt.Sprint(st.Days) || st2.Outstanding != st.Outstanding {
			t.Fatalf("after rebuild %+v %v, before %+v", st2, err, st)
		}
	})
}

// TestRespondWeChat: the check-in keyword and menu button check the fan
// in once a day, and the reply speaks the shop's language (Chinese when
// the shop set none), whatever the request's context says.
func TestRespondWeChat(t *testing.T) {
	for _, lang := range []string{"", i18n.En} {
		already := map[string]string{"": "今天已经签到过了", i18n.En: "You already checked in today"}[lang]
		done := map[string]string{"": "签到成功！+3 积分", i18n.En: "Checked in: +3 points"}[lang]
		enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
			f := newFixture(t, e)
			f.shop.Lang = lang
			f.rules(func(r *Rules) {
				r.BasePoints, r.StreakRewards, r.Keywords, r.MenuKey = 3, nil, []string{"签到", "checkin"}, "DAILY"
			})
			other := map[string]string{"": i18n.En, i18n.En: i18n.ZhCN}[lang]
			ctx := i18n.WithLang(context.Background(), other)
			id := f.fan()
			cases := []struct {
				name                           string
				msgType, content, event, evKey string
				handled                        bool
				wantIn                         string
			}{
				{"an ordinary message is not ours", "text", "hello", "", "", false, ""},
				{"the keyword checks in", "text", " 签到 ", "", "", true, done},
				{"again the same day", "text", "CheckIn", "", "", true, already},
				{"the menu button", "event", "", "CLICK", "DAILY", true, already},
				{"another menu button", "event", "", "CLICK", "SHOP", false, ""},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					reply, ok, err := f.svc.RespondWeChat(ctx, f.shop, id, tc.msgType, tc.content, tc.event, tc.evKey)
					if err != nil || ok != tc.handled || !strings.Contains(reply, tc.wantIn) {
						t.Fatalf("shop language %q: got %q %t %v, want %q", lang, reply, ok, err, tc.wantIn)
					}
				})
			}
			if a := f.account(id); a.Balance != 3 {
				t.Fatalf("balance %d", a.Balance)
			}
		})
	}
}

func TestRespondAdapter(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		id := f.fan()
		reply, ok, err := f.svc.Respond(context.Background(), f.shop.ID, id, &wxmsg.MixMessage{
			CommonToken: wxmsg.CommonToken{MsgType: wxmsg.MsgTypeText}, Content: "签到"})
		if err != nil || !ok || !strings.Contains(reply, "+5") {
			t.Fatalf("keyword: %q %t %v", reply, ok, err)
		}
		if _, ok, _ := f.svc.Respond(context.Background(), f.shop.ID, id, &wxmsg.MixMessage{
			CommonToken: wxmsg.CommonToken{MsgType: wxmsg.MsgTypeText}, Content: "hello"}); ok {
			t.Fatal("an ordinary message was taken for a check-in")
		}
	})
}
