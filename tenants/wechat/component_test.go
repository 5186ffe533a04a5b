package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// componentReplicas are two replicas' accounts with the component plugged
// in, configured, with a verify ticket received.
func componentReplicas(t *testing.T, e *engine.Engine) (*wechat.Component, *wechat.Component, *wechat.Accounts, *wechat.Accounts, wechat.ComponentConfig) {
	t.Helper()
	ctx := context.Background()
	one, two := newAccounts(e, true), newAccounts(e, true)
	c1, err := wechat.NewComponent(ctx, e, one, wechat.ComponentOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := wechat.NewComponent(ctx, e, two, wechat.ComponentOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gen := wechat.SandboxSettings(clock.Now())
	in := wechat.ComponentInput{AppID: gen.AppID, AppSecret: gen.AppSecret, Token: gen.Token, EncodingAESKey: gen.EncodingAESKey}
	cfg, err := c1.SaveConfig(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	q, body, err := wechat.SignComponentEvent(cfg, sim.TicketEvent(cfg.AppID, sim.ComponentTicket(cfg.AppID)), clock.Now().Unix(), "12345")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.ReceiveEvent(ctx, q, body); err != nil {
		t.Fatalf("ticket push: %v", err)
	}
	return c1, c2, one, two, cfg
}

// TestComponentAuthorisationOnce: the callback of one authorisation,
// arriving many times at once on two replicas, authorises once; a revoked
// authoriser token is refreshed once by all their calls; an unauthorisation
// leaves the shop without an account on both (the other within its cache's
// few seconds, its token gone at once).
func TestComponentAuthorisationOnce(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		c1, c2, one, two, cfg := componentReplicas(t, e)
		tenant := newTenant(t, e)

		link, err := c1.Start(ctx, tenant, "https://shop.example/admin/wechat/connect/callback")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(link)
		redirect, _ := url.Parse(u.Query().Get("redirect_uri"))
		state := redirect.Query().Get("state")
		appID, code, ok := sim.Authorize(cfg.AppID, u.Query().Get("pre_auth_code"), "admin-device-"+tenant, "")
		if !ok || state == "" {
			t.Fatalf("authorise in the sandbox: %v %q (%s)", ok, state, link)
		}
		// Another shop cannot use this shop's state.
		if _, err := c1.Complete(ctx, newTenant(t, e), state, code); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("another shop's callback: %v, want invalid", err)
		}

		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			c := c1
			if i%2 == 1 {
				c = c2
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Complete(ctx, tenant, state, code); err == nil {
					won.Add(1)
				} else if !errors.Is(err, fault.ErrInvalid) {
					t.Errorf("callback: %v", err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d callbacks authorised, want 1", won.Load())
		}
		auth, err := c2.Authorization(ctx, tenant)
		if err != nil || auth.Status != wechat.AuthAuthorized || auth.AppID != appID || auth.Rev != 1 {
			t.Fatalf("authorisation: %+v %v", auth, err)
		}

		sim.ExpireAuthorizerToken(appID)
		errs := make(chan error, 12)
		for i := range 12 {
			a := one
			if i%2 == 1 {
				a = two
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := a.QR(ctx, tenant, fmt.Sprintf("s%d", i), false)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("call with a revoked token: %v", err)
			}
		}
		if n := sim.AuthorizerRefreshes(cfg.AppID, appID); n != 1 {
			t.Errorf("refreshed %d times, want 1", n)
		}

		// Unauthorised: replica one hears it and has no account at once.
		q, body, err := wechat.SignComponentEvent(cfg, sim.Unauthorize(cfg.AppID, appID), clock.Now().Unix(), "23456")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c1.ReceiveEvent(ctx, q, body); err != nil {
			t.Fatal(err)
		}
		if _, err := one.Account(ctx, tenant); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("account after the unauthorisation: %v, want not found", err)
		}
		if _, err := c2.TenantForApp(ctx, appID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("pushes for the account still routed: %v", err)
		}
		// The same event again changes nothing.
		if _, err := c2.ReceiveEvent(ctx, q, body); err != nil {
			t.Errorf("the event again: %v", err)
		}
	})
}

// TestComponentForgedPush: an authorisation event signed with another
// token, or for another component, is refused and records nothing.
func TestComponentForgedPush(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		c1, _, _, _, cfg := componentReplicas(t, e)
		tenant := newTenant(t, e)
		forged := cfg
		forged.Token = "forgedToken123"
		q, body, _ := wechat.SignComponentEvent(forged, sim.TicketEvent(cfg.AppID, "ticket@@@forged"), clock.Now().Unix(), "1")
		if _, err := c1.ReceiveEvent(ctx, q, body); !errors.Is(err, &fault.Error{Status: 403, Code: "forbidden"}) {
			t.Errorf("forged token: %v, want 403", err)
		}
		q.Set("msg_signature", "0000")
		if _, err := c1.ReceiveEvent(ctx, q, body); err == nil {
			t.Error("a bad msg_signature was accepted")
		}
		// The genuine ticket still works: the forged one was not kept.
		if _, err := c1.Start(ctx, tenant, "https://shop.example/cb"); err != nil {
			t.Errorf("start after forged pushes: %v", err)
		}
	})
}
