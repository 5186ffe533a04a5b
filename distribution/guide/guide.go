// Package guide holds a shop's physical stores, its shopping guides (in-store
// staff with a personal QR code) and the guide funnel: per guide, store and
// day, the visits and follows their codes brought, the new fans, the fans
// who ordered, orders, paid GMV and refunds.
//
// The funnel is a set of counters maintained at write time, one record per
// (guide, store, day in the shop's time zone), incremented by the event that
// moves it (a touch, a follow, a paid order, a refund). Reports over any
// range add up days; nothing scans orders. Counting "fans who ordered" must
// count a fan once per guide and day however many orders they place: a
// unique marker (guide, day, fan) is inserted first and only its winner
// increments.
package guide

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Location is a physical store of the shop.
type Location struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Address   string    `json:"address"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// Guide is a shopping guide.
type Guide struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	StoreID string `json:"store_id"`
	// Code is what the guide's QR carries (?g=<code>, WeChat scene g:<code>).
	Code      string    `json:"code"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	// LeftAt and HandedTo: when the guide left and who took the customers.
	LeftAt   time.Time `json:"left_at,omitzero"`
	HandedTo string    `json:"handed_to,omitempty"`
	Rev      int64     `json:"rev"`
}

// Counts are funnel counters.
type Counts struct {
	Visits       int64 `json:"visits"`        // storefront visits and QR scans through the code
	Follows      int64 `json:"follows"`       // WeChat follows through the code's scene
	NewFans      int64 `json:"new_fans"`      // fans whose first touch was the code
	OrderingFans int64 `json:"ordering_fans"` // distinct fans with a paid order that day
	Orders       int64 `json:"orders"`        // paid orders
	PaidGMV      int64 `json:"paid_gmv"`      // paid goods amount, fen
	Refunds      int64 `json:"refunds"`       // refunds
	RefundAmount int64 `json:"refund_amount"` // refunded, fen
}

func (c *Counts) add(o Counts) {
	c.Visits += o.Visits
	c.Follows += o.Follows
	c.NewFans += o.NewFans
	c.OrderingFans += o.OrderingFans
	c.Orders += o.Orders
	c.PaidGMV += o.PaidGMV
	c.Refunds += o.Refunds
	c.RefundAmount += o.RefundAmount
}

// Day is one guide's counters in one store on one day (YYYY-MM-DD in the
// shop's time zone).
type Day struct {
	GuideID string `json:"guide_id"`
	StoreID string `json:"store_id"`
	Day     string `json:"day"`
	Counts
}

// DayFilter selects funnel days: one guide, or one store, or every one,
// from From to To inclusive.
type DayFilter struct {
	GuideID, StoreID string
	From, To         string
}

// Guides runs stores, guides and the funnel.
type Guides struct {
	store Store
	now   func() time.Time
}

// New returns the guides service over store.
func New(store Store) *Guides { return &Guides{store: store, now: time.Now} }

// SetClock replaces the clock (tests).
func (g *Guides) SetClock(now func() time.Time) { g.now = now }

// Store returns the store.
func (g *Guides) Store() Store { return g.store }

func (g *Guides) clock() time.Time { return g.now().UTC().Truncate(time.Millisecond) }

// LocationInput is a store as created or edited.
type LocationInput struct {
	Name    *string `json:"name"`
	Address *string `json:"address"`
	Active  *bool   `json:"active"`
}

func text(field string, v *string, required bool, max int) (string, error) {
	if v == nil {
		if required {
			return "", fault.Invalid(field, "is required")
		}
		return "", nil
	}
	s := strings.TrimSpace(*v)
	if required && s == "" {
		return "", fault.Invalid(field, "is required")
	}
	if utf8.RuneCountInString(s) > max {
		return "", fault.Invalid(field, "must be at most %d characters", max)
	}
	return s, nil
}

// CreateLocation adds a store.
func (g *Guides) CreateLocation(ctx context.Context, tenantID string, in LocationInput) (Location, error) {
	name, err := text("name", in.Name, true, 64)
	if err != nil {
		return Location{}, err
	}
	addr, err := text("address", in.Address, false, 200)
	if err != nil {
		return Location{}, err
	}
	l := Location{ID: engine.NewID(), Name: name, Address: addr, Active: in.Active == nil || *in.Active, CreatedAt: g.clock()}
	return l, g.store.CreateLocation(ctx, tenantID, l)
}

