package wechat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/secret"
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

// ComponentOptions configure the component.
type ComponentOptions struct {
	// LoginPageURL replaces WeChat's authorisation page
	// (https://mp.weixin.qq.com/cgi-bin/componentloginpage) in the links
	// the console sends merchants to; the sandbox's page in sandbox mode.
	LoginPageURL string
	// Box seals the component's secrets and the authorisations' refresh
	// tokens at rest (seal.go); nil keeps them as they are.
	Box *secret.Box
}

// Component is the platform's third-party platform.
type Component struct {
	accounts *Accounts
	store    componentStore
	opts     ComponentOptions
	saved    func(ComponentConfig)
	setUp    SetUpper

	mu          sync.Mutex
	libDefaults []NoticeTemplate
	cfg         ComponentConfig
	cfgOK       bool
	cfgAt       time.Time
}

// NewComponent adds the component's records to the platform database and
// plugs the component into accounts: from then on a shop that authorised
// its account gets a client on the authorisation.
func NewComponent(ctx context.Context, e *engine.Engine, accounts *Accounts, opts ComponentOptions) (*Component, error) {
	store, err := newComponentStore(ctx, e)
	if err != nil {
		return nil, err
	}
	if opts.Box != nil {
		store = sealedComponentStore{componentStore: store, box: opts.Box}
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
	if errors.Is(err, secret.ErrWrongKey) {
		err = nil // secrets sealed under a lost key: stored empty, to be entered again
	}
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

// View is the configuration for the ops console. Secrets sealed under a
// lost key are left out, and the error says so (the view is still good).
func (c *Component) View(ctx context.Context) (ComponentView, error) {
	cfg, err := c.store.Config(ctx)
	if errors.Is(err, fault.ErrNotFound) {
		return ComponentView{}, nil
	}
	lost := errors.Is(err, secret.ErrWrongKey) // shown without the secrets, to be entered again
	if err != nil && !lost {
		return ComponentView{}, err
	}
	v := ComponentView{Configured: true, AppID: cfg.AppID, AppSecret: Mask(cfg.AppSecret), Token: Mask(cfg.Token),
		EncodingAESKey: Mask(cfg.EncodingAESKey), UpdatedAt: cfg.UpdatedAt}
	if _, at, err := c.ticket(ctx, cfg); err == nil {
		v.TicketAt = at
	}
	if lost {
		return v, wrongKeyError{}
	}
	return v, nil
}
