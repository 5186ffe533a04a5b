package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/shop/message"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/secret"
	"microshop/tenants/wechat"
	"microshop/tenants/wechat/sandbox"
)

// The WeChat third-party platform through the sandbox: the operator's
// set-up, the verify ticket, the component token, a pre-auth code, the
// authorisation page and its callback, the authoriser's tokens, the first
// push routed to the shop, refreshes under concurrency, and an
// unauthorisation turning messages to the inbox at once.

// testComponent is the component the tests configure (a fresh AppID per
// app: the sandbox is process-wide).
func testComponent() wechat.ComponentConfig {
	s := wechat.SandboxSettings(time.Now())
	return wechat.ComponentConfig{AppID: s.AppID, AppSecret: s.AppSecret, Token: s.Token, EncodingAESKey: s.EncodingAESKey}
}

// setUpComponent configures the component through the ops console (on
// MongoDB through the service: the ops console's shop list has a query the
// index checker refuses there, whoever's it is).
func setUpComponent(t *testing.T, a *app, base string) wechat.ComponentConfig {
	t.Helper()
	cfg := testComponent()
	if a.engine.Kind() == engine.Mongo {
		if _, err := a.wxcomp.comp.SaveConfig(context.Background(), wechat.ComponentInput{AppID: cfg.AppID, AppSecret: cfg.AppSecret,
			Token: cfg.Token, EncodingAESKey: cfg.EncodingAESKey}); err != nil {
			t.Fatal(err)
		}
		if !a.wxcomp.tickets.Push(context.Background()) {
			t.Fatal("the sandbox's ticket push was refused")
		}
		return cfg
	}
	ops := opsClient(t, base, newOperator(t, a, fmt.Sprintf("ops-%d@example.com", time.Now().UnixNano())), "a long operator password")
	ops.fetchCSRF("/ops/wechat")
	st, b := ops.form("/ops/wechat", url.Values{"app_id": {cfg.AppID}, "app_secret": {cfg.AppSecret}, "token": {cfg.Token},
		"encoding_aes_key": {cfg.EncodingAESKey}})
	if st != http.StatusSeeOther || ops.location != "/ops/wechat?done=saved" {
		t.Fatalf("save the component: %d %q %.300s", st, ops.location, b)
	}
	// The sandbox pushed a verify ticket at once.
	st, b = ops.do(http.MethodGet, "/ops/wechat?done=saved", nil, "")
	if st != http.StatusOK || !bytes.Contains(b, []byte(`id="ticket"`)) || bytes.Contains(b, []byte("No verify ticket")) {
		t.Fatalf("ops page after saving: %d %.2000s", st, b)
	}
	if bytes.Contains(b, []byte(cfg.AppSecret)) || bytes.Contains(b, []byte(cfg.Token)) || bytes.Contains(b, []byte(cfg.EncodingAESKey)) {
		t.Error("the ops page shows the component's secrets in full")
	}
	return cfg
}

// connectByScanning walks "Connect with WeChat" in the console through the
// sandbox's authorisation page; it returns the authorised AppID.
func connectByScanning(t *testing.T, console *client) string {
	t.Helper()
	if st, b := console.do(http.MethodGet, "/admin/wechat/connect", nil, ""); st != http.StatusOK || !bytes.Contains(b, []byte(`id="connect"`)) {
		t.Fatalf("connect page: %d %.1000s", st, b)
	}
	page := startConnect(t, console)
	q := page.Query()
	if q.Get("pre_auth_code") == "" || q.Get("component_appid") == "" || !strings.Contains(q.Get("redirect_uri"), "/admin/wechat/connect/callback?state=") {
		t.Fatalf("authorisation page link: %s", page)
	}
	console.fetchCSRF(page.RequestURI())
	st, b := console.form(sandbox.ComponentPagePath, url.Values{"component_appid": {q.Get("component_appid")},
		"pre_auth_code": {q.Get("pre_auth_code")}, "redirect_uri": {q.Get("redirect_uri")}, "app_id": {"new"}})
	if st != http.StatusSeeOther || !strings.Contains(console.location, "auth_code=") {
		t.Fatalf("confirm: %d %q %.500s", st, console.location, b)
	}
	callback, _ := url.Parse(console.location)
	// The same pre-auth code again: used up.
	if st, _ := console.form(sandbox.ComponentPagePath, url.Values{"component_appid": {q.Get("component_appid")},
		"pre_auth_code": {q.Get("pre_auth_code")}, "redirect_uri": {q.Get("redirect_uri")}, "app_id": {"new"}}); st != http.StatusBadRequest {
		t.Errorf("a used pre-auth code: %d, want 400", st)
	}
	if st, b := console.do(http.MethodGet, callback.RequestURI(), nil, ""); st != http.StatusSeeOther || console.location != "/admin/wechat/connect?done=connected" {
		t.Fatalf("callback: %d %q %.500s", st, console.location, b)
	}
	// The callback's state is single use.
	if st, b := console.do(http.MethodGet, callback.RequestURI(), nil, ""); st != http.StatusOK || !bytes.Contains(b, []byte(`class="error"`)) {
		t.Errorf("the callback again: %d, want the page saying the link is used up", st)
	}
	return authAppID(t, console)
}

