package wechat

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants/fault"
)

// A shop's authorisation: "Connect with WeChat" (Start), WeChat's callback
// (Complete), its end (End), and the shop an authorised AppID belongs to.

// Authorization is one shop's authorisation of its official account to
// the platform.
type Authorization struct {
	TenantID     string `bson:"_id"`
	AppID        string `bson:"app_id"`
	RefreshToken string `bson:"refresh_token"`
	Status       string `bson:"status"`
	Reason       string `bson:"reason"`
	NickName     string `bson:"nick_name"`
	// Funcs are the permission sets (func_info ids) the administrator
	// granted.
	Funcs        []int     `bson:"funcs"`
	Rev          int64     `bson:"rev"`
	AuthorizedAt time.Time `bson:"authorized_at"`
	UpdatedAt    time.Time `bson:"updated_at"`
}

// AuthorizationView is an authorisation as the console shows it.
type AuthorizationView struct {
	Status       string    `json:"status"`
	Reason       string    `json:"reason,omitempty"`
	AppID        string    `json:"app_id,omitempty"`
	NickName     string    `json:"nick_name,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Funcs        []int     `json:"funcs,omitempty"`
	AuthorizedAt time.Time `json:"authorized_at,omitzero"`
	UpdatedAt    time.Time `json:"updated_at,omitzero"`
}

// View is the authorisation with its refresh token masked.
func (a Authorization) View() AuthorizationView {
	return AuthorizationView{Status: a.Status, Reason: a.Reason, AppID: a.AppID, NickName: a.NickName, RefreshToken: Mask(a.RefreshToken),
		Funcs: a.Funcs, AuthorizedAt: a.AuthorizedAt, UpdatedAt: a.UpdatedAt}
}

// AuthorizedShops lists the shops with an authorised account.
func (c *Component) AuthorizedShops(ctx context.Context) ([]string, error) {
	return c.store.AuthorizedShops(ctx, AuthAuthorized)
}

// Authorization returns the shop's authorisation; none is ErrNotFound.
func (c *Component) Authorization(ctx context.Context, tenantID string) (Authorization, error) {
	return c.store.Authorization(ctx, tenantID)
}

func stateKey(state string) string { return "wechat:component_state:" + state }

// Start begins the shop's authorisation: it returns WeChat's authorisation
// page for a new pre-auth code, which sends the administrator back to
// callback (the console's address) with a state only this shop can use.
func (c *Component) Start(ctx context.Context, tenantID, callback string) (string, error) {
	cfg, err := c.Config(ctx)
	if errors.Is(err, fault.ErrNotFound) {
		return "", errNotConfigured()
	}
	if err != nil {
		return "", err
	}
	var code string
	err = c.call(ctx, "start the authorisation", func(tok string) error {
		var res struct {
			util.CommonError
			Code string `json:"pre_auth_code"`
		}
		err := postJSON(ctx, componentAPI+"api_create_preauthcode?component_access_token="+url.QueryEscape(tok),
			map[string]string{"component_appid": cfg.AppID}, &res)
		code = res.Code
		return err
	})
	if err != nil {
		return "", err
	}
	if code == "" {
		return "", wechatError("start the authorisation", errors.New("WeChat answered without a pre_auth_code"))
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	state := base64.RawURLEncoding.EncodeToString(b)
	if err := c.accounts.platform.CachePut(ctx, stateKey(state), tenantID, c.accounts.now().Add(stateLife)); err != nil {
		return "", fmt.Errorf("keep the authorisation's state: %w", err)
	}
	redirect := callback + "?state=" + url.QueryEscape(state)
	page := componentLoginURL
	if c.opts.LoginPageURL != "" {
		page = c.opts.LoginPageURL
	}
	q := url.Values{"component_appid": {cfg.AppID}, "pre_auth_code": {code}, "redirect_uri": {redirect}, "auth_type": {"1"}}
	return page + "?" + q.Encode(), nil
}

// errBadAuthState: the callback's state is not one this shop started.
func errBadAuthState() error {
	return fault.Invalid("state", "this authorisation link has expired or was started by another shop; connect again")
}

// queryAuth exchanges an auth code for the authorisation's tokens.
func (c *Component) queryAuth(ctx context.Context, code string) (authInfo, error) {
	cfg, err := c.Config(ctx)
	if err != nil {
		return authInfo{}, err
	}
	var info authInfo
	err = c.call(ctx, "complete the authorisation", func(tok string) error {
		var res struct {
			util.CommonError
			Info authInfo `json:"authorization_info"`
		}
		err := postJSON(ctx, componentAPI+"api_query_auth?component_access_token="+url.QueryEscape(tok),
			map[string]string{"component_appid": cfg.AppID, "authorization_code": code}, &res)
		info = res.Info
		return err
	})
	if err == nil && (info.AppID == "" || info.RefreshToken == "") {
		err = wechatError("complete the authorisation", errors.New("WeChat answered without the authoriser's AppID or refresh token"))
	}
	return info, err
}

// authInfo is WeChat's authorization_info.
type authInfo struct {
	AppID        string `json:"authorizer_appid"`
	AccessToken  string `json:"authorizer_access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"authorizer_refresh_token"`
	FuncInfo     []struct {
		Category struct {
			ID int `json:"id"`
		} `json:"funcscope_category"`
	} `json:"func_info"`
}

func (i authInfo) funcs() []int {
	out := make([]int, 0, len(i.FuncInfo))
	for _, f := range i.FuncInfo {
		out = append(out, f.Category.ID)
	}
	return out
}

