package tenants_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

func TestCache(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		store := tenants.NewStore(e)
		now := time.Now().UTC().Truncate(time.Millisecond)
		if _, _, err := store.CacheGet(ctx, "k", now); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
		if err := store.CachePut(ctx, "k", "v1", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		v, exp, err := store.CacheGet(ctx, "k", now)
		if err != nil || v != "v1" || !exp.Equal(now.Add(time.Hour)) {
			t.Fatalf("get: %q %v %v", v, exp, err)
		}
		if _, _, err := store.CacheGet(ctx, "k", now.Add(time.Hour)); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("expired entry read: %v", err)
		}
		if err := store.CachePut(ctx, "k", "v2", now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := store.CacheGet(ctx, "k", now); v != "v2" {
			t.Errorf("after replace: %q", v)
		}
		// Dropping a stale value leaves the fresh one alone.
		if ok, err := store.CacheDeleteValue(ctx, "k", "v1"); ok || err != nil {
			t.Errorf("delete stale value: %v %v", ok, err)
		}
		if ok, err := store.CacheDeleteValue(ctx, "k", "v2"); !ok || err != nil {
			t.Errorf("delete current value: %v %v", ok, err)
		}
		if _, _, err := store.CacheGet(ctx, "k", now); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
		if err := store.CachePut(ctx, "k", "v3", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := store.CacheDelete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.CacheGet(ctx, "k", now); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("after CacheDelete: %v", err)
		}
	})
}
