package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/i18n"
)

// The platform operator: `microshop operator create`, the ops console
// (/ops), the operator API (/api/ops/v1), shops opened by invitation.

// newOperator creates an operator on the app's platform and returns its
// one-time password and API key.
func newOperator(t testing.TB, a *app, email string) tenants.NewOperator {
	t.Helper()
	op, err := a.tenants.CreateOperator(context.Background(), email)
	if err != nil {
		t.Fatalf("create operator: %v", err)
	}
	return op
}

// opsClient signs the operator in to the ops console with its one-time
// password, sets password as its own, and holds the session and CSRF
// token.
func opsClient(t testing.TB, base string, op tenants.NewOperator, password string) *client {
	t.Helper()
	c := newClient(t, base)
	c.fetchCSRF("/ops/login")
	st, b := c.form("/ops/login", url.Values{"email": {op.Operator.Email}, "password": {op.Password}})
	if st != http.StatusSeeOther || c.location != "/ops/password" {
		t.Fatalf("operator sign-in: %d %q %.300s", st, c.location, b)
	}
	// Until the one-time password is changed, every page leads there.
	if st, _ := c.do(http.MethodGet, "/ops", nil, ""); st != http.StatusSeeOther || c.location != "/ops/password" {
		t.Fatalf("GET /ops with a one-time password: %d %q", st, c.location)
	}
	c.fetchCSRF("/ops/password")
	st, b = c.form("/ops/password", url.Values{"current": {op.Password}, "new": {password}})
	if st != http.StatusSeeOther || c.location != "/ops?done=password" {
		t.Fatalf("change the one-time password: %d %q %.300s", st, c.location, b)
	}
	c.fetchCSRF("/ops")
	return c
}

// opsRoutes are the routes Echo has registered under /ops and
// /api/ops/v1 (every domain's), but for the sign-in page, which is for
// everybody.
func opsRoutes(a *app) []*echoRoute {
	var out []*echoRoute
	for _, r := range a.echo.Routes() {
		if !strings.HasPrefix(r.Path, "/ops") && !strings.HasPrefix(r.Path, "/api/ops/") {
			continue
		}
		if r.Method == "echo_route_not_found" || r.Path == "/ops/login" {
			continue
		}
		out = append(out, &echoRoute{Method: r.Method, Path: r.Path})
	}
	return out
}

type echoRoute struct{ Method, Path string }

// fill gives a route's parameters well-formed values.
func (r *echoRoute) fill() string {
	parts := strings.Split(r.Path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = engine.NewID()
		} else if p == "*" {
			parts[i] = "x"
		}
	}
	return strings.Join(parts, "/")
}

// TestOpsRefuseMerchants walks every route registered under /ops and
// /api/ops/v1, whoever mounted it: a merchant's API key, a merchant's
// console session (with its CSRF token) and no credentials at all get a
// 401 or 403 on each; an operator's key is refused on /api/v1.
func TestOpsRefuseMerchants(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "merchant-ops")
	api := s.apiClient(t, srv.URL)
	console := s.consoleClient(t, srv.URL)
	anon := newClient(t, srv.URL)
	routes := opsRoutes(a)
	if len(routes) < 6 {
		t.Fatalf("%d ops routes: is the route list right?", len(routes))
	}
	for _, r := range routes {
		path := r.fill()
		for name, c := range map[string]*client{"merchant key": api, "merchant session": console, "nobody": anon} {
			var st int
			var body []byte
			switch {
			case r.Method == http.MethodGet:
				st, body = c.do(r.Method, path, nil, "")
			case strings.HasPrefix(path, "/api/"):
				st, body = c.do(r.Method, path, strings.NewReader("{}"), "application/json")
			default:
				st, body = c.do(r.Method, path, strings.NewReader(url.Values{"_csrf": {console.csrf}}.Encode()), "application/x-www-form-urlencoded")
			}
			if st != http.StatusUnauthorized && st != http.StatusForbidden {
				t.Errorf("%s %s with a %s: %d %.200s", r.Method, r.Path, name, st, body)
			}
		}
	}
	t.Logf("%d ops routes refused merchants", len(routes))

	// An operator's key works on /api/ops/v1 and nowhere in /api/v1.
	op := newOperator(t, a, "ops@example.com")
	opAPI := newClient(t, srv.URL)
	opAPI.key = op.APIKey
	if st := opAPI.json(http.MethodGet, "/api/ops/v1/tenants", nil, nil); st != http.StatusOK {
		t.Errorf("operator key on /api/ops/v1/tenants: %d", st)
	}
	if st := opAPI.json(http.MethodGet, "/api/v1/products", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("operator key on /api/v1/products: %d", st)
	}
}

