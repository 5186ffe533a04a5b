// Long by design (over 500 lines): this is the one wiring file, where every
// store and service is built (newServices) and every route mounted
// (mountRoutes), so the whole app reads top to bottom in one place.

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"microshop/apidoc"
	"microshop/distribution"
	"microshop/market"
	"microshop/shop/aftersale"
	"microshop/shop/catalog"
	"microshop/shop/credit"
	"microshop/shop/dashboard"
	"microshop/shop/demo"
	"microshop/shop/fan"
	"microshop/shop/image"
	"microshop/shop/message"
	"microshop/shop/order"
	"microshop/shop/pcstore"
	"microshop/shop/pcstore/source"
	"microshop/shop/points"
	"microshop/shop/review"
	"microshop/shop/vote"
	"microshop/static"
	"microshop/templates"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
	"microshop/tenants/wechat"
	"microshop/tenants/wechat/paysim"
)

// schemas lists what every tenant database holds, one entry per domain.
var schemas = []engine.Schema{catalog.Schema, fan.Schema, order.Schema, pcstore.Schema, wechat.Schema, distribution.Schema,
	points.Schema, message.Schema, image.Schema, review.Schema, tenants.AuditSchema, dashboard.Schema,
	aftersale.Schema, vote.Schema}

// app is the wired platform: engine, services and the HTTP router.
type app struct {
	cfg    Config
	log    *slog.Logger
	engine *engine.Engine
	// secret signs sessions, fan cookies and sandbox payments.
	secret  string
	assets  *static.Assets
	tenants *tenants.Service
	leaser  *tenants.Leaser
	catalog *catalog.Catalog
	shelf   *catalog.Shelf
	orders  *order.Service
	dist    *distribution.Service
	wechat  *weChat
	// paysim is the WeChat Pay simulator the orders pay through in sandbox
	// mode (nil when live).
	paysim  *paysim.Simulator
	msgs    *message.Service
	points  *points.Service
	pcstore *pcstore.Syncer
	market  *market.Service
	// reviews and credit: server/credit.go.
	reviews *review.Service
	credit  *credit.Service
	images  *image.Service
	// dash keeps the dashboard's daily counters (server/dashboard.go).
	dash *dashboard.Service
	// audit records every change through /api/v1 and /admin (server/staff.go).
	audit *tenants.Auditor
	// metrics is what /metrics serves, on the app's own registry.
	metrics *metrics
	// aftersale runs after-sale requests and disputes (server/aftersale.go).
	aftersale *aftersale.Service
	// vote runs the "I want a group deal" votes (server/vote.go).
	vote *vote.Service
	// voteMarket runs the market's vote rounds (server/vote_market.go).
	voteMarket *vote.Service
	// due is the due index scheduled jobs take their shops from (due.go).
	due *dueWork
	// wxcomp is the WeChat third-party platform (server/wxcomponent.go).
	wxcomp *wxComponent
	// counters are the rate limits' windows, shared by every replica.
	counters tenants.Counters
	echo     *echo.Echo
}

// openEngine opens the engine the configuration names.
func openEngine(ctx context.Context, cfg Config) (*engine.Engine, error) {
	if cfg.MongoURI != "" {
		e, err := tenants.OpenMongo(ctx, cfg.MongoURI, cfg.MongoDB, nil, schemas...)
		if err != nil {
			return nil, fmt.Errorf("open mongodb: %w", err)
		}
		e.SetPlacement(cfg.Placement)
		return e, nil
	}
	e, err := tenants.OpenSQLite(cfg.DataDir, schemas...)
	if err != nil {
		return nil, fmt.Errorf("open sqlite in %s: %w", cfg.DataDir, err)
	}
	e.SetOpenShops(cfg.OpenShops) // 0: the default
	return e, nil
}

// openApp opens the configured engine, builds the app over it and
// prepares the data (schemas, the demo shop if cfg.Demo). The server and
// the jobs command start this way; close ends them.
func openApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	engine, err := openEngine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a, err := newApp(ctx, cfg, log, engine)
	if err == nil {
		err = a.prepare(ctx)
	}
	if err != nil {
		if cerr := engine.Close(); cerr != nil {
			log.Error("close database", "err", cerr)
		}
		return nil, err
	}
	return a, nil
}

