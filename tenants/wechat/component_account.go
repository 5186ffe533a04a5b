package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount"
	offconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// The client of an authorised account: its settings come from the
// authorisation and the component, its access token is refreshed through
// the component with the authorisation's refresh token, and web OAuth
// goes through the component.

// authorizedAccount is what an authorised shop's Account knows of the
// component.
type authorizedAccount struct {
	auth           Authorization
	componentAppID string
}

// pushSettings are the settings the account's pushes are verified and
// answered with: an authorised account's are the component's.
func (a *Account) pushSettings() Settings {
	if a.platform == nil {
		return a.Settings
	}
	s := a.Settings
	s.AppID = a.platform.componentAppID
	return s
}

// Authorized reports whether the account is one the shop authorised to
// the platform (not pasted credentials).
func (a *Account) Authorized() bool { return a.platform != nil }

// PushSettings are what WeChat signs the account's pushes with (the
// sandbox and tests push through them).
func (a *Account) PushSettings() Settings { return a.pushSettings() }

// accountSettings are the settings Account builds the shop's client on:
// the authorisation's while it holds; after it ended, only credentials the
// merchant pasted since (never generated sandbox ones); otherwise the
// shop's settings.
func (a *Accounts) accountSettings(ctx context.Context, tenantID string) (Settings, *authorizedAccount, error) {
	if a.component == nil {
		s, err := a.Settings(ctx, tenantID)
		return s, nil, err
	}
	auth, err := a.component.store.Authorization(ctx, tenantID)
	if errors.Is(err, fault.ErrNotFound) {
		s, err := a.Settings(ctx, tenantID)
		return s, nil, err
	}
	if err != nil {
		return Settings{}, nil, err
	}
	if auth.Status != AuthAuthorized {
		s, err := a.Settings(ctx, tenantID)
		if err == nil && !s.Sandbox && s.UpdatedAt.After(auth.UpdatedAt) {
			return s, nil, nil
		}
		if err != nil && !errors.Is(err, fault.ErrNotFound) && !errors.Is(err, fault.ErrConflict) {
			return Settings{}, nil, err
		}
		return Settings{}, nil, fault.NotFound("WeChat official account")
	}
	cfg, err := a.component.Config(ctx)
	if errors.Is(err, fault.ErrNotFound) {
		return Settings{}, nil, fault.NotFound("WeChat official account")
	}
	if err != nil {
		return Settings{}, nil, err
	}
	if err := a.own(ctx, tenantID, auth.AppID); err != nil {
		return Settings{}, nil, err
	}
	s := Settings{AppID: auth.AppID, Token: cfg.Token, EncodingAESKey: cfg.EncodingAESKey, PrevEncodingAESKey: cfg.PrevEncodingAESKey,
		Mode: Safe, Rev: auth.Rev, UpdatedAt: auth.UpdatedAt}
	if own, err := a.store.Settings(ctx, tenantID); err == nil {
		s.Welcome = own.Welcome
	} else {
		lang := i18n.Default
		if t, err := a.platform.TenantByID(ctx, tenantID); err == nil {
			lang = t.Language()
		}
		s.Welcome = i18n.T(i18n.WithLang(ctx, lang), "wechat.default_welcome")
	}
	return s, &authorizedAccount{auth: auth, componentAppID: cfg.AppID}, nil
}

// authorizerTokens is the access-token source of the shop's authorised
// account appID: refreshed with the authorisation's refresh token through
// the component.
func (a *Accounts) authorizerTokens(tenantID, appID string) *tokenSource {
	t := &tokenSource{a: a, key: "wechat:authorizer_token:" + tenantID + ":" + appID, appID: appID}
	t.fetch = func(ctx context.Context) (credential.ResAccessToken, error) {
		return a.component.refreshAuthorizer(ctx, tenantID, appID)
	}
	return t
}

// authorizedAccount builds the client of an authorised account.
func (a *Accounts) authorizedAccount(tenantID string, s Settings, auth authorizedAccount) *Account {
	tokens := a.authorizerTokens(tenantID, s.AppID)
	oa := officialaccount.NewOfficialAccount(&offconfig.Config{AppID: s.AppID, Token: s.Token, EncodingAESKey: s.EncodingAESKey,
		Cache: NewCache(a.platform, "wechat:sdk:"+tenantID+":", a.now)})
	oa.SetAccessTokenHandle(tokens)
	return &Account{TenantID: tenantID, Settings: s, oa: oa, tokens: tokens, accounts: a, platform: &auth}
}

