package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

func TestStoreSessions(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := tenants.NewStore(e)
		at := now()
		user, other, tenantID := engine.NewID(), engine.NewID(), engine.NewID()
		mk := func(userID string, expires time.Duration) tenants.SessionRecord {
			t.Helper()
			r := tenants.SessionRecord{ID: engine.NewID(), UserID: userID, TenantID: tenantID, CreatedAt: at, ExpiresAt: at.Add(expires)}
			if err := s.CreateSession(ctx, r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		live := func(r tenants.SessionRecord, want bool) {
			t.Helper()
			got, err := s.SessionByID(ctx, r.ID)
			if !want {
				wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
				return
			}
			if err != nil || got.UserID != r.UserID || got.TenantID != r.TenantID || !got.CreatedAt.Equal(r.CreatedAt) || !got.ExpiresAt.Equal(r.ExpiresAt) {
				t.Fatalf("SessionByID = %+v, %v; want %+v", got, err, r)
			}
		}
		a, b, c, expired := mk(user, time.Hour), mk(user, time.Hour), mk(user, time.Hour), mk(user, -time.Minute)
		o := mk(other, time.Hour)
		for _, r := range []tenants.SessionRecord{a, b, c, expired, o} {
			live(r, true)
		}

		steps := []struct {
			name      string
			do        func() error
			live, end []tenants.SessionRecord
		}{
			{"expired ones go", func() error { return s.DeleteExpiredSessions(ctx, user, at) },
				[]tenants.SessionRecord{a, b, c, o}, []tenants.SessionRecord{expired}},
			{"sign out one", func() error { return s.DeleteSession(ctx, a.ID) },
				[]tenants.SessionRecord{b, c, o}, []tenants.SessionRecord{a}},
			{"sign out a missing one", func() error { return s.DeleteSession(ctx, engine.NewID()) },
				[]tenants.SessionRecord{b, c, o}, nil},
			{"every other session of the user", func() error { return s.DeleteUserSessions(ctx, user, c.ID) },
				[]tenants.SessionRecord{c, o}, []tenants.SessionRecord{b}},
			{"every session of the user", func() error { return s.DeleteUserSessions(ctx, user, "") },
				[]tenants.SessionRecord{o}, []tenants.SessionRecord{c}},
		}
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			for _, r := range st.live {
				live(r, true)
			}
			for _, r := range st.end {
				live(r, false)
			}
		}
	})
}

