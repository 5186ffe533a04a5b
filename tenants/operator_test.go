package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// The platform operator (operator*.go) on both engines: operators, their
// keys and passwords, shops opened by invitation and the invitations'
// single use.

// allowShopListScans exempts the operator's list of every shop (newest
// first, paged) from the index check, with the reads TenantIDs does.
func allowShopListScans(t *testing.T, e *engine.Engine) {
	enginetest.AllowFullScan(t, e, "tenants",
		"the ops console pages through every shop, newest first (created_at index), and counts them")
}

// hasStatus reports whether err is a fault.Error of status.
func hasStatus(err error, status int) bool {
	var fe *fault.Error
	return errors.As(err, &fe) && fe.Status == status
}

func TestOperatorCredentials(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		svc := newService(e)
		op, err := svc.CreateOperator(ctx, "  Ops@Example.com ")
		if err != nil {
			t.Fatal(err)
		}
		if op.Operator.Email != "ops@example.com" || !strings.HasPrefix(op.APIKey, "mso_") || len(op.Password) < 16 {
			t.Fatalf("created %+v", op)
		}
		// The same email again is a conflict; a bad one is a 400.
		if _, err := svc.CreateOperator(ctx, "ops@example.com"); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("second create: %v, want a conflict", err)
		}
		if _, err := svc.CreateOperator(ctx, "not an email"); !errors.Is(err, fault.ErrInvalid) {
			t.Fatalf("bad email: %v, want invalid", err)
		}

		// The key resolves to the operator; a merchant's key, an unknown or
		// malformed one does not.
		rec, err := svc.OperatorByKey(ctx, op.APIKey)
		if err != nil || rec.ID != op.Operator.ID || !rec.MustChange {
			t.Fatalf("by key: %+v %v", rec, err)
		}
		_, _, msk, err := svc.SignUp(ctx, validSignUp("key-shop"))
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{msk, "mso_" + strings.Repeat("A", 43), "", strings.TrimPrefix(op.APIKey, "mso_"), op.APIKey + "x"} {
			if _, err := svc.OperatorByKey(ctx, key); err == nil {
				t.Errorf("key %q resolved to an operator", key)
			}
		}
		// The operator's key is no merchant's.
		if _, err := svc.TenantByAPIKey(ctx, op.APIKey); !errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("operator key as a merchant's: %v", err)
		}

		// Sign-in: the one-time password works; a merchant's password is
		// no operator's, nor the reverse.
		if _, err := svc.AuthenticateOperator(ctx, "OPS@example.com", op.Password, "192.0.2.1"); err != nil {
			t.Fatalf("operator sign-in: %v", err)
		}
		if _, err := svc.AuthenticateOperator(ctx, "key-shop@example.com", "correct horse", "192.0.2.1"); !hasStatus(err, http.StatusUnauthorized) {
			t.Errorf("a merchant signing in as an operator: %v", err)
		}
		if _, err := svc.Authenticate(ctx, "ops@example.com", op.Password, "192.0.2.1"); err == nil {
			t.Errorf("an operator signing in to the merchant console")
		}

		// Changing the password clears the one-time mark.
		rec, _ = svc.OperatorByKey(ctx, op.APIKey)
		if err := svc.ChangeOperatorPassword(ctx, rec, tenants.PasswordChange{Current: op.Password, New: "operator's own pw"}, "192.0.2.1", ""); err != nil {
			t.Fatal(err)
		}
		rec, _ = svc.OperatorByKey(ctx, op.APIKey)
		if rec.MustChange {
			t.Errorf("still must change after changing")
		}
		if _, err := svc.AuthenticateOperator(ctx, "ops@example.com", "operator's own pw", "192.0.2.1"); err != nil {
			t.Errorf("sign-in with the new password: %v", err)
		}

		// Reset: new password and key, the old key revoked.
		again, err := svc.ResetOperator(ctx, "ops@example.com")
		if err != nil || again.Operator.ID != op.Operator.ID || again.APIKey == op.APIKey {
			t.Fatalf("reset: %+v %v", again, err)
		}
		if _, err := svc.OperatorByKey(ctx, op.APIKey); err == nil {
			t.Errorf("the old key still works after a reset")
		}
		if rec, err := svc.OperatorByKey(ctx, again.APIKey); err != nil || !rec.MustChange {
			t.Errorf("new key: %+v %v", rec, err)
		}
		if _, err := svc.ResetOperator(ctx, "nobody@example.com"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("reset of nobody: %v", err)
		}
	})
}

