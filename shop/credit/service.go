package credit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Orders gives a shop's shipping record (*order.Service is one).
type Orders interface {
	ShippingFacts(ctx context.Context, tenantID string, from, to time.Time, promised time.Duration) (order.ShippingFacts, error)
}

// AfterSales gives a shop's after-sale record over a period (shop/aftersale,
// plugged by server).
type AfterSales interface {
	AfterSaleFacts(ctx context.Context, tenantID string, from, to time.Time) (AfterSaleFacts, error)
}

// Reviews gives a shop's reviews since a time: how many, and their stars
// summed (*review.Service is one).
type Reviews interface {
	RatingSince(ctx context.Context, tenantID string, from time.Time) (count, sum int64, err error)
}

// Sources are where the factors' inputs come from. A nil AfterSales means
// no after-sale requests; a nil Reviews no reviews; a nil Orders no orders.
type Sources struct {
	Orders     Orders
	AfterSales AfterSales
	Reviews    Reviews
}

// Shops names the shops for the operators' list (*tenants.Service is one).
type Shops interface {
	TenantByID(ctx context.Context, id string) (tenants.Tenant, error)
}

// Service computes credit and applies penalties.
type Service struct {
	store store
	src   Sources
	shops Shops
	log   *slog.Logger
	now   func() time.Time

	// cache keeps records read for the gates (CanPlace, CanWithdraw,
	// Standing) and the badge for cacheFor: placing an order reads no
	// platform record most of the time. A write here drops its entry;
	// another replica's write shows within cacheFor.
	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	rec Record
	at  time.Time
}

const cacheFor = 5 * time.Second

// New returns the credit service over e's platform database, creating its
// table (SQLite) idempotently.
func New(ctx context.Context, e *engine.Engine, src Sources, shops Shops, log *slog.Logger) (*Service, error) {
	st := newStore(e)
	if err := st.ensure(ctx); err != nil {
		return nil, fmt.Errorf("credit tables: %w", err)
	}
	return &Service{store: st, src: src, shops: shops, log: log, now: time.Now, cache: map[string]cached{}}, nil
}

// SetAfterSales plugs in the after-sale record (wired by server).
func (s *Service) SetAfterSales(a AfterSales) { s.src.AfterSales = a }

// SetClock replaces the service's clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// neutral is the record of a shop never computed.
func neutral(tenantID string) Record {
	score, level, factors := Compute(Inputs{})
	return Record{TenantID: tenantID, Score: score, Level: level, Factors: factors, PromisedHours: DefaultPromisedHours,
		Penalties: []Penalty{}}
}

// record reads the shop's record, the neutral one if it has none.
func (s *Service) record(ctx context.Context, tenantID string) (Record, error) {
	r, found, err := s.store.load(ctx, tenantID)
	if err != nil {
		return Record{}, err
	}
	if !found {
		return neutral(tenantID), nil
	}
	if r.Penalties == nil {
		r.Penalties = []Penalty{}
	}
	if r.PromisedHours == 0 {
		r.PromisedHours = DefaultPromisedHours
	}
	return r, nil
}

// cachedRecord is record through the gates' cache.
func (s *Service) cachedRecord(ctx context.Context, tenantID string) (Record, error) {
	now := time.Now()
	s.mu.Lock()
	c, ok := s.cache[tenantID]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < cacheFor {
		return c.rec, nil
	}
	r, err := s.record(ctx, tenantID)
	if err != nil {
		return Record{}, err
	}
	s.mu.Lock()
	if len(s.cache) > 100_000 {
		s.cache = map[string]cached{}
	}
	s.cache[tenantID] = cached{rec: r, at: now}
	s.mu.Unlock()
	return r, nil
}

// change applies fn to the shop's record and writes it if no other write
// came in between (else reads again and re-applies fn). fn returning
// errUnchanged writes nothing.
func (s *Service) change(ctx context.Context, tenantID string, fn func(r *Record) error) (Record, error) {
	for range 20 {
		r, err := s.record(ctx, tenantID)
		if err != nil {
			return Record{}, err
		}
		prev := r.Rev
		if err := fn(&r); errors.Is(err, errUnchanged) {
			return r, nil
		} else if err != nil {
			return Record{}, err
		}
		ok, err := s.store.save(ctx, r, prev)
		if err != nil {
			return Record{}, err
		}
		if ok {
			r.Rev = prev + 1
			s.mu.Lock()
			delete(s.cache, tenantID)
			s.mu.Unlock()
			return r, nil
		}
	}
	return Record{}, fmt.Errorf("credit of shop %s: too many concurrent writes", tenantID)
}

