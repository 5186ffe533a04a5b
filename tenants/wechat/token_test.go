package wechat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/wechat"
)

// TestTokenSharedByReplicas: two replicas (two Accounts over one platform
// database) and many goroutines ask for a token at once; WeChat sees one
// fetch, and everyone gets the same token.
func TestTokenSharedByReplicas(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		tenant := enginetest.Tenant(t, e)
		replicas := []*wechat.Accounts{newAccounts(e, true), newAccounts(e, true)}
		appID := mustAccount(t, replicas[0], tenant).Settings.AppID
		tokens := make(chan string, 40)
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok, err := mustAccount(t, replicas[i%2], tenant).AccessToken(ctx)
				if err != nil {
					t.Error(err)
				}
				tokens <- tok
			}()
		}
		wg.Wait()
		close(tokens)
		first := ""
		for tok := range tokens {
			if first == "" {
				first = tok
			}
			if tok != first {
				t.Fatalf("replicas hold different tokens")
			}
		}
		if n := sim.TokenFetches(appID); n != 1 {
			t.Errorf("WeChat saw %d token fetches, want 1", n)
		}
	})
}

// TestTokenRefreshedBeforeExpiry: a token due for refresh is replaced before
// it expires; until then every call reuses it.
func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		tenant := enginetest.Tenant(t, e)
		acct := mustAccount(t, newAccounts(e, true), tenant)
		t1, err := acct.AccessToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		clock.advance(t, time.Hour)
		if t2, _ := acct.AccessToken(ctx); t2 != t1 {
			t.Errorf("token replaced an hour into its 2 hours")
		}
		clock.advance(t, 51*time.Minute) // 1 h 51 min: due (10 min before expiry), still valid
		t3, err := acct.AccessToken(ctx)
		if err != nil || t3 == t1 {
			t.Errorf("token not refreshed when due: %v", err)
		}
		if n := sim.TokenFetches(acct.Settings.AppID); n != 2 {
			t.Errorf("%d fetches, want 2", n)
		}
	})
}

// TestTokenRefreshOn40001: another process fetched a token behind our back,
// so after the overlap WeChat rejects ours with 40001; the call drops it,
// fetches a new one and succeeds on its one retry.
func TestTokenRefreshOn40001(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		tenant := enginetest.Tenant(t, e)
		accounts := newAccounts(e, true)
		acct := mustAccount(t, accounts, tenant)
		ours, err := acct.AccessToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rogueFetch(t, acct.Settings)
		clock.advance(t, 6*time.Minute) // past WeChat's 5-minute overlap: ours is dead
		q, err := accounts.QR(ctx, tenant, "after-40001", false)
		if err != nil {
			t.Fatalf("call after the token was invalidated: %v", err)
		}
		if q.Ticket == "" {
			t.Error("no ticket")
		}
		if n := sim.TokenFetches(acct.Settings.AppID); n != 3 {
			t.Errorf("%d token fetches, want 3 (ours, the rogue's, the refresh)", n)
		}
		now, err := acct.AccessToken(ctx)
		if err != nil || now == ours {
			t.Errorf("the rejected token is still cached: %v", err)
		}
	})
}

// rogueFetch fetches a token for the app the way a second, misconfigured
// process would: straight from WeChat (the simulator), not through the
// shared cache.
func rogueFetch(t *testing.T, s wechat.Settings) {
	t.Helper()
	u := sim.BaseURL() + "/cgi-bin/token?" + url.Values{"grant_type": {"client_credential"}, "appid": {s.AppID},
		"secret": {s.AppSecret}}.Encode()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		ErrCode     int    `json:"errcode"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("rogue fetch: %+v %v", out, err)
	}
}

// TestSDKCache: the SDK's cache interface on the shared cache.
func TestSDKCache(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		store := tenants.NewStore(e)
		c := wechat.NewCache(store, "t1:", clock.Now)
		if c.Get("k") != nil || c.IsExist("k") {
			t.Fatal("empty cache has k")
		}
		if err := c.Set("k", "v", time.Minute); err != nil {
			t.Fatal(err)
		}
		if got := c.Get("k"); got != "v" || !c.IsExist("k") {
			t.Errorf("get = %v", got)
		}
		if wechat.NewCache(store, "t2:", clock.Now).Get("k") != nil {
			t.Error("another prefix sees the value")
		}
		clock.advance(t, 2*time.Minute)
		if c.Get("k") != nil {
			t.Error("expired value read")
		}
		if err := c.Set("n", 42, time.Minute); err != nil {
			t.Fatal(err)
		}
		if got := c.Get("n"); got != fmt.Sprint(42) {
			t.Errorf("number stored as %v", got)
		}
		if err := c.Delete("n"); err != nil || c.IsExist("n") {
			t.Errorf("delete: %v", err)
		}
	})
}
