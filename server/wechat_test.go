package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"microshop/shop/fan"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/wechat"
	"microshop/tenants/wechat/sandbox"
)

// wxShop is a signed-up shop with its sandbox WeChat account.
type wxShop struct {
	shop
	settings wechat.Settings
	sim      *sandbox.Simulator
	base     string
}

func newWXShop(t *testing.T, a *app, base, slug string) wxShop {
	t.Helper()
	s := signUp(t, base, slug)
	st, err := a.wechat.accounts.Settings(context.Background(), s.ID)
	if err != nil {
		t.Fatalf("sandbox settings: %v", err)
	}
	if a.wechat.sim == nil {
		t.Fatal("tests run WeChat in sandbox mode")
	}
	return wxShop{shop: s, settings: st, sim: a.wechat.sim, base: base}
}

// deliver posts a plaintext push to /wx/{slug} over HTTP, signed and
// encrypted with settings as WeChat would; it returns the status and body.
func (w wxShop) deliver(t *testing.T, settings wechat.Settings, msg []byte) (int, []byte) {
	t.Helper()
	if msg == nil {
		t.Fatal("no push to deliver")
	}
	q, body, err := wechat.SignPush(settings, msg, time.Now().Unix(), sandbox.Nonce())
	if err != nil {
		t.Fatal(err)
	}
	return w.post(t, q, body)
}