// TestOpsConsole: the operator signs in with the one-time password, sets
// one, sees the shops; the operator's session reaches no merchant page
// (nor a merchant's the ops console, even under the other cookie's name);
// signing out ends it. Every ops page and the invitation page speak both
// languages.
func TestOpsConsole(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "tea-house")
	op := newOperator(t, a, "ops@example.com")
	c := opsClient(t, srv.URL, op, "the operator's own")

	st, body := c.do(http.MethodGet, "/ops", nil, "")
	if st != http.StatusOK || !bytes.Contains(body, []byte(s.Name)) || !bytes.Contains(body, []byte(`action="/ops/logout"`)) {
		t.Fatalf("GET /ops: %d %.500s", st, body)
	}
	doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if got := doc.Find(`#shops tr[data-shop] td[data-status]`).First().AttrOr("data-status", ""); got != tenants.ShopActive {
		t.Errorf("status of a signed-up shop: %q", got)
	}
	if doc.Find(`nav.ops-nav a[href="/ops"][aria-current]`).Length() != 1 {
		t.Errorf("the ops navigation does not mark the shops page")
	}

	// The operator's cookie is no merchant's: not sent to /admin (its path
	// is /ops), and refused there under the merchant cookie's name.
	var opsCookie string
	u, _ := url.Parse(srv.URL + "/ops")
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == tenants.OperatorCookie {
			opsCookie = ck.Value
		}
	}
	if opsCookie == "" {
		t.Fatal("no ops cookie")
	}
	if st, _ := c.do(http.MethodGet, "/admin/products", nil, ""); st != http.StatusSeeOther || !strings.HasPrefix(c.location, "/login") {
		t.Errorf("operator on /admin: %d %q", st, c.location)
	}
	forged := newClient(t, srv.URL)
	root, _ := url.Parse(srv.URL + "/")
	forged.http.Jar.SetCookies(root, []*http.Cookie{{Name: tenants.SessionCookie, Value: opsCookie, Path: "/"}})
	if st, _ := forged.do(http.MethodGet, "/admin/products", nil, ""); st != http.StatusSeeOther || !strings.HasPrefix(forged.location, "/login") {
		t.Errorf("operator cookie as ms_session on /admin: %d %q", st, forged.location)
	}
	console := s.consoleClient(t, srv.URL)
	var merchantCookie string
	for _, ck := range console.http.Jar.Cookies(root) {
		if ck.Name == tenants.SessionCookie {
			merchantCookie = ck.Value
		}
	}
	forged = newClient(t, srv.URL)
	forged.http.Jar.SetCookies(u, []*http.Cookie{{Name: tenants.OperatorCookie, Value: merchantCookie, Path: "/ops"}})
	if st, _ := forged.do(http.MethodGet, "/ops", nil, ""); st != http.StatusUnauthorized {
		t.Errorf("merchant cookie as ms_ops on /ops: %d", st)
	}

	// Both languages: the console's pages, its sign-in and an invitation.
	opAPI := newClient(t, srv.URL)
	opAPI.key = op.APIKey
	var created struct {
		InvitationURL string `json:"invitation_url"`
	}
	if st := opAPI.json(http.MethodPost, "/api/ops/v1/tenants", map[string]string{"name": "西湖茶社", "slug": "xihu", "email": "xihu@example.com"}, &created); st != http.StatusCreated {
		t.Fatalf("open a shop: %d", st)
	}
	invite := strings.TrimPrefix(created.InvitationURL, srv.URL)
	for _, lang := range i18n.Langs {
		t.Run(lang, func(t *testing.T) {
			c.http.Jar.SetCookies(root, []*http.Cookie{{Name: i18n.Cookie, Value: lang, Path: "/"}})
			visitor := newClientIn(t, srv.URL, lang)
			paths := map[string]*client{"/ops": c, "/ops/password": c, "/ops/login": visitor, invite: visitor}
			data := []string{s.Name, s.Slug, "西湖茶社", "xihu", "/s/xihu/", "ops@example.com", "xihu@example.com"}
			if n := checkPages(t, paths, lang, data); n != len(paths) {
				t.Errorf("checked %d pages of %d", n, len(paths))
			}
		})
	}

	// Signing out ends the session on the server.
	c.fetchCSRF("/ops")
	if st, _ := c.form("/ops/logout", nil); st != http.StatusSeeOther || c.location != "/ops/login" {
		t.Fatalf("sign out: %d %q", st, c.location)
	}
	again := newClient(t, srv.URL)
	again.http.Jar.SetCookies(u, []*http.Cookie{{Name: tenants.OperatorCookie, Value: opsCookie, Path: "/ops"}})
	if st, _ := again.do(http.MethodGet, "/ops", nil, ""); st != http.StatusUnauthorized {
		t.Errorf("a signed-out session's cookie: %d", st)
	}
	// A wrong password is refused on the page.
	c.fetchCSRF("/ops/login")
	if st, _ := c.form("/ops/login", url.Values{"email": {"ops@example.com"}, "password": {"wrong password"}}); st != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", st)
	}
}

