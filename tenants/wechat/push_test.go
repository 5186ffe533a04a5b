package wechat_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

func settings(mode wechat.Mode) wechat.Settings {
	s := wechat.SandboxSettings(time.Now())
	s.Mode = mode
	return s
}

// pushTime is when the tests' pushes are signed: now, as a push must be.
var pushTime = time.Now().Unix()

const subscribeXML = `<xml><ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[oFan1]]></FromUserName>` +
	`<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>` +
	`<EventKey><![CDATA[qrscene_guide-7]]></EventKey></xml>`

// request builds the POST WeChat sends for q and body.
func request(q url.Values, body []byte) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "/wx/shop?"+q.Encode(), bytes.NewReader(body))
	r.Header.Set("Content-Type", "text/xml")
	return r
}

// serve runs ServePush and reports the message the handler saw.
func serve(t *testing.T, s wechat.Settings, q url.Values, body []byte, reply *message.Reply) (*message.MixMessage, wechat.Reply, error) {
	t.Helper()
	var got *message.MixMessage
	rep, err := wechat.ServePush(s, nil, request(q, body), body, func(m *message.MixMessage) (*message.Reply, error) {
		got = m
		return reply, nil
	})
	return got, rep, err
}

func status(err error) int {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Status
	}
	return 0
}

func TestPushPlaintext(t *testing.T) {
	s := settings(wechat.Plaintext)
	q, body, err := wechat.SignPush(s, []byte(subscribeXML), pushTime, "42")
	if err != nil {
		t.Fatal(err)
	}
	if q.Has("encrypt_type") || string(body) != subscribeXML {
		t.Fatalf("plaintext push encrypted: %v", q)
	}
	msg, rep, err := serve(t, s, q, body, nil)
	if err != nil || msg == nil {
		t.Fatalf("serve: %v", err)
	}
	if msg.Event != message.EventSubscribe || msg.EventKey != "qrscene_guide-7" || string(msg.FromUserName) != "oFan1" {
		t.Errorf("parsed %+v", msg.CommonToken)
	}
	if string(rep.Body) != "success" {
		t.Errorf("answer %q, want success", rep.Body)
	}
}

// TestPushAESRoundTrip: a push encrypted as WeChat does is decrypted and
// parsed; the passive reply comes back encrypted and signed, and opens to
// the text sent. A push encrypted with the key before a rotation still
// reads.
func TestPushAESRoundTrip(t *testing.T) {
	for _, mode := range []wechat.Mode{wechat.Safe, wechat.Compatible} {
		t.Run(string(mode), func(t *testing.T) {
			s := settings(mode)
			q, body, err := wechat.SignPush(s, []byte(subscribeXML), pushTime, "42")
			if err != nil {
				t.Fatal(err)
			}
			if q.Get("encrypt_type") != "aes" || bytes.Contains(body, []byte("guide-7")) {
				t.Fatalf("push not encrypted: %s", body)
			}
			welcome := "欢迎 <welcome> & ]]> thanks"
			msg, rep, err := serve(t, s, q, body, &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(welcome)})
			if err != nil || msg == nil || msg.EventKey != "qrscene_guide-7" {
				t.Fatalf("serve: %v %+v", err, msg)
			}
			if bytes.Contains(rep.Body, []byte("welcome")) {
				t.Errorf("reply not encrypted: %s", rep.Body)
			}
			raw, err := wechat.OpenReply(s, rep.Body)
			if err != nil {
				t.Fatal(err)
			}
			var r struct {
				ToUserName string `xml:"ToUserName"`
				Content    string `xml:"Content"`
			}
			if err := xml.Unmarshal(raw, &r); err != nil || r.Content != welcome || r.ToUserName != "oFan1" {
				t.Errorf("reply %q: %+v %v", raw, r, err)
			}

			// Rotate the key: a push still encrypted with the old one reads.
			rotated := s
			rotated.PrevEncodingAESKey, rotated.EncodingAESKey = s.EncodingAESKey, strings.Repeat("Q", 42)+"A"
			if msg, _, err := serve(t, rotated, q, body, nil); err != nil || msg == nil {
				t.Errorf("push with the previous key after rotation: %v", err)
			}
			// Without the previous key it does not.
			rotated.PrevEncodingAESKey = ""
			if _, _, err := serve(t, rotated, q, body, nil); status(err) != 400 {
				t.Errorf("push with an unknown key: %v", err)
			}
		})
	}
}