// TestOpenInvitedShops opens shops concurrently, two of them racing for
// one slug and two for one email: every other shop is there, one of each
// racing pair, the losers are conflicts and leave nothing behind.
func TestOpenInvitedShops(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		allowShopListScans(t, e)
		ctx := context.Background()
		svc := newService(e)
		n := 40
		if e.Kind() == engine.Mongo {
			n = 12
		}
		shops := make([]tenants.NewShop, 0, n+2)
		for i := range n {
			shops = append(shops, tenants.NewShop{Name: fmt.Sprintf("茶馆 %d", i), Slug: fmt.Sprintf("bulk-%d", i), Email: fmt.Sprintf("owner%d@example.com", i)})
		}
		shops = append(shops,
			tenants.NewShop{Name: "Twin", Slug: "bulk-0", Email: "twin@example.com"},      // slug of shop 0
			tenants.NewShop{Name: "Twin", Slug: "bulk-twin", Email: "owner1@example.com"}) // email of shop 1
		var wg sync.WaitGroup
		var created, conflicts atomic.Int64
		tokens := make([]string, len(shops))
		for i, in := range shops {
			wg.Go(func() {
				s, err := svc.OpenInvitedShop(ctx, in)
				switch {
				case err == nil:
					created.Add(1)
					tokens[i] = s.Token
					if s.Tenant.Slug != in.Slug || s.ExpiresAt.Sub(s.Tenant.CreatedAt) != 7*24*time.Hour {
						t.Errorf("opened %+v for %+v", s, in)
					}
				case errors.Is(err, fault.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("open %s: %v", in.Slug, err)
				}
			})
		}
		wg.Wait()
		if created.Load() != int64(n) || conflicts.Load() != 2 {
			t.Fatalf("created %d, conflicts %d; want %d and 2", created.Load(), conflicts.Load(), n)
		}
		listed, total, err := svc.ListShops(ctx, 100, 0)
		if err != nil || total != int64(n) || len(listed) != n {
			t.Fatalf("list: %d of %d, %v; want %d", len(listed), total, err, n)
		}
		seen := map[string]bool{}
		for i, s := range listed {
			seen[s.Slug] = true
			if s.Status != tenants.ShopInvited {
				t.Errorf("%s: status %q", s.Slug, s.Status)
			}
			if i > 0 && s.CreatedAt.After(listed[i-1].CreatedAt) {
				t.Errorf("not newest first at %d", i)
			}
		}
		for i := 2; i < n; i++ {
			if !seen[fmt.Sprintf("bulk-%d", i)] {
				t.Errorf("bulk-%d lost", i)
			}
		}
		// Of the racing pairs: bulk-0 (either shop), one of bulk-1 and bulk-twin.
		if !seen["bulk-0"] || seen["bulk-1"] == seen["bulk-twin"] {
			t.Errorf("racing pairs: bulk-0 %v, bulk-1 %v, bulk-twin %v", seen["bulk-0"], seen["bulk-1"], seen["bulk-twin"])
		}
		// Paging: two pages make the whole list.
		first, _, _ := svc.ListShops(ctx, n/2, 0)
		second, _, _ := svc.ListShops(ctx, n/2, n/2)
		if len(first)+len(second) != n || first[len(first)-1].ID == second[0].ID {
			t.Errorf("pages of %d and %d", len(first), len(second))
		}
		if _, _, err := svc.ListShops(ctx, 500, 0); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("limit 500: %v", err)
		}
		// The owner has an account without a password: no password signs in.
		for _, pw := range []string{"", "correct horse"} {
			if _, err := svc.Authenticate(ctx, "owner3@example.com", pw, "192.0.2.9"); !hasStatus(err, http.StatusUnauthorized) {
				t.Errorf("owner without a password signed in with %q: %v", pw, err)
			}
		}
		// Bad input is a 400 naming the field.
		for _, bad := range []tenants.NewShop{{Name: "", Slug: "ok-slug", Email: "a@example.com"}, {Name: "A", Slug: "admin", Email: "a@example.com"},
			{Name: "A", Slug: "ok-slug", Email: "nope"}} {
			var fe *fault.Error
			if _, err := svc.OpenInvitedShop(ctx, bad); !errors.As(err, &fe) || fe.Status != http.StatusBadRequest || fe.Field == "" {
				t.Errorf("open %+v: %v", bad, err)
			}
		}
	})
}

