package points

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// TenantLookup finds a shop by id (for its time zone in cron passes);
// tenants.Service is one.
type TenantLookup interface {
	TenantByID(ctx context.Context, id string) (tenants.Tenant, error)
}

// Notifier tells fans about their points. shop/message implements it
// (a template message when the shop configured one, else the storefront
// inbox); both calls must be idempotent by their arguments, as the cron
// pass may repeat them after a crash.
type Notifier interface {
	PointsExpiring(ctx context.Context, tenantID, fanID string, points int64, expiresAt time.Time) error
	CheckinReminder(ctx context.Context, tenantID, fanID, day string) error
}

// Audience is told a fan's points figures after they change, so message
// segments can select by balance and streak; active, when not zero, is
// when the fan did it (a check-in), for the interaction rate. Optional.
type Audience interface {
	PointsChanged(ctx context.Context, tenantID, fanID string, balance int64, streak int, lastDay string, active time.Time) error
}

// Interaction counts the fans active lately, for the console's interaction
// rate. Optional; shop/message implements it from its audience records.
type Interaction interface {
	Interaction(ctx context.Context, tenantID string, now time.Time) (active7, active30, fans int64, err error)
}

// Service runs points for every shop.
type Service struct {
	store       Store
	fans        fan.Store
	tenants     TenantLookup
	notifier    Notifier
	audience    Audience
	interaction Interaction
	log         *slog.Logger
	now         func() time.Time
}

// NewService returns the points service.
func NewService(store Store, fans fan.Store, lookup TenantLookup, log *slog.Logger) *Service {
	return &Service{store: store, fans: fans, tenants: lookup, log: log, now: time.Now}
}

// SetNotifier plugs in the fans' notices (wired by server).
func (s *Service) SetNotifier(n Notifier) { s.notifier = n }

// SetAudience plugs in the audience records (wired by server).
func (s *Service) SetAudience(a Audience) { s.audience = a }

// SetInteraction plugs in the interaction counts (wired by server).
func (s *Service) SetInteraction(i Interaction) { s.interaction = i }

// SetClock replaces the clock (tests, operators replaying a pass).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Store returns the points store.
func (s *Service) Store() Store { return s.store }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// shop looks the shop up (for its time zone).
func (s *Service) shop(ctx context.Context, tenantID string) (tenants.Tenant, error) {
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return t, fmt.Errorf("load shop %s: %w", tenantID, err)
	}
	return t, nil
}

// Rules returns the shop's rules.
func (s *Service) Rules(ctx context.Context, tenantID string) (Rules, error) {
	return s.store.Rules(ctx, tenantID)
}

// SaveRules validates and stores the shop's rules.
func (s *Service) SaveRules(ctx context.Context, tenantID string, r Rules) (Rules, error) {
	if err := r.Validate(); err != nil {
		return Rules{}, err
	}
	if err := s.store.SaveRules(ctx, tenantID, r); err != nil {
		return Rules{}, err
	}
	r.Rev++ // as stored
	return r, nil
}

// apply applies b and tells the audience what changed.
func (s *Service) apply(ctx context.Context, tenantID, fanID string, b Batch) (Result, error) {
	res, err := s.store.Apply(ctx, tenantID, fanID, b)
	if err != nil {
		return res, err
	}
	s.told(ctx, tenantID, fanID, res, time.Time{})
	return res, nil
}

// told tells the audience a fan's new figures after an applied batch (and
// when the fan was active, if it was the fan's doing).
func (s *Service) told(ctx context.Context, tenantID, fanID string, res Result, active time.Time) {
	if !res.Applied || s.audience == nil {
		return
	}
	a := res.Account
	if err := s.audience.PointsChanged(ctx, tenantID, fanID, a.Balance, a.Streak, a.LastDay, active); err != nil {
		s.log.Warn("tell the audience about points", "tenant", tenantID, "fan", fanID, "err", err)
	}
}

// Fan returns the shop's fan (for the routes under /fans/:id: see
// fan.FromPath).
func (s *Service) Fan(ctx context.Context, tenantID, id string) (fan.Fan, error) {
	return s.fans.Get(ctx, tenantID, id)
}

// Account returns the fan's account.
func (s *Service) Account(ctx context.Context, tenantID, fanID string) (Account, error) {
	return s.store.Account(ctx, tenantID, fanID)
}

// Ledger returns a page of the fan's ledger, newest first.
func (s *Service) Ledger(ctx context.Context, tenantID, fanID string, before int64, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = 20
	}
	if limit > 100 {
		return nil, fault.Invalid("limit", "must be between 1 and 100")
	}
	if before < 0 {
		return nil, fault.Invalid("before", "must be a positive sequence number")
	}
	return s.store.Ledger(ctx, tenantID, fanID, before, limit)
}

// LedgerPage is the answer to the ledger calls: the account and a page of
// entries, newest first; Before continues to older ones (0: no more).
type LedgerPage struct {
	Account Account `json:"account"`
	Balance int64   `json:"balance"`
	Entries []Entry `json:"entries"`
	Before  int64   `json:"before,omitempty"`
}

