package wechat_test

import (
	"encoding/xml"
	"errors"
	"strconv"
	"testing"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// FuzzServePush feeds arbitrary bodies to the push parsing entry point, in
// each mode, correctly signed so they get past the signature check: in
// plaintext mode as the body; in safe mode both as the envelope (its
// msg_signature computed over whatever Encrypt it holds) and as the
// plaintext that is then encrypted properly. Whatever the bytes, the answer
// is the handler running on a parsed message or a 4xx, never a panic or
// another error. Seeds are in testdata/fuzz/FuzzServePush.
func FuzzServePush(f *testing.F) {
	f.Add(uint8(0), []byte(subscribeXML))
	f.Add(uint8(1), []byte(subscribeXML))
	f.Add(uint8(2), []byte(`<xml><ToUserName>gh</ToUserName><Encrypt>AAAA</Encrypt></xml>`))
	f.Add(uint8(0), []byte(`<xml><MsgType>text</MsgType><Content><![CDATA[hi]]></Content><MsgId>1</MsgId></xml>`))
	f.Add(uint8(0), []byte(``))
	plain, safe := settings(wechat.Plaintext), settings(wechat.Safe)
	pushTS := strconv.FormatInt(pushTime, 10)
	f.Fuzz(func(t *testing.T, mode uint8, body []byte) {
		s := plain
		var q = map[string][]string{}
		switch mode % 3 {
		case 0: // plaintext body
			q0, _, err := wechat.SignPush(plain, []byte(subscribeXML), pushTime, "1")
			if err != nil {
				t.Fatal(err)
			}
			q = q0
		case 1: // plaintext encrypted properly: the decrypted XML is fuzzed
			s = safe
			enc, err := util.EncryptMsg([]byte("0123456789abcdef"), body, safe.AppID, safe.EncodingAESKey)
			if err != nil {
				t.Skip()
			}
			env, _ := xml.Marshal(struct {
				XMLName xml.Name      `xml:"xml"`
				Encrypt message.CDATA `xml:"Encrypt"`
			}{Encrypt: message.CDATA(enc)})
			q0, _, _ := wechat.SignPush(safe, []byte(subscribeXML), pushTime, "1")
			q = q0
			q["msg_signature"] = []string{util.Signature(safe.Token, pushTS, "1", string(enc))}
			body = env
		case 2: // the envelope itself is fuzzed
			s = safe
			q0, _, _ := wechat.SignPush(safe, []byte(subscribeXML), pushTime, "1")
			q = q0
			var env message.EncryptedXMLMsg
			if xml.Unmarshal(body, &env) == nil {
				q["msg_signature"] = []string{util.Signature(safe.Token, pushTS, "1", env.EncryptedMsg)}
			}
		}
		called := false
		_, err := wechat.ServePush(s, nil, request(q, body), body, func(m *message.MixMessage) (*message.Reply, error) {
			if m == nil {
				t.Fatal("handler called without a message")
			}
			called = true
			return nil, nil
		})
		if err == nil {
			if !called {
				t.Fatal("no error and no handler call")
			}
			return
		}
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Status < 400 || fe.Status >= 500 {
			t.Fatalf("body %q: want a 4xx, got %v", body, err)
		}
	})
}
