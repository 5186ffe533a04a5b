package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

func newService(e *engine.Engine) *tenants.Service {
	return tenants.NewService(e, tenants.NewStore(e), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func openSQLite(t *testing.T, schemas ...engine.Schema) *engine.Engine {
	t.Helper()
	e, err := tenants.OpenSQLite(t.TempDir(), schemas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func validSignUp(slug string) tenants.SignUp {
	return tenants.SignUp{Name: "Tea House", Slug: slug, Email: slug + "@example.com", Password: "correct horse"}
}

func TestSignUpValidation(t *testing.T) {
	e := openSQLite(t)
	svc := newService(e)
	ctx := context.Background()
	cases := []struct {
		name  string
		edit  func(*tenants.SignUp)
		field string
	}{
		{"no name", func(s *tenants.SignUp) { s.Name = "  " }, "name"},
		{"long name", func(s *tenants.SignUp) { s.Name = strings.Repeat("茶", 65) }, "name"},
		{"no slug", func(s *tenants.SignUp) { s.Slug = "" }, "slug"},
		{"short slug", func(s *tenants.SignUp) { s.Slug = "ab" }, "slug"},
		{"long slug", func(s *tenants.SignUp) { s.Slug = strings.Repeat("a", 33) }, "slug"},
		{"reserved slug admin", func(s *tenants.SignUp) { s.Slug = "admin" }, "slug"},
		{"reserved slug api", func(s *tenants.SignUp) { s.Slug = "api" }, "slug"},
		{"reserved slug, upper-case", func(s *tenants.SignUp) { s.Slug = "Static" }, "slug"},
		{"underscore", func(s *tenants.SignUp) { s.Slug = "tea_house" }, "slug"},
		{"leading hyphen", func(s *tenants.SignUp) { s.Slug = "-tea" }, "slug"},
		{"double hyphen", func(s *tenants.SignUp) { s.Slug = "tea--house" }, "slug"},
		{"trailing hyphen", func(s *tenants.SignUp) { s.Slug = "tea-" }, "slug"},
		{"non-ASCII slug", func(s *tenants.SignUp) { s.Slug = "茶馆" }, "slug"},
		{"no email", func(s *tenants.SignUp) { s.Email = "" }, "email"},
		{"not an email", func(s *tenants.SignUp) { s.Email = "owner.example.com" }, "email"},
		{"email with a display name", func(s *tenants.SignUp) { s.Email = "Owner <owner@example.com>" }, "email"},
		{"long email", func(s *tenants.SignUp) { s.Email = strings.Repeat("a", 250) + "@example.com" }, "email"},
		{"short password", func(s *tenants.SignUp) { s.Password = "1234567" }, "password"},
		{"password over bcrypt's 72 bytes", func(s *tenants.SignUp) { s.Password = strings.Repeat("密", 25) }, "password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := validSignUp("tea-house")
			c.edit(&in)
			_, _, _, err := svc.SignUp(ctx, in)
			wantStatus(t, err, fault.ErrInvalid, http.StatusBadRequest)
			var fe *fault.Error
			errors.As(err, &fe)
			if fe.Field != c.field {
				t.Fatalf("field = %q (%s), want %q", fe.Field, fe.Message, c.field)
			}
		})
	}
	if n, err := tenants.NewStore(e).CountTenants(ctx); err != nil || n != 0 {
		t.Fatalf("invalid sign-ups created %d tenants (%v)", n, err)
	}
}

func TestValidateSlug(t *testing.T) {
	for _, ok := range []string{"tea", "tea-house", "shop42", "4u", strings.Repeat("a", 32)} {
		if len(ok) < 3 {
			continue
		}
		if err := tenants.ValidateSlug(ok); err != nil {
			t.Errorf("ValidateSlug(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ab", "TeaHouse", "TEA", "tea house", "tea.house", "admin", "wx", "s", strings.Repeat("a", 33)} {
		err := tenants.ValidateSlug(bad)
		if !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("ValidateSlug(%q) = %v, want invalid", bad, err)
		}
	}
}

// SignUp lower-cases the slug and email before validating them, so an
// upper-case slug is accepted in its lower-case form (ValidateSlug alone
// refuses it).
func TestSignUpNormalizes(t *testing.T) {
	svc := newService(openSQLite(t))
	tn, u, _, err := svc.SignUp(context.Background(), tenants.SignUp{
		Name: "  Tea House ", Slug: " Tea-House ", Email: " Owner@Example.COM ", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Slug != "tea-house" || tn.Name != "Tea House" || u.Email != "owner@example.com" {
		t.Fatalf("signed up %+v, %+v", tn, u)
	}
}

func TestSignUp(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		allowTenantScans(t, e)
		ctx := context.Background()
		svc := newService(e)
		tn, u, key, err := svc.SignUp(ctx, validSignUp("tea-house"))
		if err != nil {
			t.Fatal(err)
		}
		if !engine.ValidID(tn.ID) || tn.Slug != "tea-house" || tn.Name != "Tea House" || tn.TimeZone != tenants.DefaultTimeZone ||
			u.TenantID != tn.ID || u.Email != "tea-house@example.com" || !tenants.CheckPassword(u.PasswordHash, "correct horse") ||
			!strings.HasPrefix(key, "msk_") {
			t.Fatalf("SignUp = %+v, %+v, %q", tn, u, key)
		}
		if got, err := svc.TenantBySlug(ctx, "tea-house"); err != nil || got.ID != tn.ID {
			t.Fatalf("TenantBySlug = %+v, %v", got, err)
		}
		if got, err := svc.TenantByAPIKey(ctx, key); err != nil || got.ID != tn.ID {
			t.Fatalf("TenantByAPIKey = %+v, %v", got, err)
		}
		if got, err := svc.Authenticate(ctx, u.Email, "correct horse", "192.0.2.1"); err != nil || got.ID != u.ID {
			t.Fatalf("Authenticate = %+v, %v", got, err)
		}
		// The tenant's database exists.
		if e.Kind() == engine.SQLite {
			if _, err := e.SQL(tn.ID); err != nil {
				t.Fatalf("tenant database: %v", err)
			}
		}

		// A taken slug is a conflict, and the email of the refused sign-up
		// stays free.
		in := validSignUp("tea-house")
		in.Email = "second@example.com"
		_, _, _, err = svc.SignUp(ctx, in)
		wantStatus(t, err, fault.ErrConflict, http.StatusConflict)
		if _, err := svc.Store().UserByEmail(ctx, "second@example.com"); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("refused sign-up left a user: %v", err)
		}

		// A taken email is a conflict too.
		in = validSignUp("coffee-house")
		in.Email = "Tea-House@example.com"
		_, _, _, err = svc.SignUp(ctx, in)
		wantStatus(t, err, fault.ErrConflict, http.StatusConflict)
		if _, err := svc.Store().TenantBySlug(ctx, "coffee-house"); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("refused sign-up left a tenant: %v", err)
		}

		in = validSignUp("coffee-house")
		in.Email = "second@example.com"
		if _, _, _, err := svc.SignUp(ctx, in); err != nil {
			t.Fatal(err)
		}
		if n, err := svc.Store().CountTenants(ctx); err != nil || n != 2 {
			t.Fatalf("CountTenants = %d, %v; want 2", n, err)
		}
		if n, err := svc.EnsureSchemas(ctx); err != nil || n != 2 {
			t.Fatalf("EnsureSchemas = %d, %v; want 2", n, err)
		}
	})
}

// Twenty merchants race for one slug: the slug's unique index lets exactly
// one win, the others get a conflict, and no half-made shop is left. The
// outcome rests on a unique insert, which holds on every engine.
func TestSignUpSameSlugConcurrently(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		allowTenantScans(t, e)
		ctx := context.Background()
		svc := newService(e)
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				in := validSignUp("tea-house")
				in.Email = fmt.Sprintf("merchant%d@example.com", i)
				<-start
				_, _, _, errs[i] = svc.SignUp(ctx, in)
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("merchants %d and %d both got the slug", winner, i)
				}
				winner = i
			case !errors.Is(err, fault.ErrConflict):
				t.Fatalf("merchant %d: %v, want a conflict", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("nobody got the slug")
		}
		tn, err := svc.Store().TenantBySlug(ctx, "tea-house")
		if err != nil {
			t.Fatal(err)
		}
		u, err := svc.Store().UserByEmail(ctx, fmt.Sprintf("merchant%d@example.com", winner))
		if err != nil || u.TenantID != tn.ID {
			t.Fatalf("winner's user = %+v, %v; want tenant %s", u, err, tn.ID)
		}
		if c, err := svc.Store().CountTenants(ctx); err != nil || c != 1 {
			t.Fatalf("CountTenants = %d, %v; want 1", c, err)
		}
		for i := range n {
			if i == winner {
				continue
			}
			if _, err := svc.Store().UserByEmail(ctx, fmt.Sprintf("merchant%d@example.com", i)); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("loser %d has a user: %v", i, err)
			}
		}
	})
}

