package wechat_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"microshop/tenants/wechat"
)

// TestPushReplay: a correctly signed push is refused with a 403 when its
// timestamp is more than wechat.PushMaxSkew from now, either way, in every
// mode (in plaintext and compatible mode the signature covers no body, so a
// captured signature would otherwise carry any body for ever); within the
// window it is served.
func TestPushReplay(t *testing.T) {
	now := time.Now()
	for _, mode := range []wechat.Mode{wechat.Plaintext, wechat.Compatible, wechat.Safe} {
		s := settings(mode)
		for _, tc := range []struct {
			given string
			at    time.Time
			want  int // 0: served
		}{
			{"now", now, 0},
			{"four minutes ago", now.Add(-4 * time.Minute), 0},
			{"four minutes ahead", now.Add(4 * time.Minute), 0},
			{"six minutes ago", now.Add(-6 * time.Minute), 403},
			{"six minutes ahead", now.Add(6 * time.Minute), 403},
			{"three days ago", now.Add(-72 * time.Hour), 403},
			{"the Unix epoch", time.Unix(0, 0), 403},
		} {
			t.Run(string(mode)+"/"+tc.given, func(t *testing.T) {
				q, body, err := wechat.SignPush(s, []byte(subscribeXML), tc.at.Unix(), "42")
				if err != nil {
					t.Fatal(err)
				}
				called := false
				_, err = wechat.ServePush(s, nil, request(q, body), body, func(*message.MixMessage) (*message.Reply, error) {
					called = true
					return nil, nil
				})
				if tc.want == 0 && (err != nil || !called) {
					t.Fatalf("expect the push served, got %v", err)
				}
				if tc.want != 0 && (status(err) != tc.want || called) {
					t.Fatalf("expect %d and no handler, got %v (handler ran: %t)", tc.want, err, called)
				}
			})
		}
	}
	// A compatible-mode account also takes plaintext pushes: an old one,
	// its body swapped, is refused.
	s := settings(wechat.Compatible)
	s.Mode = wechat.Plaintext
	q, _, _ := wechat.SignPush(s, []byte(subscribeXML), now.Add(-72*time.Hour).Unix(), "42")
	s.Mode = wechat.Compatible
	other := []byte(`<xml><ToUserName>gh</ToUserName><FromUserName>oX</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>9</MsgId></xml>`)
	if _, err := wechat.ServePush(s, nil, request(q, other), other, func(*message.MixMessage) (*message.Reply, error) {
		t.Error("the handler ran on a replayed signature")
		return nil, nil
	}); status(err) != 403 {
		t.Errorf("compatible mode, a plaintext push signed three days ago: %v", err)
	}
}

// TestPushReplayAccountClock: an account checks the timestamp against its
// service's clock, for pushes and for server verification alike.
func TestPushReplayAccountClock(t *testing.T) {
	e, err := openSQLite(t)
	if err != nil {
		t.Fatal(err)
	}
	acct := mustAccount(t, newAccounts(e, true), newTenant(t, e))
	q, body, err := wechat.SignPush(acct.Settings, []byte(subscribeXML), clock.Now().Unix(), "7")
	if err != nil {
		t.Fatal(err)
	}
	serve := func() error {
		r, _ := http.NewRequest(http.MethodPost, "/wx/shop?"+q.Encode(), nil)
		_, err := acct.ServePush(r, body, func(*message.MixMessage) (*message.Reply, error) { return nil, nil })
		return err
	}
	if err := serve(); err != nil {
		t.Fatalf("a fresh push: %v", err)
	}
	echo := func() error {
		v := map[string][]string{}
		for k, vals := range q {
			v[k] = vals
		}
		v["echostr"] = []string{"hi"}
		_, err := acct.VerifyEcho(v)
		return err
	}
	if err := echo(); err != nil {
		t.Fatalf("a fresh verification: %v", err)
	}
	clock.advance(t, 10*time.Minute)
	if err := serve(); status(err) != 403 {
		t.Errorf("the same push ten minutes later: %v, want a 403", err)
	}
	if err := echo(); status(err) != 403 {
		t.Errorf("the same verification ten minutes later: %v, want a 403", err)
	}
}