var errUnchanged = errors.New("unchanged")

// Credit is what GET /api/v1/credit answers.
type Credit struct {
	Score         int               `json:"score"`
	Level         string            `json:"level"`
	Factors       map[string]Factor `json:"factors"`
	Inputs        Inputs            `json:"inputs"`
	ComputedAt    *time.Time        `json:"computed_at,omitempty"`
	PromisedHours int               `json:"promised_hours"`
	Formula       Formula           `json:"formula"`
}

// Credit returns the shop's credit as last computed (a new shop's is the
// neutral one).
func (s *Service) Credit(ctx context.Context, tenantID string) (Credit, error) {
	r, err := s.record(ctx, tenantID)
	if err != nil {
		return Credit{}, err
	}
	return creditOf(r), nil
}

func creditOf(r Record) Credit {
	return Credit{Score: r.Score, Level: r.Level, Factors: r.Factors, Inputs: r.Inputs, ComputedAt: r.ComputedAt,
		PromisedHours: r.PromisedHours, Formula: Published}
}

// SetPromise sets how many hours after payment the shop promises to ship
// (1 to DefaultPromisedHours); on-time shipping is measured against it
// from the next computation.
func (s *Service) SetPromise(ctx context.Context, tenantID string, hours int) (Credit, error) {
	if hours < 1 || hours > DefaultPromisedHours {
		return Credit{}, fault.Invalid("promised_hours", "must be between 1 and %d hours", DefaultPromisedHours)
	}
	r, err := s.change(ctx, tenantID, func(r *Record) error {
		r.PromisedHours = hours
		return nil
	})
	return creditOf(r), err
}

// Report is what one computation did.
type Report struct {
	Score  int
	Level  string
	Issued int // penalties given
}

// facts gathers the inputs over [from, to).
func (s *Service) facts(ctx context.Context, tenantID string, from, to time.Time, promised time.Duration) (Inputs, error) {
	var in Inputs
	var err error
	if s.src.Orders != nil {
		if in.Shipping, err = s.src.Orders.ShippingFacts(ctx, tenantID, from, to, promised); err != nil {
			return in, err
		}
	}
	if s.src.AfterSales != nil {
		if in.AfterSale, err = s.src.AfterSales.AfterSaleFacts(ctx, tenantID, from, to); err != nil {
			return in, fmt.Errorf("after-sale record: %w", err)
		}
	}
	if s.src.Reviews != nil {
		if in.Reviews, in.RatingSum, err = s.src.Reviews.RatingSince(ctx, tenantID, from); err != nil {
			return in, fmt.Errorf("reviews: %w", err)
		}
	}
	return in, nil
}

// Compute measures the shop over the last WindowDays days by the published
// formula, records the result and gives the penalties the published rules
// call for (each rule once per window, however many runs race).
func (s *Service) Compute(ctx context.Context, tenantID string) (Report, error) {
	cur, err := s.record(ctx, tenantID)
	if err != nil {
		return Report{}, err
	}
	now := s.clock()
	promised := time.Duration(cur.PromisedHours) * time.Hour
	in, err := s.facts(ctx, tenantID, now.AddDate(0, 0, -WindowDays), now, promised)
	if err != nil {
		return Report{}, err
	}
	recent, err := s.facts(ctx, tenantID, now.AddDate(0, 0, -RuleWindowDays), now, promised)
	if err != nil {
		return Report{}, err
	}
	score, level, factors := Compute(in)
	rf := RuleFacts{Shipping: ShippingWindow{Due: recent.Shipping.Due, OnTime: recent.Shipping.OnTime}, AfterSale: recent.AfterSale,
		Score: score}
	var rep Report
	_, err = s.change(ctx, tenantID, func(r *Record) error {
		r.Score, r.Level, r.Factors, r.Inputs, r.ComputedAt = score, level, factors, in, &now
		rep = Report{Score: score, Level: level}
		for _, rule := range Rules {
			measure, breached := rule.breached(rf)
			if !breached || gaveRecently(r.Penalties, rule.Name, now) {
				continue
			}
			r.Penalties = append(r.Penalties, newPenalty(tenantID, rule.Kind, rule.Name, rule.Text, measure, now, rule.Days))
			rep.Issued++
		}
		return nil
	})
	return rep, err
}

