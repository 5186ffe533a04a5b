package wechat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount"
	offconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
	"microshop/tenants/secret"
)

// HTTPTimeout bounds every call to WeChat. Calls that take a context get it
// as a deadline; the SDK makes the others with http.DefaultClient, whose
// Timeout the server sets to this once (a process-wide setting the SDK
// forces, like its URI modifier).
const HTTPTimeout = 10 * time.Second

// settingsTTL is how long settings stay cached in memory: a change made on
// another replica shows within it.
const settingsTTL = 5 * time.Second

// Options configure Accounts.
type Options struct {
	// Sandbox: the SDK talks to the simulator, and shops without settings
	// get generated sandbox credentials.
	Sandbox bool
	// AuthorizeURL replaces WeChat's OAuth page
	// (https://open.weixin.qq.com/connect/oauth2/authorize) in the links
	// the storefront sends browsers to; the sandbox's page in sandbox mode.
	AuthorizeURL string
	// Timeout bounds each WeChat call (default HTTPTimeout).
	Timeout time.Duration
	// Released, if set, is called with an AppID its shop gave up (saved
	// another one). The server points it at the sandbox, which forgets the
	// account, so nothing of it reaches the AppID's next owner.
	Released func(appID string)
	Log      *slog.Logger
	Now      func() time.Time
}

// Accounts gives each shop its WeChat settings and its SDK client.
type Accounts struct {
	store    Store
	platform tenants.Store
	appIDs   AppIDs
	leaser   *tenants.Leaser
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	keyedLocks
	// component is the platform's WeChat third-party platform, through
	// which shops authorise their accounts (component.go); nil: none.
	component *Component

	mu    sync.Mutex
	cache map[string]cachedAccount
	// fields keeps the accounts' templates' fields (template_fields.go).
	fields templateFieldCache

	fetches atomic.Int64 // access tokens fetched by this process
}

type cachedAccount struct {
	acct    *Account
	err     error
	expires time.Time
}

