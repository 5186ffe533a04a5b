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
//
// Files: guide.go (guides), location.go (stores), funnel.go (counters),
// report.go (the funnel report), store*.go (both engines).
package guide

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

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

// text reads an optional text input: trimmed, at most max characters, no
// hidden ones (fault.Text), present and not blank when required.
func text(field string, v *string, required bool, max int) (string, error) {
	if v == nil {
		if required {
			return "", fault.Invalid(field, "is required")
		}
		return "", nil
	}
	s, err := fault.Text(field, *v, max)
	if err != nil {
		return "", err
	}
	if required && s == "" {
		return "", fault.Invalid(field, "is required")
	}
	return s, nil
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
			return fault.Invalid("store_id", "no store %q in this shop", fault.Clip(*in.StoreID, 40))
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

// List lists the guides of one store (every store when storeID is ""), by
// name; a storeID that is no id is a 400.
func (g *Guides) List(ctx context.Context, tenantID, storeID string, limit, offset int) ([]Guide, error) {
	if storeID != "" {
		if err := engine.CheckID("store_id", "store", storeID); err != nil {
			return nil, err
		}
	}
	return g.store.Guides(ctx, tenantID, storeID, limit, offset)
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
