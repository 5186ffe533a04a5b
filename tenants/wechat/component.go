package wechat

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount"
	offconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// The platform's WeChat third-party platform (开放平台 "component").
//
// Instead of pasting an official account's AppID, AppSecret, Token and
// EncodingAESKey, a merchant authorises the platform's third-party platform
// to act for the account: "Connect with WeChat" in the console asks WeChat
// for a pre-auth code, sends the merchant to WeChat's authorisation page
// (the account's administrator scans and confirms), and WeChat returns to
// the console's callback with an auth code, which gives the authoriser's
// access token and refresh token.
//
//   - The operator configures the component (AppID, secret, token, key)
//     once, at /ops/wechat; it lives in the platform database
//     (wx_component).
//   - WeChat pushes the component verify ticket every 10 minutes to
//     /wx/component/events (signed and AES-encrypted with the component's
//     token and key, like a safe-mode push): it is kept in the shared cache.
//   - The component access token and each authoriser's access token are
//     tokens like an account's (token.go): in the shared cache, refreshed
//     before expiry by one replica at a time under a lease, dropped and
//     refreshed once when WeChat calls them stale.
//   - A shop's authorisation (the authoriser's AppID, its refresh token,
//     what it granted, whether it still holds) is a platform record
//     (wx_authorizations, one per shop), its AppID claimed in the AppID
//     registry like a pasted one. While it holds, Accounts.Account gives the
//     shop a client on it (no AppSecret; pushes verified with the
//     component's token and key); an "unauthorized" event (or a refresh
//     token WeChat no longer takes) ends it at once, and the shop has no
//     account (messages go to the inbox) until it authorises again or
//     pastes credentials.
//   - Messages and events for authorised accounts arrive at
//     /wx/component/{appid}/callback, which the server routes to the shop
//     holding the AppID (TenantForApp) and serves as the shop's own push.

// Authorisation states.
const (
	AuthAuthorized   = "authorized"
	AuthUnauthorized = "unauthorized"
)

// Why an authorisation ended (Authorization.Reason).
const (
	ReasonUnauthorized  = "unauthorized"   // the administrator cancelled it in WeChat
	ReasonRefreshFailed = "refresh_failed" // WeChat no longer takes the refresh token
	ReasonDisconnected  = "disconnected"   // the merchant disconnected it in the console
)

const (
	// ticketLife is how long a verify ticket is kept (WeChat's last for 12
	// hours and come every 10 minutes).
	ticketLife = 12 * time.Hour
	// stateLife is how long a started authorisation may take.
	stateLife = 30 * time.Minute
	// componentLoginURL is WeChat's authorisation page.
	componentLoginURL = "https://mp.weixin.qq.com/cgi-bin/componentloginpage"
	componentAPI      = "https://api.weixin.qq.com/cgi-bin/component/"
	// CodeInvalidRefreshToken: WeChat no longer takes the authoriser's
	// refresh token (the authorisation was cancelled).
	CodeInvalidRefreshToken = 61023
	// CodeNotAuthorized: the account no longer authorises the component.
	CodeNotAuthorized = 61003
)

// ComponentConfig is the platform's third-party platform as the operator
// configured it.
type ComponentConfig struct {
	AppID              string    `bson:"app_id"`
	AppSecret          string    `bson:"app_secret"`
	Token              string    `bson:"token"`
	EncodingAESKey     string    `bson:"aes_key"`
	PrevEncodingAESKey string    `bson:"prev_aes_key"`
	Rev                int64     `bson:"rev"`
	UpdatedAt          time.Time `bson:"updated_at"`
}

// pushSettings are the settings pushes signed by the component carry: its
// token, its key (safe mode), its AppID inside the encrypted message.
func (c ComponentConfig) pushSettings() Settings {
	return Settings{AppID: c.AppID, Token: c.Token, EncodingAESKey: c.EncodingAESKey, PrevEncodingAESKey: c.PrevEncodingAESKey, Mode: Safe}
}

