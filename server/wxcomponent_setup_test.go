package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"microshop/shop/message"
	"microshop/tenants/engine"
	"microshop/tenants/wechat"
)

// What authorising an account sets up: the menu (published and read back,
// through the API and the console's editor) and the notices' templates
// (added from the library, reused, refused per kind), reported on the
// console.

// checkSetUp checks what the authorisation set up, then publishes a
// two-level menu through the API and the console.
func checkSetUp(t *testing.T, a *app, base string, s shop, acct *wechat.Account) {
	t.Helper()
	ctx := context.Background()
	api := s.apiClient(t, base)
	var menu wechat.Menu
	if st := api.json(http.MethodGet, "/api/v1/wechat/menu", nil, &menu); st != http.StatusOK || len(menu.Buttons) != 3 {
		t.Fatalf("menu after authorising: %d %+v", st, menu)
	}
	shopURL := base + "/s/" + s.Slug + "/"
	if b := menu.Buttons; b[0].Type != "view" || b[0].URL != shopURL || b[1].Type != "click" || b[1].Key != "CHECKIN" ||
		b[2].Type != "view" || b[2].URL != shopURL+"orders" {
		t.Errorf("default menu: %+v", b)
	}
	var settings struct {
		Templates map[string]string `json:"templates"`
	}
	if st := api.json(http.MethodGet, "/api/v1/message-settings", nil, &settings); st != http.StatusOK {
		t.Fatalf("message settings: %d", st)
	}
	held, err := acct.Templates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, tm := range held {
		ids[tm.ID] = true
	}
	for _, kind := range message.NoticeKinds {
		if id := settings.Templates[kind]; id == "" || !ids[id] {
			t.Errorf("notice %s: template %q, not in the account's library (%d held)", kind, id, len(held))
		}
	}
	// The console says what set-up did, kind by kind: each notice's template
	// added from the library once (the two commission notices share one).
	report := setUpReport(t, s.consoleClient(t, base), "")
	for _, kind := range message.NoticeKinds {
		want := "added"
		if kind == message.NoticeCommissionReversed {
			want = "reused"
		}
		if report[kind] != want {
			t.Errorf("set-up report for %s: %q, want %q (%v)", kind, report[kind], want, report)
		}
	}
	added := ownTemplates(t, acct)
	if added != len(message.NoticeKinds)-1 {
		t.Errorf("templates added to the account: %d, want %d", added, len(message.NoticeKinds)-1)
	}

	// A two-level menu through the API: what is published is read back.
	want := wechat.Menu{Buttons: []wechat.MenuButton{
		{Type: "view", Name: "逛逛", URL: shopURL},
		{Name: "会员", SubButtons: []wechat.MenuButton{{Type: "click", Name: "签到", Key: "CHECKIN"},
			{Type: "view", Name: "我的订单", URL: shopURL + "orders"}}},
	}}
	var got wechat.Menu
	if st := api.json(http.MethodPut, "/api/v1/wechat/menu", want, &got); st != http.StatusOK || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("PUT menu: %d %+v, want %+v", st, got, want)
	}
	got = wechat.Menu{}
	if st := api.json(http.MethodGet, "/api/v1/wechat/menu", nil, &got); st != http.StatusOK || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("GET menu after PUT: %d %+v", st, got)
	}
	for name, bad := range map[string]string{
		"no buttons":      `{"button":[]}`,
		"click, no key":   `{"button":[{"type":"click","name":"x"}]}`,
		"ftp address":     `{"button":[{"type":"view","name":"x","url":"ftp://a/b"}]}`,
		"name too long":   `{"button":[{"type":"click","name":"一二三四五六","key":"k"}]}`,
		"six sub buttons": `{"button":[{"name":"x","sub_button":[` + strings.Repeat(`{"type":"click","name":"a","key":"k"},`, 5) + `{"type":"click","name":"a","key":"k"}]}]}`,
		"unknown field":   `{"button":[{"type":"click","name":"x","key":"k","color":"red"}]}`,
	} {
		if st := api.json(http.MethodPut, "/api/v1/wechat/menu", bad, nil); st != http.StatusBadRequest {
			t.Errorf("PUT menu with %s: %d, want 400", name, st)
		}
	}

	// The console's editor publishes the same way.
	console := s.consoleClient(t, base)
	console.fetchCSRF("/admin/wechat/menu")
	st, b := console.form("/admin/wechat/menu", url.Values{"b0.name": {"商城"}, "b0.type": {"view"}, "b0.value": {shopURL},
		"b1.name": {"更多"}, "b1.type": {"sub"}, "b1.s0.name": {"签到"}, "b1.s0.type": {"click"}, "b1.s0.value": {"CHECKIN"}})
	if st != http.StatusSeeOther || console.location != "/admin/wechat/menu?done=saved" {
		t.Fatalf("console menu: %d %q %.500s", st, console.location, b)
	}
	got, err = acct.Menu(ctx)
	if err != nil || len(got.Buttons) != 2 || got.Buttons[1].Name != "更多" || len(got.Buttons[1].SubButtons) != 1 ||
		got.Buttons[1].SubButtons[0].Key != "CHECKIN" {
		t.Errorf("menu from the console: %+v %v", got, err)
	}
	if st, b := console.do(http.MethodGet, "/admin/wechat/menu", nil, ""); st != http.StatusOK || !bytes.Contains(b, []byte(`value="更多"`)) {
		t.Errorf("the editor shows the published menu: %d", st)
	}
	if st, _ := console.form("/admin/wechat/menu", url.Values{"b0.name": {"x"}, "b0.type": {"view"}, "b0.value": {"nope"}}); st != http.StatusBadRequest {
		t.Errorf("console menu with a bad address: %d, want 400", st)
	}
	checkTemplateReuse(t, a, base, s, acct, added)
}

