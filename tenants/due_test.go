package tenants_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

var dueNotes = engine.Schema{
	Name:   "due_notes",
	SQLite: []string{`CREATE TABLE IF NOT EXISTS due_notes (tenant_id TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (tenant_id, id))`},
	Mongo:  []engine.MongoCollection{engine.Coll("due_notes", engine.Unique("id"))},
}

// The due index: entries to the minute (rounded up), due shops each once,
// Done removes what fell due by its time and keeps later entries; writes to
// a shop make it active.
func TestDueIndex(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{dueNotes}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		d, err := tenants.NewDue(ctx, e, func(err error) { t.Errorf("flush: %v", err) })
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(ctx)
		a, b, c := enginetest.Tenant(t, e), enginetest.Tenant(t, e), enginetest.Tenant(t, e)
		t0 := time.Date(2026, 12, 5, 10, 0, 20, 0, time.UTC)
		for _, s := range []struct {
			shop string
			at   time.Time
		}{{a, t0}, {a, t0.Add(10 * time.Second)}, {a, t0.Add(2 * time.Hour)}, {b, t0.Add(30 * time.Minute)}, {c, t0}} {
			if err := d.Schedule(ctx, s.shop, "orders", s.at); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Schedule(ctx, c, "points", t0); err != nil { // another job's entry
			t.Fatal(err)
		}
		shops := func(at time.Time) []string {
			t.Helper()
			ids, err := d.Shops(ctx, "orders", at)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(ids)
			return ids
		}
		want := []string{a, c}
		slices.Sort(want)
		if got := shops(t0); len(got) != 0 {
			t.Errorf("due at 10:00:20 = %v; entries are rounded up to 10:01", got)
		}
		if got := shops(t0.Add(40 * time.Second)); !slices.Equal(got, want) {
			t.Errorf("due at 10:01 = %v, want %v", got, want)
		}
		if err := d.Done(ctx, a, "orders", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := shops(t0.Add(time.Hour)); !slices.Equal(got, []string{b, c}) && !slices.Equal(got, []string{c, b}) {
			t.Errorf("due at 11:00 after a's pass = %v; want b and c", got)
		}
		if got := shops(t0.Add(3 * time.Hour)); !slices.Contains(got, a) {
			t.Errorf("a's later entry went with Done: %v", got)
		}
		if ids, err := d.Shops(ctx, "points", t0.Add(time.Hour)); err != nil || !slices.Equal(ids, []string{c}) {
			t.Errorf("points due = %v, %v", ids, err)
		}

		// Writes make a shop active; an idle one is not.
		start := time.Now().Add(-time.Second)
		if e.Kind() == engine.SQLite {
			sc, err := e.SQL(a)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sc.Exec(ctx, `INSERT INTO due_notes (tenant_id, id) VALUES (?, ?)`, "n1"); err != nil {
				t.Fatal(err)
			}
		} else if err := e.Mongo(a).C("due_notes").InsertOne(ctx, struct {
			ID string `bson:"id"`
		}{"n1"}); err != nil {
			t.Fatal(err)
		}
		if err := d.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if ids, err := d.Active(ctx, start); err != nil || !slices.Equal(ids, []string{a}) {
			t.Errorf("active shops = %v, %v; want the written one", ids, err)
		}
		if ids, err := d.Active(ctx, time.Now().Add(time.Minute)); err != nil || len(ids) != 0 {
			t.Errorf("active since a minute on = %v, %v; want none", ids, err)
		}
	})
}

// Schedule from many goroutines at once: one entry per shop, job and
// minute, whoever wins.
func TestDueScheduleConcurrent(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		d, err := tenants.NewDue(ctx, e, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(ctx)
		shop := engine.NewID()
		at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Go(func() { errs <- d.Schedule(ctx, shop, "orders", at.Add(time.Duration(i)*time.Second)) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		ids, err := d.Shops(ctx, "orders", at.Add(time.Minute))
		if err != nil || !slices.Equal(ids, []string{shop}) {
			t.Fatalf("due shops = %v, %v", ids, err)
		}
		if err := d.Done(ctx, shop, "orders", at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if ids, _ := d.Shops(ctx, "orders", at.Add(time.Hour)); len(ids) != 0 {
			t.Fatalf("entries left after Done: %v", ids)
		}
	})
}

// Shops made before the due index count as written (they may hold work
// nothing recorded); shops opened after it do not until written.
func TestDueBackfillsExistingShops(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		store := tenants.NewStore(e)
		old := tenants.Tenant{ID: engine.NewID(), Slug: "before-due", Name: "Before", TimeZone: tenants.DefaultTimeZone,
			CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
		if err := store.CreateTenant(ctx, old); err != nil {
			t.Fatal(err)
		}
		d, err := tenants.NewDue(ctx, e, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ids, err := d.Written(ctx); err != nil || !slices.Equal(ids, []string{old.ID}) {
			t.Fatalf("written after the first NewDue = %v, %v; want the older shop", ids, err)
		}
		d.Close(ctx)
		fresh := old
		fresh.ID, fresh.Slug = engine.NewID(), "after-due"
		if err := store.CreateTenant(ctx, fresh); err != nil {
			t.Fatal(err)
		}
		d, err = tenants.NewDue(ctx, e, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(ctx)
		if ids, err := d.Written(ctx); err != nil || !slices.Equal(ids, []string{old.ID}) {
			t.Fatalf("written after a later NewDue = %v, %v; a shop never written is not", ids, err)
		}
	})
}

// TestDueMarks: a one-time piece of work is marked done once, for every
// process on the platform database.
func TestDueMarks(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		d, err := tenants.NewDue(ctx, e, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(ctx)
		if done, err := d.Marked(ctx, "pcstore:links-scheduled"); err != nil || done {
			t.Fatalf("marked before marking: %t, %v", done, err)
		}
		for range 2 {
			if err := d.Mark(ctx, "pcstore:links-scheduled"); err != nil {
				t.Fatal(err)
			}
		}
		other, err := tenants.NewDue(ctx, e, nil) // another process
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close(ctx)
		if done, err := other.Marked(ctx, "pcstore:links-scheduled"); err != nil || !done {
			t.Errorf("marked after marking: %t, %v", done, err)
		}
		if done, err := other.Marked(ctx, "another"); err != nil || done {
			t.Errorf("another mark: %t, %v", done, err)
		}
	})
}