var csrfOf = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// TestOpsOpenShopsInBulk opens shops concurrently through POST
// /api/ops/v1/tenants (none lost, a taken slug a 409), follows one
// invitation to the console, and compares the rate of opening shops this
// way with signing up.
func TestOpsOpenShopsInBulk(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	op := newOperator(t, a, "ops@example.com")
	api := newClient(t, srv.URL)
	api.key = op.APIKey

	n := 200
	if testing.Short() {
		n = 30
	}
	type answer struct {
		Tenant struct {
			ID, Slug, Name, Status string
		} `json:"tenant"`
		InvitationURL string    `json:"invitation_url"`
		ExpiresAt     time.Time `json:"expires_at"`
	}
	answers := make([]answer, n)
	statuses := make([]int, n)
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8) // 8 requests in flight
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			statuses[i] = api.json(http.MethodPost, "/api/ops/v1/tenants", map[string]string{
				"name": fmt.Sprintf("Bulk shop %d", i), "slug": fmt.Sprintf("bulk-%d", i), "email": fmt.Sprintf("owner%d@example.com", i)}, &answers[i])
		})
	}
	wg.Wait()
	took := time.Since(start)
	urls := map[string]bool{}
	for i := range n {
		if statuses[i] != http.StatusCreated || answers[i].Tenant.Slug != fmt.Sprintf("bulk-%d", i) || answers[i].Tenant.Status != tenants.ShopInvited ||
			!strings.HasPrefix(answers[i].InvitationURL, srv.URL+"/invite/") || time.Until(answers[i].ExpiresAt) < 6*24*time.Hour {
			t.Fatalf("shop %d: %d %+v", i, statuses[i], answers[i])
		}
		urls[answers[i].InvitationURL] = true
	}
	if len(urls) != n {
		t.Errorf("%d distinct invitation links for %d shops", len(urls), n)
	}
	// Every one is listed, paged.
	seen := map[string]bool{}
	for offset := 0; ; offset += 100 {
		var page struct {
			Items []struct{ Slug, Status string } `json:"items"`
			Total int                             `json:"total"`
		}
		if st := api.json(http.MethodGet, fmt.Sprintf("/api/ops/v1/tenants?limit=100&offset=%d", offset), nil, &page); st != http.StatusOK || page.Total != n {
			t.Fatalf("list at %d: %d total %d", offset, st, page.Total)
		}
		for _, it := range page.Items {
			seen[it.Slug] = true
		}
		if len(page.Items) < 100 {
			break
		}
	}
	if len(seen) != n {
		t.Errorf("listed %d shops of %d", len(seen), n)
	}

	// A taken slug or email is a 409, bad input a 400, a body not JSON a 415.
	var e apiError
	if st := api.json(http.MethodPost, "/api/ops/v1/tenants", map[string]string{"name": "X", "slug": "bulk-3", "email": "new@example.com"}, &e); st != http.StatusConflict {
		t.Errorf("taken slug: %d %+v", st, e)
	}
	if st := api.json(http.MethodPost, "/api/ops/v1/tenants", map[string]string{"name": "X", "slug": "fresh", "email": "owner3@example.com"}, &e); st != http.StatusConflict {
		t.Errorf("taken email: %d %+v", st, e)
	}
	if st := api.json(http.MethodPost, "/api/ops/v1/tenants", map[string]any{"name": "X", "slug": "fresh", "email": "x@example.com", "password": "no"}, &e); st != http.StatusBadRequest {
		t.Errorf("unknown field: %d", st)
	}
	if st, _ := api.do(http.MethodPost, "/api/ops/v1/tenants", strings.NewReader(`{"name":"X","slug":"fresh","email":"x@example.com"}`), "text/plain"); st != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d", st)
	}

	// The owner follows the link, sets a password and is in the console.
	owner := newClient(t, srv.URL)
	link := strings.TrimPrefix(answers[7].InvitationURL, srv.URL)
	st, body := owner.do(http.MethodGet, link, nil, "")
	m := csrfOf.FindSubmatch(body)
	if st != http.StatusOK || m == nil || !bytes.Contains(body, []byte("owner7@example.com")) {
		t.Fatalf("GET invitation: %d %.300s", st, body)
	}
	owner.csrf = string(m[1])
	if st, _ := owner.form(link, url.Values{"password": {"short"}}); st != http.StatusBadRequest {
		t.Errorf("short password: %d", st)
	}
	if st, b := owner.form(link, url.Values{"password": {"owner seven's pw"}}); st != http.StatusSeeOther || owner.location != "/admin" {
		t.Fatalf("accept: %d %q %.300s", st, owner.location, b)
	}
	if st, _ := owner.do(http.MethodGet, "/admin/products", nil, ""); st != http.StatusOK {
		t.Errorf("owner in the console: %d", st)
	}
	if st, _ := owner.do(http.MethodGet, link, nil, ""); st != http.StatusConflict {
		t.Errorf("used link: %d", st)
	}
	if st, _ := owner.form(link, url.Values{"password": {"another password"}}); st != http.StatusConflict {
		t.Errorf("used link again: %d", st)
	}
	later := shop{Email: "owner7@example.com", Password: "owner seven's pw"}
	later.consoleClient(t, srv.URL) // signs in with the password set
	if st, _ := newClient(t, srv.URL).do(http.MethodGet, "/invite/"+strings.Repeat("a", 40), nil, ""); st != http.StatusNotFound {
		t.Errorf("unknown link: %d", st)
	}
	// A new link for an owner who has none yet; none for one who has.
	var again answer
	if st := api.json(http.MethodPost, "/api/ops/v1/tenants/"+answers[8].Tenant.ID+"/invitation", nil, &again); st != http.StatusCreated || again.InvitationURL == answers[8].InvitationURL {
		t.Errorf("reinvite: %d %+v", st, again)
	}
	if st := api.json(http.MethodPost, "/api/ops/v1/tenants/"+answers[7].Tenant.ID+"/invitation", nil, &e); st != http.StatusConflict {
		t.Errorf("reinvite an active owner: %d", st)
	}

	// The rate beside sign-up's (which hashes the owner's password).
	signUps := 10
	if testing.Short() {
		signUps = 4
	}
	start2 := time.Now()
	for i := range signUps {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, _, _, err := a.tenants.SignUp(context.Background(), tenants.SignUp{Name: "Signed up", Slug: fmt.Sprintf("signed-%d", i),
				Email: fmt.Sprintf("signed%d@example.com", i), Password: "correct horse"}); err != nil {
				t.Errorf("sign up: %v", err)
			}
		})
	}
	wg.Wait()
	tookSignUp := time.Since(start2)
	// One at a time: a shop's latency, and how much of it is the engine's
	// provisioning of its database.
	const one = 20
	start3 := time.Now()
	for i := range one {
		if st := api.json(http.MethodPost, "/api/ops/v1/tenants", map[string]string{
			"name": "One", "slug": fmt.Sprintf("one-%d", i), "email": fmt.Sprintf("one%d@example.com", i)}, nil); st != http.StatusCreated {
			t.Fatalf("one at a time: %d", st)
		}
	}
	latency := time.Since(start3) / one
	start4 := time.Now()
	for range one {
		if err := a.engine.Provision(context.Background(), engine.NewID()); err != nil {
			t.Fatal(err)
		}
	}
	provision := time.Since(start4) / one
	t.Logf("one at a time: %s a shop through the route, of which %s provisioning its database (engine.Provision)",
		latency.Round(100*time.Microsecond), provision.Round(100*time.Microsecond))
	invited := float64(n) / took.Seconds()
	signedUp := float64(signUps) / tookSignUp.Seconds()
	t.Logf("opened %d shops through POST /api/ops/v1/tenants in %s: %.1f shops/s, %.1f ms each; sign-up: %d in %s, %.1f shops/s; ratio %.1fx",
		n, took.Round(time.Millisecond), invited, took.Seconds()*1000/float64(n), signUps, tookSignUp.Round(time.Millisecond), signedUp, invited/signedUp)
}