// newApp builds everything over an opened engine in two steps: the
// services (newServices), then the routes over them (mountRoutes). The
// server and the jobs command (which serves nothing) build it through
// openApp; tests call it to get the real router on a real engine.
func newApp(ctx context.Context, cfg Config, log *slog.Logger, engine *engine.Engine) (*app, error) {
	a, err := newServices(ctx, cfg, log, engine)
	if err != nil {
		return nil, err
	}
	if err := a.mountRoutes(); err != nil {
		return nil, err
	}
	return a, nil
}

// newServices builds every store and service over engine with plain
// constructor calls and connects them to each other (who subscribes to
// order events, who attributes fans); it mounts no route.
func newServices(ctx context.Context, cfg Config, log *slog.Logger, engine *engine.Engine) (*app, error) {
	platform := tenants.NewStore(engine)
	secret := cfg.Secret
	if secret == "" {
		var err error
		if secret, err = platform.Secret(ctx, "session", randomSecret); err != nil {
			return nil, fmt.Errorf("session secret: %w", err)
		}
	}
	assets, err := static.New()
	if err != nil {
		return nil, fmt.Errorf("static assets: %w", err)
	}
	a := &app{cfg: cfg, log: log, engine: engine, secret: secret, assets: assets,
		tenants: tenants.NewService(engine, platform, log), leaser: tenants.NewLeaser(platform), metrics: newMetrics(),
		counters: tenants.NewCounters(platform)}

	// box seals the secrets kept at rest: WeChat's and WeChat Pay's keys.
	box, err := secretBox(cfg, engine, log)
	if err != nil {
		return nil, err
	}

	catalogStore := catalog.NewStore(engine)
	a.shelf = catalog.NewShelf(catalogStore, cfg.ShelfRefresh)
	a.catalog = catalog.New(catalogStore, a.shelf)
	fans := fan.NewStore(engine) // the one fan store every domain reads
	a.orders = order.NewService(order.SealStore(order.NewStore(engine), box), a.catalog, fans, log)
	a.orders.SetLive(cfg.WeChat == "live") // live: sandbox payments only in a shop's test mode
	a.orders.SetRestocker(a.catalog)       // a refund with "restock" puts the units back once
	a.orders.SetCounter(a.metrics)         // orders placed and paid, payments, in /metrics
	engine.SetWriterMetrics(a.metrics)     // the SQLite writers' commit batches and queues, in /metrics
	if err := a.setUpWeChatPay(); err != nil {
		return nil, err
	}

	// Distribution attributes orders and hears their events first.
	a.dist = distribution.New(engine, distribution.Config{Locker: a.leaser, Shops: a.tenants, Fans: fans, Orders: a.orders,
		Log: log, BaseURL: cfg.BaseURL})
	a.orders.SetAttributor(a.dist)
	a.orders.Subscribe(a.dist)

	// WeChat follows and scans through guides' and distributors' codes
	// attribute like visits through their links.
	if a.wechat, err = newWeChat(cfg, log, engine, platform, fans, box); err != nil {
		return nil, err
	}
	a.wechat.fans.WithAttributor(a.dist).WithMerger(a.dist)
	if a.wechat.sim == nil { // live WeChat: guides' and distributors' QR codes are WeChat parametric codes
		a.dist.SetWeChatQR(a.wechat.accounts)
	}

	// Check-in points and fan messaging.
	a.msgs = message.NewService(message.Options{Store: message.NewStore(engine), Fans: fans,
		Sender: message.WeChatSender{Accounts: a.wechat.accounts}, Tenants: a.tenants, Leaser: a.leaser, BaseURL: cfg.BaseURL, Log: log})
	a.points = points.NewService(points.NewStore(engine), fans, a.tenants, log)
	a.points.SetNotifier(a.msgs)
	a.points.SetAudience(a.msgs)
	a.points.SetInteraction(a.msgs)
	a.wechat.fans.WithResponder(a.points) // the check-in keyword and menu button in WeChat
	a.orders.SetDiscounter(a.points)
	a.orders.Subscribe(a.points)
	a.orders.Subscribe(a.msgs)

	a.pcstore = pcstore.NewSyncer(pcstore.NewStore(engine), a.catalog, a.leaser, platform, source.NewClient(), log)

	// The market follows listed shops' catalogs (on the replica that changes them).
	marketStore, err := market.NewStore(ctx, engine)
	if err != nil {
		return nil, fmt.Errorf("market: %w", err)
	}
	a.market = market.New(market.Options{Store: marketStore, Shelf: a.shelf, Log: log})
	a.market.SetCacheLookups(a.metrics.cacheLookups("market_answers")) // hits and misses, in /metrics
	a.shelf.Watch(a.market.Changed)
	a.images = image.NewService(image.NewStore(engine)) // uploads: product photos, after-sale and review photos

	// Staff and roles: guide staff act as a guide record; every change is audited.
	a.tenants.SetStaffGuides(staffGuides{a.dist.Guides()})
	a.audit = tenants.NewAuditor(tenants.NewAuditStore(engine), log, moneyRoutes...)

	// Reviews and merchant credit, with the penalties orders and withdrawals obey (server/credit.go).
	if err := a.setUpCredit(ctx); err != nil {
		return nil, err
	}
	// The market ranks by credit and ratings, and hides shops a penalty put off it (server/market.go).
	a.market.SetQuality(marketQuality{credit: a.credit, interaction: a.msgs})
	a.market.SetRatings(marketRatings{a.reviews})
	a.market.SetPenalizer(marketPenalties{a.credit})
	a.setUpMarketSales() // the sales term: paid orders counted, brushing left out

	// The due index: scheduled jobs pass over the shops with work due (server/due.go).
	if a.due, err = a.newDueWork(ctx); err != nil {
		return nil, err
	}

	// The dashboard's counters, fed by orders, fans and check-ins (server/dashboard.go).
	a.setUpDashboard()

	// After-sale requests, their deadlines, the dispute queue (server/aftersale.go).
	if err := a.setUpAfterSale(ctx); err != nil {
		return nil, err
	}
	a.dash.SetAfterSales(dashAfterSales{a.aftersale}) // open requests on the dashboard

	// The PC store's images (syncs, Taobao packages) are copied into the image store (server/taobao.go).
	a.pcstore.SetImageStore(pcstoreImages{images: a.images, tenants: a.tenants})

	// "I want a group deal": vote rounds, ballots from spending (server/vote.go).
	if err := a.setUpVote(ctx); err != nil {
		return nil, err
	}

	// The WeChat third-party platform: shops authorise their accounts by scanning (server/wxcomponent.go).
	if err := a.setUpWXComponent(ctx); err != nil {
		return nil, err
	}

	// WeChat Pay through a simulator in another process, if one is named (server/wechatpay.go).
	if err := a.useRemotePaySim(ctx); err != nil {
		return nil, err
	}
	a.metrics.watchWeChatSDK() // the WeChat SDK's calls by API and outcome, in /metrics (server/metrics.go)
	return a, nil
}

// mountRoutes builds the router over the services: the middleware every
// request passes, the route groups, and each domain's handlers mounted into
// them. Domains mount JSON under /api/v1 (APIRoutes), console pages
// (AdminRoutes), the shopper's pages (StorefrontRoutes) and the
// storefront's JSON (StorefrontAPIRoutes); a call that still uses another
// name says which it is.
func (a *app) mountRoutes() error {
	cfg, svc := a.cfg, a.tenants
	renderer, err := templates.New(template.FuncMap{"static": a.assets.URL, "yuan": catalog.FormatYuan}, cfg.DevTemplates,
		templates.WithShop(func(c echo.Context) any { return tenants.FromContext(c) }),
		templates.WithSharing(a.sharing))
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	e := a.newEcho(renderer)
	a.echo = e
	if a.paysim != nil {
		a.paysim.SetNotifier(paysim.Handler(e)) // notifications reach /pay/notify/{slug}/wechat in process
	}
	csrf := middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup: "form:_csrf", CookieName: "ms_csrf", CookiePath: "/", CookieHTTPOnly: true,
		CookieSecure: cfg.SecureCookies, CookieSameSite: http.SameSiteStrictMode,
	})
	codec := tenants.NewSessionCodec([]byte(a.secret))

	// Operations.
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/readyz", a.ready)
	e.GET("/static/*", a.assets.Handler)
	e.GET("/favicon.ico", a.assets.Favicon)
	if cfg.MetricsToken != "" { // Prometheus, to a scraper bearing the token
		e.GET("/metrics", a.metrics.handler(cfg.MetricsToken))
	}

	// Platform pages (sign-up, login) and the unauthenticated part of the API.
	platform := tenants.NewWeb(svc, codec, cfg.SecureCookies)
	platform.PlatformRoutes(e.Group("", csrf))
	platform.APIRoutes(e.Group("/api/v1"))
	// The API's OpenAPI document and its page: public, outside the keyed group.
	docs := apidoc.NewHandlers()
	docs.APIRoutes(e.Group("/api/v1"))
	docs.PageRoutes(e.Group(""))

	// The groups: merchant API (API key), console (session), the PC
	// store's widget (no fan cookie), storefront (fan identity, links'
	// ?g= ?d= ?ch= touches on any page), payment notifications, WeChat pushes.
	// Each role's limit (server/roles.go), then the audit log, on every route.
	api := e.Group("/api/v1", svc.APIKeyAuth(), enforceRoles("/api/v1"), a.audit.Record())
	admin := e.Group("/admin", csrf, svc.SessionAuth(codec), enforceRoles("/admin"), fault.ErrorPage("admin_error.html"), a.audit.Record())
	// A shopper who chose no language sees the shop in its own (i18n.ShopDefault).
	shopLang := i18n.ShopDefault(func(c echo.Context) string { return tenants.FromContext(c).Lang })
	widget := e.Group("/s/:slug", svc.ShopBySlug(), shopLang)
	e.GET("/s/:slug", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, "/s/"+c.Param("slug")+"/")
	})
	fans := a.wechat.identity(fan.NewIdentity([]byte(a.secret), cfg.SecureCookies))
	dist := distribution.NewHandlers(a.dist)
	storefront := e.Group("/s/:slug", svc.ShopBySlug(), shopLang, fault.ErrorPage("shop_error.html"), fans.Middleware())
	storefront.Use(dist.Touches())
	notify := e.Group("/pay/notify/:slug", svc.ShopBySlug())
	// The platform operator's console and API: never a merchant's session or key.
	opsPages := e.Group("/ops", csrf, svc.OperatorSessionAuth(codec))
	opsAPI := e.Group("/api/ops/v1", svc.OperatorKeyAuth())
	_, _ = opsPages, opsAPI // domains mount OpsRoutes and OpsAPIRoutes on them
	// The operator's own: sign-in, shops, the operator API, invitations (server/operator.go).
	a.mountOps(e, csrf, codec, opsPages, opsAPI)
	push := e.Group("/wx/:slug", svc.ShopBySlug())

	account := tenants.NewAccountHandlers(svc, cfg.SecureCookies) // API keys, password, sessions
	account.APIRoutes(api)
	account.AdminRoutes(admin)
	shopSettings := tenants.NewShopHandlers(svc) // name, language, time zone
	shopSettings.APIRoutes(api)
	shopSettings.AdminRoutes(admin)

	products := catalog.NewHandlers(a.catalog, a.shelf, cfg.BaseURL)
	products.SetPageLookups(a.metrics.cacheLookups("storefront_pages")) // hits and misses, in /metrics
	products.APIRoutes(api)
	products.AdminRoutes(admin)
	products.StorefrontRoutes(storefront)

	orders := order.NewHandlers(a.orders, order.NewSandbox([]byte("sandbox-pay:"+a.secret)), cfg.BaseURL, a.counters)
	orders.APIRoutes(api)
	orders.AdminRoutes(admin)
	orders.StorefrontAPIRoutes(storefront)
	orders.StorefrontRoutes(storefront)
	orders.NotifyRoutes(notify)

	dist.APIRoutes(api)
	dist.AdminRoutes(admin)
	dist.StorefrontRoutes(storefront)
	dist.StorefrontAPIRoutes(storefront)

	pcs := pcstore.NewHandlers(a.pcstore, cfg.BaseURL)
	pcs.APIRoutes(api)
	pcs.AdminRoutes(admin)
	pcs.StorefrontRoutes(widget) // the widget PC stores' pages load

	a.wechat.mount(e, push, api, admin, storefront, fans, cfg.BaseURL)

	pts := points.NewHandlers(a.points)
	pts.APIRoutes(api)
	pts.AdminRoutes(admin)
	pts.StorefrontRoutes(storefront)
	pts.StorefrontAPIRoutes(storefront)

	msgs := message.NewHandlers(a.msgs)
	msgs.APIRoutes(api)
	msgs.AdminRoutes(admin)
	msgs.StorefrontRoutes(storefront)
	msgs.StorefrontAPIRoutes(storefront)

	mkt := market.NewHandlers(a.market, a.catalog, cfg.SecureCookies, a.counters)
	mkt.APIRoutes(api)
	mkt.AdminRoutes(admin)
	e.GET("/m", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/m/") })
	mkt.MarketRoutes(e.Group("/m", csrf))
	mkt.MarketAPIRoutes(e.Group("/m/api"))
	mkt.OpsRoutes(opsPages)
	mkt.OpsAPIRoutes(opsAPI)

	imgs := image.NewHandlers(a.images, a.counters)
	imgs.APIRoutes(api)
	imgs.AdminRoutes(admin)
	imgs.StorefrontAPIRoutes(storefront)
	imgs.StorefrontRoutes(widget) // no fan cookie on what caches keep
	products.SetImages(a.images)  // the product form's uploads, image ids in the API

	a.mountStaff(e.Group("", csrf), api, admin, codec) // staff, the audit log, the guide's own page (server/staff.go)

	a.mountCredit(api, admin, storefront, opsPages, opsAPI, products) // reviews, credit, penalties (server/credit.go)

	a.mountDashboard(e, api, admin) // the console home, GET /api/v1/dashboard, page views (server/dashboard.go)

	a.mountAfterSale(api, admin, storefront, opsPages, opsAPI) // after-sale requests and disputes (server/aftersale.go)

	a.mountVote(api, admin, storefront, opsAPI) // "I want a group deal" votes (server/vote.go)

	a.mountVoteMarket(e, csrf, api, storefront, opsPages, opsAPI) // the market's vote rounds, /m/vote, /ops/vote (server/vote_market.go)

	a.mountWXComponent(e, api, admin, storefront, opsPages) // WeChat authorisation by scanning, authorised accounts' pushes (server/wxcomponent.go)

	a.mountPlacement(opsAPI) // where a shop's data is, moving a pooled shop to its own database (server/placement.go)
	return nil
}