// New returns the accounts service: settings in each shop's database
// (store), tokens in the platform database (platform).
func New(store Store, platform tenants.Store, opts Options) *Accounts {
	if opts.Timeout <= 0 {
		opts.Timeout = HTTPTimeout
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Accounts{store: store, platform: platform, appIDs: platform, leaser: tenants.NewLeaser(platform), opts: opts,
		log: opts.Log, now: opts.Now, cache: map[string]cachedAccount{}}
}

// Sandbox reports whether the server runs against the simulator.
func (a *Accounts) Sandbox() bool { return a.opts.Sandbox }

// TokenFetches counts the access tokens this process fetched from WeChat.
func (a *Accounts) TokenFetches() int64 { return a.fetches.Load() }

// Settings returns the shop's usable settings: ErrNotFound when it has none
// (or, on a live server, only sandbox ones); a conflict on app_id when
// another shop holds its AppID. In sandbox mode a shop without settings is
// given generated ones first.
func (a *Accounts) Settings(ctx context.Context, tenantID string) (Settings, error) {
	s, err := a.store.Settings(ctx, tenantID)
	if errors.Is(err, fault.ErrNotFound) && a.opts.Sandbox {
		s, err = a.generate(ctx, tenantID)
	}
	if err != nil {
		return Settings{}, err
	}
	if s.Sandbox && !a.opts.Sandbox {
		return Settings{}, fault.NotFound("wechat settings")
	}
	if err := a.own(ctx, tenantID, s.AppID); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// generate gives a shop without settings sandbox credentials, its AppID
// claimed first. Two requests racing here both claim and insert; the second
// loses on the settings' key, gives its AppID back and reads the winner's.
func (a *Accounts) generate(ctx context.Context, tenantID string) (Settings, error) {
	gen := SandboxSettings(a.now().UTC().Truncate(time.Millisecond))
	// The welcome fans get speaks the shop's language.
	lang := i18n.Default
	if t, err := a.platform.TenantByID(ctx, tenantID); err == nil {
		lang = t.Language()
	}
	gen.Welcome = i18n.T(i18n.WithLang(ctx, lang), "wechat.default_welcome")
	if err := a.claim(ctx, tenantID, gen.AppID); err != nil {
		return Settings{}, err
	}
	err := a.store.SaveSettings(ctx, tenantID, gen)
	if err != nil {
		a.releaseUnused(ctx, tenantID, gen.AppID)
		if !errors.Is(err, fault.ErrConflict) {
			return Settings{}, err
		}
	} else {
		a.log.Info("wechat sandbox account created", "tenant", tenantID, "app_id", gen.AppID)
	}
	return a.store.Settings(ctx, tenantID)
}

// Unusable reports whether the shop's stored settings are sandbox
// credentials on a live server (which Settings treats as none), for the
// console to say so.
func (a *Accounts) Unusable(ctx context.Context, tenantID string) bool {
	if a.opts.Sandbox {
		return false
	}
	s, err := a.store.Settings(ctx, tenantID)
	return err == nil && s.Sandbox
}

// Save validates in and stores it over the shop's settings. The AppID must
// be the shop's own: one another shop holds is a conflict on app_id. Saving
// another AppID releases the previous one.
func (a *Accounts) Save(ctx context.Context, tenantID string, in Input) (Settings, error) {
	for attempt := 0; ; attempt++ {
		cur, err := a.store.Settings(ctx, tenantID)
		if errors.Is(err, secret.ErrWrongKey) {
			err = nil // secrets sealed under a lost key: stored empty, to be entered again
		}
		exists := err == nil
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return Settings{}, err
		}
		s, err := in.apply(cur, exists)
		if err != nil {
			return Settings{}, err
		}
		if err := a.claim(ctx, tenantID, s.AppID); err != nil {
			return Settings{}, err
		}
		s.Rev = cur.Rev + 1
		s.UpdatedAt = a.now().UTC().Truncate(time.Millisecond)
		err = a.store.SaveSettings(ctx, tenantID, s)
		if errors.Is(err, fault.ErrConflict) && attempt < 5 {
			continue // the next round claims again: a no-op
		}
		if err != nil {
			if s.AppID != cur.AppID {
				a.releaseUnused(ctx, tenantID, s.AppID)
			}
			if errors.Is(err, fault.ErrConflict) {
				return Settings{}, fault.Conflict("the WeChat settings are being changed by someone else; try again")
			}
			return Settings{}, err
		}
		if cur.AppID != s.AppID {
			a.release(ctx, tenantID, cur.AppID)
		}
		a.forget(tenantID)
		return s, nil
	}
}

// forget drops the shop's cached account on this replica.
func (a *Accounts) forget(tenantID string) {
	a.mu.Lock()
	delete(a.cache, tenantID)
	a.mu.Unlock()
}

// Account returns the shop's WeChat client; ErrNotFound when the shop has
// no official account (or its AppID is another shop's).
func (a *Accounts) Account(ctx context.Context, tenantID string) (*Account, error) {
	now := a.now()
	a.mu.Lock()
	c, ok := a.cache[tenantID]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.acct, c.err
	}
	s, auth, err := a.accountSettings(ctx, tenantID) // an authorised account first (component.go)
	if err != nil && !errors.Is(err, fault.ErrNotFound) && !errors.Is(err, fault.ErrConflict) {
		return nil, err // do not cache outages
	}
	// A shop whose AppID another shop holds has no account here, as one
	// without settings (the console says why).
	var acct *Account
	if err == nil {
		if ok && c.acct != nil && c.acct.Settings.Rev == s.Rev && c.acct.Settings.AppID == s.AppID && (c.acct.platform == nil) == (auth == nil) {
			acct = c.acct // unchanged: keep the client
		} else if auth != nil {
			acct = a.authorizedAccount(tenantID, s, *auth)
		} else {
			acct = a.newAccount(tenantID, s)
		}
	} else {
		err = fault.NotFound("WeChat official account")
	}
	a.mu.Lock()
	if len(a.cache) > 50_000 {
		clear(a.cache)
	}
	a.cache[tenantID] = cachedAccount{acct: acct, err: err, expires: now.Add(settingsTTL)}
	a.mu.Unlock()
	return acct, err
}

