package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"microshop/distribution"
	"microshop/shop/catalog"
	"microshop/shop/demo"
	"microshop/shop/fan"
	"microshop/shop/message"
	"microshop/shop/order"
	"microshop/shop/pcstore"
	"microshop/shop/pcstore/source"
	"microshop/shop/points"
	"microshop/static"
	"microshop/templates"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// schemas lists what every tenant database holds, one entry per domain.
var schemas = []engine.Schema{catalog.Schema, fan.Schema, order.Schema, pcstore.Schema, wechat.Schema, distribution.Schema,
	points.Schema, message.Schema}

// app is the wired platform: engine, services and the HTTP router.
type app struct {
	cfg     Config
	log     *slog.Logger
	engine  *engine.Engine
	tenants *tenants.Service
	catalog *catalog.Catalog
	orders  *order.Service
	pcstore *pcstore.Syncer
	leaser  *tenants.Leaser
	wechat  *weChat
	dist    *distribution.Service
	points  *points.Service
	msgs    *message.Service
	assets  *static.Assets
	echo    *echo.Echo
}

// openEngine opens the engine the configuration names.
func openEngine(ctx context.Context, cfg Config) (*engine.Engine, error) {
	if cfg.MongoURI != "" {
		return tenants.OpenMongo(ctx, cfg.MongoURI, cfg.MongoDB, nil, schemas...)
	}
	return tenants.OpenSQLite(cfg.DataDir, schemas...)
}

