package message

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"microshop/shop/fan"
	"microshop/tenants"
)

// TenantLookup finds a shop by id (its slug for links, its zone for
// dates); tenants.Service is one.
type TenantLookup interface {
	TenantByID(ctx context.Context, id string) (tenants.Tenant, error)
}

// Leaser runs a function while holding a named lease, so one replica at a
// time dispatches a shop's messages; tenants.Leaser is one.
type Leaser interface {
	Run(ctx context.Context, name string, ttl time.Duration, fn func(ctx context.Context) error) (bool, error)
}

// Options are what the message service is built from.
type Options struct {
	Store   Store
	Fans    fan.Store
	Sender  Sender
	Tenants TenantLookup
	// Leaser may be nil (one process: tests).
	Leaser Leaser
	// BaseURL is the server's public address, for links in template
	// messages ("" leaves them out; the inbox keeps them).
	BaseURL string
	Log     *slog.Logger
}

// Service runs messaging for every shop: the audience, segments,
// campaigns, notices, inboxes and settings (one file each), and the
// dispatcher that sends (dispatch*.go).
type Service struct {
	store   Store
	fans    fan.Store
	sender  Sender
	tenants TenantLookup
	leaser  Leaser
	baseURL string
	log     *slog.Logger
	now     func() time.Time
	// claimTTL is how long a delivery may stay "sending" before the
	// dispatcher takes its dispatcher for dead.
	claimTTL time.Duration
	// budget bounds one kicked dispatch.
	budget time.Duration
	// gather is how long a kick waits before its dispatch starts, so the
	// notices of a busy shop's orders go out in one pass (one lease, one
	// look at the shop's campaigns) rather than one pass each.
	gather time.Duration

	mu      sync.Mutex
	running map[string]bool // shops whose dispatcher runs in this process
	again   map[string]bool // shops kicked while it ran
	kicked  map[string]bool // shops whose kicked dispatch has not started yet
	work    sync.WaitGroup
	// Tests: manual turns kicks off (the test dispatches), afterSend is
	// called after a message left, before it is recorded.
	manual    bool
	afterSend func(d Delivery)
}

// NewService returns the message service.
func NewService(o Options) *Service {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{store: o.Store, fans: o.Fans, sender: o.Sender, tenants: o.Tenants, leaser: o.Leaser, baseURL: o.BaseURL, log: o.Log,
		now: time.Now, claimTTL: 2 * time.Minute, budget: 50 * time.Second, gather: 100 * time.Millisecond,
		running: map[string]bool{}, again: map[string]bool{}, kicked: map[string]bool{}}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Store returns the message store.
func (s *Service) Store() Store { return s.store }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// zone is the shop's time zone (tenants.Tenant.Location).
func zone(t tenants.Tenant) *time.Location { return t.Location() }

func (s *Service) today(t tenants.Tenant, now time.Time) string {
	return now.In(t.Location()).Format(time.DateOnly)
}

// wrapf gives an error from a store or from WeChat the context of what was
// being done: nil stays nil, and %w keeps a fault error's status.
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
