package main

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// The owner's account: API keys (list, create, revoke), server-side
// sessions that end on every replica, password change, and the limits on
// signing in and signing up.

type apiKeyItem struct {
	ID         string     `json:"id"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func listKeys(t *testing.T, c *client) []apiKeyItem {
	t.Helper()
	var out struct {
		Items []apiKeyItem `json:"items"`
	}
	if status := c.json(http.MethodGet, "/api/v1/api-keys", nil, &out); status != http.StatusOK {
		t.Fatalf("list keys: %d", status)
	}
	return out.Items
}

func TestAPIKeysAPI(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s, other := signUp(t, srv.URL, "keys-shop"), signUp(t, srv.URL, "other-shop")
	api := s.apiClient(t, srv.URL)

	first := listKeys(t, api)
	if len(first) != 1 || !strings.HasPrefix(s.Key, first[0].Prefix) || first[0].LastUsedAt == nil || first[0].CreatedAt.IsZero() {
		t.Fatalf("keys after sign-up: %+v; want the sign-up's key, just used", first)
	}

	var created struct {
		ID     string `json:"id"`
		APIKey string `json:"api_key"`
	}
	if status := api.json(http.MethodPost, "/api/v1/api-keys", nil, &created); status != http.StatusCreated ||
		created.ID == "" || !strings.HasPrefix(created.APIKey, "msk_") {
		t.Fatalf("create: %d %+v", status, created)
	}
	second := newClient(t, srv.URL)
	second.key = created.APIKey
	keys := listKeys(t, second)
	if len(keys) != 2 || keys[1].ID != created.ID || !strings.HasPrefix(created.APIKey, keys[1].Prefix) || keys[1].Prefix == created.APIKey {
		t.Fatalf("keys: %+v; want the new one second, by its prefix only", keys)
	}

	otherAPI := other.apiClient(t, srv.URL)
	otherKey := listKeys(t, otherAPI)[0]
	cases := []struct {
		name   string
		c      *client
		id     string
		status int
	}{
		{"another shop's key", api, otherKey.ID, http.StatusNotFound},
		{"a missing key", api, engine.NewID(), http.StatusNotFound},
		{"not an id", api, "xyz", http.StatusBadRequest},
		{"revoke the second key with the first", api, created.ID, http.StatusNoContent},
		{"again", api, created.ID, http.StatusNotFound},
		{"revoke the key of the call itself", api, first[0].ID, http.StatusNoContent},
	}
	for _, tc := range cases {
		var e apiError
		if status := tc.c.json(http.MethodDelete, "/api/v1/api-keys/"+tc.id, nil, &e); status != tc.status {
			t.Fatalf("%s: %d %+v, want %d", tc.name, status, e, tc.status)
		}
	}
	// Both keys are refused at once; the other shop's key still works.
	for name, c := range map[string]*client{"second": second, "first": api} {
		var e apiError
		if status := c.json(http.MethodGet, "/api/v1/products", nil, &e); status != http.StatusUnauthorized || e.Error.Code != "unauthorized" {
			t.Errorf("%s key after revoking: %d %+v, want 401", name, status, e)
		}
	}
	if keys := listKeys(t, otherAPI); len(keys) != 1 {
		t.Errorf("other shop's keys: %+v", keys)
	}
}

// sessionCookie is the console session cookie c's jar holds.
func sessionCookie(t *testing.T, c *client) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(c.base)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == tenants.SessionCookie {
			return ck
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// holding is a client on base holding only the session cookie ck: a copy
// of a cookie kept after its browser signed out, or stolen.
func holding(t *testing.T, base string, ck *http.Cookie) *client {
	c := newClient(t, base)
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/"}})
	c.http.Jar = jar
	return c
}

// signedIn reports whether the session cookie ck opens the console on base.
func signedIn(t *testing.T, base string, ck *http.Cookie) bool {
	t.Helper()
	status, _ := holding(t, base, ck).do(http.MethodGet, "/admin", nil, "")
	if status != http.StatusOK && status != http.StatusSeeOther {
		t.Fatalf("GET /admin: %d", status)
	}
	return status == http.StatusOK
}

// Sessions end on every replica the moment they are ended: signing out,
// "sign out everywhere" and a password change.
func TestSessionsEnd(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		_, one := startApp(t, e)
		_, two := startApp(t, e) // a second replica on the same databases
		s := signUp(t, one.URL, "session-shop")
		replicas := []string{one.URL, two.URL}
		want := func(step string, ck *http.Cookie, in bool) {
			t.Helper()
			for i, base := range replicas {
				if got := signedIn(t, base, ck); got != in {
					t.Errorf("%s: replica %d signed in = %t, want %t", step, i+1, got, in)
				}
			}
		}

		// Signing out ends the session itself, not only the browser's cookie.
		a := s.consoleClient(t, one.URL)
		b := s.consoleClient(t, two.URL)
		kept := sessionCookie(t, a)
		want("signed in", kept, true)
		if status, _ := a.form("/logout", nil); status != http.StatusSeeOther {
			t.Fatalf("sign out: %d", status)
		}
		want("after signing out", kept, false)
		want("another session", sessionCookie(t, b), true)

		// A password change keeps its own session and ends every other one.
		c := s.consoleClient(t, two.URL)
		status, body := b.form("/admin/account/password", url.Values{"current": {s.Password}, "new": {"a new secret 1"}})
		if status != http.StatusSeeOther || b.location != "/admin/account?done=password" {
			t.Fatalf("change password: %d %.300s", status, body)
		}
		want("the session that changed it", sessionCookie(t, b), true)
		want("another session after the change", sessionCookie(t, c), false)
		s.Password = "a new secret 1"

		// Sign out everywhere ends every session, its own too.
		d, f := s.consoleClient(t, one.URL), s.consoleClient(t, two.URL)
		dck, fck := sessionCookie(t, d), sessionCookie(t, f)
		d.fetchCSRF("/admin/account")
		if status, _ := d.form("/admin/account/sign-out-everywhere", nil); status != http.StatusSeeOther || d.location != "/login" {
			t.Fatalf("sign out everywhere: %d %s", status, d.location)
		}
		for _, ck := range []*http.Cookie{dck, fck, sessionCookie(t, b)} {
			want("after sign out everywhere", ck, false)
		}

		// The API's password change ends every session of the owner.
		g := s.consoleClient(t, one.URL)
		api := s.apiClient(t, two.URL)
		if status := api.json(http.MethodPost, "/api/v1/account/password", map[string]string{"current": s.Password, "new": "a new secret 2"}, nil); status != http.StatusNoContent {
			t.Fatalf("API password change: %d", status)
		}
		want("after the API's password change", sessionCookie(t, g), false)
	})
}

func TestChangePassword(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "password-shop")
	api := s.apiClient(t, srv.URL)
	cases := []struct {
		name   string
		body   string
		status int
		field  string
	}{
		{"wrong current", `{"current":"wrong","new":"brand new pw"}`, 400, "current"},
		{"no current", `{"new":"brand new pw"}`, 400, "current"},
		{"short new", `{"current":"` + s.Password + `","new":"short"}`, 400, "new"},
		{"same as now", `{"current":"` + s.Password + `","new":"` + s.Password + `"}`, 400, "new"},
		{"unknown field", `{"current":"` + s.Password + `","new":"brand new pw","confirm":"x"}`, 400, "confirm"},
		{"not JSON", `current=x`, 400, ""},
		{"right", `{"current":"` + s.Password + `","new":"brand new pw"}`, 204, ""},
	}
	for _, tc := range cases {
		var e apiError
		status := api.json(http.MethodPost, "/api/v1/account/password", tc.body, &e)
		if status != tc.status || (status >= 400 && (e.Error.Message == "" || e.Error.Field != tc.field)) {
			t.Fatalf("%s: %d %+v, want %d on field %q", tc.name, status, e, tc.status, tc.field)
		}
	}
	old := newClient(t, srv.URL)
	old.fetchCSRF("/login")
	if status, _ := old.form("/login", url.Values{"email": {s.Email}, "password": {s.Password}}); status != http.StatusUnauthorized {
		t.Errorf("old password: %d, want 401", status)
	}
	s.Password = "brand new pw"
	c := s.consoleClient(t, srv.URL) // fails the test unless the new password works

	// The console form: a wrong current password shows the page with the error.
	c.fetchCSRF("/admin/account")
	status, body := c.form("/admin/account/password", url.Values{"current": {"wrong"}, "new": {"another new pw"}})
	doc := page(t, body)
	if status != http.StatusBadRequest || !strings.Contains(doc.Find(".error").Text(), "current password") {
		t.Errorf("wrong current in the console: %d %q", status, doc.Find(".error").Text())
	}
}

func TestAccountPage(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "page-shop")
	c := s.consoleClient(t, srv.URL)
	status, body := c.do(http.MethodGet, "/admin/account", nil, "")
	doc := page(t, body)
	if status != http.StatusOK || doc.Find("tr[data-key]").Length() != 1 || doc.Find(`.topbar a.on[href="/admin/account"]`).Length() != 1 {
		t.Fatalf("account page: %d, %d keys", status, doc.Find("tr[data-key]").Length())
	}
	if !strings.Contains(doc.Find("#password").Text(), s.Email) || doc.Find(`form[action="/admin/account/sign-out-everywhere"]`).Length() != 1 {
		t.Error("the page lacks the email or the sign out everywhere button")
	}
	c.fetchCSRF("/admin/account")

	// Create: the new key is shown once and works.
	status, body = c.form("/admin/account/api-keys", nil)
	doc = page(t, body)
	key := strings.TrimSpace(doc.Find("#newkey").Text())
	if status != http.StatusCreated || !strings.HasPrefix(key, "msk_") || doc.Find("tr[data-key]").Length() != 2 {
		t.Fatalf("create key: %d %q", status, key)
	}
	api := newClient(t, srv.URL)
	api.key = key
	if status, _ := api.do(http.MethodGet, "/api/v1/products", nil, ""); status != http.StatusOK {
		t.Fatalf("new key: %d", status)
	}
	if _, body := c.do(http.MethodGet, "/admin/account", nil, ""); strings.Contains(string(body), key) {
		t.Error("the key is shown again")
	}

	// Revoke it from the page.
	id := listKeys(t, api)[1].ID
	if status, _ := c.form("/admin/account/api-keys/"+id+"/revoke", nil); status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", status)
	}
	if status, _ := api.do(http.MethodGet, "/api/v1/products", nil, ""); status != http.StatusUnauthorized {
		t.Errorf("revoked key: %d, want 401", status)
	}
	_, body = c.do(http.MethodGet, "/admin/account?done=revoked", nil, "")
	if doc := page(t, body); doc.Find("tr[data-key]").Length() != 1 || doc.Find(".notice").Length() != 1 {
		t.Errorf("after revoking: %d keys", doc.Find("tr[data-key]").Length())
	}
	// Another shop's key cannot be revoked from this console.
	other := signUp(t, srv.URL, "page-other")
	otherID := listKeys(t, other.apiClient(t, srv.URL))[0].ID
	if status, _ := c.form("/admin/account/api-keys/"+otherID+"/revoke", nil); status != http.StatusNotFound {
		t.Errorf("another shop's key: %d, want 404", status)
	}
}

// from is a client whose requests come from address ip (the app trusts
// X-Forwarded-For from the local proxy, as behind --trust-proxy).
type from struct {
	*client
	ip string
}

func (f from) login(email, password string) int {
	f.t.Helper()
	f.fetchCSRF("/login")
	body := url.Values{"email": {email}, "password": {password}, "_csrf": {f.csrf}}
	req, _ := http.NewRequest(http.MethodPost, f.base+"/login", strings.NewReader(body.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", f.ip)
	resp, err := f.http.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Ten wrong passwords from one address do not lock the owner out from
// another; the attacker's address is slowed down.
func TestLoginLimitPerAddress(t *testing.T) {
	cfg := testConfig()
	cfg.TrustProxy = true
	_, srv := startAppWith(t, sqliteEngine(t), cfg)
	s := signUp(t, srv.URL, "login-shop")
	attacker := from{newClient(t, srv.URL), "203.0.113.66"}
	var refused int
	for range 10 {
		switch status := attacker.login(s.Email, "guess"); status {
		case http.StatusTooManyRequests:
			refused++
		case http.StatusUnauthorized:
		default:
			t.Fatalf("wrong password: %d", status)
		}
	}
	if refused == 0 {
		t.Error("ten wrong passwords in a row were never slowed down")
	}
	if status := attacker.login(s.Email, s.Password); status != http.StatusTooManyRequests {
		t.Errorf("the attacker's address with the right password: %d, want 429", status)
	}
	owner := from{newClient(t, srv.URL), "192.0.2.10"}
	if status := owner.login(s.Email, s.Password); status != http.StatusSeeOther {
		t.Fatalf("the owner from another address: %d, want 303 (signed in)", status)
	}
}

func TestSignUpLimitPerAddress(t *testing.T) {
	cfg := testConfig()
	cfg.TrustProxy = true
	_, srv := startAppWith(t, sqliteEngine(t), cfg)
	signUpFrom := func(slug, ip string) (int, apiError) {
		var e apiError
		c := newClient(t, srv.URL)
		status := c.jsonWithHeader(http.MethodPost, "/api/v1/tenants", map[string]string{
			"name": "Shop", "slug": slug, "email": slug + "@example.com", "password": "long enough"}, &e, "X-Forwarded-For", ip)
		return status, e
	}
	for i := range 5 {
		if status, e := signUpFrom("limit-"+string(rune('a'+i)), "203.0.113.7"); status != http.StatusCreated {
			t.Fatalf("sign-up %d: %d %+v", i+1, status, e)
		}
	}
	status, e := signUpFrom("limit-f", "203.0.113.7")
	if status != http.StatusTooManyRequests || !strings.Contains(e.Error.Message, "too many shops") {
		t.Fatalf("sixth sign-up: %d %+v, want 429 saying why", status, e)
	}
	if status, e := signUpFrom("limit-g", "198.51.100.7"); status != http.StatusCreated {
		t.Fatalf("another address: %d %+v", status, e)
	}
}
