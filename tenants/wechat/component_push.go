package wechat

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants/fault"
)

// The component's authorisation events (/wx/component/events): WeChat
// signs them with the component's token (signature and msg_signature, as a
// safe-mode push) and encrypts them with its key, the component's AppID
// inside. They carry the verify ticket every 10 minutes, and news of
// authorisations: authorized, updateauthorized, unauthorized. A push that
// does not verify is a 403 and changes nothing.

// ComponentEvent is a decrypted authorisation event.
type ComponentEvent struct {
	XMLName           xml.Name `xml:"xml"`
	AppID             string   `xml:"AppId"`
	CreateTime        int64    `xml:"CreateTime"`
	InfoType          string   `xml:"InfoType"`
	VerifyTicket      string   `xml:"ComponentVerifyTicket"`
	AuthorizerAppID   string   `xml:"AuthorizerAppid"`
	AuthorizationCode string   `xml:"AuthorizationCode"`
}

// componentEnvelope is the encrypted push's body.
type componentEnvelope struct {
	XMLName xml.Name `xml:"xml"`
	AppID   string   `xml:"AppId"`
	Encrypt string   `xml:"Encrypt"`
}

// openEvent verifies and decrypts an authorisation event.
func (c *Component) openEvent(ctx context.Context, q url.Values, body []byte) (ComponentEvent, error) {
	cfg, err := c.Config(ctx)
	if errors.Is(err, fault.ErrNotFound) {
		return ComponentEvent{}, fault.NotFound("WeChat third-party platform")
	}
	if err != nil {
		return ComponentEvent{}, err
	}
	if err := checkSignature(cfg.Token, q, c.accounts.now()); err != nil {
		return ComponentEvent{}, err
	}
	var env componentEnvelope
	if err := xml.Unmarshal(body, &env); err != nil {
		return ComponentEvent{}, unreadable(err)
	}
	if env.Encrypt == "" {
		return ComponentEvent{}, fault.Invalid("Encrypt", "the encrypted push has no Encrypt element")
	}
	if !sameString(q.Get("msg_signature"), util.Signature(cfg.Token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt)) {
		return ComponentEvent{}, fault.Forbidden("the message signature does not match this shop's WeChat token")
	}
	var raw []byte
	for _, key := range []string{cfg.EncodingAESKey, cfg.PrevEncodingAESKey} {
		if key == "" {
			continue
		}
		if _, raw, err = util.DecryptMsg(cfg.AppID, env.Encrypt, key); err == nil {
			break
		}
	}
	if err != nil {
		return ComponentEvent{}, unreadable(err)
	}
	var ev ComponentEvent
	if err := xml.Unmarshal(raw, &ev); err != nil {
		return ComponentEvent{}, unreadable(err)
	}
	if ev.AppID != cfg.AppID {
		return ComponentEvent{}, fault.Forbidden("the push is for another third-party platform")
	}
	return ev, nil
}

// ReceiveEvent verifies, decrypts and acts on one authorisation event.
func (c *Component) ReceiveEvent(ctx context.Context, q url.Values, body []byte) (ComponentEvent, error) {
	ev, err := c.openEvent(ctx, q, body)
	if err != nil {
		return ComponentEvent{}, err
	}
	switch ev.InfoType {
	case "component_verify_ticket":
		if ev.VerifyTicket == "" || len(ev.VerifyTicket) > 512 {
			return ev, fault.Invalid("ComponentVerifyTicket", "is required")
		}
		cfg, err := c.Config(ctx)
		if err != nil {
			return ev, err
		}
		if err := c.accounts.platform.CachePut(ctx, ticketKey(cfg.AppID), ev.VerifyTicket, c.accounts.now().Add(ticketLife)); err != nil {
			return ev, fmt.Errorf("keep the verify ticket: %w", err)
		}
	case "unauthorized":
		tenantID, err := c.TenantForApp(ctx, ev.AuthorizerAppID)
		if errors.Is(err, fault.ErrNotFound) {
			return ev, nil // no shop holds it (any more)
		}
		if err != nil {
			return ev, err
		}
		if err := c.End(ctx, tenantID, ev.AuthorizerAppID, ReasonUnauthorized); err != nil {
			return ev, err
		}
	case "authorized", "updateauthorized":
		// The console's callback records a new authorisation (only it knows
		// the shop); a change to one a shop holds renews its tokens and
		// what it granted.
		tenantID, err := c.TenantForApp(ctx, ev.AuthorizerAppID)
		if errors.Is(err, fault.ErrNotFound) || ev.AuthorizationCode == "" {
			return ev, nil
		}
		if err != nil {
			return ev, err
		}
		if err := c.renew(ctx, tenantID, ev.AuthorizationCode); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// renew applies a changed authorisation of a shop that holds one.
func (c *Component) renew(ctx context.Context, tenantID, code string) error {
	info, err := c.queryAuth(ctx, code)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		cur, err := c.store.Authorization(ctx, tenantID)
		if err != nil {
			return err
		}
		if cur.AppID != info.AppID {
			return nil
		}
		cur.RefreshToken, cur.Funcs, cur.Status, cur.Reason, cur.Rev = info.RefreshToken, info.funcs(), AuthAuthorized, "", cur.Rev+1
		cur.UpdatedAt = c.accounts.now().UTC().Truncate(time.Millisecond)
		err = c.store.SaveAuthorization(ctx, cur)
		if errors.Is(err, fault.ErrConflict) && attempt < 5 {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	if info.AccessToken != "" {
		if err := c.accounts.authorizerTokens(tenantID, info.AppID).put(ctx, info.AccessToken, info.ExpiresIn); err != nil {
			return err
		}
	}
	c.accounts.forget(tenantID)
	return nil
}

// SignComponentEvent returns what WeChat sends for the authorisation event
// xml (plaintext, with AppId the component's) to a component configured
// with cfg: the query (signature, timestamp, nonce, encrypt_type,
// msg_signature) and the encrypted envelope. The sandbox and the tests
// push through it.
func SignComponentEvent(cfg ComponentConfig, msg []byte, timestamp int64, nonce string) (url.Values, []byte, error) {
	ts := strconv.FormatInt(timestamp, 10)
	enc, err := util.EncryptMsg([]byte(randomAlnum(16)), msg, cfg.AppID, cfg.EncodingAESKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign component event: %w", err)
	}
	env, err := xml.Marshal(componentEnvelope{AppID: cfg.AppID, Encrypt: string(enc)})
	if err != nil {
		return nil, nil, fmt.Errorf("sign component event: %w", err)
	}
	q := url.Values{"signature": {util.Signature(cfg.Token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce},
		"encrypt_type": {"aes"}, "msg_signature": {util.Signature(cfg.Token, ts, nonce, string(enc))}}
	return q, env, nil
}
