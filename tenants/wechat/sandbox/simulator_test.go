package sandbox_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/basic"
	offconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants/wechat"
	"microshop/tenants/wechat/sandbox"
)

var (
	sim    *sandbox.Simulator
	offset atomic.Int64
)

func now() time.Time { return time.Now().Add(time.Duration(offset.Load())) }

func advance(t *testing.T, d time.Duration) {
	offset.Add(int64(d))
	t.Cleanup(func() { offset.Add(-int64(d)) })
}

func TestMain(m *testing.M) {
	sim = sandbox.New(sandbox.Options{Now: now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := sim.Start(); err != nil {
		panic(err)
	}
	util.SetURIModifier(sim.Rewrite) // once per test binary
	code := m.Run()
	_ = sim.Close()
	os.Exit(code)
}

// memCache is a goroutine-confined cache for the SDK, on the test clock
// (tests only; the SDK's own memory cache is racy).
type memCache map[string]memEntry

type memEntry struct {
	v   any
	exp time.Time
}

func (c memCache) Get(k string) any {
	if e, ok := c[k]; ok && now().Before(e.exp) {
		return e.v
	}
	return nil
}
func (c memCache) Set(k string, v any, d time.Duration) error {
	c[k] = memEntry{v, now().Add(d)}
	return nil
}
func (c memCache) IsExist(k string) bool { return c.Get(k) != nil }
func (c memCache) Delete(k string) error { delete(c, k); return nil }

var _ cache.Cache = memCache{}

// account is a plain SDK client for a new sandbox app, with its own cache.
func account() (*officialaccount.OfficialAccount, wechat.Settings) {
	s := wechat.SandboxSettings(time.Now())
	return officialaccount.NewOfficialAccount(&offconfig.Config{AppID: s.AppID, AppSecret: s.AppSecret, Token: s.Token,
		EncodingAESKey: s.EncodingAESKey, Cache: memCache{}}), s
}

func errcode(err error) int64 { return wechat.ErrCode(err) }

func TestTokenInvalidatedOnRefetch(t *testing.T) {
	oa, s := account()
	t1, err := oa.GetAccessToken()
	if err != nil || t1 == "" {
		t.Fatalf("token: %v", err)
	}
	// The SDK caches it for expires_in-1500 s: the sandbox's tokens must
	// live longer than that.
	if !oa.GetContext().Cache.IsExist("gowechat_officialaccount__access_token_" + s.AppID) {
		t.Fatal("the SDK did not cache the token (expires_in too short?)")
	}
	send := func(tok string) int64 {
		resp, err := http.Post(sim.BaseURL()+"/cgi-bin/qrcode/create?access_token="+url.QueryEscape(tok), "application/json",
			strings.NewReader(`{"action_name":"QR_STR_SCENE","expire_seconds":60,"action_info":{"scene":{"scene_str":"x"}}}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			ErrCode int64 `json:"errcode"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out.ErrCode
	}
	oa2 := officialaccount.NewOfficialAccount(&offconfig.Config{AppID: s.AppID, AppSecret: s.AppSecret, Cache: memCache{}})
	t2, err := oa2.GetAccessToken()
	if err != nil || t2 == t1 {
		t.Fatalf("second fetch: %v", err)
	}
	if code := send(t1); code != 0 {
		t.Errorf("old token within the 5-minute overlap: errcode %d", code)
	}
	advance(t, 6*time.Minute)
	if code := send(t1); code != 40001 {
		t.Errorf("old token after the overlap: errcode %d, want 40001", code)
	}
	if code := send(t2); code != 0 {
		t.Errorf("new token: errcode %d", code)
	}
	advance(t, 2*time.Hour)
	if code := send(t2); code != 42001 {
		t.Errorf("expired token: errcode %d, want 42001", code)
	}
	bad := officialaccount.NewOfficialAccount(&offconfig.Config{AppID: s.AppID, AppSecret: strings.Repeat("0", 32), Cache: memCache{}})
	if _, err := bad.GetAccessToken(); errcode(err) != 40125 {
		t.Errorf("wrong secret: %v", err)
	}
}

// follow makes a new fan follow; it returns the openid.
func follow(t *testing.T, s wechat.Settings, device string) string {
	t.Helper()
	openID := sim.OpenID(s.AppID, device)
	if sim.Follow(s.AppID, openID) == nil {
		t.Fatal("follow produced no push")
	}
	return openID
}

func TestCustomerServiceWindow(t *testing.T) {
	oa, s := account()
	cs := oa.GetCustomerMessageManager()
	openID := follow(t, s, "d1")
	// A follow opens 3 messages for a minute.
	for i := range 3 {
		if err := cs.Send(message.NewCustomerTextMessage(openID, "hi")); err != nil {
			t.Fatalf("message %d after a follow: %v", i+1, err)
		}
	}
	if err := cs.Send(message.NewCustomerTextMessage(openID, "hi")); errcode(err) != 45047 {
		t.Errorf("4th after a follow: %v", err)
	}
	advance(t, 2*time.Minute)
	if err := cs.Send(message.NewCustomerTextMessage(openID, "hi")); errcode(err) != 45015 {
		t.Errorf("after the follow's minute: %v", err)
	}
	// A message opens 5 for 48 hours.
	if sim.Text(s.AppID, openID, "hello") == nil {
		t.Fatal("text produced no push")
	}
	for i := range 5 {
		if err := cs.Send(message.NewCustomerTextMessage(openID, "reply")); err != nil {
			t.Fatalf("reply %d: %v", i+1, err)
		}
	}
	if err := cs.Send(message.NewCustomerTextMessage(openID, "6th")); errcode(err) != 45047 {
		t.Errorf("6th reply: %v", err)
	}
	advance(t, 47*time.Hour)
	sim.Text(s.AppID, openID, "again")
	advance(t, 48*time.Hour+time.Minute)
	if err := cs.Send(message.NewCustomerTextMessage(openID, "late")); errcode(err) != 45015 {
		t.Errorf("after 48 hours: %v", err)
	}
	sim.Unfollow(s.AppID, openID)
	if err := cs.Send(message.NewCustomerTextMessage(openID, "gone")); errcode(err) != 43004 {
		t.Errorf("to an unfollower: %v", err)
	}
	out := sim.Outbox(s.AppID)
	delivered := 0
	for _, m := range out {
		if m.Delivered() {
			delivered++
		}
	}
	if delivered != 8 || len(out) != 13 {
		t.Errorf("outbox: %d entries, %d delivered; want 13 and 8", len(out), delivered)
	}
}

func TestTemplateFields(t *testing.T) {
	oa, s := account()
	openID := follow(t, s, "d2")
	tpl := oa.GetTemplate()
	list, err := tpl.List()
	if err != nil || len(list) == 0 {
		t.Fatalf("template list: %v", err)
	}
	data := func(kv ...string) map[string]*message.TemplateDataItem {
		m := map[string]*message.TemplateDataItem{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = &message.TemplateDataItem{Value: kv[i+1]}
		}
		return m
	}
	full := data("first", "Paid", "keyword1", "A1", "keyword2", "¥39.00", "keyword3", "today", "remark", "")
	for _, tc := range []struct {
		given string
		msg   message.TemplateMessage
		want  int64
	}{
		{"every field", message.TemplateMessage{ToUser: openID, TemplateID: "sandbox_order_paid", Data: full}, 0},
		{"an unknown template", message.TemplateMessage{ToUser: openID, TemplateID: "nope", Data: full}, 40037},
		{"a missing field", message.TemplateMessage{ToUser: openID, TemplateID: "sandbox_order_paid",
			Data: data("first", "Paid", "keyword1", "A1")}, 47003},
		{"a field the template lacks", message.TemplateMessage{ToUser: openID, TemplateID: "sandbox_points_changed", Data: full}, 47003},
		{"an unknown openid", message.TemplateMessage{ToUser: "oNobody", TemplateID: "sandbox_order_paid", Data: full}, 40003},
	} {
		t.Run(tc.given, func(t *testing.T) {
			_, err := tpl.Send(&tc.msg)
			if errcode(err) != tc.want {
				t.Errorf("errcode %d (%v), want %d", errcode(err), err, tc.want)
			}
		})
	}
}

func TestBroadcastLimits(t *testing.T) {
	oa, s := account()
	a, b := follow(t, s, "m1"), follow(t, s, "m2")
	bc := oa.GetBroadcast()
	for i := range 4 {
		if _, err := bc.SendText(nil, "news"); err != nil {
			t.Fatalf("broadcast %d: %v", i+1, err)
		}
	}
	if _, err := bc.SendText(nil, "5th this month"); errcode(err) != 45028 {
		t.Errorf("5th broadcast to the same fans: %v", err)
	}
	c := follow(t, s, "m3")
	if _, err := bc.SendText(nil, "to the new fan"); err != nil {
		t.Errorf("a fan with quota left: %v", err)
	}
	_ = a
	_ = b
	_ = c
	// 60 requests a minute.
	var last error
	for range 60 {
		_, last = bc.SendText(nil, "spam")
	}
	if errcode(last) != 45009 {
		t.Errorf("the 61st+ request in a minute: %v", last)
	}
}

func TestScanAndOAuth(t *testing.T) {
	oa, s := account()
	tq := &basic.Request{ActionName: "QR_STR_SCENE", ExpireSeconds: 600}
	tq.ActionInfo.Scene.SceneStr = "guide-9"
	tk, err := oa.GetBasic().GetQRTicket(tq)
	if err != nil || tk.Ticket == "" || tk.ExpireSeconds != 600 {
		t.Fatalf("ticket: %+v %v", tk, err)
	}
	openID := sim.OpenID(s.AppID, "phone-1")
	push, err := sim.Scan(s.AppID, openID, tk.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	var m message.MixMessage
	if err := xml.Unmarshal(push, &m); err != nil || m.Event != message.EventSubscribe || m.EventKey != "qrscene_guide-9" ||
		string(m.FromUserName) != openID || m.Ticket != tk.Ticket {
		t.Fatalf("first scan: %s %v", push, err)
	}
	push, _ = sim.Scan(s.AppID, openID, tk.Ticket)
	if err := xml.Unmarshal(push, &m); err != nil || m.Event != message.EventScan || m.EventKey != "guide-9" {
		t.Errorf("a follower's scan: %s", push)
	}
	if _, err := sim.Scan(s.AppID, openID, "forged"); err == nil {
		t.Error("scan of an unknown ticket")
	}
	advance(t, 11*time.Minute)
	if _, err := sim.Scan(s.AppID, openID, tk.Ticket); err == nil {
		t.Error("scan of an expired code")
	}

	// Web OAuth: the browser's device is the fan.
	h := sim.AuthorizeHandler()
	authorize := func(device string) *httptest.ResponseRecorder {
		u := oa.GetOauth()
		link, _ := u.GetRedirectURL("http://shop.test/s/x/wx/oauth", "snsapi_base", "st4te")
		link = strings.Replace(link, "https://open.weixin.qq.com", "http://shop.test", 1)
		link, _, _ = strings.Cut(link, "#") // browsers do not send the fragment
		r := httptest.NewRequest(http.MethodGet, link, nil)
		r.AddCookie(&http.Cookie{Name: sandbox.DeviceCookie, Value: device})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := authorize("phone-1-device-id-22ch")
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || loc.Query().Get("state") != "st4te" || loc.Host != "shop.test" {
		t.Fatalf("authorize: %d %s", w.Code, loc)
	}
	res, err := oa.GetOauth().GetUserAccessToken(loc.Query().Get("code"))
	if err != nil || res.OpenID != sim.OpenID(s.AppID, "phone-1-device-id-22ch") {
		t.Errorf("code for openid: %+v %v", res, err)
	}
	if _, err := oa.GetOauth().GetUserAccessToken(loc.Query().Get("code")); errcode(err) != 40029 {
		t.Errorf("code used twice: %v", err)
	}
}
