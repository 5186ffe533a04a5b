package wechat

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	offconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	offcontext "github.com/silenceper/wechat/v2/officialaccount/context"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/officialaccount/server"
	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants/fault"
)

// Pushes.
//
// WeChat signs every push with the account's Token: signature is the SHA-1
// of the sorted token, timestamp and nonce. In safe mode (encrypt_type=aes)
// the body is an envelope whose Encrypt element is the AES-CBC encrypted
// message, and msg_signature also covers Encrypt. Nothing in the scheme
// checks freshness, and in plaintext and compatible mode the signature
// covers no body: a signature seen once would carry any body for ever. So a
// push (or a verification) whose timestamp is more than PushMaxSkew from
// now is refused; WeChat sends at once and retries within seconds. Within
// the window the caller's de-duplication is the replay guard.
//
// ServePush checks both signatures itself before the SDK sees the body, so
// a forged push is a 403 (the SDK would only return an error and write
// nothing), and a body that cannot be read is a 400; only then does the
// SDK's server decrypt and parse it and call the handler. After an
// EncodingAESKey rotation, a push the new key cannot decrypt is tried with
// the previous one.

// PushHandler records what a verified, parsed push means and may return a
// passive reply (nil answers "success"). It runs before WeChat gets its
// answer, so it must be quick; an error makes the push a failure WeChat
// will retry.
type PushHandler func(msg *message.MixMessage) (*message.Reply, error)

// Reply is the answer to write back to WeChat.
type Reply struct {
	ContentType string
	Body        []byte
}

// SuccessReply stops WeChat's retries without replying to the fan.
var SuccessReply = Reply{ContentType: "text/plain; charset=utf-8", Body: []byte("success")}

// PushMaxSkew is how far a push's timestamp may be from now, either way
// (clocks differ a little; WeChat retries a push within seconds).
const PushMaxSkew = 5 * time.Minute

// checkSignature verifies the plaintext signature every push and every
// verification request carries, and that it was made within PushMaxSkew of
// now.
func checkSignature(token string, q url.Values, now time.Time) error {
	sig, ts, nonce := q.Get("signature"), q.Get("timestamp"), q.Get("nonce")
	if sig == "" || ts == "" || nonce == "" {
		return fault.Forbidden("the request is not signed by WeChat (signature, timestamp and nonce are required)")
	}
	if !sameString(sig, util.Signature(token, ts, nonce)) {
		return fault.Forbidden("the signature does not match this shop's WeChat token")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fault.Invalid("timestamp", "must be a Unix time in seconds")
	}
	if skew := now.Sub(time.Unix(sec, 0)); skew > PushMaxSkew || skew < -PushMaxSkew {
		return fault.Forbidden("the request was signed more than %d minutes from now: a replayed or delayed request", int(PushMaxSkew/time.Minute))
	}
	return nil
}