// newApp builds everything over an opened engine. It is what run does,
// and what tests call to get the real router on a real engine.
func newApp(ctx context.Context, cfg Config, log *slog.Logger, engine *engine.Engine) (*app, error) {
	store := tenants.NewStore(engine)
	secret := cfg.Secret
	if secret == "" {
		var err error
		secret, err = store.Secret(ctx, "session", randomSecret)
		if err != nil {
			return nil, fmt.Errorf("session secret: %w", err)
		}
	}
	svc := tenants.NewService(engine, store, log)
	codec := tenants.NewSessionCodec([]byte(secret))

	catalogStore := catalog.NewStore(engine)
	shelf := catalog.NewShelf(catalogStore, cfg.ShelfRefresh)
	cat := catalog.New(catalogStore, shelf)

	assets, err := static.New()
	if err != nil {
		return nil, fmt.Errorf("static assets: %w", err)
	}
	renderer, err := templates.New(template.FuncMap{"static": assets.URL, "yuan": catalog.FormatYuan}, cfg.DevTemplates)
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Renderer = renderer
	e.HTTPErrorHandler = fault.Handler(log)
	e.IPExtractor = echo.ExtractIPDirect()
	if cfg.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	}
	e.Use(recoverer(log), middleware.RequestID(), middleware.BodyLimit(strconv.FormatInt(cfg.BodyLimit, 10)+"B"))
	if cfg.AccessLog {
		e.Use(accessLog(log))
	}
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ReferrerPolicy: "strict-origin-when-cross-origin", HSTSMaxAge: hstsAge(cfg.SecureCookies),
		ContentSecurityPolicy: "default-src 'self'; img-src 'self' https: http: data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
	}))

	csrf := middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup: "form:_csrf", CookieName: "ms_csrf", CookiePath: "/", CookieHTTPOnly: true,
		CookieSecure: cfg.SecureCookies, CookieSameSite: http.SameSiteStrictMode,
	})

	fanStore := fan.NewStore(engine)
	orders := order.NewService(order.NewStore(engine), cat, fanStore, log)
	a := &app{cfg: cfg, log: log, engine: engine, tenants: svc, catalog: cat, orders: orders,
		leaser: tenants.NewLeaser(store), assets: assets, echo: e}
	a.dist = distribution.New(engine, distribution.Config{Locker: a.leaser, Shops: svc, Fans: fanStore, Orders: orders, Log: log, BaseURL: cfg.BaseURL})
	orders.SetAttributor(a.dist)
	orders.Subscribe(a.dist)

	// Operations.
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/readyz", a.ready)
	e.GET("/static/*", assets.Handler)

	// Platform pages and the unauthenticated part of the API.
	web := tenants.NewWeb(svc, codec, cfg.SecureCookies)
	web.Routes(e.Group("", csrf), e.Group("/api/v1"))

	// Merchant API and console.
	api := e.Group("/api/v1", svc.APIKeyAuth())
	admin := e.Group("/admin", csrf, svc.SessionAuth(codec))
	products := catalog.NewHandlers(cat, shelf, cfg.BaseURL)
	products.APIRoutes(api)
	products.AdminRoutes(admin)
	orderHandlers := order.NewHandlers(orders, order.NewSandbox([]byte("sandbox-pay:"+secret)), cfg.BaseURL)
	orderHandlers.APIRoutes(api)
	orderHandlers.AdminRoutes(admin)
	distHandlers := distribution.NewHandlers(a.dist)
	distHandlers.APIRoutes(api)
	distHandlers.AdminRoutes(admin)
	a.pcstore = pcstore.NewSyncer(pcstore.NewStore(engine), cat, a.leaser, store, source.NewClient(), log)
	pcs := pcstore.NewHandlers(a.pcstore, cfg.BaseURL)
	pcs.APIRoutes(api)
	pcs.AdminRoutes(admin)
	pcs.PublicRoutes(e.Group("/s/:slug", svc.ShopBySlug())) // the PC store's widget: no fan cookie

	// Storefront.
	e.GET("/s/:slug", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, "/s/"+c.Param("slug")+"/")
	})
	fans := fan.NewIdentity([]byte(secret), cfg.SecureCookies)
	if a.wechat, err = newWeChat(cfg, log, engine, store); err != nil {
		return nil, err
	}
	fans = a.wechat.identity(fans)
	// WeChat follows and scans through guides' and distributors' codes
	// attribute like visits through their links.
	a.wechat.fans.WithAttributor(a.dist).WithMerger(a.dist)
	storefront := e.Group("/s/:slug", svc.ShopBySlug(), fans.Middleware())
	storefront.Use(distHandlers.Touches()) // ?g= ?d= ?ch= on any storefront page
	distHandlers.StorefrontRoutes(storefront)
	if a.wechat.sim == nil { // live WeChat: guides' and distributors' QR codes are WeChat parametric codes
		a.dist.SetWeChatQR(a.wechat.accounts)
	}
	products.StorefrontRoutes(storefront)
	orderHandlers.StorefrontRoutes(storefront)
	orderHandlers.PageRoutes(storefront)
	orderHandlers.NotifyRoutes(e.Group("/pay/notify/:slug", svc.ShopBySlug()))
	a.wechat.mount(e, svc, api, admin, storefront, fans, cfg.BaseURL)

	// Check-in points and fan messaging.
	a.msgs = message.NewService(message.Options{Store: message.NewStore(engine), Fans: fanStore,
		Sender: message.WeChatSender{Accounts: a.wechat.accounts}, Tenants: svc, Leaser: a.leaser, BaseURL: cfg.BaseURL, Log: log})
	a.points = points.NewService(points.NewStore(engine), fanStore, svc, log)
	a.points.SetNotifier(a.msgs)
	a.points.SetAudience(a.msgs)
	a.points.SetInteraction(a.msgs)
	a.wechat.fans.WithResponder(a.points) // the check-in keyword and menu button in WeChat
	orders.SetDiscounter(a.points)
	orders.Subscribe(a.points)
	orders.Subscribe(a.msgs)
	pointsHandlers := points.NewHandlers(a.points)
	pointsHandlers.APIRoutes(api)
	pointsHandlers.AdminRoutes(admin)
	pointsHandlers.StorefrontRoutes(storefront)
	messageHandlers := message.NewHandlers(a.msgs)
	messageHandlers.APIRoutes(api)
	messageHandlers.AdminRoutes(admin)
	messageHandlers.StorefrontRoutes(storefront)
	return a, nil
}

func (a *app) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := a.engine.Ping(ctx); err != nil {
		a.log.Warn("not ready", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unreachable")
	}
	return c.String(http.StatusOK, "ready")
}

// prepare ensures every tenant's schema and opens the demo shop on a fresh
// store.
func (a *app) prepare(ctx context.Context) error {
	start := time.Now()
	n, err := a.tenants.EnsureSchemas(ctx)
	if err != nil {
		return fmt.Errorf("ensure schemas: %w", err)
	}
	a.log.Info("schemas ensured", "shops", n, "took", time.Since(start).Round(time.Millisecond))
	if !a.cfg.Demo || n > 0 {
		return nil
	}
	t, password, err := demo.Seed(ctx, a.tenants, a.catalog, func(i int) string {
		return a.assets.URL(fmt.Sprintf("demo/p%02d.svg", i))
	})
	if err != nil {
		return err
	}
	a.log.Info("demo shop opened", "storefront", "/s/"+t.Slug+"/", "console", "/login",
		"email", demo.Email, "password", password)
	return nil
}

func randomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func hstsAge(secure bool) int {
	if secure {
		return 31536000
	}
	return 0
}

// cronLease bounds how long one replica may hold the periodic pass before
// another may take over (it is renewed while the pass runs).
const cronLease = 2 * time.Minute

// runOrderJobs is the periodic order pass over every shop (unpaid timeouts,
// interrupted placements, auto-completion, pending events), run by one
// replica at a time under a lease.
func (a *app) runOrderJobs(ctx context.Context) {
	ran, err := a.leaser.Run(ctx, "cron:orders", cronLease, func(ctx context.Context) error {
		ids, err := a.tenants.Store().TenantIDs(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			r, err := a.orders.RunJobs(ctx, id)
			if err != nil {
				a.log.Error("order jobs", "tenant", id, "err", err)
				continue
			}
			if r != (order.JobReport{}) {
				a.log.Info("order jobs", "tenant", id, "expired", r.Expired, "recovered", r.Recovered,
					"completed", r.Completed, "dispatched", r.Dispatched)
			}
		}
		return nil
	})
	if err != nil {
		a.log.Error("order jobs", "err", err)
	} else if !ran {
		a.log.Debug("order jobs: another replica holds the lease")
	}
}

// runDistributionJobs is the periodic distribution pass over every shop
// (settle commission past its after-sale window, close decided
// withdrawals, roll team sales up the tree), run by one replica at a time
// under a lease.
func (a *app) runDistributionJobs(ctx context.Context) {
	ran, err := a.leaser.Run(ctx, "cron:distribution", cronLease, func(ctx context.Context) error {
		ids, err := a.tenants.Store().TenantIDs(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			r, err := a.dist.RunJobs(ctx, id)
			if err != nil {
				a.log.Error("distribution jobs", "tenant", id, "err", err)
				continue
			}
			if r != (distribution.JobReport{}) {
				a.log.Info("distribution jobs", "tenant", id, "settled", r.Settled, "closed", r.Closed, "rolled", r.Rolled)
			}
		}
		return nil
	})
	if err != nil {
		a.log.Error("distribution jobs", "err", err)
	} else if !ran {
		a.log.Debug("distribution jobs: another replica holds the lease")
	}
}

// runPointsJobs is the periodic points pass over every shop (repair
// interrupted check-in awards, expire due lots once each, expiry and
// daily check-in reminders), run by one replica at a time under a lease.
func (a *app) runPointsJobs(ctx context.Context) {
	ran, err := a.leaser.Run(ctx, "cron:points", cronLease, func(ctx context.Context) error {
		ids, err := a.tenants.Store().TenantIDs(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			r, err := a.points.RunJobs(ctx, id)
			if err != nil {
				a.log.Error("points jobs", "tenant", id, "err", err)
				continue
			}
			if r != (points.JobReport{}) {
				a.log.Info("points jobs", "tenant", id, "flushed", r.Flushed, "repaired", r.Repaired, "expired", r.Expired,
					"expiry_reminders", r.ExpiryReminders, "checkin_reminders", r.CheckinReminders)
			}
		}
		return nil
	})
	if err != nil {
		a.log.Error("points jobs", "err", err)
	} else if !ran {
		a.log.Debug("points jobs: another replica holds the lease")
	}
}

// messageBudget bounds one shop's share of a message pass.
const messageBudget = 10 * time.Second

// runMessageJobs is the periodic messaging pass over every shop (refresh
// the audience hourly, start scheduled campaigns, send what is due, retry,
// resolve deliveries a dead replica left), run by one replica at a time
// under a lease; each shop's dispatch also holds the shop's own lease.
func (a *app) runMessageJobs(ctx context.Context) {
	ran, err := a.leaser.Run(ctx, "cron:messages", cronLease, func(ctx context.Context) error {
		ids, err := a.tenants.Store().TenantIDs(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			r, err := a.msgs.RunJobs(ctx, id, messageBudget)
			if err != nil {
				a.log.Error("message jobs", "tenant", id, "err", err)
				continue
			}
			if r != (message.Report{}) {
				a.log.Info("message jobs", "tenant", id, "started", r.Started, "sent", r.Sent, "inbox", r.Inbox,
					"skipped", r.Skipped, "failed", r.Failed, "retried", r.Retried, "recovered", r.Recovered, "done", r.Done)
			}
		}
		return nil
	})
	if err != nil {
		a.log.Error("message jobs", "err", err)
	} else if !ran {
		a.log.Debug("message jobs: another replica holds the lease")
	}
}