// authAppID reads the authorised AppID from the console page.
func authAppID(t *testing.T, console *client) string {
	t.Helper()
	st, b := console.do(http.MethodGet, "/admin/wechat/connect?done=connected", nil, "")
	if st != http.StatusOK || !bytes.Contains(b, []byte(`data-status="authorized"`)) {
		t.Fatalf("connect page after the callback: %d %.1500s", st, b)
	}
	i := bytes.Index(b, []byte(`<code translate="no">wx`))
	if i < 0 {
		t.Fatalf("no AppID on the page: %.1500s", b)
	}
	rest := b[i+len(`<code translate="no">`):]
	return string(rest[:18])
}

// pushTo posts a push for an authorised account to its callback, signed
// with settings, over HTTP.
func pushTo(t *testing.T, base, appID string, settings wechat.Settings, msg []byte) (int, []byte) {
	t.Helper()
	q, body, err := wechat.SignPush(settings, msg, time.Now().Unix(), sandbox.Nonce())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := pushClient.Post(base+"/wx/component/"+appID+"/callback?"+q.Encode(), "text/xml", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// componentEvent posts an authorisation event signed with cfg over HTTP.
func componentEvent(t *testing.T, base string, cfg wechat.ComponentConfig, msg []byte) int {
	t.Helper()
	q, body, err := wechat.SignComponentEvent(cfg, msg, time.Now().Unix(), sandbox.Nonce())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := pushClient.Post(base+wechat.ComponentEventsPath+"?"+q.Encode(), "text/xml", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestWeChatComponentFlow(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		ctx := context.Background()
		sim := a.wechat.sim

		// Before the platform is set up: events have nowhere to go, and the
		// console says to paste credentials.
		if st := componentEvent(t, srv.URL, testComponent(), []byte("<xml><AppId>x</AppId></xml>")); st != http.StatusNotFound {
			t.Errorf("an event before the set-up: %d, want 404", st)
		}
		s := signUp(t, srv.URL, "scan-shop")
		console := s.consoleClient(t, srv.URL)
		if st, b := console.do(http.MethodGet, "/admin/wechat/connect", nil, ""); st != http.StatusOK || !bytes.Contains(b, []byte(`id="unavailable"`)) {
			t.Fatalf("connect page without a component: %d %.800s", st, b)
		}

		cfg := setUpComponent(t, a, srv.URL)

		// A forged ticket push (another token) is refused and records nothing.
		forged := cfg
		forged.Token = "forgedToken123"
		if st := componentEvent(t, srv.URL, forged, sim.TicketEvent(cfg.AppID, "ticket@@@forged")); st != http.StatusForbidden {
			t.Errorf("forged ticket push: %d, want 403", st)
		}
		otherKey := cfg
		otherKey.EncodingAESKey = testComponent().EncodingAESKey
		if st := componentEvent(t, srv.URL, otherKey, sim.TicketEvent(cfg.AppID, "ticket@@@forged")); st != http.StatusBadRequest {
			t.Errorf("a push encrypted with another key: %d, want 400", st)
		}

		// Connect by scanning: ticket → component token → pre-auth code →
		// the authorisation page → callback → authoriser tokens.
		appID := connectByScanning(t, console)
		var auth wechat.AuthorizationView
		api := s.apiClient(t, srv.URL)
		if st := api.json(http.MethodGet, "/api/v1/wechat/authorization", nil, &auth); st != http.StatusOK || auth.Status != wechat.AuthAuthorized ||
			auth.AppID != appID || auth.RefreshToken == "" || !strings.HasPrefix(auth.RefreshToken, "••••") || len(auth.Funcs) == 0 {
			t.Fatalf("authorisation: %d %+v", st, auth)
		}
		// The refresh token is sealed at rest under the platform's key.
		if raw := rawRefreshToken(t, a, s.ID); !secret.Sealed(raw) {
			t.Errorf("refresh token stored as %q, want sealed", raw)
		}
		acct, err := a.wechat.accounts.Account(ctx, s.ID)
		if err != nil || !acct.Authorized() || acct.Settings.AppID != appID {
			t.Fatalf("the shop's account after authorising: %v %+v", err, acct)
		}
		if tok, err := acct.AccessToken(ctx); err != nil || tok == "" {
			t.Fatalf("authoriser access token: %q %v", tok, err)
		}
		if n := sim.AuthorizerRefreshes(cfg.AppID, appID); n != 0 {
			t.Errorf("refreshes right after authorising: %d, want 0 (the callback's token is used)", n)
		}

		// Set up on authorisation: the menu (shop, check-in with the rules'
		// key, orders) and a template from the library for every notice.
		checkSetUp(t, a, srv.URL, s, acct)
		// Share cards are signed with the authorised account's jsapi ticket.
		var share wxConfigJSON
		page := srv.URL + "/s/" + s.Slug + "/"
		if st := newShopper(t, srv.URL, s.Slug, "").json(http.MethodGet, "/s/"+s.Slug+"/api/wx-config?url="+url.QueryEscape(page), nil, &share); st != http.StatusOK ||
			share.AppID != appID || share.Signature != wechat.JSSignature(sim.JSAPITicket(appID), share.NonceStr, share.Timestamp, page) {
			t.Errorf("share card of the authorised account: %d %+v", st, share)
		}

		// The first push for the account, at the platform's endpoint, reaches
		// the shop: the follow is recorded and the welcome comes back.
		openID := sim.OpenID(appID, "scan-phone")
		follow := sim.Follow(appID, openID)
		bad := acct.PushSettings()
		bad.Token = "forgedToken123"
		if st, _ := pushTo(t, srv.URL, appID, bad, follow); st != http.StatusForbidden {
			t.Errorf("forged push to the callback: %d, want 403", st)
		}
		st, body := pushTo(t, srv.URL, appID, acct.PushSettings(), follow)
		if st != http.StatusOK {
			t.Fatalf("push to the callback: %d %s", st, body)
		}
		reply, err := wechat.OpenReply(acct.PushSettings(), body)
		if err != nil || !bytes.Contains(reply, []byte("<Content>")) {
			t.Errorf("welcome reply: %v %s", err, reply)
		}
		a.wechat.fans.Wait()
		var list fanListJSON
		api.json(http.MethodGet, "/api/v1/fans", nil, &list)
		if len(list.Items) != 1 || list.Items[0].OpenID != openID || !list.Items[0].Subscribed {
			t.Fatalf("fans after the push: %+v", list)
		}
		// Another AppID (or none) at the callback is nobody's.
		if st, _ := pushTo(t, srv.URL, "wx0000000000000000", acct.PushSettings(), follow); st != http.StatusNotFound {
			t.Errorf("push for an unknown account: %d, want 404", st)
		}

		// A message can be sent through the authorisation (the fan followed
		// a moment ago: WeChat's one-minute window).
		sender := message.WeChatSender{Accounts: a.wechat.accounts}
		if ok, err := sender.Ready(ctx, s.ID); !ok || err != nil {
			t.Fatalf("sender ready: %t %v", ok, err)
		}
		if err := sender.SendText(ctx, s.ID, openID, "你好"); err != nil {
			t.Fatalf("send through the authorisation: %v", err)
		}

		// The console's sandbox phone plays a fan of the authorised account:
		// its follow reaches the shop through the platform's endpoint.
		console.fetchCSRF("/admin/wechat/phone")
		if st, _ := console.form("/admin/wechat/phone/follow", nil); st != http.StatusSeeOther || !strings.Contains(console.location, "status=200") {
			t.Errorf("sandbox phone follow: %d %q", st, console.location)
		}
		a.wechat.fans.Wait()
		api.json(http.MethodGet, "/api/v1/fans", nil, &list)
		if len(list.Items) != 2 {
			t.Errorf("fans after the phone's follow: %+v", list)
		}

		// The administrator cancels the authorisation in WeChat: at once the
		// shop has no account (messages go to the inbox), the console says
		// why, and pushes for the account are nobody's.
		if st := componentEvent(t, srv.URL, cfg, sim.Unauthorize(cfg.AppID, appID)); st != http.StatusOK {
			t.Fatalf("unauthorized event: %d", st)
		}
		if ok, err := sender.Ready(ctx, s.ID); ok || err != nil {
			t.Errorf("sender after the unauthorisation: ready %t %v, want false", ok, err)
		}
		if st := api.json(http.MethodGet, "/api/v1/wechat/authorization", nil, &auth); st != http.StatusOK ||
			auth.Status != wechat.AuthUnauthorized || auth.Reason != wechat.ReasonUnauthorized {
			t.Errorf("authorisation after the event: %d %+v", st, auth)
		}
		if st, b := console.do(http.MethodGet, "/admin/wechat/connect", nil, ""); st != http.StatusOK || !bytes.Contains(b, []byte(`id="ended"`)) ||
			!bytes.Contains(b, []byte("cancelled the authorisation")) {
			t.Errorf("connect page after the event: %d %.1500s", st, b)
		}
		if st, _ := pushTo(t, srv.URL, appID, acct.PushSettings(), sim.Text(appID, openID, "hello")); st != http.StatusNotFound {
			t.Errorf("push after the unauthorisation: %d, want 404", st)
		}

		// Connecting again (the administrator picks the same account) restores it.
		if got := connectByScanningAgain(t, console, appID); got != appID {
			t.Errorf("connected again to %s, want %s", got, appID)
		}
		if ok, err := sender.Ready(ctx, s.ID); !ok || err != nil {
			t.Errorf("sender after connecting again: %t %v", ok, err)
		}
	})
}

// rawRefreshToken is the shop's refresh token as the platform database
// holds it.
func rawRefreshToken(t *testing.T, a *app, tenantID string) string {
	t.Helper()
	ctx := context.Background()
	if a.engine.Kind() == engine.Mongo {
		var doc struct {
			RefreshToken string `bson:"refresh_token"`
		}
		if err := a.engine.PlatformMongo().Collection("wx_authorizations").FindOne(ctx, bson.D{{Key: "_id", Value: tenantID}}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		return doc.RefreshToken
	}
	var v string
	if err := a.engine.PlatformSQL().QueryRowContext(ctx, `SELECT refresh_token FROM wx_authorizations WHERE tenant_id = ?`, tenantID).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// connectByScanningAgain connects the account appID the browser's
// administrator already holds.
func connectByScanningAgain(t *testing.T, console *client, appID string) string {
	t.Helper()
	page := startConnect(t, console)
	q := page.Query()
	st, b := console.do(http.MethodGet, page.RequestURI(), nil, "")
	if st != http.StatusOK || !bytes.Contains(b, []byte(appID)) {
		t.Fatalf("the sandbox page lists the account the administrator holds: %d %.1500s", st, b)
	}
	console.fetchCSRF(page.RequestURI())
	st, _ = console.form(sandbox.ComponentPagePath, url.Values{"component_appid": {q.Get("component_appid")},
		"pre_auth_code": {q.Get("pre_auth_code")}, "redirect_uri": {q.Get("redirect_uri")}, "app_id": {appID}})
	if st != http.StatusSeeOther {
		t.Fatalf("confirm again: %d", st)
	}
	callback, _ := url.Parse(console.location)
	if st, _ := console.do(http.MethodGet, callback.RequestURI(), nil, ""); st != http.StatusSeeOther {
		t.Fatalf("callback again: %d", st)
	}
	return authAppID(t, console)
}

// TestWeChatAuthorizerTokenOnce: an authoriser token WeChat revoked is
// refreshed once, however many calls on two replicas find it stale at the
// same time; another shop cannot take the authorised AppID.
func TestWeChatAuthorizerTokenOnce(t *testing.T) {
	e := sqliteEngine(t)
	a, srv := startApp(t, e)
	b, _ := startApp(t, e) // a second replica on the same databases
	cfg := setUpComponent(t, a, srv.URL)
	s := signUp(t, srv.URL, "scan-twice")
	appID := connectByScanning(t, s.consoleClient(t, srv.URL))
	sim := a.wechat.sim
	ctx := context.Background()

	sim.ExpireAuthorizerToken(appID) // revoked: the next call gets 40001
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		replica := a
		if i%2 == 1 {
			replica = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := replica.wechat.accounts.QR(ctx, s.ID, fmt.Sprintf("scene-%d", i), false)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a call with the revoked token: %v", err)
		}
	}
	if n := sim.AuthorizerRefreshes(cfg.AppID, appID); n != 1 {
		t.Errorf("authoriser token refreshed %d times, want 1", n)
	}

	// The administrator cancels in WeChat and the event is lost: the next
	// call finds the token dead, the refresh token refused, and ends the
	// authorisation, so the shop's messages go to the inbox.
	if sim.Unauthorize(cfg.AppID, appID) == nil {
		t.Fatal("the sandbox did not unauthorise")
	}
	if _, err := b.wechat.accounts.QR(ctx, s.ID, "after-cancel", false); err == nil {
		t.Error("a call after the cancellation succeeded")
	}
	if auth, err := a.wxcomp.comp.Authorization(ctx, s.ID); err != nil || auth.Status != wechat.AuthUnauthorized || auth.Reason != wechat.ReasonRefreshFailed {
		t.Errorf("authorisation after a refused refresh: %+v %v", auth, err)
	}
	if ok, _ := (message.WeChatSender{Accounts: b.wechat.accounts}).Ready(ctx, s.ID); ok {
		t.Error("the replica that found the refusal still sends through WeChat")
	}
	if rep, err := a.wechatAuthorizationPass(ctx, s.ID); err != nil {
		t.Errorf("the wechat job's pass over an ended authorisation: %+v %v", rep, err)
	}

	// Another shop cannot claim the authorised AppID by pasting it, and its
	// merchant's browser (another administrator) never sees the account on
	// the sandbox's authorisation page, nor can name it there.
	other := signUp(t, srv.URL, "scan-other")
	oc := other.consoleClient(t, srv.URL)
	page := startConnect(t, oc)
	if st, body := oc.do(http.MethodGet, page.RequestURI(), nil, ""); st != http.StatusOK || bytes.Contains(body, []byte(appID)) {
		t.Errorf("another shop's authorisation page: %d, shows the account: %t", st, bytes.Contains(body, []byte(appID)))
	}
	oc.fetchCSRF(page.RequestURI())
	q := page.Query()
	if st, _ := oc.form(sandbox.ComponentPagePath, url.Values{"component_appid": {q.Get("component_appid")},
		"pre_auth_code": {q.Get("pre_auth_code")}, "redirect_uri": {q.Get("redirect_uri")}, "app_id": {appID}}); st != http.StatusBadRequest {
		t.Errorf("another shop's administrator naming the account: %d, want 400", st)
	}
	if _, err := a.wechat.accounts.Save(ctx, other.ID, wechat.Input{AppID: appID, AppSecret: strings.Repeat("a", 32), Token: "token123"}); err == nil {
		t.Error("another shop saved the authorised AppID")
	}
}

// wxConfigJSON is /s/{slug}/api/wx-config's answer.
type wxConfigJSON struct {
	AppID      string `json:"appId"`
	Timestamp  int64  `json:"timestamp"`
	NonceStr   string `json:"nonceStr"`
	Signature  string `json:"signature"`
	ShareParam string `json:"shareParam"`
	ShareCode  string `json:"shareCode"`
}

// TestWeChatShareCard: a storefront page's JS-SDK signature verifies with
// the account's jsapi ticket (fetched once, then kept), and a distributor's
// shared link carries the distributor's code; addresses that are not the
// shop's pages are refused.
func TestWeChatShareCard(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	w := newWXShop(t, a, srv.URL, "share-shop")
	api := w.apiClient(t, srv.URL)
	if st := api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true, "levels": []int{1000}}, nil); st != http.StatusOK {
		t.Fatalf("distribution settings: %d", st)
	}
	sharer := newShopper(t, srv.URL, w.Slug, "")
	var dist struct{ Code string }
	if st := sharer.json(http.MethodPost, "/s/"+w.Slug+"/api/distributor", nil, &dist); st != http.StatusCreated || dist.Code == "" {
		t.Fatalf("join as a distributor: %d %+v", st, dist)
	}
	page := srv.URL + "/s/" + w.Slug + "/p/abc?ref=1"
	for i := range 2 {
		var cfg wxConfigJSON
		if st := sharer.json(http.MethodGet, "/s/"+w.Slug+"/api/wx-config?url="+url.QueryEscape(page+"#reviews"), nil, &cfg); st != http.StatusOK {
			t.Fatalf("wx-config: %d", st)
		}
		ticket := w.sim.JSAPITicket(w.settings.AppID)
		if cfg.AppID != w.settings.AppID || ticket == "" || cfg.NonceStr == "" ||
			cfg.Signature != wechat.JSSignature(ticket, cfg.NonceStr, cfg.Timestamp, page) {
			t.Errorf("call %d: the signature does not verify with the jsapi ticket: %+v", i, cfg)
		}
		if cfg.ShareParam != "d" || cfg.ShareCode != dist.Code {
			t.Errorf("the sharer's code: %q=%q, want d=%q", cfg.ShareParam, cfg.ShareCode, dist.Code)
		}
	}
	if n := w.sim.JSAPIFetches(w.settings.AppID); n != 1 {
		t.Errorf("jsapi tickets fetched: %d, want 1 (kept between calls)", n)
	}
	// A shopper who is nobody's distributor shares the bare page.
	var cfg wxConfigJSON
	if st := newShopper(t, srv.URL, w.Slug, "").json(http.MethodGet, "/s/"+w.Slug+"/api/wx-config?url="+url.QueryEscape(page), nil, &cfg); st != http.StatusOK ||
		cfg.ShareCode != "" {
		t.Errorf("another shopper: %d %+v", st, cfg)
	}
	other := signUp(t, srv.URL, "share-other")
	for _, bad := range []string{"", "https://evil.example/s/" + w.Slug + "/", srv.URL + "/s/" + other.Slug + "/", "javascript:alert(1)", srv.URL + "/admin"} {
		if st := sharer.json(http.MethodGet, "/s/"+w.Slug+"/api/wx-config?url="+url.QueryEscape(bad), nil, nil); st != http.StatusBadRequest {
			t.Errorf("wx-config for %q: %d, want 400", bad, st)
		}
	}
}

var authorizeLink = regexp.MustCompile(`id="authorize-link" class="btn" href="([^"]+)"`)

// startConnect presses "Connect with WeChat": the page links (and its
// script goes) to the authorisation page, the sandbox's in the console.
func startConnect(t *testing.T, console *client) *url.URL {
	t.Helper()
	console.fetchCSRF("/admin/wechat/connect")
	st, b := console.form("/admin/wechat/connect", nil)
	m := authorizeLink.FindSubmatch(b)
	if st != http.StatusOK || m == nil {
		t.Fatalf("start: %d %.800s", st, b)
	}
	u, err := url.Parse(html.UnescapeString(string(m[1])))
	if err != nil || u.Path != sandbox.ComponentPagePath {
		t.Fatalf("authorisation page link: %q %v", m[1], err)
	}
	return u
}