func sameString(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// VerifyEcho answers WeChat's server verification (a GET with echostr).
func (a *Account) VerifyEcho(q url.Values) (string, error) {
	if err := checkSignature(a.pushSettings().Token, q, a.accounts.now()); err != nil {
		return "", err
	}
	echo := q.Get("echostr")
	if echo == "" {
		return "", fault.Invalid("echostr", "is required")
	}
	return echo, nil
}

// ServePush verifies, decrypts and parses one push, calls handle with it
// and returns the answer for WeChat. Errors are *fault.Error: 403 for a
// forged push, 400 for a body WeChat would never send; or the handler's.
func (a *Account) ServePush(r *http.Request, body []byte, handle PushHandler) (Reply, error) {
	return servePush(a.accounts.now(), a.pushSettings(), a.tokens, r, body, handle)
}

// ServePush is Account.ServePush for given settings, checking the push's
// timestamp against the system clock. tokens may be nil: serving a push
// never needs an access token (the SDK only wants a handle).
func ServePush(s Settings, tokens credential.AccessTokenHandle, r *http.Request, body []byte, handle PushHandler) (Reply, error) {
	return servePush(time.Now(), s, tokens, r, body, handle)
}

func servePush(now time.Time, s Settings, tokens credential.AccessTokenHandle, r *http.Request, body []byte, handle PushHandler) (Reply, error) {
	q := r.URL.Query()
	if err := checkSignature(s.Token, q, now); err != nil {
		return Reply{}, err
	}
	encrypted := false
	switch et := q.Get("encrypt_type"); et {
	case "", "raw":
	case "aes":
		encrypted = true
	default:
		return Reply{}, fault.Invalid("encrypt_type", "must be aes or raw, got %.20q", et)
	}
	switch {
	case encrypted && !s.Encrypted():
		return Reply{}, fault.Invalid("encrypt_type", "the push is encrypted but the shop's account is set to plaintext mode; set the mode and EncodingAESKey in WeChat settings")
	case !encrypted && s.Mode == Safe:
		return Reply{}, fault.Invalid("encrypt_type", "the shop's account is in safe mode: pushes must be encrypted (encrypt_type=aes)")
	}
	isJSON := strings.Contains(r.Header.Get("Content-Type"), "application/json")
	if encrypted {
		var env message.EncryptedXMLMsg
		var err error
		if isJSON {
			err = json.Unmarshal(body, &env)
		} else {
			err = xml.Unmarshal(body, &env)
		}
		if err != nil {
			return Reply{}, unreadable(err)
		}
		if env.EncryptedMsg == "" {
			return Reply{}, fault.Invalid("Encrypt", "the encrypted push has no Encrypt element")
		}
		if !sameString(q.Get("msg_signature"), util.Signature(s.Token, q.Get("timestamp"), q.Get("nonce"), env.EncryptedMsg)) {
			return Reply{}, fault.Forbidden("the message signature does not match this shop's WeChat token")
		}
	}
	// The query without echostr: a POST is a push, never a verification.
	q.Del("echostr")
	keys := []string{s.EncodingAESKey}
	if encrypted && s.PrevEncodingAESKey != "" && s.PrevEncodingAESKey != s.EncodingAESKey {
		keys = append(keys, s.PrevEncodingAESKey)
	}
	var lastErr error
	for _, key := range keys {
		rep, handled, err := serveOnce(s, key, tokens, r, q, body, handle)
		if handled || err == nil {
			return rep, err
		}
		lastErr = err
	}
	return Reply{}, unreadable(lastErr)
}

// unreadable is the 400 for a push body that cannot be read.
func unreadable(err error) error {
	return fault.Invalid("", "the push body is not a WeChat message (malformed XML, or encrypted with another key): %s",
		fault.Clip(err.Error(), 200))
}

// serveOnce runs the SDK's server over the buffered body with one AES key;
// handled says the handler ran (so a failure is not the body's).
func serveOnce(s Settings, aesKey string, tokens credential.AccessTokenHandle, r *http.Request, q url.Values, body []byte,
	handle PushHandler) (Reply, bool, error) {
	if tokens == nil {
		tokens = noTokens{}
	}
	srv := server.NewServer(&offcontext.Context{
		Config:            &offconfig.Config{AppID: s.AppID, AppSecret: s.AppSecret, Token: s.Token, EncodingAESKey: aesKey},
		AccessTokenHandle: tokens,
	})
	req := r.Clone(r.Context())
	req.URL.RawQuery = q.Encode()
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	rec := &recorder{header: http.Header{}}
	srv.Request, srv.Writer = req, rec
	handled, replied := false, false
	var herr error
	srv.SetMessageHandler(func(m *message.MixMessage) *message.Reply {
		handled = true
		if m == nil {
			herr = fault.Invalid("", "the push body is not a WeChat message")
			return nil
		}
		reply, err := handle(m)
		if err != nil {
			herr = err
			return nil
		}
		replied = reply != nil
		return reply
	})
	err := srv.Serve()
	if herr != nil {
		return Reply{}, true, herr
	}
	if err != nil {
		if handled {
			return Reply{}, true, fmt.Errorf("build the reply: %w", err)
		}
		return Reply{}, false, err
	}
	if !handled {
		return Reply{}, false, errors.New("no message in the push")
	}
	if !replied {
		// No reply: "success". (In safe mode the SDK's Send would encrypt an
		// empty message, which WeChat shows the fan as an error.)
		return SuccessReply, true, nil
	}
	if err := srv.Send(); err != nil {
		return Reply{}, true, fmt.Errorf("encrypt the reply: %w", err)
	}
	if rec.body.Len() == 0 {
		return SuccessReply, true, nil
	}
	ct := rec.header.Get("Content-Type")
	if ct == "" {
		ct = "application/xml; charset=utf-8"
	}
	return Reply{ContentType: ct, Body: rec.body.Bytes()}, true, nil
}

// noTokens satisfies the SDK's handle for parsing-only uses; a push never
// needs an access token.
type noTokens struct{}

func (noTokens) GetAccessToken() (string, error) {
	return "", errors.New("no access token while serving a push")
}

// recorder is the http.ResponseWriter the SDK writes its answer to, so
// nothing reaches WeChat before the push is recorded.
type recorder struct {
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(int)             {}

// SignPush returns what WeChat sends for a push of the plaintext message
// xml to an account with settings s: the query (signature, timestamp,
// nonce, openid, and in safe or compatible mode encrypt_type and
// msg_signature) and the body (in those modes the encrypted envelope). The
// sandbox phone, the tests and the benchmark push through it.
func SignPush(s Settings, msg []byte, timestamp int64, nonce string) (url.Values, []byte, error) {
	var head message.CommonToken
	if err := xml.Unmarshal(msg, &head); err != nil {
		return nil, nil, fmt.Errorf("sign push: %w", err)
	}
	ts := strconv.FormatInt(timestamp, 10)
	q := url.Values{"signature": {util.Signature(s.Token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce},
		"openid": {string(head.FromUserName)}}
	if !s.Encrypted() {
		return q, msg, nil
	}
	enc, err := util.EncryptMsg([]byte(randomAlnum(16)), msg, s.AppID, s.EncodingAESKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign push: encrypt: %w", err)
	}
	env, err := xml.Marshal(struct {
		XMLName    xml.Name      `xml:"xml"`
		ToUserName message.CDATA `xml:"ToUserName"`
		Encrypt    message.CDATA `xml:"Encrypt"`
	}{ToUserName: head.ToUserName, Encrypt: message.CDATA(enc)})
	if err != nil {
		return nil, nil, fmt.Errorf("sign push: envelope: %w", err)
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", util.Signature(s.Token, ts, nonce, string(enc)))
	return q, env, nil
}

// OpenReply returns the plaintext XML of a passive reply: in safe mode it
// checks the reply's MsgSignature and decrypts it (trying the previous key
// too), otherwise it is the body itself. An empty body or "success" is no
// reply (nil).
func OpenReply(s Settings, body []byte) ([]byte, error) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || string(t) == "success" {
		return nil, nil
	}
	if !bytes.Contains(t, []byte("<Encrypt>")) {
		return t, nil
	}
	var env message.ResponseEncryptedXMLMsg
	if err := xml.Unmarshal(t, &env); err != nil {
		return nil, fmt.Errorf("open reply: %w", err)
	}
	ts := strconv.FormatInt(env.Timestamp, 10)
	if !sameString(env.MsgSignature, util.Signature(s.Token, ts, env.Nonce, env.EncryptedMsg)) {
		return nil, errors.New("open reply: the reply's signature does not match the token")
	}
	var err error
	for _, key := range []string{s.EncodingAESKey, s.PrevEncodingAESKey} {
		if key == "" {
			continue
		}
		var raw []byte
		if _, raw, err = util.DecryptMsg(s.AppID, env.EncryptedMsg, key); err == nil {
			return raw, nil
		}
	}
	return nil, fmt.Errorf("open reply: %w", err)
}