// TestInvitationOnce: of many owners racing to set a password through one
// link, one does; then the link is used; another shop's link expires.
func TestInvitationOnce(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		allowShopListScans(t, e)
		ctx := context.Background()
		svc := newService(e)
		s, err := svc.OpenInvitedShop(ctx, tenants.NewShop{Name: "Tea", Slug: "invited", Email: "owner@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		inv, shop, err := svc.Invitation(ctx, s.Token)
		if err != nil || shop.ID != s.Tenant.ID || inv.Email != "owner@example.com" {
			t.Fatalf("invitation: %+v %+v %v", inv, shop, err)
		}
		if _, err := svc.AcceptInvitation(ctx, s.Token, "short"); !errors.Is(err, fault.ErrInvalid) {
			t.Fatalf("short password: %v", err)
		}
		var wg sync.WaitGroup
		var won atomic.Int64
		for i := range 6 {
			wg.Go(func() {
				u, err := svc.AcceptInvitation(ctx, s.Token, fmt.Sprintf("password number %d", i))
				switch {
				case err == nil:
					won.Add(1)
					if u.TenantID != s.Tenant.ID {
						t.Errorf("accepted as %+v", u)
					}
				case !errors.Is(err, fault.ErrConflict):
					t.Errorf("accept: %v", err)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d acceptances won, want 1", won.Load())
		}
		if _, _, err := svc.Invitation(ctx, s.Token); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("used link: %v", err)
		}
		if _, err := svc.Reinvite(ctx, s.Tenant.ID); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("reinvite an active owner: %v", err)
		}
		for _, token := range []string{"", "nope", strings.Repeat("a", 40), s.Token + "a"} {
			if _, _, err := svc.Invitation(ctx, token); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("token %q: %v", token, err)
			}
		}

		// Another shop's link, eight days later: gone; a new one works.
		late, err := svc.OpenInvitedShop(ctx, tenants.NewShop{Name: "Late", Slug: "late", Email: "late@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		svc.SetClock(func() time.Time { return time.Now().Add(8 * 24 * time.Hour) })
		var fe *fault.Error
		if _, err := svc.AcceptInvitation(ctx, late.Token, "a fine password"); !errors.As(err, &fe) || fe.Status != http.StatusGone {
			t.Fatalf("expired link: %v", err)
		}
		listed, _, err := svc.ListShops(ctx, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		status := map[string]string{}
		for _, l := range listed {
			status[l.Slug] = l.Status
		}
		if status["invited"] != tenants.ShopActive || status["late"] != tenants.ShopInvitationExpired {
			t.Errorf("statuses %v", status)
		}
		again, err := svc.Reinvite(ctx, late.Tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AcceptInvitation(ctx, again.Token, "a fine password"); err != nil {
			t.Fatalf("new link: %v", err)
		}
		if _, err := svc.Authenticate(ctx, "late@example.com", "a fine password", "192.0.2.9"); err != nil {
			t.Errorf("owner sign-in after accepting: %v", err)
		}
	})
}

// TestOperatorSessions: a session's cookie names its operator until it
// ends, expires or the password changes; an operator's cookie is no
// merchant's and a merchant's no operator's.
func TestOperatorSessions(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		svc := newService(e)
		codec := tenants.NewSessionCodec([]byte("a secret of at least thirty-two bytes"))
		op, err := svc.CreateOperator(ctx, "ops@example.com")
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := svc.OperatorByKey(ctx, op.APIKey)
		value, expires, err := svc.StartOperatorSession(ctx, codec, rec)
		if err != nil || time.Until(expires) < 11*time.Hour {
			t.Fatalf("start: %v %v", expires, err)
		}
		id, got, err := svc.OperatorFromCookie(ctx, codec, value)
		if err != nil || got.ID != rec.ID || id == "" {
			t.Fatalf("cookie: %+v %v", got, err)
		}
		// Not a merchant's session, nor the reverse.
		if _, err := codec.Decode(value, time.Now()); err == nil {
			t.Errorf("an operator's cookie decodes as a merchant's")
		}
		_, u, _, err := svc.SignUp(ctx, validSignUp("session-shop"))
		if err != nil {
			t.Fatal(err)
		}
		sess, err := svc.StartSession(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.OperatorFromCookie(ctx, codec, codec.Encode(sess)); err == nil {
			t.Errorf("a merchant's cookie names an operator")
		}
		// Another key's signature, a tampered cookie: refused.
		other := tenants.NewSessionCodec([]byte("another secret of thirty-two bytes!!"))
		if _, _, err := svc.OperatorFromCookie(ctx, other, value); err == nil {
			t.Errorf("cookie verified under another secret")
		}
		if _, _, err := svc.OperatorFromCookie(ctx, codec, "x"+value); err == nil {
			t.Errorf("tampered cookie accepted")
		}
		// A second session ends when the password changes in the first.
		second, _, err := svc.StartOperatorSession(ctx, codec, rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.ChangeOperatorPassword(ctx, rec, tenants.PasswordChange{Current: op.Password, New: "a password of mine"}, "192.0.2.1", id); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.OperatorFromCookie(ctx, codec, second); err == nil {
			t.Errorf("the other session survived a password change")
		}
		if _, _, err := svc.OperatorFromCookie(ctx, codec, value); err != nil {
			t.Errorf("the session that changed the password ended: %v", err)
		}
		// Thirteen hours later it has expired.
		svc.SetClock(func() time.Time { return time.Now().Add(13 * time.Hour) })
		if _, _, err := svc.OperatorFromCookie(ctx, codec, value); err == nil {
			t.Errorf("an expired session still works")
		}
	})
}
