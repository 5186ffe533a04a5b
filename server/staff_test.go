package main

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// staffMember is an invited member of a shop's staff, signed in.
type staffMember struct {
	ID, Email, Password string
	c                   *client // the console session
}

// inviteStaff invites email in role (a guide bound to guideID) with the
// owner's key and returns the member's id and invitation link.
func inviteStaff(t *testing.T, owner *client, email, role, guideID string) (string, string) {
	t.Helper()
	var out struct {
		Staff struct {
			ID string `json:"id"`
		} `json:"staff"`
		InviteURL string `json:"invite_url"`
	}
	body := map[string]string{"email": email, "role": role}
	if guideID != "" {
		body["guide_id"] = guideID
	}
	if st := owner.json(http.MethodPost, "/api/v1/staff", body, &out); st != http.StatusCreated || out.InviteURL == "" {
		t.Fatalf("invite %s as %s: %d %+v", email, role, st, out)
	}
	return out.Staff.ID, out.InviteURL
}

// joinStaff opens an invitation link in a browser, sets the password and
// returns the browser, signed in to the console.
func joinStaff(t *testing.T, base, link, email string) staffMember {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	m := staffMember{Email: email, Password: "staff password " + email, c: newClient(t, base)}
	m.c.fetchCSRF(u.Path)
	if st, b := m.c.form(u.Path, url.Values{"password": {m.Password}}); st != http.StatusSeeOther || m.c.location != "/admin" {
		t.Fatalf("join %s: %d %s %.300s", email, st, m.c.location, b)
	}
	m.c.fetchCSRF("/admin/account") // every role's own page
	return m
}

// newStaff invites and signs in a member of s's staff.
func newStaff(t *testing.T, base string, owner *client, email, role, guideID string) staffMember {
	t.Helper()
	id, link := inviteStaff(t, owner, email, role, guideID)
	m := joinStaff(t, base, link, email)
	m.ID = id
	return m
}

var navLink = regexp.MustCompile(`<header class="topbar">[\s\S]*?</header>`)
var hrefAttr = regexp.MustCompile(`href="(/admin[^"?]*)"`)

