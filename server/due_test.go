package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"

	"microshop/shop/order"
	"microshop/tenants"
)

// ordersJob is the scheduled order pass.
func ordersJob(t *testing.T) job {
	t.Helper()
	j, err := findJob("orders")
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestDueEntrySurvivesACrash: the order pass records an unpaid order's
// deadline in the due index; a process that took the entry and died
// before finishing the shop leaves it, and the next process's pass runs
// the shop (the order is cancelled once), then the entry is gone and idle
// shops are not visited at all.
func TestDueEntrySurvivesACrash(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func() *app {
		e, err := tenants.OpenSQLite(data, schemas...)
		if err != nil {
			t.Fatal(err)
		}
		a, err := newApp(ctx, testConfig(), quiet, e)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := open()
	srv := httptest.NewServer(a.echo)
	s := signUp(t, srv.URL, "due-crash")
	idle := signUp(t, srv.URL, "due-idle")
	p := s.apiClient(t, srv.URL).createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 5})
	orderID := placeOrder(t, srv.URL, s.Slug, p.ID, "", 1)
	srv.Close()

	// The first tick of a process sweeps every shop ever written (not the
	// idle one, never written); the pass over the shop records its unpaid
	// order's deadline (30 minutes).
	run := func(a *app) jobRun {
		t.Helper()
		r, err := a.runJob(withScheduled(ctx), ordersJob(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := run(a); len(r.shops) != 1 || r.shops[0].tenantID != s.ID {
		t.Fatalf("first tick visited %+v, want the written shop (the sweep)", r.shops)
	}
	// Half a second before a minute's end: the worst case for entries
	// kept rounded up to the minute (see the ticks below).
	later := time.Now().Add(time.Hour).Truncate(time.Minute).Add(59*time.Second + 500*time.Millisecond)
	if ids, err := a.due.Shops(ctx, "orders", later); err != nil || !slices.Equal(ids, []string{s.ID}) {
		t.Fatalf("due shops an hour on = %v, %v; want the shop with the unpaid order", ids, err)
	}

	// An hour on, a tick takes the entry and the process dies before the
	// pass (no finish, no Done).
	clock := func() time.Time { return later }
	a.due.SetClock(clock)
	a.orders.SetClock(clock)
	a.due.swept["orders"] = later // not the hourly sweep's tick
	ids, _, err := a.jobShops(withScheduled(ctx), ordersJob(t), nil)
	if err != nil || !slices.Equal(ids, []string{s.ID}) {
		t.Fatalf("due tick takes %v, %v; want only the shop with work due", ids, err)
	}
	if err := a.engine.Close(); err != nil {
		t.Fatal(err)
	}
	a.closeDue(ctx)

	// The next process: its sweep is not due yet (as if it had just run),
	// so only the due index brings the shop.
	b := open()
	defer func() {
		b.finish(ctx)
		b.engine.Close()
	}()
	b.due.SetClock(clock)
	b.orders.SetClock(clock)
	b.due.swept["orders"] = later
	r := run(b)
	if len(r.shops) != 1 || r.shops[0].tenantID != s.ID || r.shops[0].err != nil {
		t.Fatalf("after the crash the tick ran %+v; want the shop with the entry", r.shops)
	}
	if got := describe(r.totals(), nil); !containsCount(r.totals(), "expired", 1) {
		t.Errorf("the pass did %s; want expired=1", got)
	}
	o, err := order.NewStore(b.engine).Get(ctx, s.ID, orderID)
	if err != nil || o.Status != order.Cancelled {
		t.Fatalf("order after the pass: %s, %v; want cancelled", o.Status, err)
	}
	if ids, err := b.due.Shops(ctx, "orders", later); err != nil || len(ids) != 0 {
		t.Errorf("entries due by the pass's start left after it: %v, %v", ids, err)
	}
	// The pass did something, so the next tick looks again: nothing more
	// expires, and then nothing is left; the idle shop is never visited.
	// (A pass that delivered an event left by the last one looks again too.)
	// Ticks two minutes apart: an entry is kept rounded up to the minute,
	// so "the next tick" (upTo + 1s) from a pass at hh:mm:59.5 is due at
	// hh:mm+2:00, past a tick one minute on (that flaked once in CI).
	next := later
	for range 3 {
		next = next.Add(2 * time.Minute)
		b.due.SetClock(func() time.Time { return next })
		b.orders.SetClock(func() time.Time { return next })
		r = run(b)
		if containsCount(r.totals(), "expired", 1) {
			t.Errorf("the order expired twice: %s", describe(r.totals(), nil))
		}
		for _, sr := range r.shops {
			if sr.tenantID == idle.ID {
				t.Errorf("a due tick visited the idle shop")
			}
		}
		if !did(r.totals()) {
			break
		}
	}
	if ids, err := b.due.Shops(ctx, "orders", next.Add(time.Hour)); err != nil || len(ids) != 0 {
		t.Errorf("entries left after a pass that found nothing (%s): %v, %v", describe(r.totals(), nil), ids, err)
	}
}

func containsCount(cs []count, name string, n int64) bool {
	for _, c := range cs {
		if c.name == name && c.n == n {
			return true
		}
	}
	return false
}

// TestDueTickVisitsWrittenShops: a shop written lately is passed over on
// every tick within the window (work born from a write); one idle since
// is not.
func TestDueTickVisitsWrittenShops(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	ctx := context.Background()
	defer a.closeDue(ctx)
	busy := signUp(t, srv.URL, "due-busy")
	quiet := signUp(t, srv.URL, "due-quiet")
	busy.apiClient(t, srv.URL).createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 5})
	if err := a.due.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	a.due.swept["orders"] = time.Now() // the sweep just ran
	ids, _, err := a.jobShops(withScheduled(ctx), ordersJob(t), nil)
	if err != nil || !slices.Contains(ids, busy.ID) || slices.Contains(ids, quiet.ID) {
		t.Fatalf("due tick shops = %v, %v; want %s (written) and not %s", ids, err, busy.ID, quiet.ID)
	}
	// An operator's run still walks every shop.
	all, _, err := a.jobShops(ctx, ordersJob(t), nil)
	if err != nil || len(all) != 2 {
		t.Fatalf("operator run shops = %v, %v", all, err)
	}
	// Past the window, the written shop is idle too.
	a.due.SetClock(func() time.Time { return time.Now().Add(dueRules["orders"].window + time.Minute) })
	if ids, _, err := a.jobShops(withScheduled(ctx), ordersJob(t), nil); err != nil || len(ids) != 0 {
		t.Fatalf("shops past the window = %v, %v; want none", ids, err)
	}
}

// TestWrittenJobsSkipShopsNeverWritten: a job whose work begins with a
// write (points) passes over the shops ever written on each tick, not over
// a shop opened and never used; an operator's run walks every shop.
func TestWrittenJobsSkipShopsNeverWritten(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	ctx := context.Background()
	defer a.closeDue(ctx)
	used := signUp(t, srv.URL, "due-used")
	empty := signUp(t, srv.URL, "due-empty")
	used.apiClient(t, srv.URL).createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 5})
	if err := a.due.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	points, err := findJob("points")
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.runJob(withScheduled(ctx), points, nil)
	if err != nil {
		t.Fatal(err)
	}
	var visited []string
	for _, s := range r.shops {
		visited = append(visited, s.tenantID)
	}
	if !slices.Contains(visited, used.ID) || slices.Contains(visited, empty.ID) {
		t.Errorf("scheduled points pass visited %v; want %s and not %s", visited, used.ID, empty.ID)
	}
	if r, err := a.runJob(ctx, points, nil); err != nil || len(r.shops) != 2 {
		t.Errorf("operator run visited %d shops, %v; want both", len(r.shops), err)
	}
}