// TestPushForged: wrong signatures are 403s and the handler never runs;
// a push in the wrong mode is a 400.
func TestPushForged(t *testing.T) {
	plain, safe := settings(wechat.Plaintext), settings(wechat.Safe)
	pq, pbody, _ := wechat.SignPush(plain, []byte(subscribeXML), pushTime, "42")
	sq, sbody, _ := wechat.SignPush(safe, []byte(subscribeXML), pushTime, "42")
	tamper := func(q url.Values, k, v string) url.Values {
		out := url.Values{}
		for key, vals := range q {
			out[key] = append([]string(nil), vals...)
		}
		if v == "" {
			out.Del(k)
		} else {
			out.Set(k, v)
		}
		return out
	}
	otherToken := plain
	otherToken.Token = "someoneElsesToken"
	for _, tc := range []struct {
		given string
		s     wechat.Settings
		q     url.Values
		body  []byte
		want  int
	}{
		{"a wrong signature", plain, tamper(pq, "signature", strings.Repeat("0", 40)), pbody, 403},
		{"no signature", plain, tamper(pq, "signature", ""), pbody, 403},
		{"no timestamp", plain, tamper(pq, "timestamp", ""), pbody, 403},
		{"a changed nonce", plain, tamper(pq, "nonce", "43"), pbody, 403},
		{"another shop's token", otherToken, pq, pbody, 403},
		{"a wrong msg_signature", safe, tamper(sq, "msg_signature", strings.Repeat("0", 40)), sbody, 403},
		{"an Encrypt swapped for another", safe, sq, bytes.Replace(sbody, []byte("<Encrypt><![CDATA["), []byte("<Encrypt><![CDATA[AAAA"), 1), 403},
		{"a plaintext push to a safe-mode account", safe, pq, pbody, 403}, // signed with another token
		{"an unsigned-mode mismatch", plain, sq, sbody, 403},
		{"an unknown encrypt_type", plain, tamper(pq, "encrypt_type", "des"), pbody, 400},
	} {
		t.Run(tc.given, func(t *testing.T) {
			called := false
			_, err := wechat.ServePush(tc.s, nil, request(tc.q, tc.body), tc.body, func(*message.MixMessage) (*message.Reply, error) {
				called = true
				return nil, nil
			})
			if status(err) != tc.want || called {
				t.Errorf("expect %d and no handler, got %v (handler ran: %t)", tc.want, err, called)
			}
		})
	}
	// Right token, wrong mode.
	sameToken := safe
	sameToken.Mode = wechat.Plaintext
	if _, err := wechat.ServePush(sameToken, nil, request(sq, sbody), sbody, nil); status(err) != 400 {
		t.Errorf("encrypted push to a plaintext account: %v", err)
	}
	q2, b2, _ := wechat.SignPush(sameToken, []byte(subscribeXML), pushTime, "42")
	if _, err := wechat.ServePush(safe, nil, request(q2, b2), b2, nil); status(err) != 400 {
		t.Errorf("plaintext push to a safe account: %v", err)
	}
}

func TestPushMalformed(t *testing.T) {
	s := settings(wechat.Plaintext)
	for _, body := range []string{"", "not xml", "<xml>", "<xml><MsgType>text</MsgType>", strings.Repeat("<a>", 20000)} {
		q, _, _ := wechat.SignPush(s, []byte(subscribeXML), pushTime, "1")
		called := false
		_, err := wechat.ServePush(s, nil, request(q, []byte(body)), []byte(body), func(*message.MixMessage) (*message.Reply, error) {
			called = true
			return nil, nil
		})
		if status(err) != 400 || called {
			t.Errorf("body %.30q: expect a 400, got %v", body, err)
		}
	}
	safe := settings(wechat.Safe)
	q, _, _ := wechat.SignPush(safe, []byte(subscribeXML), pushTime, "1")
	for _, env := range []string{"", "<xml></xml>", "<xml><Encrypt>!!!</Encrypt></xml>"} {
		if _, err := wechat.ServePush(safe, nil, request(q, []byte(env)), []byte(env), nil); status(err) != 400 && status(err) != 403 {
			t.Errorf("envelope %q: %v", env, err)
		}
	}
}

func TestVerifyEcho(t *testing.T) {
	e, err := openSQLite(t)
	if err != nil {
		t.Fatal(err)
	}
	tenant := newTenant(t, e)
	acct := mustAccount(t, newAccounts(e, true), tenant)
	q, _, _ := wechat.SignPush(acct.Settings, []byte(subscribeXML), pushTime, "7")
	q.Set("echostr", "hello-wechat")
	if got, err := acct.VerifyEcho(q); err != nil || got != "hello-wechat" {
		t.Errorf("echo: %q %v", got, err)
	}
	q.Set("nonce", "8")
	if _, err := acct.VerifyEcho(q); status(err) != 403 {
		t.Errorf("forged verification: %v", err)
	}
}