func TestStoreAccountRecords(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := tenants.NewStore(e)
		tenantID, otherTenant := engine.NewID(), engine.NewID()

		// Users of a tenant, first signed up first; a new password hash.
		at := now()
		first := tenants.User{ID: engine.NewID(), TenantID: tenantID, Email: "owner@example.com", PasswordHash: "h1", CreatedAt: at}
		second := tenants.User{ID: engine.NewID(), TenantID: tenantID, Email: "clerk@example.com", PasswordHash: "h2", CreatedAt: at.Add(time.Second)}
		for _, u := range []tenants.User{second, first,
			{ID: engine.NewID(), TenantID: otherTenant, Email: "x@example.com", PasswordHash: "h3", CreatedAt: at}} {
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		users, err := s.UsersOfTenant(ctx, tenantID)
		if err != nil || len(users) != 2 || users[0].ID != first.ID || users[1].ID != second.ID {
			t.Fatalf("UsersOfTenant = %+v, %v; want the owner, then the clerk", users, err)
		}
		if err := s.SetPasswordHash(ctx, first.ID, "h9"); err != nil {
			t.Fatal(err)
		}
		if u, err := s.UserByID(ctx, first.ID); err != nil || u.PasswordHash != "h9" {
			t.Fatalf("after SetPasswordHash: %+v, %v", u, err)
		}
		wantStatus(t, s.SetPasswordHash(ctx, engine.NewID(), "h"), fault.ErrNotFound, http.StatusNotFound)

		// API keys: listed oldest first, last use recorded, deleted only
		// by their tenant.
		var keys []tenants.APIKey
		for i := range 3 {
			_, k := tenants.NewAPIKey(tenantID, at.Add(time.Duration(i)*time.Second))
			if err := s.CreateAPIKey(ctx, k); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		_, foreign := tenants.NewAPIKey(otherTenant, at)
		if err := s.CreateAPIKey(ctx, foreign); err != nil {
			t.Fatal(err)
		}
		used := at.Add(time.Minute)
		if err := s.TouchAPIKey(ctx, keys[1].ID, used); err != nil {
			t.Fatal(err)
		}
		list := func(want ...tenants.APIKey) []tenants.APIKey {
			t.Helper()
			got, err := s.APIKeysOf(ctx, tenantID)
			if err != nil || len(got) != len(want) {
				t.Fatalf("APIKeysOf = %+v, %v; want %d keys", got, err, len(want))
			}
			for i := range want {
				if got[i].ID != want[i].ID || got[i].Prefix != want[i].Prefix || !got[i].CreatedAt.Equal(want[i].CreatedAt) {
					t.Fatalf("key %d = %+v, want %+v", i, got[i], want[i])
				}
			}
			return got
		}
		got := list(keys...)
		if !got[0].LastUsedAt.IsZero() || !got[1].LastUsedAt.Equal(used) {
			t.Fatalf("last used = %v, %v; want never, %v", got[0].LastUsedAt, got[1].LastUsedAt, used)
		}

		_, err = s.DeleteAPIKey(ctx, tenantID, foreign.ID)
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
		if _, err := s.APIKeyByHash(ctx, foreign.Hash); err != nil {
			t.Fatalf("another tenant's delete removed the key: %v", err)
		}
		del, err := s.DeleteAPIKey(ctx, tenantID, keys[1].ID)
		if err != nil || del.Hash != keys[1].Hash {
			t.Fatalf("DeleteAPIKey = %+v, %v; want the key with its hash", del, err)
		}
		_, err = s.APIKeyByHash(ctx, keys[1].Hash)
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
		_, err = s.DeleteAPIKey(ctx, tenantID, keys[1].ID)
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
		list(keys[0], keys[2])
	})
}

// A revoked key is refused at once on the replica that revoked it, and
// within resolveTTL (5 s) on another replica that had it cached.
func TestRevokeAPIKey(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		a, b := newService(e), newService(e) // two replicas
		clk := newClock(a, b)
		tn, _, key, err := a.SignUp(ctx, validSignUp("tea-house"))
		if err != nil {
			t.Fatal(err)
		}
		_, other, _, err := a.SignUp(ctx, tenants.SignUp{Name: "Other", Slug: "other", Email: "o@example.com", Password: "correct horse"})
		if err != nil {
			t.Fatal(err)
		}
		resolves := func(svc *tenants.Service, want bool) {
			t.Helper()
			got, err := svc.TenantByAPIKey(ctx, key)
			if want && (err != nil || got.ID != tn.ID) {
				t.Fatalf("TenantByAPIKey = %+v, %v; want shop %s", got, err, tn.ID)
			}
			if !want && !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("TenantByAPIKey = %+v, %v; want not found", got, err)
			}
		}
		resolves(a, true) // both replicas have it cached
		resolves(b, true)
		keys, err := a.APIKeys(ctx, tn.ID)
		if err != nil || len(keys) != 1 {
			t.Fatalf("APIKeys = %+v, %v", keys, err)
		}
		id := keys[0].ID

		wantStatus(t, a.RevokeAPIKey(ctx, other.TenantID, id), fault.ErrNotFound, http.StatusNotFound)
		resolves(a, true)
		wantStatus(t, a.RevokeAPIKey(ctx, tn.ID, "not an id"), fault.ErrInvalid, http.StatusBadRequest)

		if err := a.RevokeAPIKey(ctx, tn.ID, id); err != nil {
			t.Fatal(err)
		}
		resolves(a, false)
		resolves(b, true) // b's cache, for at most resolveTTL
		clk.add(5 * time.Second)
		resolves(b, false)
		wantStatus(t, a.RevokeAPIKey(ctx, tn.ID, id), fault.ErrNotFound, http.StatusNotFound)
	})
}

