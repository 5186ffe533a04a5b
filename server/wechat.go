package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/silenceper/wechat/v2/util"
	"github.com/sirupsen/logrus"

	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/secret"
	"microshop/tenants/wechat"
	"microshop/tenants/wechat/paysim"
	"microshop/tenants/wechat/sandbox"
)

// sandboxAuthorizePath is where the sandbox's web-OAuth page is mounted
// (WeChat's is https://open.weixin.qq.com/connect/oauth2/authorize).
const sandboxAuthorizePath = "/sandbox/wx/connect/oauth2/authorize"

// wechatProcess holds the WeChat SDK's process-wide settings, made once per
// process: the SDK forces them to be global (its URI modifier, the
// http.DefaultClient it calls WeChat with, logrus).
var wechatProcess struct {
	once    sync.Once
	sandbox bool
	sim     *sandbox.Simulator
	err     error
}

// setUpWeChat makes the process-wide settings the first time it is called:
// logrus (which the SDK logs every push to) down to warnings, a timeout on
// http.DefaultClient (the SDK sets none), and in sandbox mode the
// in-process simulator with the SDK's URI modifier pointed at it. Later
// calls return the same simulator; asking for the other mode is an error.
func setUpWeChat(mode string, log *slog.Logger) (*sandbox.Simulator, error) {
	p := &wechatProcess
	p.once.Do(func() {
		logrus.SetLevel(logrus.WarnLevel)
		http.DefaultClient.Timeout = wechat.HTTPTimeout
		p.sandbox = mode == "sandbox"
		if !p.sandbox {
			return
		}
		sim := sandbox.New(sandbox.Options{Log: log})
		if err := sim.Start(); err != nil {
			p.err = fmt.Errorf("start the wechat sandbox: %w", err)
			return
		}
		util.SetURIModifier(sim.Rewrite)
		p.sim = sim
		log.Info("wechat sandbox started: the WeChat API is simulated in process", "api", sim.BaseURL())
	})
	if p.err != nil {
		return nil, p.err
	}
	if p.sandbox != (mode == "sandbox") {
		return nil, fmt.Errorf("--wechat=%s: this process already runs WeChat in the other mode", mode)
	}
	return p.sim, nil
}

// weChat is the WeChat part of the app: each shop's account and client, the
// fans (push endpoint, conversations, OAuth), and in sandbox mode the
// simulator's pages.
type weChat struct {
	accounts *wechat.Accounts
	fans     *fan.Service
	login    *fan.WeChatLogin
	sim      *sandbox.Simulator // nil when live
	log      *slog.Logger
	// box seals the WeChat secrets kept at rest (tenants/secret).
	box *secret.Box
}

// newWeChat builds the WeChat part over the platform store and the shared
// fan store, sealing its secrets with box; the server then connects the fans to distribution and points.
func newWeChat(cfg Config, log *slog.Logger, engine *engine.Engine, store tenants.Store, fanStore fan.Store, box *secret.Box) (*weChat, error) {
	mode := cfg.WeChat
	if mode == "" {
		mode = "sandbox" // the default (a Config built in code, as the tests do)
	}
	sim, err := setUpWeChat(mode, log)
	if err != nil {
		return nil, err
	}
	opts := wechat.Options{Sandbox: sim != nil, Log: log}
	if sim != nil {
		opts.AuthorizeURL = sandboxAuthorizePath
		opts.Released = sim.Forget // an AppID a shop gives up starts afresh for its next owner
	}
	accounts := wechat.New(wechat.SealStore(wechat.NewStore(engine), box), store, opts)
	fans := fan.NewService(fanStore, accounts, nil, log) // attribution: set by newServices
	return &weChat{accounts: accounts, fans: fans, login: fan.NewWeChatLogin(fans, accounts, cfg.BaseURL, log), sim: sim, log: log, box: box}, nil
}