func (w wxShop) post(t *testing.T, q url.Values, body []byte) (int, []byte) {
	t.Helper()
	resp, err := pushClient.Post(w.base+"/wx/"+w.Slug+"?"+q.Encode(), "text/xml", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// pushClient plays WeChat's servers (http.DefaultClient has the timeout
// the server gives the SDK's calls).
var pushClient = &http.Client{Timeout: time.Minute}

type fanJSON struct {
	ID          string `json:"id"`
	OpenID      string `json:"openid"`
	Subscribed  bool   `json:"subscribed"`
	Source      string `json:"source"`
	Scene       string `json:"scene"`
	ReplyWindow struct {
		Open   bool   `json:"open"`
		Left   int    `json:"left"`
		Reason string `json:"reason"`
	} `json:"reply_window"`
	Messages []struct {
		Direction string `json:"direction"`
		Content   string `json:"content"`
	} `json:"messages"`
}

type fanListJSON struct {
	Items []fanJSON `json:"items"`
	Total int64     `json:"total"`
}

func TestWeChatPushEndToEnd(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		w := newWXShop(t, a, srv.URL, "tea-wx")
		api := w.apiClient(t, srv.URL)
		appID := w.settings.AppID

		// The settings, masked.
		var view wechat.View
		if status := api.json(http.MethodGet, "/api/v1/wechat", nil, &view); status != http.StatusOK {
			t.Fatalf("GET /api/v1/wechat: %d", status)
		}
		if !view.Configured || !view.Sandbox || view.Mode != wechat.Safe || view.AppID != appID ||
			view.PushURL != srv.URL+"/wx/tea-wx" || strings.Contains(view.AppSecret, w.settings.AppSecret[:8]) ||
			strings.Contains(view.Token, w.settings.Token[:8]) {
			t.Errorf("settings view: %+v", view)
		}

		var qr struct {
			Ticket string `json:"ticket"`
			Image  string `json:"image"`
		}
		if status := api.json(http.MethodPost, "/api/v1/wechat/qrcodes", map[string]any{"scene": "guide-1"}, &qr); status != http.StatusOK || qr.Ticket == "" {
			t.Fatalf("create QR: %d %+v", status, qr)
		}
		if status, png := api.do(http.MethodGet, qr.Image, nil, ""); status != http.StatusOK || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Errorf("QR image: %d", status)
		}
		openID := w.sim.OpenID(appID, "e2e-phone")
		follow, err := w.sim.Scan(appID, openID, qr.Ticket)
		if err != nil {
			t.Fatal(err)
		}

		// A forged push (another token) is refused and records nothing, not
		// even the push's key: the genuine delivery that follows counts.
		forged := w.settings
		forged.Token = "forgedToken123"
		if status, _ := w.deliver(t, forged, follow); status != http.StatusForbidden {
			t.Errorf("forged push: %d, want 403", status)
		}
		var list fanListJSON
		api.json(http.MethodGet, "/api/v1/fans", nil, &list)
		if list.Total != 0 {
			t.Fatalf("a forged push recorded %d fans", list.Total)
		}

		// The genuine push, three times: one fan, and the (encrypted)
		// welcome every time.
		for i := range 3 {
			status, body := w.deliver(t, w.settings, follow)
			raw, err := wechat.OpenReply(w.settings, body)
			if status != http.StatusOK || err != nil || !bytes.Contains(raw, []byte(w.settings.Welcome)) {
				t.Fatalf("delivery %d: %d %q %v", i+1, status, body, err)
			}
		}
		api.json(http.MethodGet, "/api/v1/fans?subscribed=true", nil, &list)
		if list.Total != 1 || list.Items[0].OpenID != openID || list.Items[0].Scene != "guide-1" || list.Items[0].Source != fan.SourceWeChatQR {
			t.Fatalf("fans after one follow delivered 3 times: %+v", list)
		}
		id := list.Items[0].ID
		api.json(http.MethodGet, "/api/v1/fans?openid="+openID+"&source=wechat_qr", nil, &list)
		if list.Total != 1 {
			t.Errorf("filter by openid and source: %d", list.Total)
		}

		// The fan writes; the merchant answers 5 times, not 6.
		if status, _ := w.deliver(t, w.settings, w.sim.Text(appID, openID, "有茉莉花茶吗?")); status != http.StatusOK {
			t.Fatalf("text: %d", status)
		}
		var f fanJSON
		api.json(http.MethodGet, "/api/v1/fans/"+id, nil, &f)
		if len(f.Messages) != 1 || f.Messages[0].Content != "有茉莉花茶吗?" || !f.ReplyWindow.Open || f.ReplyWindow.Left != 5 {
			t.Fatalf("fan after writing: %+v", f)
		}
		for i := range 5 {
			if status := api.json(http.MethodPost, "/api/v1/fans/"+id+"/messages", map[string]string{"text": fmt.Sprint("yes ", i)}, nil); status != http.StatusCreated {
				t.Fatalf("reply %d: %d", i+1, status)
			}
		}
		var apiErr apiError
		if status := api.json(http.MethodPost, "/api/v1/fans/"+id+"/messages", map[string]string{"text": "6th"}, &apiErr); status != http.StatusConflict ||
			!strings.Contains(apiErr.Error.Message, "5 replies") {
			t.Errorf("6th reply: %d %+v", status, apiErr)
		}
		sent := 0
		for _, m := range w.sim.Outbox(appID) {
			if m.Kind == "custom" && m.Delivered() && m.To == openID {
				sent++
			}
		}
		if sent != 5 {
			t.Errorf("WeChat delivered %d replies, want 5", sent)
		}

		// Bad input is a 4xx, never a 500.
		q, _, _ := wechat.SignPush(w.settings, follow, time.Now().Unix(), "1")
		for _, tc := range []struct {
			given string
			body  []byte
			want  int
		}{
			{"malformed XML", []byte("<xml><Encrypt>"), http.StatusBadRequest},
			{"an empty body", nil, http.StatusBadRequest},
			{"an oversized body", bytes.Repeat([]byte("A"), fan.MaxPushBody+1), http.StatusRequestEntityTooLarge},
		} {
			if status, body := w.post(t, q, tc.body); status != tc.want {
				t.Errorf("%s: %d %.100s, want %d", tc.given, status, body, tc.want)
			}
		}
		for _, path := range []string{"/api/v1/fans?subscribed=maybe", "/api/v1/fans?limit=0", "/api/v1/fans?offset=-1", "/api/v1/fans/not-an-id"} {
			if status, _ := api.do(http.MethodGet, path, nil, ""); status != http.StatusBadRequest {
				t.Errorf("GET %s: %d, want 400", path, status)
			}
		}
		if status := api.json(http.MethodPost, "/api/v1/wechat/qrcodes", map[string]any{"scene": strings.Repeat("x", 65)}, nil); status != http.StatusBadRequest {
			t.Errorf("65-character scene: %d", status)
		}

		// WeChat's server verification.
		vq, _, _ := wechat.SignPush(w.settings, follow, time.Now().Unix(), "5")
		vq.Set("echostr", "echo-me")
		resp, err := http.Get(srv.URL + "/wx/tea-wx?" + vq.Encode())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "echo-me" {
			t.Errorf("verification: %d %q", resp.StatusCode, b)
		}
		vq.Set("signature", strings.Repeat("a", 40))
		if resp, _ := http.Get(srv.URL + "/wx/tea-wx?" + vq.Encode()); resp.StatusCode != http.StatusForbidden {
			t.Errorf("forged verification: %d", resp.StatusCode)
		}
		if resp, _ := http.Post(srv.URL+"/wx/no-such-shop?"+q.Encode(), "text/xml", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("push to an unknown shop: %d", resp.StatusCode)
		}

		// Another shop sees none of it.
		other := signUp(t, srv.URL, "other-wx").apiClient(t, srv.URL)
		for _, req := range []struct{ method, path string }{{http.MethodGet, "/api/v1/fans/" + id}, {http.MethodPost, "/api/v1/fans/" + id + "/messages"}} {
			if status := other.json(req.method, req.path, map[string]string{"text": "hi"}, nil); status != http.StatusNotFound {
				t.Errorf("%s %s from another shop: %d", req.method, req.path, status)
			}
		}
		other.json(http.MethodGet, "/api/v1/fans", nil, &list)
		if list.Total != 0 {
			t.Errorf("another shop lists %d fans", list.Total)
		}
	})
}