// clock is a settable time for a service (SetClock).
type clock struct {
	mu sync.Mutex
	at time.Time
}

func newClock(svcs ...*tenants.Service) *clock {
	c := &clock{at: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	for _, s := range svcs {
		s.SetClock(c.now)
	}
	return c
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *clock) set(at time.Time) {
	c.mu.Lock()
	c.at = at
	c.mu.Unlock()
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.at = c.at.Add(d)
	c.mu.Unlock()
}

func TestAuthenticate(t *testing.T) {
	svc := newService(openSQLite(t))
	ctx := context.Background()
	_, u, _, err := svc.SignUp(ctx, validSignUp("tea-house"))
	if err != nil {
		t.Fatal(err)
	}
	const ip = "192.0.2.1"

	if got, err := svc.Authenticate(ctx, u.Email, "correct horse", ip); err != nil || got.ID != u.ID {
		t.Fatalf("right password: %+v, %v", got, err)
	}
	_, err = svc.Authenticate(ctx, u.Email, "wrong horse", ip)
	wantStatus(t, err, fault.Unauthorized(""), http.StatusUnauthorized)
	_, err = svc.Authenticate(ctx, "nobody@example.com", "correct horse", ip)
	wantStatus(t, err, fault.Unauthorized(""), http.StatusUnauthorized)

	// A success clears the failures: 4 + 4 never slows the owner down.
	if _, err := svc.Authenticate(ctx, u.Email, "correct horse", ip); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		for range 4 {
			if _, err := svc.Authenticate(ctx, u.Email, "wrong horse", ip); !errors.Is(err, fault.Unauthorized("")) {
				t.Fatalf("failure: %v, want 401", err)
			}
		}
		if _, err := svc.Authenticate(ctx, u.Email, "correct horse", ip); err != nil {
			t.Fatalf("after 4 failures: %v", err)
		}
	}
}