// TestOperatorCommand runs `microshop operator create` on a data
// directory a server is serving: the key it prints works on the running
// server, the password signs in; the same email again is an error naming
// --reset, which gives new credentials and revokes the old key.
func TestOperatorCommand(t *testing.T) {
	dir := t.TempDir()
	e, err := tenants.OpenSQLite(dir, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	_, srv := startApp(t, e)

	runCmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"operator"}, args...), func(string) string { return "" }, &out, &errOut)
		return out.String(), err
	}
	out, err := runCmd("create", "Root@Example.com", "--data", dir)
	if err != nil {
		t.Fatalf("operator create: %v\n%s", err, out)
	}
	password, key := printed(t, out, "one-time password: "), printed(t, out, "operator API key: ")
	if !strings.HasPrefix(key, "mso_") || len(password) < 16 || !strings.Contains(out, "root@example.com") {
		t.Fatalf("printed:\n%s", out)
	}
	api := newClient(t, srv.URL)
	api.key = key
	if st := api.json(http.MethodGet, "/api/ops/v1/tenants", nil, nil); st != http.StatusOK {
		t.Errorf("the printed key on the running server: %d", st)
	}
	opsClient(t, srv.URL, tenants.NewOperator{Operator: tenants.Operator{Email: "root@example.com"}, Password: password}, "root's own password")

	if out, err := runCmd("create", "root@example.com", "--data", dir); err == nil || !strings.Contains(err.Error(), "--reset") {
		t.Errorf("create again: %v\n%s", err, out)
	}
	out, err = runCmd("--data", dir, "create", "root@example.com", "--reset")
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	if newKey := printed(t, out, "operator API key: "); newKey == key || !strings.HasPrefix(newKey, "mso_") {
		t.Errorf("reset printed the key %q", newKey)
	}
	if st := api.json(http.MethodGet, "/api/ops/v1/tenants", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("the old key after a reset: %d", st)
	}
	if _, err := runCmd("create", "nobody@example.com", "--reset", "--data", dir); err == nil {
		t.Errorf("reset of nobody: no error")
	}
	for _, args := range [][]string{{"create"}, {"create", "a@example.com", "b@example.com"}, {"delete", "a@example.com"}, {"create", "not an email"}} {
		if _, err := runCmd(append(args, "--data", dir)...); err == nil {
			t.Errorf("operator %v: no error", args)
		}
	}

	// Before the first start: the command on a fresh directory, then the
	// server on it.
	fresh := t.TempDir()
	out, err = createOperatorOutput(t, fresh)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := tenants.OpenSQLite(fresh, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e2.Close() })
	_, srv2 := startApp(t, e2)
	api2 := newClient(t, srv2.URL)
	api2.key = printed(t, out, "operator API key: ")
	if st := api2.json(http.MethodGet, "/api/ops/v1/tenants", nil, nil); st != http.StatusOK {
		t.Errorf("a key created before the first start: %d", st)
	}
}

func createOperatorOutput(t *testing.T, dir string) (string, error) {
	var out bytes.Buffer
	cfg := testConfig()
	cfg.DataDir = dir
	err := createOperator(context.Background(), cfg, "first@example.com", false, &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return out.String(), err
}

// printed is the rest of the output's line starting with prefix.
func printed(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q in\n%s", prefix, out)
	return ""
}
