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

func TestLeases(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		store := tenants.NewStore(e)
		now := time.Now().UTC().Truncate(time.Millisecond)
		if ok, err := store.TryLease(ctx, "job", "a", now, now.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("a takes a free lease: %v %v", ok, err)
		}
		if ok, err := store.TryLease(ctx, "job", "b", now, now.Add(time.Minute)); ok || err != nil {
			t.Fatalf("b takes a held lease: %v %v", ok, err)
		}
		if ok, err := store.TryLease(ctx, "job", "a", now, now.Add(2*time.Minute)); !ok || err != nil {
			t.Fatalf("a renews: %v %v", ok, err)
		}
		later := now.Add(3 * time.Minute)
		if ok, err := store.TryLease(ctx, "job", "b", later, later.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("b takes an expired lease: %v %v", ok, err)
		}
		if err := store.ReleaseLease(ctx, "job", "a"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := store.TryLease(ctx, "job", "a", later, later.Add(time.Minute)); ok {
			t.Fatal("a's release freed b's lease")
		}
		if err := store.ReleaseLease(ctx, "job", "b"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := store.TryLease(ctx, "job", "a", later, later.Add(time.Minute)); !ok {
			t.Fatal("released lease not free")
		}
	})
}

// TestLeaseOneWinner: 20 replicas race for one free lease; exactly one wins.
func TestLeaseOneWinner(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		store := tenants.NewStore(e)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := tenants.NewLeaser(store).Try(context.Background(), "race", time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d winners, want 1", wins.Load())
		}
	})
}

func TestLeaserRun(t *testing.T) {
	e, err := tenants.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	store := tenants.NewStore(e)
	a, b := tenants.NewLeaser(store), tenants.NewLeaser(store)
	ctx := context.Background()
	ran, err := a.Run(ctx, "sync", 600*time.Millisecond, func(ctx context.Context) error {
		// While a runs (and renews past the ttl, several times), b is kept
		// out; a renewal may stall for most of a ttl on a loaded machine.
		time.Sleep(1500 * time.Millisecond)
		if ok, _ := b.Try(ctx, "sync", time.Minute); ok {
			t.Error("b took the lease a is running under")
		}
		return nil
	})
	if !ran || err != nil {
		t.Fatalf("run: %v %v", ran, err)
	}
	if ok, _ := b.Try(ctx, "sync", time.Minute); !ok {
		t.Error("lease not released after the run")
	}
}