// Ten wrong passwords from one address slow down that address for that
// account, with a wait that doubles, and never lock the owner out from
// another address.
func TestAuthenticateBackoffPerAddress(t *testing.T) {
	svc := newService(openSQLite(t))
	ctx := context.Background()
	_, u, _, err := svc.SignUp(ctx, validSignUp("tea-house"))
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock(svc)
	const attacker, owner = "203.0.113.66", "192.0.2.1"
	var refused int
	for range 10 {
		_, err := svc.Authenticate(ctx, u.Email, "guess", attacker)
		switch {
		case errors.Is(err, fault.TooManyRequests("")):
			refused++
		case !errors.Is(err, fault.Unauthorized("")):
			t.Fatalf("attacker's try: %v, want 401 or 429", err)
		}
	}
	if refused != 5 {
		t.Errorf("%d of 10 immediate tries refused, want 5 (5 free failures, then waits)", refused)
	}
	if got, err := svc.Authenticate(ctx, u.Email, "correct horse", owner); err != nil || got.ID != u.ID {
		t.Fatalf("the owner from another address: %+v, %v", got, err)
	}
	// The attacker's address waits, even with the right password.
	_, err = svc.Authenticate(ctx, u.Email, "correct horse", attacker)
	wantStatus(t, err, fault.TooManyRequests(""), http.StatusTooManyRequests)

	// Each failure after the free ones doubles the wait: 1 s, 2 s, 4 s ...
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		clk.add(wait - time.Millisecond)
		if _, err := svc.Authenticate(ctx, u.Email, "guess", attacker); !errors.Is(err, fault.TooManyRequests("")) {
			t.Fatalf("try %d just before its wait of %s: %v, want 429", i+1, wait, err)
		}
		clk.add(time.Millisecond)
		if _, err := svc.Authenticate(ctx, u.Email, "guess", attacker); !errors.Is(err, fault.Unauthorized("")) {
			t.Fatalf("try %d after its wait of %s: %v, want 401", i+1, wait, err)
		}
	}
	// After its wait the right password passes, and clears the count.
	clk.add(15 * time.Minute)
	if _, err := svc.Authenticate(ctx, u.Email, "correct horse", attacker); err != nil {
		t.Fatalf("after the longest wait: %v", err)
	}
	if _, err := svc.Authenticate(ctx, u.Email, "guess", attacker); !errors.Is(err, fault.Unauthorized("")) {
		t.Fatalf("after a success the count starts over: %v", err)
	}
}