// consoleNavOf is the console navigation's links on the page at path.
func consoleNavOf(t *testing.T, c *client, path string) []string {
	t.Helper()
	st, b := c.do(http.MethodGet, path, nil, "")
	if st != http.StatusOK {
		t.Fatalf("GET %s: %d %.200s", path, st, b)
	}
	var out []string
	for _, m := range hrefAttr.FindAllStringSubmatch(navLink.FindString(string(b)), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestStaffRolesAndNav: the owner invites a member of each role; each
// joins through the link, sees only their role's items in the console's
// navigation and is refused the others on the server; a role change
// applies on the next request; removing a member ends their session at
// once; staff and keys are the owner's alone.
func TestStaffRolesAndNav(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "staff-shop")
	owner := s.apiClient(t, srv.URL)
	objs := distributionObjects(t, srv.URL, s)
	ownerConsole := s.consoleClient(t, srv.URL)

	manager := newStaff(t, srv.URL, owner, "manager@example.com", "manager", "")
	service := newStaff(t, srv.URL, owner, "service@example.com", "service", "")
	finance := newStaff(t, srv.URL, owner, "finance@example.com", "finance", "")
	guide := newStaff(t, srv.URL, owner, "guide@example.com", "guide", objs["guides"])

	for _, c := range []struct {
		name      string
		c         *client
		has, lack []string
	}{
		{"owner", ownerConsole, []string{"/admin/products", "/admin/orders", "/admin/staff", "/admin/audit", "/admin/account"}, []string{"/admin/guide/me"}},
		{"manager", manager.c, []string{"/admin/products", "/admin/orders", "/admin/fans", "/admin/audit", "/admin/shop", "/admin/account"},
			[]string{"/admin/staff", "/admin/guide/me"}},
		{"service", service.c, []string{"/admin/fans", "/admin/messages", "/admin/account"},
			[]string{"/admin/products", "/admin/products/new", "/admin/shop", "/admin/staff", "/admin/audit", "/admin/points", "/admin/wechat", "/admin/guide/me"}},
		{"finance", finance.c, []string{"/admin/orders", "/admin/account"},
			[]string{"/admin/products", "/admin/fans", "/admin/messages", "/admin/shop", "/admin/staff", "/admin/audit", "/admin/guides"}},
		{"guide", guide.c, []string{"/admin/guide/me", "/admin/account"},
			[]string{"/admin/products", "/admin/orders", "/admin/fans", "/admin/guides", "/admin/staff", "/admin/audit"}},
	} {
		nav := consoleNavOf(t, c.c, "/admin/account")
		for _, h := range c.has {
			if !slices.Contains(nav, h) {
				t.Errorf("%s's navigation lacks %s: %v", c.name, h, nav)
			}
		}
		for _, h := range c.lack {
			if slices.Contains(nav, h) {
				t.Errorf("%s's navigation shows %s: %v", c.name, h, nav)
			}
		}
	}

	// The server refuses what the navigation hides, and opens what it shows.
	for _, c := range []struct {
		who  staffMember
		path string
		want int
	}{
		{service, "/admin/fans", 200}, {service, "/admin/products", 403}, {service, "/admin/shop", 403},
		{service, "/admin/staff", 403}, {service, "/admin/orders", 200}, {service, "/admin/orders/reconciliation", 403},
		{finance, "/admin/orders", 200}, {finance, "/admin/orders/reconciliation", 200}, {finance, "/admin/distribution/ledger", 200},
		{finance, "/admin/fans", 403}, {finance, "/admin/distribution", 403},
		{guide, "/admin/guide/me", 200}, {guide, "/admin/guides", 403}, {guide, "/admin/orders", 403},
		{manager, "/admin/products", 200}, {manager, "/admin/audit", 200}, {manager, "/admin/staff", 403},
	} {
		if st, b := c.who.c.do(http.MethodGet, c.path, nil, ""); st != c.want {
			t.Errorf("%s GET %s: %d, want %d %.200s", c.who.Email, c.path, st, c.want, b)
		}
	}
	// The console's home opens each narrow role's first page.
	for who, to := range map[*staffMember]string{&service: "/admin/fans", &finance: "/admin/orders", &guide: "/admin/guide/me"} {
		if st, _ := who.c.do(http.MethodGet, "/admin", nil, ""); st != http.StatusSeeOther || who.c.location != to {
			t.Errorf("%s GET /admin: %d → %s, want %s", who.Email, st, who.c.location, to)
		}
	}
	// The guide's phone page: their own card and QR code.
	if st, b := guide.c.do(http.MethodGet, "/admin/guide/me", nil, ""); st != 200 || !strings.Contains(string(b), `src="/admin/guide/me/qr.png"`) ||
		!strings.Contains(string(b), "B&#39;s guide") {
		t.Errorf("guide page: %d %.300s", st, b)
	}
	if st, _ := guide.c.do(http.MethodGet, "/admin/guide/me/qr.png", nil, ""); st != 200 || guide.c.contentType != "image/png" {
		t.Errorf("guide QR: %d %s", st, guide.c.contentType)
	}
	if st, _ := ownerConsole.do(http.MethodGet, "/admin/guide/me/qr.png", nil, ""); st != http.StatusNotFound {
		t.Errorf("the owner's guide QR: %d, want 404", st)
	}
	if st, b := ownerConsole.do(http.MethodGet, "/admin/guide/me", nil, ""); st != http.StatusOK || !strings.Contains(string(b), `id="not-guide"`) {
		t.Errorf("the owner's guide page: %d, want 200 (a note: the owner is no guide)", st)
	}

	// Staff and keys are the owner's: a manager may not invite or make keys.
	if st, _ := manager.c.form("/admin/staff", url.Values{"email": {"x@example.com"}, "role": {"manager"}}); st != http.StatusForbidden {
		t.Errorf("a manager invites: %d", st)
	}
	if st, _ := manager.c.form("/admin/account/api-keys", nil); st != http.StatusForbidden {
		t.Errorf("a manager makes a key: %d", st)
	}
	if st, b := manager.c.do(http.MethodGet, "/admin/account", nil, ""); st != 200 || strings.Contains(string(b), `id="api-keys"`) {
		t.Errorf("a manager's account page: %d, shows the keys: %v", st, strings.Contains(string(b), `id="api-keys"`))
	}
	// The owner's Staff page lists everyone, with their roles.
	if st, b := ownerConsole.do(http.MethodGet, "/admin/staff", nil, ""); st != 200 || strings.Count(string(b), "data-staff=") != 4 {
		t.Errorf("staff page: %d, %d members", st, strings.Count(string(b), "data-staff="))
	}

	// A member who has not joined: read, given a new link (the old one
	// stops working), removed.
	pendingID, oldLink := inviteStaff(t, owner, "later@example.com", "service", "")
	var pending struct {
		Email    string  `json:"email"`
		JoinedAt *string `json:"joined_at"`
	}
	if st := owner.json(http.MethodGet, "/api/v1/staff/"+pendingID, nil, &pending); st != http.StatusOK || pending.Email != "later@example.com" || pending.JoinedAt != nil {
		t.Errorf("a pending member: %d %+v", st, pending)
	}
	var again struct {
		InviteURL string `json:"invite_url"`
	}
	if st := owner.json(http.MethodPost, "/api/v1/staff/"+pendingID+"/invitation", nil, &again); st != http.StatusCreated || again.InviteURL == oldLink {
		t.Errorf("a new link: %d %+v", st, again)
	}
	old, _ := url.Parse(oldLink)
	if st, _ := newClient(t, srv.URL).do(http.MethodGet, old.Path, nil, ""); st != http.StatusGone {
		t.Errorf("the replaced link: %d, want 410", st)
	}
	// The invitation page speaks the visitor's language.
	link, _ := url.Parse(again.InviteURL)
	zh := newClient(t, srv.URL)
	zh.header = http.Header{"Accept-Language": {"zh-CN"}}
	if st, b := zh.do(http.MethodGet, link.Path, nil, ""); st != http.StatusOK || !strings.Contains(string(b), "加入店铺") ||
		!strings.Contains(string(b), "「客服」") || !strings.Contains(string(b), "later@example.com") {
		t.Errorf("the invitation page in Chinese: %d %.300s", st, b)
	}
	if st := owner.json(http.MethodDelete, "/api/v1/staff/"+pendingID, nil, nil); st != http.StatusNoContent {
		t.Errorf("remove a pending member: %d", st)
	}
	if st := owner.json(http.MethodPost, "/api/v1/staff/"+pendingID+"/invitation", nil, nil); st != http.StatusNotFound {
		t.Errorf("a new link for a removed member: %d", st)
	}
	if st := owner.json(http.MethodPost, "/api/v1/staff/"+manager.ID+"/invitation", nil, nil); st != http.StatusConflict {
		t.Errorf("a new link for a member who joined: %d", st)
	}

	// A role change applies at the member's next request.
	if st := owner.json(http.MethodPatch, "/api/v1/staff/"+service.ID, map[string]string{"role": "finance"}, nil); st != http.StatusOK {
		t.Fatalf("change role: %d", st)
	}
	if st, _ := service.c.do(http.MethodGet, "/admin/orders/reconciliation", nil, ""); st != http.StatusOK {
		t.Errorf("after becoming finance: reconciliation %d", st)
	}
	if st, _ := service.c.do(http.MethodGet, "/admin/fans", nil, ""); st != http.StatusForbidden {
		t.Errorf("after becoming finance: fans %d", st)
	}

	// Removing a member ends their session at once.
	if st, _ := ownerConsole.form("/admin/staff/"+finance.ID+"/remove", nil); st != http.StatusSeeOther {
		t.Fatalf("remove: %d", st)
	}
	if st, _ := finance.c.do(http.MethodGet, "/admin/orders", nil, ""); st != http.StatusSeeOther || !strings.HasPrefix(finance.c.location, "/login") {
		t.Errorf("a removed member's session: %d → %s", st, finance.c.location)
	}
	if st, _ := finance.c.form("/admin/account/password", url.Values{"current": {finance.Password}, "new": {"another password"}}); st != http.StatusUnauthorized {
		t.Errorf("a removed member posts: %d", st)
	}
	login := newClient(t, srv.URL)
	login.fetchCSRF("/login")
	if st, _ := login.form("/login", url.Values{"email": {finance.Email}, "password": {finance.Password}}); st == http.StatusSeeOther {
		t.Error("a removed member signs in")
	}
	var list struct {
		Items []struct{ Email, Role string } `json:"items"`
	}
	if st := owner.json(http.MethodGet, "/api/v1/staff", nil, &list); st != 200 || len(list.Items) != 3 {
		t.Errorf("staff after removal: %d %+v", st, list)
	}
}

// TestScopedAPIKeys: a key made with a role acts in it; only the owner's
// keys manage keys and staff; a key's name and role are listed.
func TestScopedAPIKeys(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "keys-shop")
	owner := s.apiClient(t, srv.URL)
	keyOf := func(name, role string) *client {
		t.Helper()
		var out struct {
			APIKey string `json:"api_key"`
		}
		body := map[string]string{"name": name}
		if role != "" {
			body["role"] = role
		}
		if st := owner.json(http.MethodPost, "/api/v1/api-keys", body, &out); st != http.StatusCreated {
			t.Fatalf("create %s key: %d", role, st)
		}
		c := newClient(t, srv.URL)
		c.key = out.APIKey
		return c
	}
	service, finance, manager, full := keyOf("helpdesk", "service"), keyOf("books", "finance"), keyOf("erp", "manager"), keyOf("backup", "")
	for _, c := range []struct {
		name   string
		c      *client
		method string
		path   string
		want   int
	}{
		{"service reads fans", service, "GET", "/api/v1/fans", 200},
		{"service reads products", service, "GET", "/api/v1/products", 403},
		{"service reads orders", service, "GET", "/api/v1/orders", 200},
		{"service reads payments", service, "GET", "/api/v1/payments", 403},
		{"finance reads payments", finance, "GET", "/api/v1/payments", 200},
		{"finance reads withdrawals", finance, "GET", "/api/v1/withdrawals", 200},
		{"finance reads fans", finance, "GET", "/api/v1/fans", 403},
		{"finance changes the shop", finance, "PUT", "/api/v1/shop", 403},
		{"manager reads products", manager, "GET", "/api/v1/products", 200},
		{"manager reads the audit log", manager, "GET", "/api/v1/audit", 200},
		{"manager lists keys", manager, "GET", "/api/v1/api-keys", 403},
		{"manager lists staff", manager, "GET", "/api/v1/staff", 403},
		{"manager changes the owner's password", manager, "POST", "/api/v1/account/password", 403},
		{"service reads the audit log", service, "GET", "/api/v1/audit", 403},
		{"a key without a role lists keys", full, "GET", "/api/v1/api-keys", 200},
		{"a key without a role lists staff", full, "GET", "/api/v1/staff", 200},
	} {
		var body any
		if c.method != "GET" {
			body = map[string]string{}
		}
		st, b := walkDo(t, c.c, c.method, c.path, body)
		if st != c.want {
			t.Errorf("%s: %d, want %d %.200s", c.name, st, c.want, b)
		}
	}
	if st, _ := walkDo(t, manager, "POST", "/api/v1/api-keys", map[string]string{"name": "escalate"}); st != http.StatusForbidden {
		t.Errorf("a manager key makes a key: %d", st)
	}
	for _, bad := range []map[string]string{{"role": "owner"}, {"role": "guide"}, {"role": "boss"}} {
		if st := owner.json(http.MethodPost, "/api/v1/api-keys", bad, nil); st != http.StatusBadRequest {
			t.Errorf("a key with %v: %d", bad, st)
		}
	}
	var keys struct {
		Items []struct{ Name, Role string } `json:"items"`
	}
	owner.json(http.MethodGet, "/api/v1/api-keys", nil, &keys)
	// Keys made in the same millisecond may list in either order: check by name.
	roles := map[string]string{}
	for _, k := range keys.Items {
		roles[k.Name] = k.Role
	}
	if len(keys.Items) != 5 || roles["helpdesk"] != "service" || roles["books"] != "finance" || roles["erp"] != "manager" ||
		roles["backup"] != "" {
		t.Errorf("keys = %+v", keys.Items)
	}
}