// newEcho is the router with the middleware every request passes: panic
// recovery, request id, access log, security headers, the allowed hosts,
// JSON calls' content type, body limit; errors answered by fault's handler.
func (a *app) newEcho(renderer echo.Renderer) *echo.Echo {
	cfg := a.cfg
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Renderer = renderer
	e.HTTPErrorHandler = fault.Handler(a.log)
	e.IPExtractor, e.SchemeExtractor = echo.ExtractIPDirect(), echo.ExtractSchemeDirect()
	if cfg.TrustProxy {
		e.IPExtractor, e.SchemeExtractor = echo.ExtractIPFromXFFHeader(), echo.ExtractSchemeFromHeaders()
	}
	// Outside the recoverer, so a panic counts as the 500 it becomes.
	e.Use(requestMetrics(a.metrics), recoverer(a.log), middleware.RequestID())
	if cfg.AccessLog {
		e.Use(accessLog(a.log))
	}
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ReferrerPolicy: "strict-origin-when-cross-origin", HSTSMaxAge: hstsAge(cfg.SecureCookies),
		ContentSecurityPolicy: contentSecurityPolicy,
	}))
	// Inside the access log, which writes a handler's error at once: the
	// body limit must see the error first to make it a 413.
	e.Use(hostGuard(cfg.allowedHosts()), fault.RequireJSONWithConfig(fault.RequireJSONConfig{Skipper: notJSONCall}),
		uploadBodyLimit(cfg.BodyLimit))
	// The request's language: the ms_lang cookie (?lang= switches), else
	// Accept-Language, else zh-CN (tenants/i18n).
	e.Use(i18n.MiddlewareWithConfig(i18n.Config{Secure: cfg.SecureCookies, Skipper: staticFile}))
	return e
}