// refreshAuthorizer gets the authoriser a new access token with its
// refresh token. A refresh token WeChat no longer takes (or an account
// that no longer authorises the component) ends the authorisation; a new refresh token WeChat hands out is kept.
func (c *Component) refreshAuthorizer(ctx context.Context, tenantID, appID string) (credential.ResAccessToken, error) {
	auth, err := c.store.Authorization(ctx, tenantID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return credential.ResAccessToken{}, err
	}
	if err != nil || auth.AppID != appID || auth.Status != AuthAuthorized {
		return credential.ResAccessToken{}, fault.Conflict("the shop's WeChat authorisation has ended; connect the account again")
	}
	cfg, err := c.Config(ctx)
	if err != nil {
		return credential.ResAccessToken{}, err
	}
	var res struct {
		util.CommonError
		AccessToken  string `json:"authorizer_access_token"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"authorizer_refresh_token"`
	}
	err = c.call(ctx, "refresh the account's access token", func(tok string) error {
		return postJSON(ctx, componentAPI+"api_authorizer_token?component_access_token="+url.QueryEscape(tok),
			map[string]string{"component_appid": cfg.AppID, "authorizer_appid": appID, "authorizer_refresh_token": auth.RefreshToken}, &res)
	})
	if code := ErrCode(err); code == CodeInvalidRefreshToken || code == CodeNotAuthorized {
		if eerr := c.End(context.WithoutCancel(ctx), tenantID, appID, ReasonRefreshFailed); eerr != nil {
			c.accounts.log.Error("end the wechat authorisation", "tenant", tenantID, "err", eerr)
		}
	}
	if err != nil {
		return credential.ResAccessToken{}, err
	}
	if res.RefreshToken != "" && res.RefreshToken != auth.RefreshToken {
		auth.RefreshToken, auth.Rev = res.RefreshToken, auth.Rev+1
		auth.UpdatedAt = c.accounts.now().UTC().Truncate(time.Millisecond)
		if err := c.store.SaveAuthorization(ctx, auth); err != nil {
			c.accounts.log.Warn("keep the authoriser's new refresh token", "tenant", tenantID, "err", err)
		}
	}
	return credential.ResAccessToken{AccessToken: res.AccessToken, ExpiresIn: res.ExpiresIn}, nil
}

// platformAuthorizeURL is web OAuth for an authorised account: the same
// page, on behalf of the component.
func (a *Account) platformAuthorizeURL(redirectURI, state string) string {
	q := url.Values{"appid": {a.Settings.AppID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"snsapi_base"},
		"state": {state}, "component_appid": {a.platform.componentAppID}}
	base := "https://open.weixin.qq.com/connect/oauth2/authorize"
	if b := a.accounts.opts.AuthorizeURL; b != "" {
		base = b
	}
	return base + "?" + q.Encode() + "#wechat_redirect"
}

// platformOpenID exchanges an OAuth code through the component.
func (a *Account) platformOpenID(ctx context.Context, code string) (string, error) {
	c := a.accounts.component
	var openID string
	err := c.call(ctx, "sign the fan in", func(tok string) error {
		q := url.Values{"appid": {a.Settings.AppID}, "code": {code}, "grant_type": {"authorization_code"},
			"component_appid": {a.platform.componentAppID}, "component_access_token": {tok}}
		raw, err := util.HTTPGetContext(ctx, "https://api.weixin.qq.com/sns/oauth2/component/access_token?"+q.Encode())
		if err != nil {
			return err
		}
		var res struct {
			util.CommonError
			OpenID string `json:"openid"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return err
		}
		if res.ErrCode != 0 {
			e := res.CommonError
			return &e
		}
		openID = res.OpenID
		return nil
	})
	if err != nil {
		return "", err
	}
	if openID == "" {
		return "", &APIError{Err: fault.New(http.StatusBadGateway, "wechat_error", "WeChat sign-in returned no openid")}
	}
	return openID, nil
}
