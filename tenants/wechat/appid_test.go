package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// input is a complete new account with the given AppID.
func input(appID string) wechat.Input {
	return wechat.Input{AppID: appID, AppSecret: secret, Token: "tok3n", Mode: wechat.Plaintext}
}

// wantTaken fails unless err is the 409 on app_id of an AppID another shop
// holds.
func wantTaken(t *testing.T, what string, err error) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Status != 409 || fe.Field != "app_id" {
		t.Errorf("%s: expect a 409 on app_id, got %v", what, err)
	}
}

// owner is the shop holding appID, "" for none.
func owner(t *testing.T, e *engine.Engine, appID string) string {
	t.Helper()
	id, err := tenants.NewStore(e).AppIDOwner(context.Background(), appID)
	if errors.Is(err, fault.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestAppIDOneShop: an AppID is one shop's on the whole platform. A second
// shop saving it gets a 409 and keeps what it had; giving an AppID up
// releases it (and tells the sandbox to forget it); generated sandbox
// credentials are claimed like entered ones.
func TestAppIDOneShop(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		var released []string
		var mu sync.Mutex
		accounts := wechat.New(wechat.NewStore(e), tenants.NewStore(e), wechat.Options{Log: discard, Now: clock.Now,
			Released: func(appID string) { mu.Lock(); released = append(released, appID); mu.Unlock() }})
		a, b := newTenant(t, e), newTenant(t, e)
		const x, y = "wx00000000000000aa", "wx00000000000000bb"

		if _, err := accounts.Save(ctx, a, input(x)); err != nil {
			t.Fatal(err)
		}
		_, err := accounts.Save(ctx, b, input(x))
		wantTaken(t, "a second shop saving the AppID", err)
		if _, err := accounts.Settings(ctx, b); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("the refused shop has settings: %v", err)
		}
		if got := owner(t, e, x); got != a {
			t.Errorf("owner of %s = %q, want the first shop", x, got)
		}
		// b has an account of its own; entering a's AppID again keeps it.
		if _, err := accounts.Save(ctx, b, input(y)); err != nil {
			t.Fatal(err)
		}
		_, err = accounts.Save(ctx, b, wechat.Input{AppID: x, AppSecret: secret, Token: "tok3n"})
		wantTaken(t, "a shop switching to another shop's AppID", err)
		if s, err := accounts.Settings(ctx, b); err != nil || s.AppID != y {
			t.Errorf("the refused shop's settings: %+v %v", s, err)
		}
		// a gives x up: it is free, and the sandbox forgets it.
		if _, err := accounts.Save(ctx, a, input("wx00000000000000cc")); err != nil {
			t.Fatal(err)
		}
		if got := owner(t, e, x); got != "" {
			t.Errorf("the AppID given up is still held by %q", got)
		}
		if fmt.Sprint(released) != "["+x+"]" {
			t.Errorf("released %v, want [%s]", released, x)
		}
		if _, err := accounts.Save(ctx, b, input(x)); err != nil {
			t.Errorf("the freed AppID: %v", err)
		}
		if owner(t, e, x) != b || owner(t, e, y) != "" {
			t.Errorf("after b moved to %s: owners %q and %q", x, owner(t, e, x), owner(t, e, y))
		}

		// Sandbox credentials are claimed when generated.
		sb := newAccounts(e, true)
		c := newTenant(t, e)
		gen, err := sb.Settings(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if got := owner(t, e, gen.AppID); got != c {
			t.Errorf("generated AppID held by %q, want the shop", got)
		}
		_, err = sb.Save(ctx, a, input(gen.AppID))
		wantTaken(t, "another shop entering generated sandbox credentials", err)
	})
}

// TestAppIDLegacyDuplicate: two shops that saved the same AppID before
// AppIDs were claimed. The first to be read keeps it; the other is told
// (409) until it saves an AppID of its own, and giving up the AppID it
// never held leaves the holder's claim alone.
func TestAppIDLegacyDuplicate(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		store := wechat.NewStore(e)
		a, b := newTenant(t, e), newTenant(t, e)
		const x = "wx0000000000000dup"
		for _, id := range []string{a, b} {
			if err := store.SaveSettings(ctx, id, wechat.Settings{AppID: x, AppSecret: secret, Token: "tok3n",
				Mode: wechat.Plaintext, Rev: 1}); err != nil {
				t.Fatal(err)
			}
		}
		accounts := newAccounts(e, false)
		if _, err := accounts.Account(ctx, a); err != nil {
			t.Fatalf("the first shop read: %v", err)
		}
		_, err := accounts.Settings(ctx, b)
		wantTaken(t, "the second shop's settings", err)
		if _, err := accounts.Account(ctx, b); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("the second shop has an account: %v", err)
		}
		_, err = accounts.Save(ctx, b, wechat.Input{AppID: x, Welcome: "hi"})
		wantTaken(t, "the second shop saving the AppID again", err)
		if _, err := accounts.Save(ctx, b, input("wx000000000000own1")); err != nil {
			t.Fatal(err)
		}
		if _, err := accounts.Account(ctx, b); err != nil {
			t.Errorf("after entering its own AppID: %v", err)
		}
		if got := owner(t, e, x); got != a {
			t.Errorf("owner of %s = %q, want the first shop", x, got)
		}
	})
}

// TestAppIDClaimRace: shops saving one AppID at once: exactly one wins,
// the others get a 409 and no settings; so do shops given sandbox
// credentials at once (each its own).
func TestAppIDClaimRace(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		const shops = 4
		for round := range 5 {
			appID := fmt.Sprintf("wx00000000race%04d", round)
			ids := make([]string, shops)
			for i := range ids {
				ids[i] = newTenant(t, e)
			}
			errs := make([]error, shops)
			var wg sync.WaitGroup
			for i, id := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Each shop on its own replica.
					_, errs[i] = newAccounts(e, false).Save(ctx, id, input(appID))
				}()
			}
			wg.Wait()
			winner := ""
			for i, err := range errs {
				if err == nil {
					if winner != "" {
						t.Fatalf("round %d: two shops saved %s", round, appID)
					}
					winner = ids[i]
					continue
				}
				wantTaken(t, "a shop that lost the race", err)
				if _, err := newAccounts(e, false).Settings(ctx, ids[i]); !errors.Is(err, fault.ErrNotFound) {
					t.Errorf("round %d: a loser has settings: %v", round, err)
				}
			}
			if winner == "" || owner(t, e, appID) != winner {
				t.Fatalf("round %d: winner %q, owner %q", round, winner, owner(t, e, appID))
			}
		}
	})
}