// commandCounter counts the database commands a Mongo client sends while
// on (the driver's command monitor), by name.
type commandCounter struct {
	mu    sync.Mutex
	on    bool
	names map[string]int
}

func (c *commandCounter) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, ev *event.CommandStartedEvent) {
		c.mu.Lock()
		if c.on {
			c.names[ev.CommandName+" "+collectionOf(ev)]++
		}
		c.mu.Unlock()
	}}
}

// collectionOf names the collection a command is on (its first value).
func collectionOf(ev *event.CommandStartedEvent) string {
	if el, err := ev.Command.IndexErr(0); err == nil {
		if s, ok := el.Value().StringValueOK(); ok {
			return s
		}
	}
	return ""
}

// count runs fn and returns the commands sent meanwhile.
func (c *commandCounter) count(fn func()) (int, map[string]int) {
	c.mu.Lock()
	c.on, c.names = true, map[string]int{}
	c.mu.Unlock()
	fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	n := 0
	for _, k := range c.names {
		n += k
	}
	return n, c.names
}

// TestCronPassCommandsOnMongo: on MongoDB the database commands of a cron
// pass (every job's scheduled run, as one tick of each would) depend on
// the work due, not on the number of shops: a pass over N idle shops and
// one over 10×N send the same commands.
func TestCronPassCommandsOnMongo(t *testing.T) {
	counter := &commandCounter{}
	e := mongoReplicas(t, 1, counter.monitor())[0]
	a, srv := startApp(t, e)
	ctx := context.Background()
	defer a.closeDue(ctx)
	const n = 2
	open := func(from, to int) { // as operators open shops in bulk
		for i := from; i < to; i++ {
			slug := fmt.Sprintf("idle-%02d", i)
			if _, err := a.tenants.OpenInvitedShop(ctx, tenants.NewShop{Name: "Idle " + slug, Slug: slug, Email: slug + "@example.com"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A shop with work: an unpaid order (its deadline is due work).
	busy := signUp(t, srv.URL, "busy-shop")
	p := busy.apiClient(t, srv.URL).createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 5})
	placeOrder(t, srv.URL, busy.Slug, p.ID, "", 1)
	open(0, n)

	// Each pass is a due time of its own for every job (a week apart, so
	// the daily, six-hourly and hourly jobs are due as well).
	at := time.Now().Add(time.Hour)
	pass := func() (int, map[string]int) {
		at = at.Add(7 * 24 * time.Hour)
		a.due.SetClock(func() time.Time { return at })
		return counter.count(func() {
			for _, j := range jobs {
				if j.after == "" {
					a.scheduled(ctx, j)
					for _, next := range jobs {
						if next.after == j.name {
							a.scheduled(ctx, next)
						}
					}
				}
			}
		})
	}
	pass() // the first: one-time work (the PC-store links' scheduling)
	few, fewBy := pass()
	open(n, 10*n)
	pass()
	many, manyBy := pass()
	t.Logf("commands per cron pass: %d with %d idle shops, %d with %d", few, n, many, 10*n)
	if many > few+n { // a command per shop would be 9×n more; a little slack for the background (activity flushes)
		t.Errorf("a cron pass sent %d commands with %d idle shops, %d with %d: idle shops cost commands\nwith %d: %v\nwith %d: %v",
			many, 10*n, few, n, n, fewBy, 10*n, manyBy)
	}
}

// TestCreditPassesOverShopsWrittenLately: the daily credit pass measures
// the shops written within its window (90 days, and two more), not a shop
// never written (its credit is the new shop's) nor one idle since.
func TestCreditPassesOverShopsWrittenLately(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	ctx := context.Background()
	defer a.closeDue(ctx)
	used := signUp(t, srv.URL, "credit-used")
	empty := signUp(t, srv.URL, "credit-empty")
	used.apiClient(t, srv.URL).createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 5})
	if err := a.due.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	j := mustJob(t, "credit")
	ids, _, err := a.jobShops(withScheduled(ctx), j, nil)
	if err != nil || !slices.Equal(ids, []string{used.ID}) {
		t.Fatalf("credit pass shops = %v, %v; want only %s (not %s, never written)", ids, err, used.ID, empty.ID)
	}
	a.due.SetClock(func() time.Time { return time.Now().AddDate(0, 0, 91) })
	if ids, _, err := a.jobShops(withScheduled(ctx), j, nil); err != nil || !slices.Equal(ids, []string{used.ID}) {
		t.Errorf("91 days on: %v, %v; the pass that sees its inputs leave the window still comes", ids, err)
	}
	a.due.SetClock(func() time.Time { return time.Now().AddDate(0, 0, 93) })
	if ids, _, err := a.jobShops(withScheduled(ctx), j, nil); err != nil || len(ids) != 0 {
		t.Errorf("93 days on: %v, %v; want none", ids, err)
	}
	if all, _, err := a.jobShops(ctx, j, nil); err != nil || len(all) != 2 {
		t.Errorf("an operator's run: %v, %v; want every shop", all, err)
	}
}