// checkTemplateReuse: setting up again when the shop lost its template ids
// reuses the account's templates by title (none added twice); a kind the
// library refuses (a keyword the template lacks) is reported with WeChat's
// errcode while the others stand.
func checkTemplateReuse(t *testing.T, a *app, base string, s shop, acct *wechat.Account, added int) {
	t.Helper()
	ctx := context.Background()
	forget := func(kinds ...string) {
		st, err := a.msgs.Settings(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kinds {
			delete(st.Templates, k)
		}
		if _, err := a.msgs.SaveSettings(ctx, s.ID, st); err != nil {
			t.Fatal(err)
		}
	}
	forget(message.NoticeKinds...)
	console := s.consoleClient(t, base)
	for kind, action := range setUpReport(t, console, "again") {
		if action != "reused" {
			t.Errorf("set up again, %s: %q, want reused", kind, action)
		}
	}
	if n := ownTemplates(t, acct); n != added {
		t.Errorf("templates after setting up again: %d, want %d (none added twice)", n, added)
	}
	st, _ := a.msgs.Settings(ctx, s.ID)
	for _, kind := range message.NoticeKinds {
		if st.Templates[kind] == "" {
			t.Errorf("notice %s has no template after setting up again", kind)
		}
	}

	// The operator changes the check-in template to a keyword the library's
	// template does not have: WeChat refuses that kind (40246), the others
	// keep theirs.
	lib, err := a.wxcomp.comp.Library(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.engine.Kind() == engine.Mongo {
		for i := range lib {
			if lib[i].Kind == message.NoticeCheckinReminder {
				lib[i].Title, lib[i].Keywords = "签到提醒 新版", []string{"不存在的关键词"}
			}
		}
		if _, err := a.wxcomp.comp.SaveLibrary(ctx, lib); err != nil {
			t.Fatal(err)
		}
	} else {
		ops := opsClient(t, base, newOperator(t, a, fmt.Sprintf("lib-%d@example.com", time.Now().UnixNano())), "a long operator password")
		st, page := ops.do(http.MethodGet, "/ops/wechat", nil, "")
		if st != http.StatusOK || !bytes.Contains(page, []byte(`name="order_paid.short_id" value="OPENTM201752540"`)) {
			t.Fatalf("the ops page's template library: %d %.3000s", st, page)
		}
		ops.fetchCSRF("/ops/wechat")
		form := url.Values{}
		for _, e := range lib {
			form.Set(e.Kind+".title", e.Title)
			form.Set(e.Kind+".short_id", e.ShortID)
			form.Set(e.Kind+".keywords", e.KeywordList())
		}
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set(message.NoticeOrderPaid+".short_id", "OPENTM 1")
		if st, b := ops.form("/ops/wechat/library", bad); st != http.StatusBadRequest || !bytes.Contains(b, []byte(`class="error"`)) {
			t.Errorf("a bad short id: %d, want 400 and the page saying why", st)
		}
		form.Set(message.NoticeCheckinReminder+".title", "签到提醒 新版")
		form.Set(message.NoticeCheckinReminder+".keywords", "不存在的关键词")
		if st, _ := ops.form("/ops/wechat/library", form); st != http.StatusSeeOther || ops.location != "/ops/wechat?done=library" {
			t.Fatalf("save the library: %d %q", st, ops.location)
		}
	}
	lib, _ = a.wxcomp.comp.Library(ctx)
	byKind := map[string]wechat.NoticeTemplate{}
	for _, e := range lib {
		byKind[e.Kind] = e
	}
	if len(lib) != len(message.NoticeKinds) || byKind[message.NoticeCheckinReminder].Keywords[0] != "不存在的关键词" ||
		byKind[message.NoticeOrderPaid].ShortID != "OPENTM201752540" {
		t.Errorf("the library after the operator's change: %+v", lib)
	}
	forget(message.NoticeCheckinReminder)
	report := setUpReport(t, console, "again")
	for _, kind := range message.NoticeKinds {
		want := "kept"
		if kind == message.NoticeCheckinReminder {
			want = "failed:40246"
		}
		if report[kind] != want {
			t.Errorf("set up with the refused keyword, %s: %q, want %q", kind, report[kind], want)
		}
	}
}

var setUpRow = regexp.MustCompile(`<tr class="setup-kind" data-kind="([a-z_]+)" data-action="([a-z_]+)"(?: data-errcode="(\d+)")?>`)

// setUpReport reads the console's set-up report (after pressing "Set up
// again" when how is "again"): kind -> action (failed:<errcode>).
func setUpReport(t *testing.T, console *client, how string) map[string]string {
	t.Helper()
	if how == "again" {
		console.fetchCSRF("/admin/wechat/connect")
		if st, _ := console.form("/admin/wechat/connect/setup", nil); st != http.StatusSeeOther || console.location != "/admin/wechat/connect?done=setup" {
			t.Fatalf("set up again: %d %q", st, console.location)
		}
	}
	st, b := console.do(http.MethodGet, "/admin/wechat/connect", nil, "")
	if st != http.StatusOK || !bytes.Contains(b, []byte(`id="setup-report"`)) {
		t.Fatalf("no set-up report on the console: %d %.2000s", st, b)
	}
	out := map[string]string{}
	for _, m := range setUpRow.FindAllSubmatch(b, -1) {
		action := string(m[2])
		if len(m[3]) > 0 {
			action += ":" + string(m[3])
		}
		out[string(m[1])] = action
	}
	return out
}

// ownTemplates counts the templates the account added from the library
// (not the sandbox's shared ones).
func ownTemplates(t *testing.T, acct *wechat.Account) int {
	t.Helper()
	held, err := acct.Templates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tm := range held {
		if !strings.HasPrefix(tm.ID, "sandbox_") {
			n++
		}
	}
	return n
}