// TestWeChat200Subscribes: 200 fans follow at once, over HTTP, end to end.
// It runs on SQLite: FerretDB, one writer at a time, takes longer than
// WeChat's 5 seconds for the last of 200 simultaneous pushes (the
// store-level TestConcurrentSubscribes in shop/fan runs this case on
// FerretDB, where it holds: each follow inserts a new record on its own key).
func TestWeChat200Subscribes(t *testing.T) {
	{
		e := sqliteEngine(t)
		a, srv := startApp(t, e)
		w := newWXShop(t, a, srv.URL, "crowd")
		var wg sync.WaitGroup
		errs := make(chan string, 200)
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				msg := w.sim.Follow(w.settings.AppID, w.sim.OpenID(w.settings.AppID, fmt.Sprint("crowd-", i)))
				if status, body := w.deliver(t, w.settings, msg); status != http.StatusOK {
					errs <- fmt.Sprintf("%d %.100s", status, body)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		var list fanListJSON
		w.apiClient(t, srv.URL).json(http.MethodGet, "/api/v1/fans?subscribed=true&limit=1", nil, &list)
		if list.Total != 200 {
			t.Errorf("%d fans recorded, want 200", list.Total)
		}
	}
}

func TestWeChatSettingsAPI(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	w := newWXShop(t, a, srv.URL, "own-account")
	api := w.apiClient(t, srv.URL)
	var apiErr apiError
	for _, tc := range []struct {
		given string
		body  string
		field string
	}{
		{"a bad app id", `{"app_id":"xx123","app_secret":"0123456789abcdef0123456789abcdef","token":"abc"}`, "app_id"},
		{"no token", `{"app_id":"wx1234567890abcdef","app_secret":"0123456789abcdef0123456789abcdef"}`, "token"},
		{"safe mode without a key", `{"app_id":"wx1234567890abcdef","app_secret":"0123456789abcdef0123456789abcdef","token":"abc","mode":"safe"}`, "encoding_aes_key"},
		{"an unknown field", `{"app_id":"wx1234567890abcdef","secret":"x"}`, "secret"},
	} {
		if status := api.json(http.MethodPut, "/api/v1/wechat", tc.body, &apiErr); status != http.StatusBadRequest || apiErr.Error.Field != tc.field {
			t.Errorf("%s: %d %+v", tc.given, status, apiErr)
		}
	}
	var view wechat.View
	body := map[string]string{"app_id": "wx1234567890abcdef", "app_secret": "0123456789abcdef0123456789abcdef", "token": "MyToken42",
		"mode": "plaintext"}
	if status := api.json(http.MethodPut, "/api/v1/wechat", body, &view); status != http.StatusOK {
		t.Fatalf("PUT: %d", status)
	}
	if view.Sandbox || view.Mode != wechat.Plaintext || view.Token != "••••en42" || view.AppSecret != "••••cdef" {
		t.Errorf("after PUT: %+v", view)
	}
	raw, _ := json.Marshal(view)
	if bytes.Contains(raw, []byte("0123456789abcdef0123456789abcdef")) || bytes.Contains(raw, []byte("MyToken42")) {
		t.Errorf("secrets shown: %s", raw)
	}
	// Pushes now verify with the new token, in plaintext. The simulator
	// is the process's (the SDK's URI modifier is global), so the fan is
	// new to it on every run of the test.
	mine := wechat.Settings{AppID: "wx1234567890abcdef", Token: "MyToken42", Mode: wechat.Plaintext}
	msg := w.sim.Follow(mine.AppID, w.sim.OpenID(mine.AppID, "own-"+w.ID))
	if status, body := w.deliver(t, w.settings, msg); status != http.StatusForbidden {
		t.Errorf("push with the old sandbox token: %d %s", status, body)
	}
	if status, body := w.deliver(t, mine, msg); status != http.StatusOK || string(body) != "success" {
		t.Errorf("push with the new token: %d %s", status, body)
	}
}

// TestSandboxPhone drives the console's sandbox phone the way a merchant
// trying the product would: create a QR code, scan it, write, get a reply,
// unfollow; each step reaches /wx/{slug} as a signed push.
func TestSandboxPhone(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	w := newWXShop(t, a, srv.URL, "phone-shop")
	c := w.consoleClient(t, srv.URL)
	page := func(path string) *goquery.Document {
		t.Helper()
		status, b := c.do(http.MethodGet, path, nil, "")
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %.300s", path, status, b)
		}
		doc, err := goquery.NewDocumentFromReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	submit := func(path string, v url.Values, wantLocation string) {
		t.Helper()
		status, b := c.form(path, v)
		if status != http.StatusSeeOther || !strings.Contains(c.location, wantLocation) {
			t.Fatalf("POST %s: %d → %q, want → %q (%.300s)", path, status, c.location, wantLocation, b)
		}
	}
	if doc := page("/admin/wechat"); !strings.Contains(doc.Find("#sandbox").Text(), "sandbox phone") ||
		doc.Find("#appid").Text() != w.settings.AppID {
		t.Errorf("WeChat page: sandbox card or app id missing")
	}
	submit("/admin/wechat/qrcodes", url.Values{"scene": {"counter-1"}, "back": {"phone"}}, "done=qr")
	doc := page("/admin/wechat/phone")
	ticket, _ := doc.Find(`form[action="/admin/wechat/phone/scan"] input[name=ticket]`).Attr("value")
	openID := doc.Find("#openid").Text()
	if ticket == "" || !strings.HasPrefix(openID, "o") {
		t.Fatalf("phone page: ticket %q, openid %q", ticket, openID)
	}
	submit("/admin/wechat/phone/scan", url.Values{"ticket": {ticket}}, "status=200")
	doc = page("/admin/wechat/phone")
	if !strings.Contains(doc.Find("#chat").Text(), w.settings.Welcome) || doc.Find("#unfollow").Length() != 1 {
		t.Errorf("after scanning: chat %q", doc.Find("#chat").Text())
	}
	submit("/admin/wechat/phone/text", url.Values{"text": {"Do you deliver to Pudong?"}}, "status=200")

	fans := page("/admin/fans?subscribed=true")
	link := fans.Find(`a[href^="/admin/fans/"]`)
	if link.Length() != 1 || !strings.Contains(fans.Text(), "counter-1") || link.Text() != openID {
		t.Fatalf("fans page: %d links, %q", link.Length(), strings.Join(strings.Fields(fans.Find("table").Text()), " "))
	}
	href, _ := link.Attr("href")
	view := page(href)
	if !strings.Contains(view.Text(), "Do you deliver to Pudong?") || !strings.Contains(view.Find("#window").Text(), "5 more messages") {
		t.Errorf("fan page: %q", strings.Join(strings.Fields(view.Find("main").Text()), " "))
	}
	submit(href+"/reply", url.Values{"text": {"Yes, tomorrow."}}, "done=sent")
	if doc := page("/admin/wechat/phone"); !strings.Contains(doc.Find("#chat").Text(), "Yes, tomorrow.") {
		t.Errorf("the reply did not reach the phone: %q", doc.Find("#chat").Text())
	}
	outbox := page("/admin/wechat/outbox")
	if !strings.Contains(outbox.Text(), "Yes, tomorrow.") || !strings.Contains(outbox.Text(), "delivered") {
		t.Errorf("outbox: %q", strings.Join(strings.Fields(outbox.Find("table").Text()), " "))
	}
	// An empty reply is a form error, not a crash.
	if status, _ := c.form(href+"/reply", url.Values{"text": {" "}}); status != http.StatusBadRequest {
		t.Errorf("empty reply: %d", status)
	}
	submit("/admin/wechat/phone/unfollow", nil, "status=200")
	if doc := page("/admin/fans?subscribed=false"); doc.Find(`a[href="`+href+`"]`).Length() != 1 {
		t.Errorf("the fan is not listed as unfollowed")
	}
	// A second unfollow: nothing to send, the phone says so.
	submit("/admin/wechat/phone/unfollow", nil, "error=not_following")
	// A new phone is a new fan.
	submit("/admin/wechat/phone/new", nil, "done=new")
	if doc := page("/admin/wechat/phone"); doc.Find("#openid").Text() == openID {
		t.Error("a new phone kept the openid")
	}
}

// TestWeChatOAuth: a fan opening the storefront inside WeChat is signed in
// silently (snsapi_base) with a state the server checks, and the browser's
// cookie identity is merged into the WeChat fan.
func TestWeChatOAuth(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		w := newWXShop(t, a, srv.URL, "oauth-shop")
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(u, ua string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			if ua != "" {
				req.Header.Set("User-Agent", ua)
			}
			resp, err := browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if loc != "" && strings.HasPrefix(loc, "/") {
				loc = srv.URL + loc
			}
			return resp.StatusCode, loc
		}
		const inWeChat = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.50"
		shopURL := srv.URL + "/s/oauth-shop/"

		// Outside WeChat: nothing changes.
		if status, _ := get(shopURL, "Mozilla/5.0"); status != http.StatusOK {
			t.Fatalf("storefront outside WeChat: %d", status)
		}
		su, _ := url.Parse(shopURL)
		var cookieFan string
		for _, ck := range jar.Cookies(su) {
			if ck.Name == fan.Cookie {
				cookieFan, _, _ = strings.Cut(ck.Value, ".")
			}
		}
		// The browser fan did something worth keeping (a cart, say).
		if _, err := a.wechat.fans.Store().Ensure(context.Background(), w.ID, cookieFan, "share_link", time.Now()); err != nil {
			t.Fatal(err)
		}

		// Inside WeChat: off to sign in, and back.
		status, loc := get(shopURL+"p/x?ref=1", inWeChat)
		if status != http.StatusFound || !strings.Contains(loc, "/sandbox/wx/connect/oauth2/authorize?appid="+w.settings.AppID) ||
			!strings.Contains(loc, "scope=snsapi_base") {
			t.Fatalf("storefront in WeChat: %d %s", status, loc)
		}
		authorize, _ := url.Parse(loc)
		state := authorize.Query().Get("state")
		status, loc = get(loc, inWeChat)
		if status != http.StatusFound || !strings.HasPrefix(loc, srv.URL+"/s/oauth-shop/wx/oauth?") {
			t.Fatalf("WeChat's sign-in page: %d %s", status, loc)
		}
		callback := loc
		status, loc = get(callback, inWeChat)
		if status != http.StatusFound || loc != srv.URL+"/s/oauth-shop/p/x?ref=1" {
			t.Fatalf("callback: %d %s", status, loc)
		}
		// Signed in: no more detours.
		if status, _ := get(shopURL, inWeChat); status != http.StatusOK {
			t.Errorf("storefront after signing in: %d", status)
		}
		var device string
		for _, ck := range jar.Cookies(su) {
			if ck.Name == sandbox.DeviceCookie {
				device = ck.Value
			}
		}
		sandboxURL, _ := url.Parse(srv.URL + "/sandbox/")
		for _, ck := range jar.Cookies(sandboxURL) {
			if ck.Name == sandbox.DeviceCookie {
				device = ck.Value
			}
		}
		openID := w.sim.OpenID(w.settings.AppID, device)
		var list fanListJSON
		w.apiClient(t, srv.URL).json(http.MethodGet, "/api/v1/fans?openid="+url.QueryEscape(openID), nil, &list)
		if list.Total != 1 || list.Items[0].Source != "share_link" {
			t.Fatalf("the signed-in fan: %+v", list)
		}
		if into, err := a.wechat.fans.Resolve(context.Background(), w.ID, cookieFan); err != nil || into != list.Items[0].ID {
			t.Errorf("cookie fan %s resolves to %s %v", cookieFan, into, err)
		}
		for _, ck := range jar.Cookies(su) {
			if ck.Name == fan.Cookie && !strings.HasPrefix(ck.Value, list.Items[0].ID+".") {
				t.Errorf("fan cookie %q is not the WeChat fan", ck.Value)
			}
		}

		// The callback again (a replayed link): the state was single use.
		if status, _ := get(callback, inWeChat); status != http.StatusBadRequest {
			t.Errorf("replayed callback: %d", status)
		}
		// A forged state on a fresh sign-in.
		fresh, _ := cookiejar.New(nil)
		browser.Jar = fresh
		_, loc = get(shopURL, inWeChat)
		forged := strings.Replace(loc, "state=", "state=x", 1)
		_, loc = get(forged, inWeChat)
		if status, _ := get(loc, inWeChat); status != http.StatusBadRequest {
			t.Errorf("forged state: %d", status)
		}
		if status, _ := get(shopURL+"wx/oauth?code=abc&state="+state, inWeChat); status != http.StatusBadRequest {
			t.Errorf("someone else's state: %d", status)
		}
	})
}