// ComponentInput is what the operator submits. Secrets left empty keep
// their stored value.
type ComponentInput struct {
	AppID          string `json:"app_id"`
	AppSecret      string `json:"app_secret"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
}

func (in ComponentInput) apply(cur ComponentConfig, exists bool) (ComponentConfig, error) {
	in.AppID = strings.TrimSpace(in.AppID)
	if !appIDPattern.MatchString(in.AppID) {
		return ComponentConfig{}, fault.Invalid("app_id", "must be wx followed by 16 letters or digits, as shown in the open platform's third-party platform page")
	}
	same := exists && in.AppID == cur.AppID
	s := cur
	if !same {
		s = ComponentConfig{Rev: cur.Rev}
	}
	s.AppID = in.AppID
	if err := setSecret(&s.AppSecret, strings.TrimSpace(in.AppSecret), same, "app_secret", secretPattern,
		"must be 32 letters or digits (AppSecret)", "is required for a new account"); err != nil {
		return ComponentConfig{}, err
	}
	if err := setSecret(&s.Token, strings.TrimSpace(in.Token), same, "token", tokenPattern,
		"must be 3 to 32 letters or digits, the same as the Token in the account's server settings",
		"is required: the message check Token of the third-party platform"); err != nil {
		return ComponentConfig{}, err
	}
	key := strings.TrimSpace(in.EncodingAESKey)
	switch {
	case key != "" && !validAESKey(key):
		return ComponentConfig{}, fault.Invalid("encoding_aes_key", "must be 43 letters or digits (EncodingAESKey)")
	case key != "" && key != s.EncodingAESKey:
		s.PrevEncodingAESKey, s.EncodingAESKey = s.EncodingAESKey, key
	case s.EncodingAESKey == "":
		return ComponentConfig{}, fault.Invalid("encoding_aes_key", "is required: the message key of the third-party platform")
	}
	return s, nil
}

// ComponentView is the configuration as the ops console shows it: secrets
// masked, with the addresses to enter in WeChat's open platform.
type ComponentView struct {
	Configured     bool      `json:"configured"`
	AppID          string    `json:"app_id,omitempty"`
	AppSecret      string    `json:"app_secret,omitempty"`
	Token          string    `json:"token,omitempty"`
	EncodingAESKey string    `json:"encoding_aes_key,omitempty"`
	TicketAt       time.Time `json:"ticket_at,omitzero"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
}

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

// ComponentOptions configure the component.
type ComponentOptions struct {
	// LoginPageURL replaces WeChat's authorisation page
	// (https://mp.weixin.qq.com/cgi-bin/componentloginpage) in the links
	// the console sends merchants to; the sandbox's page in sandbox mode.
	LoginPageURL string
}

// Component is the platform's third-party platform.
type Component struct {
	accounts *Accounts
	store    componentStore
	opts     ComponentOptions
	saved    func(ComponentConfig)
	setUp    SetUpper

	mu    sync.Mutex
	cfg   ComponentConfig
	cfgOK bool
	cfgAt time.Time
}

// NewComponent adds the component's records to the platform database and
// plugs the component into accounts: from then on a shop that authorised
// its account gets a client on the authorisation.
func NewComponent(ctx context.Context, e *engine.Engine, accounts *Accounts, opts ComponentOptions) (*Component, error) {
	store, err := newComponentStore(ctx, e)
	if err != nil {
		return nil, err
	}
	c := &Component{accounts: accounts, store: store, opts: opts}
	accounts.component = c
	return c, nil
}

// OnSaved has fn called after the operator saves the configuration (the
// server has the sandbox push a verify ticket at once).
func (c *Component) OnSaved(fn func(ComponentConfig)) { c.saved = fn }

// Config returns the component's configuration; none is ErrNotFound. It is
// kept a few seconds in memory, like shops' settings.
func (c *Component) Config(ctx context.Context) (ComponentConfig, error) {
	now := c.accounts.now()
	c.mu.Lock()
	if c.cfgOK && now.Sub(c.cfgAt) < settingsTTL {
		cfg := c.cfg
		c.mu.Unlock()
		return cfg, nil
	}
	c.mu.Unlock()
	cfg, err := c.store.Config(ctx)
	if err != nil {
		return ComponentConfig{}, err
	}
	c.mu.Lock()
	c.cfg, c.cfgOK, c.cfgAt = cfg, true, now
	c.mu.Unlock()
	return cfg, nil
}

// SaveConfig validates in and stores it over the configuration.
func (c *Component) SaveConfig(ctx context.Context, in ComponentInput) (ComponentConfig, error) {
	cur, err := c.store.Config(ctx)
	exists := err == nil
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return ComponentConfig{}, err
	}
	cfg, err := in.apply(cur, exists)
	if err != nil {
		return ComponentConfig{}, err
	}
	cfg.Rev = cur.Rev + 1
	cfg.UpdatedAt = c.accounts.now().UTC().Truncate(time.Millisecond)
	if err := c.store.SaveConfig(ctx, cfg); errors.Is(err, fault.ErrConflict) {
		return ComponentConfig{}, fault.Conflict("the WeChat settings are being changed by someone else; try again")
	} else if err != nil {
		return ComponentConfig{}, err
	}
	c.mu.Lock()
	c.cfgOK = false
	c.mu.Unlock()
	return cfg, nil
}

// View is the configuration for the ops console.
func (c *Component) View(ctx context.Context) (ComponentView, error) {
	cfg, err := c.store.Config(ctx)
	if errors.Is(err, fault.ErrNotFound) {
		return ComponentView{}, nil
	}
	if err != nil {
		return ComponentView{}, err
	}
	v := ComponentView{Configured: true, AppID: cfg.AppID, AppSecret: Mask(cfg.AppSecret), Token: Mask(cfg.Token),
		EncodingAESKey: Mask(cfg.EncodingAESKey), UpdatedAt: cfg.UpdatedAt}
	if _, at, err := c.ticket(ctx, cfg); err == nil {
		v.TicketAt = at
	}
	return v, nil
}

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