func (a *Accounts) newAccount(tenantID string, s Settings) *Account {
	tokens := newTokenSource(a, tenantID, s)
	oa := officialaccount.NewOfficialAccount(&offconfig.Config{AppID: s.AppID, AppSecret: s.AppSecret, Token: s.Token,
		EncodingAESKey: s.EncodingAESKey,
		Cache:          NewCache(a.platform, "wechat:sdk:"+tenantID+":", a.now)})
	oa.SetAccessTokenHandle(tokens)
	return &Account{TenantID: tenantID, Settings: s, oa: oa, tokens: tokens, accounts: a}
}

// Account is one shop's official account client. It is safe for
// concurrent use.
type Account struct {
	TenantID string
	Settings Settings
	oa       *officialaccount.OfficialAccount
	tokens   *tokenSource
	accounts *Accounts
	// platform is set when the shop authorised the account to the
	// platform's third-party platform (component.go): no AppSecret, pushes
	// signed with the platform's token and key.
	platform *authorizedAccount
}

// AccessToken returns a valid access token.
func (a *Account) AccessToken(ctx context.Context) (string, error) {
	return a.tokens.GetAccessTokenContext(ctx)
}

// call runs fn, an SDK call that fetches its token from the shared cache;
// when WeChat says the token is stale it drops that token, so the next
// fetch gets a new one, and runs fn once more. Errors come back as
// *APIError saying what failed.
func (a *Account) call(ctx context.Context, what fault.Word, fn func() error) error {
	ctx, cancel := context.WithTimeout(ctx, a.accounts.opts.Timeout)
	defer cancel()
	tok, err := a.tokens.GetAccessTokenContext(ctx)
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return err
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	err = fn()
	if code := ErrCode(err); staleToken(code) {
		a.accounts.log.Info("wechat token rejected; refreshing and retrying once", "tenant", a.TenantID, "errcode", code)
		if ierr := a.tokens.invalidate(ctx, tok); ierr != nil {
			return fmt.Errorf("%s: drop stale token: %w", what, ierr)
		}
		err = fn()
	}
	if err != nil {
		return wechatError(what, err)
	}
	return nil
}

// SendText sends a customer-service text message to a fan. WeChat's rules
// (48 hours, 5 messages) are the caller's to check first; WeChat enforces
// them too (errcodes 45015, 45047).
func (a *Account) SendText(ctx context.Context, openID, text string) error {
	return a.call(ctx, "send the message", func() error {
		return a.oa.GetCustomerMessageManager().Send(message.NewCustomerTextMessage(openID, text))
	})
}

// SendTemplate sends a template message (service notices only) and returns
// WeChat's message id; its data is fitted to the template's fields first
// (template_fields.go).
func (a *Account) SendTemplate(ctx context.Context, msg *message.TemplateMessage) (int64, error) {
	if fields, ok := a.templateFields(ctx, msg.TemplateID); ok {
		fitTemplateMessage(msg, fields)
	}
	var id int64
	err := a.call(ctx, "send the template message", func() error {
		var err error
		id, err = a.oa.GetTemplate().Send(msg)
		return err
	})
	return id, err
}

// AuthorizeURL is the web-OAuth link (snsapi_base: silent, gives the
// openid) that returns the browser to redirectURI with a code and state.
func (a *Account) AuthorizeURL(redirectURI, state string) string {
	if a.platform != nil {
		return a.platformAuthorizeURL(redirectURI, state)
	}
	u, _ := a.oa.GetOauth().GetRedirectURL(redirectURI, "snsapi_base", state)
	if base := a.accounts.opts.AuthorizeURL; base != "" {
		u = strings.Replace(u, "https://open.weixin.qq.com/connect/oauth2/authorize", base, 1)
	}
	return u
}

// OpenID exchanges an OAuth code (single use, five minutes) for the fan's
// openid.
func (a *Account) OpenID(ctx context.Context, code string) (string, error) {
	if a.platform != nil {
		return a.platformOpenID(ctx, code)
	}
	ctx, cancel := context.WithTimeout(ctx, a.accounts.opts.Timeout)
	defer cancel()
	res, err := a.oa.GetOauth().GetUserAccessTokenContext(ctx, code)
	if err != nil {
		return "", wechatError("sign the fan in", err)
	}
	if res.OpenID == "" {
		return "", &APIError{Err: fault.New(http.StatusBadGateway, "wechat_error", "WeChat sign-in returned no openid")}
	}
	return res.OpenID, nil
}