// TestAuditNamesThePerson: a refund made by finance staff in the console
// and a settings change made through a manager's key are in the audit log
// with who made them (and the refund's amount); the log pages by key.
func TestAuditNamesThePerson(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "audit-shop")
	owner := s.apiClient(t, srv.URL)
	tea := owner.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 5})
	orderID := newShopper(t, srv.URL, s.Slug, "").buy(t, tea.ID, 1)

	finance := newStaff(t, srv.URL, owner, "cashier@example.com", "finance", "")
	finance.c.fetchCSRF("/admin/orders/" + orderID)
	if st, b := finance.c.form("/admin/orders/"+orderID+"/refund", url.Values{"amount": {"12.50"}, "reason": {"damaged"}}); st != http.StatusSeeOther {
		t.Fatalf("refund in the console: %d %.300s", st, b)
	}
	a.settleRefunds()
	var key struct {
		APIKey string `json:"api_key"`
	}
	owner.json(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "erp", "role": "manager"}, &key)
	erp := newClient(t, srv.URL)
	erp.key = key.APIKey
	if st := erp.json(http.MethodPut, "/api/v1/shop", map[string]string{"name": "Audited Tea"}, nil); st != http.StatusOK {
		t.Fatalf("settings: %d", st)
	}
	// A refused change and a read are not changes.
	if st := erp.json(http.MethodPut, "/api/v1/shop", map[string]string{"name": ""}, nil); st != http.StatusBadRequest {
		t.Fatalf("a bad settings change: %d", st)
	}

	type entry struct {
		Actor, Role, Method, Route, Path, Target string
		Amount                                   *int64
	}
	var log struct {
		Items []entry `json:"items"`
		Next  string  `json:"next"`
	}
	if st := erp.json(http.MethodGet, "/api/v1/audit?limit=100", nil, &log); st != http.StatusOK {
		t.Fatalf("audit: %d", st)
	}
	find := func(route string) *entry {
		for i := range log.Items {
			if log.Items[i].Route == route {
				return &log.Items[i]
			}
		}
		return nil
	}
	if e := find("/admin/orders/:id/refund"); e == nil || e.Actor != "cashier@example.com" || e.Role != "finance" ||
		e.Target != orderID || e.Amount == nil || *e.Amount != 1250 {
		t.Errorf("the refund's entry: %+v in %+v", e, log.Items)
	}
	if e := find("/api/v1/shop"); e == nil || !strings.HasPrefix(e.Actor, "erp (msk_") || e.Role != "manager" || e.Method != "PUT" {
		t.Errorf("the settings entry: %+v", e)
	}
	n := 0
	for _, e := range log.Items {
		if e.Route == "/api/v1/shop" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d entries of /api/v1/shop, want the one that succeeded", n)
	}
	// Paged by key: two at a time, the pages meet end to end.
	var p1, p2 struct {
		Items []struct{ ID string } `json:"items"`
		Next  string                `json:"next"`
	}
	erp.json(http.MethodGet, "/api/v1/audit?limit=2", nil, &p1)
	erp.json(http.MethodGet, "/api/v1/audit?limit=2&before="+p1.Next, nil, &p2)
	if len(p1.Items) != 2 || p1.Next != p1.Items[1].ID || len(p2.Items) == 0 || p2.Items[0].ID >= p1.Next {
		t.Errorf("pages: %+v then %+v", p1, p2)
	}
	// The console's page names the person too; finance may not read it.
	ownerConsole := s.consoleClient(t, srv.URL)
	if st, b := ownerConsole.do(http.MethodGet, "/admin/audit", nil, ""); st != 200 || !strings.Contains(string(b), "cashier@example.com") ||
		!strings.Contains(string(b), "12.50") || !strings.Contains(string(b), "Refunded an order") {
		t.Errorf("audit page (the refund by its name): %d %.300s", st, b)
	}
	if st, _ := finance.c.do(http.MethodGet, "/admin/audit", nil, ""); st != http.StatusForbidden {
		t.Errorf("finance reads the audit log: %d", st)
	}
}