// gaveRecently reports whether rule gave a penalty in the last
// RuleWindowDays days.
func gaveRecently(ps []Penalty, rule string, now time.Time) bool {
	since := now.AddDate(0, 0, -RuleWindowDays)
	for _, p := range ps {
		if p.Rule == rule && p.Start.After(since) {
			return true
		}
	}
	return false
}

// newPenalty is a penalty of the shop; its id starts with the shop's id, so
// an operator's call names the shop's record with the penalty.
func newPenalty(tenantID, kind, rule, reason, measure string, start time.Time, days int) Penalty {
	return Penalty{ID: tenantID + "-" + engine.NewID(), Kind: kind, Rule: rule, Reason: reason, Measure: measure, Start: start,
		End: start.AddDate(0, 0, days), Status: Active}
}

// splitID returns the shop of penalty id; ok false for a malformed id.
func splitID(id string) (tenantID string, ok bool) {
	t, p, found := strings.Cut(id, "-")
	return t, found && engine.ValidID(t) && engine.ValidID(p)
}

// Penalize gives the shop a penalty outside the daily rules (an operator's
// decision, the market's anti-fake rule): kind for days days, under rule
// (a short name the pages know, e.g. "counterfeit") with reason. key, if
// not empty, makes it once only: a second call with the same rule and
// key (stored as the measure) gives nothing and returns the first.
func (s *Service) Penalize(ctx context.Context, tenantID, kind, rule, reason, key string, days int) (Penalty, error) {
	if !validKind(kind) {
		return Penalty{}, fault.Invalid("kind", "must be one of %s", strings.Join(Kinds, ", "))
	}
	if days < 1 || days > 365 {
		return Penalty{}, fault.Invalid("days", "must be between 1 and 365")
	}
	var out Penalty
	_, err := s.change(ctx, tenantID, func(r *Record) error {
		if key != "" {
			for _, p := range r.Penalties {
				if p.Rule == rule && p.Measure == key {
					out = p
					return errUnchanged
				}
			}
		}
		out = newPenalty(tenantID, kind, rule, reason, key, s.clock(), days)
		r.Penalties = append(r.Penalties, out)
		return nil
	})
	return out, err
}

// Penalties returns the shop's penalties, newest first.
func (s *Service) Penalties(ctx context.Context, tenantID string) ([]Penalty, error) {
	r, err := s.record(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return newestFirst(r.Penalties), nil
}

func newestFirst(ps []Penalty) []Penalty {
	out := append([]Penalty{}, ps...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	return out
}

// ShopCredit is one shop in the operators' list.
type ShopCredit struct {
	TenantID   string     `json:"tenant_id"`
	Slug       string     `json:"slug"`
	Name       string     `json:"name"`
	Score      int        `json:"score"`
	Level      string     `json:"level"`
	ComputedAt *time.Time `json:"computed_at,omitempty"`
	Penalties  []Penalty  `json:"penalties"`
}

// All lists every shop with a credit record, lowest score first.
func (s *Service) All(ctx context.Context) ([]ShopCredit, error) {
	recs, err := s.store.all(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ShopCredit, 0, len(recs))
	for _, r := range recs {
		sc := ShopCredit{TenantID: r.TenantID, Score: r.Score, Level: r.Level, ComputedAt: r.ComputedAt, Penalties: newestFirst(r.Penalties)}
		if s.shops != nil {
			if t, err := s.shops.TenantByID(ctx, r.TenantID); err == nil {
				sc.Slug, sc.Name = t.Slug, t.Name
			}
		}
		out = append(out, sc)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score < out[j].Score })
	return out, nil
}

// ShopPenalty is a penalty with its shop, for the operators' queue.
type ShopPenalty struct {
	Penalty
	TenantID string `json:"tenant_id"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
}

// AllPenalties lists every shop's penalties, newest first; appealed only
// those whose appeal waits for a decision.
func (s *Service) AllPenalties(ctx context.Context, appealed bool) ([]ShopPenalty, error) {
	shops, err := s.All(ctx)
	if err != nil {
		return nil, err
	}
	out := []ShopPenalty{}
	for _, sc := range shops {
		for _, p := range sc.Penalties {
			if appealed && (p.Appeal == nil || p.Appeal.Decision != "") {
				continue
			}
			out = append(out, ShopPenalty{Penalty: p, TenantID: sc.TenantID, Slug: sc.Slug, Name: sc.Name})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	return out, nil
}
