package fan_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

func TestStoreContract(t *testing.T) {
	enginetest.Kinds(t, []tenants.Schema{fan.Schema}, func(t *testing.T, e *tenants.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		id := tenants.NewID()
		now := time.Now().UTC().Truncate(time.Millisecond)
		if _, err := s.Get(ctx, tenant, id); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("get before ensure: %v", err)
		}
		f, err := s.Ensure(ctx, tenant, id, "share_link", now)
		if err != nil || f.ID != id || f.Source != "share_link" || !f.CreatedAt.Equal(now) {
			t.Fatalf("ensure: %+v %v", f, err)
		}
		// A second touch keeps the first source and time.
		f, err = s.Ensure(ctx, tenant, id, "direct", now.Add(time.Hour))
		if err != nil || f.Source != "share_link" || !f.CreatedAt.Equal(now) {
			t.Fatalf("ensure again: %+v %v", f, err)
		}
		if _, err := s.Get(ctx, enginetest.Tenant(t, e), id); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("other tenant sees the fan: %v", err)
		}
	})
}

// TestEnsureConcurrent: a fan's first actions race; one record, one source.
func TestEnsureConcurrent(t *testing.T) {
	enginetest.Kinds(t, []tenants.Schema{fan.Schema}, func(t *testing.T, e *tenants.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		id := tenants.NewID()
		var wg sync.WaitGroup
		sources := make(chan string, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, err := s.Ensure(ctx, tenant, id, []string{"a", "b"}[i%2], time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				sources <- f.Source
			}()
		}
		wg.Wait()
		close(sources)
		first := ""
		for src := range sources {
			if first == "" {
				first = src
			}
			if src != first {
				t.Errorf("fan has two first sources: %q and %q", first, src)
			}
		}
	})
}