// contentSecurityPolicy: pages load only the server's own scripts and
// styles (and WeChat's JS-SDK, which share cards need inside WeChat:
// static/js/share.js), cannot be framed, cannot move their base URL elsewhere and post
// forms only to the server (WeChat OAuth and pay start with redirects and
// JavaScript, never a form posted elsewhere).
const contentSecurityPolicy = "default-src 'self'; img-src 'self' https: http: data:; style-src 'self' 'unsafe-inline'; " +
	"script-src 'self' 'unsafe-inline' https://res.wx.qq.com; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// staticFile: static files speak no language.
func staticFile(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/static/") }

// rawBodyRoutes are JSON calls' routes whose body is a file, not JSON.
var rawBodyRoutes = map[string]bool{
	http.MethodPost + " /api/v1/pcstore/feed": true,
	http.MethodPost + " /api/v1/images":       true, // multipart/form-data (shop/image)
	http.MethodPost + " /s/:slug/api/images":  true,

	http.MethodPost + " /api/v1/pcstore/taobao": true, // multipart/form-data: a Taobao package (shop/pcstore)
}

// notJSONCall: the content-type rule (fault.RequireJSON) holds for the
// merchant API and the storefront's JSON calls, but for the routes that
// take a file; pages' form posts carry a CSRF token instead.
func notJSONCall(c echo.Context) bool {
	p := c.Path()
	if rawBodyRoutes[c.Request().Method+" "+p] {
		return true
	}
	return !strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/s/:slug/api/")
}

func hstsAge(secure bool) int {
	if secure {
		return 31536000
	}
	return 0
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
	if err := a.market.Sync(ctx); err != nil { // this replica's copy of the market's index
		return fmt.Errorf("market index: %w", err)
	}
	if !a.cfg.Demo || n > 0 {
		return nil
	}
	t, password, err := demo.Seed(ctx, a.tenants, a.catalog, func(i int) string {
		return a.assets.URL(fmt.Sprintf("demo/p%02d.svg", i))
	})
	if err != nil {
		return fmt.Errorf("open the demo shop: %w", err)
	}
	a.log.Info("demo shop opened", "storefront", "/s/"+t.Slug+"/", "console", "/login",
		"email", demo.Email, "password", password)
	return nil
}

// close lets the work started in the background end, then closes the
// database: what WeChat pushes started after answering, messages kicked
// by order events; PC-store syncs stop at a clean point (they resume on
// the next start).
func (a *app) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.finish(ctx)
	if err := a.engine.Close(); err != nil {
		a.log.Error("close database", "err", err)
	} else {
		a.log.Info("database closed")
	}
}

// finish waits for the background work (see close).
func (a *app) finish(ctx context.Context) {
	defer a.closeDue(ctx) // after the work that writes
	// The last seconds' page views.
	if err := a.dash.FlushVisits(ctx, ""); err != nil {
		a.log.Warn("flush page views", "err", err)
	}
	a.wechat.fans.Wait()
	a.msgs.Wait()
	if err := a.pcstore.Shutdown(ctx); err != nil {
		a.log.Warn("stop pc store syncs", "err", err)
	}
}

func randomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