// Fifty failures from one address lock that address for every account.
func TestAuthenticateLocksAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("50 bcrypt comparisons")
	}
	svc := newService(openSQLite(t))
	ctx := context.Background()
	_, u, _, err := svc.SignUp(ctx, validSignUp("tea-house"))
	if err != nil {
		t.Fatal(err)
	}
	const ip = "203.0.113.9"
	for i := range 50 {
		_, err := svc.Authenticate(ctx, fmt.Sprintf("guess%d@example.com", i), "password", ip)
		if !errors.Is(err, fault.Unauthorized("")) {
			t.Fatalf("failure %d: %v, want 401", i+1, err)
		}
	}
	_, err = svc.Authenticate(ctx, u.Email, "correct horse", ip)
	wantStatus(t, err, fault.TooManyRequests(""), http.StatusTooManyRequests)
	if _, err := svc.Authenticate(ctx, u.Email, "correct horse", "192.0.2.1"); err != nil {
		t.Fatalf("from another address: %v", err)
	}
}

func TestSessionCodec(t *testing.T) {
	codec := tenants.NewSessionCodec([]byte("0123456789abcdef0123456789abcdef"))
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s := tenants.Session{UserID: engine.NewID(), TenantID: engine.NewID(), Expires: at.Add(time.Hour).Unix()}
	v := codec.Encode(s)

	got, err := codec.Decode(v, at)
	if err != nil || got != s {
		t.Fatalf("Decode = %+v, %v; want %+v", got, err, s)
	}
	if _, err := codec.Decode(v, at.Add(time.Hour-time.Second)); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	if _, err := codec.Decode(v, at.Add(time.Hour)); err == nil {
		t.Fatal("accepted at its expiry")
	}
	if _, err := codec.Decode(v, at.Add(48*time.Hour)); err == nil {
		t.Fatal("accepted an expired session")
	}

	payload, sig, _ := strings.Cut(v, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	// A session for someone else, signed with the wrong key.
	forged := tenants.NewSessionCodec([]byte("another secret")).Encode(tenants.Session{UserID: "x", TenantID: s.TenantID, Expires: s.Expires})
	for name, bad := range map[string]string{
		"payload changed":    flip(payload, 3) + "." + sig,
		"signature changed":  payload + "." + flip(sig, 3),
		"signature dropped":  payload,
		"empty signature":    payload + ".",
		"signature of other": forged[:strings.Index(forged, ".")] + "." + sig,
		"other key":          forged,
		"empty":              "",
		"garbage":            "not a cookie",
		"extra part":         v + ".x",
	} {
		if got, err := codec.Decode(bad, at); err == nil {
			t.Errorf("%s: accepted %q as %+v", name, bad, got)
		}
	}
}