// secretBox is the platform's key for secrets at rest: --secret-key
// (MICROSHOP_SECRET_KEY), else the key file beside the platform database
// (SQLite: platform.db's directory; MongoDB: the data directory), made
// once. A MongoDB platform without a data directory (tests) gets a key for
// the process's life. While the key is rotated, the keys before it
// (--secret-key-previous, MICROSHOP_SECRET_KEY_PREVIOUS) open what they
// sealed (secret.Box.WithPrevious).
func secretBox(cfg Config, e *engine.Engine, log *slog.Logger) (*secret.Box, error) {
	box, src, path, err := secret.Load(cfg.SecretKey, secretKeyDir(cfg, e))
	if err != nil {
		return nil, err
	}
	previous, err := secret.ParseList(cfg.SecretKeyPrevious)
	if err != nil {
		return nil, fmt.Errorf("--secret-key-previous (MICROSHOP_SECRET_KEY_PREVIOUS): %w", err)
	}
	if len(previous) > 0 {
		box = box.WithPrevious(previous...)
		log.Info("secrets at rest: previous keys open what they sealed; run microshop secret reseal, then drop them",
			"key_id", box.ID(), "previous_key_ids", strings.Join(box.PreviousIDs(), ","))
	}
	switch src {
	case secret.FromNewFile:
		log.Warn("generated the key sealing stored secrets: back it up, it cannot be recovered", "file", path, "key_id", box.ID())
	case secret.FromEphemeral:
		log.Warn("secrets at rest are sealed with a key that lasts as long as the process (no data directory, no MICROSHOP_SECRET_KEY)")
	default:
		log.Info("secrets at rest sealed", "key", string(src), "file", path, "key_id", box.ID())
	}
	return box, nil
}

// secretKeyDir is where the key file is (secretBox): platform.db's
// directory on SQLite, the data directory on MongoDB.
func secretKeyDir(cfg Config, e *engine.Engine) string {
	if e.Kind() == engine.SQLite {
		var seq int
		var name, file string
		if err := e.PlatformSQL().QueryRow(`PRAGMA database_list`).Scan(&seq, &name, &file); err == nil && file != "" {
			return filepath.Dir(file)
		}
	}
	return cfg.DataDir
}

// identity adds WeChat sign-in to the storefront's fan identity.
func (w *weChat) identity(i *fan.Identity) *fan.Identity { return i.WithWeChat(w.login) }

// mount adds the WeChat routes: the push endpoint (push is /wx/{slug}), the
// fans and WeChat settings in the API and the console, the OAuth callback
// in the storefront, and in sandbox mode the phone, the outbox and the
// simulated OAuth page.
func (w *weChat) mount(e *echo.Echo, push, api, admin, storefront *echo.Group, ids *fan.Identity, baseURL string) {
	handlers := fan.NewHandlers(w.fans, w.accounts)
	handlers.PushRoutes(push)
	handlers.APIRoutes(api)
	handlers.AdminRoutes(admin)
	settings := wechat.NewHandlers(w.accounts, baseURL)
	settings.APIRoutes(api)
	settings.AdminRoutes(admin)
	ids.StorefrontRoutes(storefront)
	if w.sim != nil {
		sandbox.NewPhone(w.sim, w.accounts, e, w.log).AdminRoutes(admin)
		e.GET(sandboxAuthorizePath, echo.WrapHandler(w.sim.AuthorizeHandler()))
	}
}

// setUpWeChatPay plugs WeChat Pay (API v3) into the orders: the real one
// with --wechat=live; otherwise the simulator (tenants/wechat/paysim), in
// process, where shops without a merchant account of their own are given
// generated credentials.
func (a *app) setUpWeChatPay() error {
	if a.cfg.WeChat == "live" {
		a.orders.SetWeChatPay(order.NewWeChatPay(a.metrics.countCalls("wechat_pay", order.PayHTTPClient()), nil))
		return nil
	}
	sim, err := paysim.New(paysim.Options{Log: a.log})
	if err != nil {
		return fmt.Errorf("start the wechat pay sandbox: %w", err)
	}
	a.paysim = sim
	a.orders.SetWeChatPay(order.NewWeChatPay(a.metrics.countCalls("wechat_pay", sim.Client()), sim))
	return nil
}
