package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants/fault"
)

// The component access token: the verify ticket WeChat pushes, the token
// it gives for the ticket (a shared-cache token like an account's), and
// the calls made with it (call drops a stale token and tries once more).

func ticketKey(appID string) string { return "wechat:component_ticket:" + appID }

// ticket is the latest verify ticket and when it came.
func (c *Component) ticket(ctx context.Context, cfg ComponentConfig) (string, time.Time, error) {
	v, exp, err := c.accounts.platform.CacheGet(ctx, ticketKey(cfg.AppID), c.accounts.now())
	if err != nil {
		return "", time.Time{}, err
	}
	return v, exp.Add(-ticketLife), nil
}

// errNoTicket: WeChat has not pushed a verify ticket yet.
func errNoTicket() error {
	return &fault.Error{Status: http.StatusServiceUnavailable, Code: "wechat_unavailable",
		Message: "WeChat has not sent the third-party platform's verify ticket yet (it comes every 10 minutes); try again in a few minutes"}
}

// errNotConfigured: the operator has not configured the component.
func errNotConfigured() error {
	return fault.Conflict("the platform has not set up its WeChat third-party platform yet; paste the account's credentials instead")
}

// tokens is the component access token's source.
func (c *Component) tokens(cfg ComponentConfig) *tokenSource {
	t := &tokenSource{a: c.accounts, key: "wechat:component_token:" + cfg.AppID, appID: cfg.AppID}
	t.fetch = func(ctx context.Context) (credential.ResAccessToken, error) {
		ticket, _, err := c.ticket(ctx, cfg)
		if errors.Is(err, fault.ErrNotFound) {
			return credential.ResAccessToken{}, errNoTicket()
		}
		if err != nil {
			return credential.ResAccessToken{}, err
		}
		var res struct {
			util.CommonError
			Token     string `json:"component_access_token"`
			ExpiresIn int64  `json:"expires_in"`
		}
		if err := postJSON(ctx, componentAPI+"api_component_token", map[string]string{"component_appid": cfg.AppID,
			"component_appsecret": cfg.AppSecret, "component_verify_ticket": ticket}, &res); err != nil {
			return credential.ResAccessToken{}, err
		}
		return credential.ResAccessToken{AccessToken: res.Token, ExpiresIn: res.ExpiresIn}, nil
	}
	return t
}

// fetchToken gets a new token: t.fetch, or WeChat's token endpoint.
func (t *tokenSource) fetchToken(ctx context.Context) (credential.ResAccessToken, error) {
	if t.fetch != nil {
		res, err := t.fetch(ctx)
		if err == nil && res.AccessToken == "" {
			err = errors.New("WeChat answered without a token")
		}
		return res, err
	}
	return credential.GetTokenFromServerContext(ctx, t.fetchURL)
}

// put stores a token WeChat gave otherwise (the authorisation's first one)
// as a refresh would.
func (t *tokenSource) put(ctx context.Context, token string, expiresIn int64) error {
	now := t.a.now()
	life := time.Duration(expiresIn) * time.Second
	if life <= 0 {
		life = 7200 * time.Second
	}
	due := now.Add(life - min(maxRefreshEarly, life/4))
	return t.a.platform.CachePut(ctx, t.key, fmt.Sprintf("%s %d", token, due.UnixMilli()), now.Add(life))
}

// postJSON posts body to a WeChat API and decodes the answer into out
// (which embeds util.CommonError); a non-zero errcode is an error ErrCode
// reads.
func postJSON(ctx context.Context, uri string, body, out any) error {
	raw, err := util.PostJSONContext(ctx, uri, body)
	if err != nil {
		return err
	}
	return decodeAnswer(raw, out)
}

// getJSON GETs uri and decodes WeChat's answer into out, as postJSON.
func getJSON(ctx context.Context, uri string, out any) error {
	raw, err := util.HTTPGetContext(ctx, uri)
	if err != nil {
		return err
	}
	return decodeAnswer(raw, out)
}

// decodeAnswer decodes WeChat's answer raw into out; a non-zero errcode is
// the error.
func decodeAnswer(raw []byte, out any) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode WeChat's answer: %w", err)
	}
	var ce struct{ util.CommonError }
	_ = json.Unmarshal(raw, &ce)
	if ce.ErrCode != 0 {
		e := ce.CommonError
		return &e
	}
	return nil
}

// call runs fn with the component access token; when WeChat calls it stale
// it is dropped and fn runs once more with a fresh one.
func (c *Component) call(ctx context.Context, what fault.Word, fn func(token string) error) error {
	cfg, err := c.Config(ctx)
	if errors.Is(err, fault.ErrNotFound) {
		return errNotConfigured()
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.accounts.opts.Timeout)
	defer cancel()
	src := c.tokens(cfg)
	tok, err := src.GetAccessTokenContext(ctx)
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return err
		}
		return wechatError(what, err)
	}
	err = fn(tok)
	if staleToken(ErrCode(err)) {
		if ierr := src.invalidate(ctx, tok); ierr != nil {
			return fmt.Errorf("%s: drop stale token: %w", what, ierr)
		}
		if tok, err = src.GetAccessTokenContext(ctx); err == nil {
			err = fn(tok)
		}
	}
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return err
		}
		return wechatError(what, err)
	}
	return nil
}
