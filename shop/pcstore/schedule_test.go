package pcstore_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"microshop/shop/pcstore"
	"microshop/shop/pcstore/source"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// readCounter is the real store, counting the links the scheduler reads
// per shop.
type readCounter struct {
	pcstore.Store
	mu    sync.Mutex
	reads map[string]int
}

func (c *readCounter) GetLink(ctx context.Context, tenantID string) (pcstore.Link, error) {
	c.mu.Lock()
	c.reads[tenantID]++
	c.mu.Unlock()
	return c.Store.GetLink(ctx, tenantID)
}

// take returns the reads since the last take.
func (c *readCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reads
	c.reads = map[string]int{}
	return r
}

// TestScheduleTakesDueShops: with the due index the scheduler reads only
// the links of shops with an entry due. Its first pass on the platform
// gives the links saved before it kept entries one (once: a second
// process reads nothing); a due entry starts the sync; after the run it
// looks again at the link's next sync; saving a link schedules a look;
// shops without a link are never read.
func TestScheduleTakesDueShops(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		v := newEnv(t, e)
		due, err := tenants.NewDue(ctx, e, func(err error) { t.Errorf("due index: %v", err) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = due.Close(ctx) })
		idle := []string{enginetest.Tenant(t, e), enginetest.Tenant(t, e), enginetest.Tenant(t, e)}

		// A link saved and synced before the scheduler kept entries.
		feed := newFeedServer(t, fixture(t, "feed_rss.xml"))
		before := v.replica(t, nil)
		if _, _, err := before.SaveLink(ctx, v.tenant, pcstore.LinkInput{Type: "feed", URL: feed.URL + "/feed.xml"}); err != nil {
			t.Fatal(err)
		}
		mustSync(t, before, v.tenant)
		l, err := v.store.GetLink(ctx, v.tenant)
		if err != nil {
			t.Fatal(err)
		}
		l.NextRunAt = time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond) // its interval has passed
		if err := v.store.PutLink(ctx, v.tenant, l); err != nil {
			t.Fatal(err)
		}
		if err := due.Flush(ctx); err != nil { // the sync's writes: the shop is written
			t.Fatal(err)
		}

		process := func() (*pcstore.Syncer, *readCounter) {
			counted := &readCounter{Store: v.store, reads: map[string]int{}}
			client := source.NewClient()
			client.AllowLoopback(true)
			s := pcstore.NewSyncer(counted, v.cat, tenants.NewLeaser(v.platform), lister(append([]string{v.tenant}, idle...)), client,
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			s.SetDue(due)
			t.Cleanup(func() {
				sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = s.Shutdown(sctx)
			})
			return s, counted
		}
		dueShops := func(at time.Time) []string {
			t.Helper()
			ids, err := due.Shops(ctx, pcstore.DueJob, at)
			if err != nil {
				t.Fatal(err)
			}
			return ids
		}
		runDue := func(s *pcstore.Syncer) {
			t.Helper()
			if err := s.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
		}

		// The first pass: the linked shop gets an entry (a look at the next
		// minute); idle shops are not read.
		s, counted := process()
		runDue(s)
		if r := counted.take(); len(r) != 1 || r[v.tenant] != 1 {
			t.Fatalf("first pass read the links of %v; want the linked shop's, once", r)
		}
		if got := dueShops(time.Now().Add(2 * time.Minute)); !slices.Equal(got, []string{v.tenant}) {
			t.Fatalf("due shops after the first pass = %v, want the linked shop", got)
		}
		if runs, _ := s.Runs(ctx, v.tenant, time.Time{}, 10); len(runs) != 1 {
			t.Fatalf("the first pass started a run before its entry fell due: %d runs", len(runs))
		}
		// That look is kept rounded up to the minute: it would fall due
		// within the test when the minute turns (and be left after the due
		// pass below, which finishes only what is due by its start). The
		// test schedules its own looks from here.
		if err := due.Done(ctx, v.tenant, pcstore.DueJob, time.Now().Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}

		// Another process: the one-time scheduling is done; no entry is due
		// yet, so it reads nothing.
		s2, counted2 := process()
		runDue(s2)
		if r := counted2.take(); len(r) != 0 {
			t.Errorf("a second process's pass read the links of %v; want none", r)
		}

		// The entry falls due: the pass reads the link and starts its sync.
		if err := due.Schedule(ctx, v.tenant, pcstore.DueJob, time.Now().Add(-2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		runDue(s)
		if r := counted.take(); len(r) != 1 || r[v.tenant] == 0 {
			t.Fatalf("the due pass read the links of %v; want the linked shop's only", r)
		}
		runs, _ := s.Runs(ctx, v.tenant, time.Time{}, 10)
		if len(runs) != 2 || runs[0].Trigger != "schedule" {
			t.Fatalf("runs after the due pass = %+v", runs)
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if done, err := s.Wait(wctx, v.tenant, runs[0].ID); err != nil || done.Status != pcstore.Succeeded {
			t.Fatalf("scheduled run = %+v, %v", done, err)
		}
		if got := dueShops(time.Now()); len(got) != 0 {
			t.Errorf("entries due by the pass left after it: %v", got)
		}
		// While the run went the scheduler looks again a lease later; then at
		// the link's next sync (an hour on), and not before.
		if got := dueShops(time.Now().Add(3 * time.Minute)); !slices.Equal(got, []string{v.tenant}) {
			t.Fatalf("no look a lease after the run started: %v", got)
		}
		// That look falls due (its time, a lease on, is taken as past).
		if err := due.Done(ctx, v.tenant, pcstore.DueJob, time.Now().Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := due.Schedule(ctx, v.tenant, pcstore.DueJob, time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		runDue(s)
		if runs, _ := s.Runs(ctx, v.tenant, time.Time{}, 10); len(runs) != 2 {
			t.Errorf("a look at a link not due started a run: %d runs", len(runs))
		}
		if got := dueShops(time.Now().Add(30 * time.Minute)); len(got) != 0 {
			t.Errorf("due within half an hour: %v; the next sync is an hour after the last", got)
		}
		if got := dueShops(time.Now().Add(62 * time.Minute)); !slices.Equal(got, []string{v.tenant}) {
			t.Errorf("due an hour on: %v, want the linked shop", got)
		}

		// Saving a link schedules a look (the next minute); the other idle
		// shops are never read.
		other := newFeedServer(t, fixture(t, "feed_rss.xml"))
		if _, _, err := s.SaveLink(ctx, idle[0], pcstore.LinkInput{Type: "feed", URL: other.URL + "/feed.xml"}); err != nil {
			t.Fatal(err)
		}
		if got := dueShops(time.Now().Add(2 * time.Minute)); !slices.Contains(got, idle[0]) {
			t.Errorf("saving a link scheduled no look: due %v", got)
		}
		r1, r2 := counted.take(), counted2.take()
		for _, id := range idle[1:] {
			if n := r1[id] + r2[id]; n != 0 {
				t.Errorf("an idle shop's link was read %d times", n)
			}
		}
	})
}
