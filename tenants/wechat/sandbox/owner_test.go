package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/basic"
	offconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// TestAppKeptToItsCredentials: an app's state answers only to its own
// AppSecret, on the API (tokens, OAuth codes) and for the console (Owns).
func TestAppKeptToItsCredentials(t *testing.T) {
	oa, s := account()
	if _, err := oa.GetAccessToken(); err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("e", 32)
	for _, tc := range []struct {
		given  string
		secret string
		want   bool
	}{
		{"its own secret", s.AppSecret, true},
		{"another secret", other, false},
		{"no secret", "", false},
	} {
		if got := sim.Owns(s.AppID, tc.secret); got != tc.want {
			t.Errorf("Owns with %s = %t, want %t", tc.given, got, tc.want)
		}
	}
	// An OAuth code of the app cannot be exchanged with another secret.
	code := authorizeCode(t, s.AppID, "owner-device-0000000")
	thief := officialaccount.NewOfficialAccount(&offconfig.Config{AppID: s.AppID, AppSecret: other, Cache: memCache{}})
	if _, err := thief.GetOauth().GetUserAccessToken(code); errcode(err) != 40125 {
		t.Errorf("code exchanged with another secret: %v", err)
	}
	// An app first met through OAuth is its first secret's, as through a
	// token fetch.
	_, s2 := account()
	code = authorizeCode(t, s2.AppID, "owner-device-0000001")
	first := officialaccount.NewOfficialAccount(&offconfig.Config{AppID: s2.AppID, AppSecret: s2.AppSecret, Cache: memCache{}})
	if _, err := first.GetOauth().GetUserAccessToken(code); err != nil {
		t.Fatal(err)
	}
	if sim.Owns(s2.AppID, other) || !sim.Owns(s2.AppID, s2.AppSecret) {
		t.Error("the app met through OAuth does not keep its secret")
	}
}

// TestForget: an app its shop gave up is gone: its tokens, fans, outbox and
// QR codes; the AppID's next owner starts afresh with its own secret.
func TestForget(t *testing.T) {
	oa, s := account()
	openID := follow(t, s, "forget-1")
	if err := oa.GetCustomerMessageManager().Send(message.NewCustomerTextMessage(openID, "private")); err != nil {
		t.Fatal(err)
	}
	req := &basic.Request{ActionName: "QR_STR_SCENE", ExpireSeconds: 600}
	req.ActionInfo.Scene.SceneStr = "old-owner"
	tk, err := oa.GetBasic().GetQRTicket(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(sim.Outbox(s.AppID)) == 0 {
		t.Fatal("nothing in the outbox")
	}

	sim.Forget(s.AppID)

	if n := len(sim.Outbox(s.AppID)); n != 0 {
		t.Errorf("%d messages left in the outbox", n)
	}
	if f := sim.Fan(s.AppID, openID); f.Subscribed || len(f.Chat) != 0 {
		t.Errorf("the fan is left: %+v", f)
	}
	if _, err := sim.Scan(s.AppID, sim.OpenID(s.AppID, "forget-2"), tk.Ticket); err == nil {
		t.Error("the old owner's QR code still scans")
	}
	if err := oa.GetCustomerMessageManager().Send(message.NewCustomerTextMessage(openID, "again")); errcode(err) != 40001 {
		t.Errorf("the old owner's token: %v", err)
	}
	next := officialaccount.NewOfficialAccount(&offconfig.Config{AppID: s.AppID, AppSecret: strings.Repeat("f", 32), Cache: memCache{}})
	if _, err := next.GetAccessToken(); err != nil {
		t.Errorf("the next owner's first token: %v", err)
	}
	if sim.Owns(s.AppID, s.AppSecret) {
		t.Error("the old owner's secret still opens the app")
	}
}

// authorizeCode is the OAuth code the sandbox's authorize page gives the
// browser on device for appID.
func authorizeCode(t *testing.T, appID, device string) string {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://shop.test/authorize?appid="+appID+
		"&redirect_uri=http%3A%2F%2Fshop.test%2Fback&response_type=code&scope=snsapi_base&state=s", nil)
	r.AddCookie(&http.Cookie{Name: "ms_sandbox_device", Value: device})
	w := httptest.NewRecorder()
	sim.AuthorizeHandler().ServeHTTP(w, r)
	loc := w.Header().Get("Location")
	_, code, ok := strings.Cut(loc, "code=")
	code, _, _ = strings.Cut(code, "&")
	if w.Code != http.StatusFound || !ok || code == "" {
		t.Fatalf("authorize: %d %q", w.Code, loc)
	}
	return code
}
