package tenants_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

func TestStoreAppIDs(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := tenants.NewStore(e)
		a, b := engine.NewID(), engine.NewID()
		owner := func(appID, want string) {
			t.Helper()
			got, err := s.AppIDOwner(ctx, appID)
			if want == "" {
				wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
				return
			}
			if err != nil || got != want {
				t.Fatalf("AppIDOwner(%s) = %q, %v; want %q", appID, got, err, want)
			}
		}
		owner("wx1111", "")

		steps := []struct {
			name         string
			do           func() error
			wantErr      error
			appID, owner string
		}{
			{"a claims a free AppID", func() error { return s.ClaimAppID(ctx, "wx1111", a) }, nil, "wx1111", a},
			{"a claims it again: no-op", func() error { return s.ClaimAppID(ctx, "wx1111", a) }, nil, "wx1111", a},
			{"b claims a's AppID: conflict", func() error { return s.ClaimAppID(ctx, "wx1111", b) }, fault.ErrConflict, "wx1111", a},
			{"b releases a's AppID: nothing happens", func() error { return s.ReleaseAppID(ctx, "wx1111", b) }, nil, "wx1111", a},
			{"b claims another AppID", func() error { return s.ClaimAppID(ctx, "wx2222", b) }, nil, "wx2222", b},
			{"a still has its own", func() error { return nil }, nil, "wx1111", a},
			{"a releases its AppID", func() error { return s.ReleaseAppID(ctx, "wx1111", a) }, nil, "wx1111", ""},
			{"a releases it again", func() error { return s.ReleaseAppID(ctx, "wx1111", a) }, nil, "wx1111", ""},
			{"b claims the freed AppID", func() error { return s.ClaimAppID(ctx, "wx1111", b) }, nil, "wx1111", b},
			{"an empty AppID is invalid", func() error { return s.ClaimAppID(ctx, "", a) }, fault.ErrInvalid, "", ""},
		}
		for _, st := range steps {
			err := st.do()
			if st.wantErr == nil && err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if st.wantErr != nil && !errors.Is(err, st.wantErr) {
				t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
			}
			if st.appID != "" {
				owner(st.appID, st.owner)
			}
		}
		err := s.ClaimAppID(ctx, "wx1111", a)
		wantStatus(t, err, fault.ErrConflict, http.StatusConflict)
		if err.Error() != "this AppID is connected to another shop" {
			t.Fatalf("conflict message = %q", err)
		}
	})
}

// Two shops race for one AppID from many goroutines: exactly one shop owns
// it, every claim of the winner succeeds and every claim of the loser is a
// conflict.
func TestStoreAppIDClaimRace(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := tenants.NewStore(e)
		shops := []string{engine.NewID(), engine.NewID()}
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = s.ClaimAppID(ctx, "wxrace", shops[i%2])
			})
		}
		close(start)
		wg.Wait()
		winner, err := s.AppIDOwner(ctx, "wxrace")
		if err != nil {
			t.Fatal(err)
		}
		for i, err := range errs {
			switch {
			case shops[i%2] == winner && err != nil:
				t.Errorf("claim %d by the owner: %v", i, err)
			case shops[i%2] != winner && !errors.Is(err, fault.ErrConflict):
				t.Errorf("claim %d by the other shop: err = %v, want a conflict", i, err)
			}
		}
	})
}