// UpdateLocation edits a store.
func (g *Guides) UpdateLocation(ctx context.Context, tenantID, id string, in LocationInput) (Location, error) {
	l, err := g.Location(ctx, tenantID, id)
	if err != nil {
		return Location{}, err
	}
	if in.Name != nil {
		if l.Name, err = text("name", in.Name, true, 64); err != nil {
			return Location{}, err
		}
	}
	if in.Address != nil {
		if l.Address, err = text("address", in.Address, false, 200); err != nil {
			return Location{}, err
		}
	}
	if in.Active != nil {
		l.Active = *in.Active
	}
	return l, g.store.UpdateLocation(ctx, tenantID, l)
}

// Location returns one store.
func (g *Guides) Location(ctx context.Context, tenantID, id string) (Location, error) {
	if !engine.ValidID(id) {
		return Location{}, fault.NotFound("store")
	}
	return g.store.Location(ctx, tenantID, id)
}

// GuideInput is a guide as created or edited.
type GuideInput struct {
	Name    *string `json:"name"`
	Phone   *string `json:"phone"`
	StoreID *string `json:"store_id"`
	Active  *bool   `json:"active"`
}

var phonePattern = regexp.MustCompile(`^(\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$`)

func (g *Guides) apply(ctx context.Context, tenantID string, gd *Guide, in GuideInput, creating bool) error {
	var err error
	if in.Name != nil || creating {
		if gd.Name, err = text("name", in.Name, true, 32); err != nil {
			return err
		}
	}
	if in.Phone != nil {
		if gd.Phone, err = text("phone", in.Phone, false, 20); err != nil {
			return err
		}
		if gd.Phone != "" && !phonePattern.MatchString(gd.Phone) {
			return fault.Invalid("phone", "%q is not a phone number (a mobile like 13812345678)", gd.Phone)
		}
	}
	if in.StoreID != nil || creating {
		if in.StoreID == nil || *in.StoreID == "" {
			return fault.Invalid("store_id", "is required: the store the guide works in")
		}
		l, err := g.Location(ctx, tenantID, *in.StoreID)
		if errors.Is(err, fault.ErrNotFound) {
			return fault.Invalid("store_id", "no store %q in this shop", truncate(*in.StoreID))
		}
		if err != nil {
			return err
		}
		if !l.Active {
			return fault.Invalid("store_id", "the store %q is closed", l.Name)
		}
		gd.StoreID = l.ID
	}
	if in.Active != nil {
		gd.Active = *in.Active
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// CreateGuide adds a guide with a fresh code.
func (g *Guides) CreateGuide(ctx context.Context, tenantID string, in GuideInput) (Guide, error) {
	gd := Guide{ID: engine.NewID(), Active: true, CreatedAt: g.clock(), Rev: 1}
	if err := g.apply(ctx, tenantID, &gd, in, true); err != nil {
		return Guide{}, err
	}
	for attempt := 0; ; attempt++ {
		gd.Code = engine.NewSecret(8)
		err := g.store.CreateGuide(ctx, tenantID, gd)
		if err == nil {
			return gd, nil
		}
		if !engine.IsUniqueViolation(err) || attempt > 5 {
			return Guide{}, err
		}
	}
}

// Guide returns one guide.
func (g *Guides) Guide(ctx context.Context, tenantID, id string) (Guide, error) {
	if !engine.ValidID(id) {
		return Guide{}, fault.NotFound("guide")
	}
	return g.store.Guide(ctx, tenantID, id)
}

// UpdateGuide edits a guide (a concurrent edit in between is a 409).
func (g *Guides) UpdateGuide(ctx context.Context, tenantID, id string, in GuideInput) (Guide, error) {
	gd, err := g.Guide(ctx, tenantID, id)
	if err != nil {
		return Guide{}, err
	}
	if err := g.apply(ctx, tenantID, &gd, in, false); err != nil {
		return Guide{}, err
	}
	if in.Active != nil && *in.Active {
		gd.LeftAt, gd.HandedTo = time.Time{}, ""
	}
	return gd, g.save(ctx, tenantID, &gd)
}

func (g *Guides) save(ctx context.Context, tenantID string, gd *Guide) error {
	ok, err := g.store.UpdateGuide(ctx, tenantID, *gd)
	if err != nil {
		return err
	}
	if !ok {
		return fault.Conflict("the guide was changed meanwhile; reload and try again")
	}
	gd.Rev++
	return nil
}

// Leave deactivates a guide, recording who takes the customers over.
func (g *Guides) Leave(ctx context.Context, tenantID string, gd Guide, to string) (Guide, error) {
	gd.Active, gd.LeftAt, gd.HandedTo = false, g.clock(), to
	return gd, g.save(ctx, tenantID, &gd)
}

// ByCode returns the active guide with code; an unknown code, a closed
// guide or another shop's code is not found.
func (g *Guides) ByCode(ctx context.Context, tenantID, code string) (Guide, error) {
	if !validCode(code) {
		return Guide{}, fault.NotFound("guide")
	}
	gd, err := g.store.GuideByCode(ctx, tenantID, code)
	if err != nil {
		return Guide{}, err
	}
	if !gd.Active {
		return Guide{}, fault.NotFound("guide")
	}
	return gd, nil
}

func validCode(s string) bool {
	if len(s) != 8 {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz234567") == ""
}

// Count adds c to the guide's counters for the day of at in loc.
func (g *Guides) Count(ctx context.Context, tenantID string, gd Guide, at time.Time, loc *time.Location, c Counts) error {
	if gd.ID == "" {
		return nil
	}
	return g.store.Count(ctx, tenantID, gd.ID, gd.StoreID, DayOf(at, loc), c)
}

// CountOrdering counts fan as an ordering fan of the guide on the day of at,
// once per (guide, day, fan), and c (the order's counters) every time.
func (g *Guides) CountOrdering(ctx context.Context, tenantID, guideID, storeID, fanID string, at time.Time, loc *time.Location, c Counts) error {
	if guideID == "" {
		return nil
	}
	day := DayOf(at, loc)
	first, err := g.store.Mark(ctx, tenantID, "ordering:"+guideID+":"+day+":"+fanID)
	if err != nil {
		return err
	}
	if first {
		c.OrderingFans++
	}
	return g.store.Count(ctx, tenantID, guideID, storeID, day, c)
}

// DayOf is the date of t in loc, as the funnel keys days.
func DayOf(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02") }

// Row is one line of a funnel report.
type Row struct {
	Key    string `json:"key"`    // the guide or store id ("" for the total)
	Name   string `json:"name"`   // its name
	Period string `json:"period"` // the day, week (2026-W48) or month (2026-11); "" for the whole range
	Counts
	// Conversion is orders per visit, in percent (one decimal).
	Conversion float64 `json:"conversion"`
}

// Report adds days up by group ("guide" or "store") and period ("day",
// "week", "month" or "" for the whole range), sorted by key then period.
func Report(days []Day, group, period string, names map[string]string) ([]Row, error) {
	if group != "guide" && group != "store" {
		return nil, fault.Invalid("group", "must be guide or store")
	}
	rows := map[[2]string]*Row{}
	for _, d := range days {
		key := d.GuideID
		if group == "store" {
			key = d.StoreID
		}
		p, err := periodOf(d.Day, period)
		if err != nil {
			return nil, err
		}
		k := [2]string{key, p}
		r := rows[k]
		if r == nil {
			r = &Row{Key: key, Name: names[key], Period: p}
			rows[k] = r
		}
		r.add(d.Counts)
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		r.Conversion = conversion(r.Counts)
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PaidGMV != out[j].PaidGMV && period == "" {
			return out[i].PaidGMV > out[j].PaidGMV // a leaderboard over the range
		}
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Period < out[j].Period
	})
	return out, nil
}

// Total adds every day up.
func Total(days []Day) Row {
	var r Row
	for _, d := range days {
		r.add(d.Counts)
	}
	r.Conversion = conversion(r.Counts)
	return r
}

func conversion(c Counts) float64 {
	if c.Visits == 0 {
		return 0
	}
	return float64(c.Orders*1000/c.Visits) / 10
}

func periodOf(day, period string) (string, error) {
	switch period {
	case "", "range":
		return "", nil
	case "day":
		return day, nil
	case "week", "month":
		t, err := time.Parse("2006-01-02", day)
		if err != nil {
			return "", fmt.Errorf("funnel day %q: %w", day, err)
		}
		if period == "month" {
			return t.Format("2006-01"), nil
		}
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w), nil
	}
	return "", fault.Invalid("period", "must be day, week, month or range")
}