// LedgerPage returns the fan's account and a page of the ledger (see
// Ledger).
func (s *Service) LedgerPage(ctx context.Context, tenantID, fanID string, before int64, limit int) (LedgerPage, error) {
	a, err := s.store.Account(ctx, tenantID, fanID)
	if err != nil {
		return LedgerPage{}, err
	}
	entries, err := s.Ledger(ctx, tenantID, fanID, before, limit)
	if err != nil {
		return LedgerPage{}, err
	}
	p := LedgerPage{Account: a, Balance: a.Balance, Entries: entries}
	if n := len(entries); n > 0 && n == limit && entries[n-1].Seq > 1 {
		p.Before = entries[n-1].Seq
	}
	return p, nil
}

// AdjustRequest is a merchant's manual adjustment.
type AdjustRequest struct {
	Points int64  `json:"points"`
	Reason string `json:"reason"`
	// Key, if set, makes the adjustment idempotent (a retried request
	// adjusts once).
	Key string `json:"key,omitempty"`
}

// Adjust adds (or, negative, takes) points by hand, with a reason and who
// did it. A deduction larger than the balance is refused.
func (s *Service) Adjust(ctx context.Context, tenantID, fanID string, req AdjustRequest, by string) (Entry, error) {
	switch {
	case req.Points == 0:
		return Entry{}, fault.Invalid("points", "must not be 0: a positive number adds points, a negative one takes them")
	case req.Points > maxPoints || req.Points < -maxPoints:
		return Entry{}, fault.Invalid("points", "must be between -%d and %d", maxPoints, maxPoints)
	}
	reason, err := fault.Text("reason", req.Reason, 200)
	switch {
	case err != nil:
		return Entry{}, err
	case reason == "":
		return Entry{}, fault.Invalid("reason", "is required: say why (the fan sees it in their ledger)")
	case len(req.Key) > 64:
		return Entry{}, fault.Invalid("key", "must be at most 64 characters")
	}
	req.Reason = reason
	if _, err := s.fans.Get(ctx, tenantID, fanID); err != nil {
		return Entry{}, err
	}
	key := req.Key
	if key == "" {
		key = engine.NewID()
	}
	op := Op{Key: "adjust:" + key, Kind: KindAdjust, Points: req.Points, Reason: req.Reason, By: by}
	if req.Points > 0 {
		t, err := s.shop(ctx, tenantID)
		if err != nil {
			return Entry{}, err
		}
		rules, err := s.store.Rules(ctx, tenantID)
		if err != nil {
			return Entry{}, err
		}
		op.ExpiresAt = rules.ExpiresAt(s.clock(), Zone(t))
	}
	res, err := s.apply(ctx, tenantID, fanID, Batch{Ops: []Op{op}, At: s.clock()})
	if errors.Is(err, ErrInsufficient) {
		a, aerr := s.store.Account(ctx, tenantID, fanID)
		if aerr != nil {
			return Entry{}, aerr
		}
		return Entry{}, &fault.Error{Status: 409, Code: "insufficient_points", Field: "points",
			Message: fmt.Sprintf("points: the fan has %d points; %d cannot be taken", a.Balance, -req.Points)}
	}
	if err != nil {
		return Entry{}, err
	}
	if !res.Applied {
		return s.store.Entry(ctx, tenantID, fanID, op.Key)
	}
	return res.Entries[0], nil
}

// SetReminder records the fan's opt-in to the daily check-in reminder.
func (s *Service) SetReminder(ctx context.Context, tenantID, fanID string, on bool) error {
	if _, err := s.fans.Ensure(ctx, tenantID, fanID, "direct", s.clock()); err != nil {
		return err
	}
	return s.store.SetReminder(ctx, tenantID, fanID, on)
}

// Rebuild recomputes the fan's account from the ledger and writes it if it
// differs; it reports whether it did.
func (s *Service) Rebuild(ctx context.Context, tenantID, fanID string) (Account, bool, error) {
	for attempt := 0; attempt < 5; attempt++ {
		if err := s.store.Flush(ctx, tenantID, fanID); err != nil {
			return Account{}, false, err
		}
		cur, err := s.store.Account(ctx, tenantID, fanID)
		if err != nil {
			return Account{}, false, err
		}
		var entries []Entry
		if err := s.store.Entries(ctx, tenantID, fanID, func(e Entry) error {
			entries = append(entries, e)
			return nil
		}); err != nil {
			return Account{}, false, err
		}
		if int64(len(entries)) < cur.Seq {
			continue // an apply landed between the two reads
		}
		rebuilt, err := Rebuild(cur, entries)
		if err != nil {
			return Account{}, false, err
		}
		if sameLedgerState(cur, rebuilt) {
			return cur, false, nil
		}
		ok, err := s.store.ReplaceAccount(ctx, tenantID, rebuilt)
		if err != nil {
			return Account{}, false, err
		}
		if ok {
			return rebuilt, true, nil
		}
	}
	return Account{}, false, fault.Conflict("the fan's points keep changing; try the rebuild again")
}

func sameLedgerState(a, b Account) bool {
	if a.Balance != b.Balance || a.Seq != b.Seq || a.Earned != b.Earned || a.Spent != b.Spent || a.Expired != b.Expired ||
		len(a.Lots) != len(b.Lots) {
		return false
	}
	for i := range a.Lots {
		if a.Lots[i].ID != b.Lots[i].ID || a.Lots[i].Points != b.Lots[i].Points || !a.Lots[i].ExpiresAt.Equal(b.Lots[i].ExpiresAt) {
			return false
		}
	}
	return true
}
