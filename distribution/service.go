package distribution

import (
	"context"
	"log/slog"
	"time"

	"microshop/distribution/guide"
	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
)

// TenantLookup finds a shop (for its time zone); tenants.Service is one.
type TenantLookup interface {
	TenantByID(ctx context.Context, id string) (tenants.Tenant, error)
}

// Orders reads orders (the console's recommendation path); order.Service
// is one.
type Orders interface {
	Get(ctx context.Context, tenantID, id string) (order.Order, error)
}

// WeChatQR issues a shop's WeChat parametric QR code for a scene and
// renders it; wechat.Accounts is one. It fails for a shop without an
// official account, and the code falls back to a storefront link.
type WeChatQR interface {
	QRCode(ctx context.Context, tenantID, scene string, permanent bool) (url string, png []byte, err error)
}

// Service runs distribution for every shop.
type Service struct {
	store   Store
	guides  *guide.Guides
	tree    *tree.Tree
	ledger  *ledger.Ledger
	fans    fan.Store
	shops   TenantLookup
	orders  Orders
	wechat  WeChatQR
	log     *slog.Logger
	now     func() time.Time
	baseURL string
	sharing sharingFlags
}

// Config is what New needs besides the engine.
type Config struct {
	// Locker serialises tree moves across replicas (tenants.Leaser).
	Locker tree.Locker
	Shops  TenantLookup
	Fans   fan.Store
	Orders Orders
	Log    *slog.Logger
	// BaseURL is the public address printed in QR codes (empty: the
	// request's host).
	BaseURL string
}

// New returns the distribution service over the engine's stores.
func New(e *engine.Engine, cfg Config) *Service {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: NewStore(e), guides: guide.New(guide.NewStore(e)), tree: tree.New(tree.NewStore(e), cfg.Locker),
		ledger: ledger.New(ledger.NewStore(e)), fans: cfg.Fans, shops: cfg.Shops, orders: cfg.Orders, log: log, now: time.Now,
		baseURL: cfg.BaseURL}
}

// SetClock replaces the clock of the service and its parts (tests).
func (s *Service) SetClock(now func() time.Time) {
	s.now = now
	s.guides.SetClock(now)
	s.tree.SetClock(now)
	s.ledger.SetClock(now)
}

// SetWeChatQR plugs in WeChat parametric QR codes for guides and
// distributors (server wires it when the WeChat package is there).
func (s *Service) SetWeChatQR(q WeChatQR) { s.wechat = q }

// Store, Guides, Tree and Ledger expose the parts (jobs, tests, bench).
func (s *Service) Store() Store           { return s.store }
func (s *Service) Guides() *guide.Guides  { return s.guides }
func (s *Service) Tree() *tree.Tree       { return s.tree }
func (s *Service) Ledger() *ledger.Ledger { return s.ledger }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// shop returns the shop with id, or a bare one (the default time zone)
// when there is no lookup or it fails.
func (s *Service) shop(ctx context.Context, tenantID string) tenants.Tenant {
	if s.shops != nil {
		if t, err := s.shops.TenantByID(ctx, tenantID); err == nil {
			return t
		}
	}
	return tenants.Tenant{ID: tenantID}
}

// zone is the shop's time zone (day boundaries of the funnel).
func (s *Service) zone(ctx context.Context, tenantID string) *time.Location {
	return s.shop(ctx, tenantID).Location()
}

// zoneOf is the shop's time zone (tenants.Tenant.Location).
func zoneOf(t tenants.Tenant) *time.Location { return t.Location() }

// ReportQuery is a funnel report request (see guide.ReportQuery).
type ReportQuery = guide.ReportQuery

// Report is a funnel report (see guide.Funnel).
type Report = guide.Funnel

// ResolveReport fills in a funnel report request's defaults, its range
// ending today in the shop's time zone, and checks it.
func (s *Service) ResolveReport(t tenants.Tenant, q ReportQuery) (ReportQuery, error) {
	return q.Resolve(guide.DayOf(s.clock(), t.Location()))
}
