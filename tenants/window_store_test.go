package tenants_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestRateWindows: a window grows while open, restarts once run out, never
// counts below zero, and 50 concurrent adds from two replicas' stores all
// count.
func TestRateWindows(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		store := tenants.NewStore(e)
		t0 := time.Now().UTC().Truncate(time.Millisecond).Add(-2 * time.Hour)
		for _, s := range []struct {
			at        time.Duration
			delta     int
			n         int
			restarted bool
		}{{0, 2, 2, true}, {10 * time.Second, 3, 5, false}, {20 * time.Second, -9, 0, false},
			{30 * time.Second, 1, 1, false}, {70 * time.Second, 4, 4, true}} {
			n, start, err := store.WindowAdd(ctx, "k", s.delta, time.Minute, t0.Add(s.at))
			if err != nil {
				t.Fatal(err)
			}
			if n != s.n || start.Equal(t0.Add(s.at)) != s.restarted {
				t.Errorf("at %v add %d: %d from %v, want %d (restarted %t)", s.at, s.delta, n, start, s.n, s.restarted)
			}
		}
		if n, _, err := store.WindowGet(ctx, "k", time.Minute, t0.Add(80*time.Second)); n != 4 || err != nil {
			t.Errorf("get: %d %v, want 4", n, err)
		}
		if n, start, err := store.WindowGet(ctx, "k", time.Minute, t0.Add(3*time.Minute)); n != 0 || !start.IsZero() || err != nil {
			t.Errorf("get after the window: %d %v %v, want none", n, start, err)
		}

		replicas := []tenants.Store{store, tenants.NewStore(e)}
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := replicas[i%2].WindowAdd(ctx, "race", 1, time.Hour, time.Now()); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n, _, _ := store.WindowGet(ctx, "race", time.Hour, time.Now()); n != 50 {
			t.Errorf("50 concurrent adds counted %d", n)
		}

		if n, err := store.SweepWindows(ctx, t0.Add(time.Hour)); n != 1 || err != nil {
			t.Errorf("sweep: %d %v, want the one old window", n, err)
		}
		if n, _, _ := store.WindowGet(ctx, "race", time.Hour, time.Now()); n != 50 {
			t.Errorf("sweep took an open window: %d", n)
		}
	})
}

// TestSharedWindowCounter: two replicas' counters on one database. What
// one counted reaches the other (the limit holds across them); under
// concurrency each replica stays within the limit and every event counted
// reaches the database once.
func TestSharedWindowCounter(t *testing.T) {
	tenants.SetWindowTimeout(t, 5*time.Second) // a read never falls back to memory here
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		store := tenants.NewStore(e)
		a := tenants.NewSharedWindowCounter(store, "signup", time.Hour)
		b := tenants.NewSharedWindowCounter(tenants.NewStore(e), "signup", time.Hour)
		other := tenants.NewSharedWindowCounter(store, "reports", time.Hour)
		now := time.Now()
		for i := range 5 {
			if ok, _ := a.Take("ip:1", 5, now); !ok {
				t.Fatalf("take %d refused", i+1)
			}
		}
		if ok, _ := a.Take("ip:1", 5, now); ok {
			t.Fatal("replica a passed its own limit")
		}
		a.Flush()
		if ok, wait := b.Take("ip:1", 5, now); ok || wait <= 0 {
			t.Errorf("replica b took past what a counted: %t %v", ok, wait)
		}
		if !b.Reached("ip:1", 5, now) {
			t.Error("replica b: limit not reached")
		}
		if ok, _ := other.Take("ip:1", 5, now); !ok {
			t.Error("another counter's key was refused: counters' keys must not meet")
		}
		b.Give("ip:1") // nothing taken on b: nothing to give back
		a.Give("ip:1")
		a.Flush()
		if n, _, _ := store.WindowGet(ctx, "signup:ip:1", time.Hour, now); n != 4 {
			t.Errorf("after one given back the database counts %d, want 4", n)
		}

		var taken atomic.Int32
		var wg sync.WaitGroup
		replicas := []*tenants.WindowCounter{a, b}
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ok, _ := replicas[i%2].Take("ip:2", 10, time.Now()); ok {
					taken.Add(1)
				}
			}()
		}
		wg.Wait()
		a.Flush()
		b.Flush()
		n, _, _ := store.WindowGet(ctx, "signup:ip:2", time.Hour, time.Now())
		if got := int(taken.Load()); got < 10 || got > 20 || n != got {
			t.Errorf("40 concurrent takes, limit 10, two replicas: %d taken, database counts %d (want 10–20, equal)", got, n)
		}
		for _, r := range replicas {
			if ok, _ := r.Take("ip:2", 10, time.Now().Add(2*time.Second)); ok {
				t.Error("a replica takes past the limit after both sent their counts")
			}
		}
	})
}

// TestSharedWindowCounterFailsOpen: with its database gone a shared
// counter goes on counting in memory: the limit still holds on this
// replica, and nothing panics or blocks.
func TestSharedWindowCounterFailsOpen(t *testing.T) {
	e, err := tenants.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := tenants.NewSharedWindowCounter(tenants.NewStore(e), "signups", time.Hour)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range 3 {
		if ok, _ := l.Take("ip:1", 3, now); !ok {
			t.Fatalf("take %d refused with the database gone", i+1)
		}
	}
	if ok, _ := l.Take("ip:1", 3, now); ok {
		t.Error("the limit does not hold in memory with the database gone")
	}
	l.Flush() // fails, keeps the counts to send while the window lasts
	if ok, _ := l.Take("ip:1", 3, now); ok {
		t.Error("a failed send lost the counts")
	}
}