// Complete finishes the shop's authorisation from WeChat's callback: the
// state must be one this shop started (single use), the auth code gives
// the authoriser's tokens, and the authoriser's AppID must not be another
// shop's. The shop's account is the authorised one from then on.
func (c *Component) Complete(ctx context.Context, tenantID, state, authCode string) (Authorization, error) {
	if state == "" || len(state) > 64 {
		return Authorization{}, errBadAuthState()
	}
	if authCode == "" || len(authCode) > 512 {
		return Authorization{}, fault.Invalid("auth_code", "WeChat sent no authorisation code; connect again")
	}
	if ok, err := c.accounts.platform.CacheDeleteValue(ctx, stateKey(state), tenantID); err != nil {
		return Authorization{}, fmt.Errorf("check the authorisation's state: %w", err)
	} else if !ok {
		return Authorization{}, errBadAuthState()
	}
	info, err := c.queryAuth(ctx, authCode)
	if err != nil {
		return Authorization{}, err
	}
	if err := c.accounts.claim(ctx, tenantID, info.AppID); err != nil {
		return Authorization{}, err
	}
	nick := c.nickName(ctx, info.AppID)
	now := c.accounts.now().UTC().Truncate(time.Millisecond)
	var saved Authorization
	for attempt := 0; ; attempt++ {
		cur, err := c.store.Authorization(ctx, tenantID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return Authorization{}, err
		}
		if cur.AppID != "" && cur.AppID != info.AppID {
			c.accounts.releaseUnused(ctx, tenantID, cur.AppID)
			c.dropToken(ctx, tenantID, cur.AppID)
		}
		saved = Authorization{TenantID: tenantID, AppID: info.AppID, RefreshToken: info.RefreshToken, Status: AuthAuthorized,
			NickName: nick, Funcs: info.funcs(), Rev: cur.Rev + 1, AuthorizedAt: now, UpdatedAt: now}
		err = c.store.SaveAuthorization(ctx, saved)
		if errors.Is(err, fault.ErrConflict) && attempt < 5 {
			continue
		}
		if err != nil {
			return Authorization{}, err
		}
		break
	}
	src := c.accounts.authorizerTokens(tenantID, info.AppID)
	if info.AccessToken != "" {
		if err := src.put(ctx, info.AccessToken, info.ExpiresIn); err != nil {
			return Authorization{}, fmt.Errorf("store the authoriser's access token: %w", err)
		}
	}
	c.accounts.forget(tenantID)
	c.accounts.log.Info("wechat account authorised", "tenant", tenantID, "app_id", info.AppID)
	return saved, nil
}

// nickName asks WeChat for the authoriser's name (best effort).
func (c *Component) nickName(ctx context.Context, appID string) string {
	cfg, err := c.Config(ctx)
	if err != nil {
		return ""
	}
	var name string
	_ = c.call(ctx, "read the account's name", func(tok string) error {
		var res struct {
			util.CommonError
			Info struct {
				NickName string `json:"nick_name"`
			} `json:"authorizer_info"`
		}
		err := postJSON(ctx, componentAPI+"api_get_authorizer_info?component_access_token="+url.QueryEscape(tok),
			map[string]string{"component_appid": cfg.AppID, "authorizer_appid": appID}, &res)
		name = res.Info.NickName
		return err
	})
	return fault.Clip(name, 64)
}

// End records that the shop's authorisation no longer holds (reason says
// why) and drops its token: from now on the shop has no account on this
// replica (within a few seconds on the others, whose next token refresh
// fails meanwhile), so messages go to the inbox.
func (c *Component) End(ctx context.Context, tenantID, appID, reason string) error {
	for attempt := 0; ; attempt++ {
		cur, err := c.store.Authorization(ctx, tenantID)
		if errors.Is(err, fault.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if (appID != "" && cur.AppID != appID) || cur.Status != AuthAuthorized {
			return nil // another account, or already ended: nothing to do
		}
		cur.Status, cur.Reason, cur.Rev = AuthUnauthorized, reason, cur.Rev+1
		cur.UpdatedAt = c.accounts.now().UTC().Truncate(time.Millisecond)
		err = c.store.SaveAuthorization(ctx, cur)
		if errors.Is(err, fault.ErrConflict) && attempt < 5 {
			continue
		}
		if err != nil {
			return err
		}
		c.dropToken(ctx, tenantID, cur.AppID)
		c.accounts.forget(tenantID)
		c.accounts.log.Info("wechat authorisation ended", "tenant", tenantID, "app_id", cur.AppID, "reason", reason)
		return nil
	}
}

func (c *Component) dropToken(ctx context.Context, tenantID, appID string) {
	if err := c.accounts.platform.CacheDelete(ctx, c.accounts.authorizerTokens(tenantID, appID).key); err != nil {
		c.accounts.log.Warn("drop the authoriser's token", "tenant", tenantID, "app_id", appID, "err", err)
	}
}

// TenantForApp is the shop that authorised the account appID and still
// holds the authorisation; otherwise ErrNotFound.
func (c *Component) TenantForApp(ctx context.Context, appID string) (string, error) {
	if !appIDPattern.MatchString(appID) {
		return "", fault.NotFound("WeChat official account")
	}
	owner, err := c.accounts.appIDs.AppIDOwner(ctx, appID)
	if err != nil {
		return "", err
	}
	auth, err := c.store.Authorization(ctx, owner)
	if err != nil {
		return "", err
	}
	if auth.AppID != appID || auth.Status != AuthAuthorized {
		return "", fault.NotFound("WeChat official account")
	}
	return owner, nil
}
