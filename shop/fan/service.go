package fan

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// Attributor hands a fan's QR scene to attribution. A follow through a
// parametric QR code (channel "subscribe") or a follower's scan ("scan")
// calls Touch after WeChat has its answer; the distribution package plugs
// in the real rules (guides, distributors), and until then NoAttribution
// does nothing (the scene is on the fan record either way). Touch may be
// called more than once for one event (a crash between recording and
// attribution, a replay of an old push): it must be idempotent.
type Attributor interface {
	Touch(ctx context.Context, tenantID, fanID, scene, channel string) error
}

// NoAttribution is the Attributor that does nothing.
type NoAttribution struct{}

// Touch does nothing.
func (NoAttribution) Touch(context.Context, string, string, string, string) error { return nil }

// Merger is told when a browser's cookie identity is merged into a WeChat
// fan, so packages that keyed something by the old id (a cart) can move
// it. Optional; idempotent like Touch.
type Merger interface {
	MergeFan(ctx context.Context, tenantID, fromID, intoID string) error
}

// Observer is told of each WeChat event applied to a fan (a follow, an
// unfollow, a scan, a click, a message), after WeChat has its answer: the
// dashboard counts follows and interacting fans. It may be told of one
// event twice (a crash, a late retry): it must be idempotent by the event
// (fan, kind, time).
type Observer interface {
	FanEvent(ctx context.Context, tenantID string, ev Event) error
}

// Service is the fans' domain: pushes, conversations and replies, WeChat
// sign-in merges, listing.
type Service struct {
	store      Store
	accounts   *wechat.Accounts
	attributor Attributor
	mergers    []Merger
	responders []Responder
	observers  []Observer
	log        *slog.Logger
	now        func() time.Time
	after      *afterWork

	mu     sync.Mutex
	purged map[string]time.Time
	// stamps make reply times strictly increasing (at millisecond
	// precision, what MongoDB keeps), so replies sent in one burst keep
	// their order in the conversation.
	stamps engine.Stamps
}

// stamp is now as a reply's time (see stamps).
func (s *Service) stamp() time.Time { return s.stamps.Next(s.now()) }

// NewService returns the fan service. attributor may be nil (no
// attribution yet).
func NewService(store Store, accounts *wechat.Accounts, attributor Attributor, log *slog.Logger) *Service {
	if attributor == nil {
		attributor = NoAttribution{}
	}
	return &Service{store: store, accounts: accounts, attributor: attributor, log: log, now: time.Now,
		after: newAfterWork(afterWorkers, log), purged: map[string]time.Time{}}
}

// WithMerger returns the service also telling m about merged identities
// (distribution's bindings, a cart: each part that keys data by fan).
func (s *Service) WithMerger(m Merger) *Service {
	s.mergers = append(s.mergers, m)
	return s
}

// WithObserver returns the service also telling o about applied WeChat
// events (set by server, before serving).
func (s *Service) WithObserver(o Observer) *Service {
	s.observers = append(s.observers, o)
	return s
}

// WithAttributor returns the service handing QR scenes to a (set once, by
// server, before serving).
func (s *Service) WithAttributor(a Attributor) *Service {
	s.attributor = a
	return s
}

// Store returns the fan store.
func (s *Service) Store() Store { return s.store }

// Wait blocks until the work queued after answered pushes is done (tests,
// shutdown).
func (s *Service) Wait() { s.after.wait() }

// Get returns a fan; a malformed id is a 400, another shop's a 404.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Fan, error) {
	if err := engine.CheckID("id", "fan", id); err != nil {
		return Fan{}, err
	}
	return s.store.Get(ctx, tenantID, id)
}

// Resolve follows a merged identity to the fan it became.
func (s *Service) Resolve(ctx context.Context, tenantID, id string) (string, error) {
	into, err := s.store.Alias(ctx, tenantID, id)
	if errors.Is(err, fault.ErrNotFound) {
		return id, nil
	}
	return into, err
}

// List pages through the shop's fans; limits are checked here.
func (s *Service) List(ctx context.Context, tenantID string, f Filter) ([]Fan, int64, error) {
	if err := engine.CheckPage(&f.Limit, f.Offset); err != nil {
		return nil, 0, err
	}
	if len(f.OpenID) > 64 {
		return nil, 0, fault.Invalid("openid", "is too long")
	}
	if len(f.Source) > 32 {
		return nil, 0, fault.Invalid("source", "is too long")
	}
	return s.store.List(ctx, tenantID, f)
}

// Link makes the WeChat user openID the fan of a browser whose cookie fan
// is cookieID (after web OAuth), merging the cookie identity into the
// WeChat fan, and returns that fan.
func (s *Service) Link(ctx context.Context, tenantID, cookieID, openID string) (Fan, error) {
	into := Fan{ID: IDForOpenID(tenantID, openID), OpenID: openID, Source: SourceWeChatOAuth,
		CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if err := s.store.Merge(ctx, tenantID, cookieID, into); err != nil {
		return Fan{}, err
	}
	for _, m := range s.mergers {
		if cookieID == into.ID {
			break
		}
		if err := m.MergeFan(ctx, tenantID, cookieID, into.ID); err != nil {
			s.log.Error("merge fan elsewhere", "tenant", tenantID, "from", cookieID, "into", into.ID, "err", err)
		}
	}
	return s.store.Get(ctx, tenantID, into.ID)
}