// A key's last use is written at most once a minute (per replica), not on
// every call.
func TestAPIKeyLastUsed(t *testing.T) {
	e := openSQLite(t)
	ctx := context.Background()
	svc := newService(e)
	tn, _, _, err := svc.SignUp(ctx, validSignUp("tea-house"))
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock(svc)
	rec, key, err := svc.CreateAPIKey(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		t.Helper()
		keys, err := svc.APIKeys(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.ID == rec.ID {
				return k.LastUsedAt
			}
		}
		t.Fatalf("key %s not listed", rec.ID)
		return time.Time{}
	}
	if !lastUsed().IsZero() {
		t.Fatal("a new key is used")
	}
	start := clk.now()
	for _, step := range []struct {
		after time.Duration
		want  time.Duration // last use, from start
	}{{0, 0}, {10 * time.Second, 0}, {59 * time.Second, 0}, {61 * time.Second, 61 * time.Second}, {90 * time.Second, 61 * time.Second}} {
		clk.set(start.Add(step.after))
		if _, err := svc.TenantByAPIKey(ctx, key); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(start.Add(step.want)) {
			t.Fatalf("used at +%s: last used %v, want +%s", step.after, got, step.want)
		}
	}
}

func TestCreateAPIKeyLimit(t *testing.T) {
	svc := newService(openSQLite(t))
	ctx := context.Background()
	tn, _, _, err := svc.SignUp(ctx, validSignUp("tea-house"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 1; i < 20; i++ { // the sign-up's key is the first
		rec, key, err := svc.CreateAPIKey(ctx, tn.ID)
		if err != nil {
			t.Fatalf("key %d: %v", i+1, err)
		}
		if seen[key] || rec.Hash != tenants.HashAPIKey(key) || rec.TenantID != tn.ID {
			t.Fatalf("key %d: %+v %q", i+1, rec, key)
		}
		seen[key] = true
	}
	_, _, err = svc.CreateAPIKey(ctx, tn.ID)
	wantStatus(t, err, fault.ErrConflict, http.StatusConflict)
}

// Sign-up is limited per address (5 shops an hour); failed sign-ups do not
// count, and other addresses are not affected.
func TestSignUpLimitPerAddress(t *testing.T) {
	svc := newService(openSQLite(t))
	ctx := context.Background()
	clk := newClock(svc)
	const ip = "203.0.113.5"
	if _, _, _, err := svc.SignUpFrom(ctx, validSignUp("taken"), "198.51.100.1"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 { // refused sign-ups (a taken slug) are not counted
		in := validSignUp("taken")
		in.Email = fmt.Sprintf("x%d@example.com", i)
		if _, _, _, err := svc.SignUpFrom(ctx, in, ip); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("taken slug: %v", err)
		}
	}
	for i := range 5 {
		if _, _, _, err := svc.SignUpFrom(ctx, validSignUp(fmt.Sprintf("shop-%d", i)), ip); err != nil {
			t.Fatalf("sign-up %d: %v", i+1, err)
		}
	}
	_, _, _, err := svc.SignUpFrom(ctx, validSignUp("shop-6"), ip)
	wantStatus(t, err, fault.TooManyRequests(""), http.StatusTooManyRequests)
	if _, _, _, err := svc.SignUpFrom(ctx, validSignUp("shop-7"), "192.0.2.1"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	clk.add(time.Hour)
	if _, _, _, err := svc.SignUpFrom(ctx, validSignUp("shop-6"), ip); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
}

// Calls resolving a key while it is revoked must not leave it cached: once
// RevokeAPIKey returns, the key is refused on that replica.
func TestRevokeAPIKeyWhileResolving(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		svc := newService(e)
		tn, _, _, err := svc.SignUp(ctx, validSignUp("tea-house"))
		if err != nil {
			t.Fatal(err)
		}
		for round := range 20 {
			rec, key, err := svc.CreateAPIKey(ctx, tn.ID)
			if err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
							_, _ = svc.TenantByAPIKey(ctx, key)
						}
					}
				})
			}
			time.Sleep(time.Millisecond)
			err = svc.RevokeAPIKey(ctx, tn.ID, rec.ID)
			if _, rerr := svc.TenantByAPIKey(ctx, key); err == nil && !errors.Is(rerr, fault.ErrNotFound) {
				err = fmt.Errorf("round %d: the revoked key still resolves: %v", round, rerr)
			}
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
