package order

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/fan"
)

// Service runs orders: placing, paying, shipping, completing, cancelling,
// refunding, and delivering their events. Its methods are filed by concept:
// place.go and idempotency.go (placing), query.go (reading), payment.go,
// pay.go and wxpay.go (paying), transition.go (ship, complete, cancel,
// refund), events.go (delivery), cart.go, settings.go and jobs.go. Handlers
// call only the service; the service alone calls the store.
type Service struct {
	store   Store
	catalog *catalog.Catalog
	fans    fan.Store
	log     *slog.Logger
	now     func() time.Time
	subs    []Subscriber
	attr    Attributor
	disc    Discounter
	restock Restocker
	known   knownFans
	// live: the server takes real payments (see SetLive).
	live bool
	// counter counts orders placed and payments (SetCounter; nil: none).
	counter Counter
	// gate may close the shop to new orders (SetGate, gate.go; nil: open).
	gate Gate
	// deals prices lines at group deals' prices (SetDealPricer, deal.go; nil: none).
	deals DealPricer
	// settings are the shops' order settings read lately (Settings).
	settings settingsCache
	// slots and paidWaits spare the order path reads (hints.go).
	slots     slotHints
	paidWaits paidWaits
}

// knownFans remembers which fans already have a record, so placing an order
// does not take SQLite's write lock (or send a Mongo insert) only to find
// the fan there, and each fan's WeChat openid, so paying does not read the
// fan again. Bounded: past maxKnownFans it starts over.
type knownFans struct {
	mu sync.Mutex
	m  map[string]knownFan
}

// knownFan is what is remembered of a fan: its openid, and when it was
// read. A fan's openid never changes once it has one; a fan without one
// (met outside WeChat) is read again after noOpenIDTTL.
type knownFan struct {
	openID string
	at     time.Time
}

const (
	maxKnownFans = 100_000
	noOpenIDTTL  = time.Minute
)

// ensure makes sure the fan's record exists (fan.Store.Ensure, idempotent),
// once per fan per process.
func (k *knownFans) ensure(ctx context.Context, fans fan.Store, tenantID, fanID string, now time.Time) error {
	key := tenantID + "/" + fanID
	k.mu.Lock()
	_, ok := k.m[key]
	k.mu.Unlock()
	if ok {
		return nil
	}
	f, err := fans.Ensure(ctx, tenantID, fanID, "direct", now)
	if err != nil {
		return fmt.Errorf("record fan %s: %w", fanID, err)
	}
	k.remember(tenantID, fanID, f.OpenID, now)
	return nil
}

// remember records that the fan exists, with its openid, as read at now.
func (k *knownFans) remember(tenantID, fanID, openID string, now time.Time) {
	k.mu.Lock()
	if k.m == nil || len(k.m) >= maxKnownFans {
		k.m = map[string]knownFan{}
	}
	k.m[tenantID+"/"+fanID] = knownFan{openID: openID, at: now}
	k.mu.Unlock()
}

// openID is the fan's openid as remembered at now (ok false: read it).
func (k *knownFans) openID(tenantID, fanID string, now time.Time) (string, bool) {
	k.mu.Lock()
	f, ok := k.m[tenantID+"/"+fanID]
	k.mu.Unlock()
	if !ok || (f.openID == "" && (now.Sub(f.at) > noOpenIDTTL || now.Before(f.at))) {
		return "", false
	}
	return f.openID, true
}

// NewService returns the order service. Stock holds are released and
// committed by a built-in subscriber, so they ride the same crash-safe
// event delivery as everything else.
func NewService(store Store, cat *catalog.Catalog, fans fan.Store, log *slog.Logger) *Service {
	s := &Service{store: store, catalog: cat, fans: fans, log: log, now: time.Now}
	s.subs = []Subscriber{stockKeeper{cat}}
	return s
}

// SetClock replaces the service's clock (operators replaying a pass, tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetAttributor plugs in who gets credit for orders (wired by server).
func (s *Service) SetAttributor(a Attributor) { s.attr = a }

// SetDiscounter plugs in what pays for discounts at checkout (wired by
// server).
func (s *Service) SetDiscounter(d Discounter) { s.disc = d }

// SetLive says whether the server runs against the real WeChat
// (--wechat=live, wired by server). Then a shop takes sandbox payments only
// while it is in test mode (Settings.TestMode) and has no WeChat Pay;
// otherwise every shop without WeChat Pay takes them.
func (s *Service) SetLive(live bool) { s.live = live }

// Subscribe adds a subscriber to every order event (wired by server).
func (s *Service) Subscribe(sub Subscriber) { s.subs = append(s.subs, sub) }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }
