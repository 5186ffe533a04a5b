package guide

import (
	"context"
	"time"
)

// Counts are funnel counters.
type Counts struct {
	Visits       int64 `json:"visits"`        // storefront visits and QR scans through the code
	Follows      int64 `json:"follows"`       // WeChat follows through the code's scene
	NewFans      int64 `json:"new_fans"`      // fans whose first touch was the code
	OrderingFans int64 `json:"ordering_fans"` // distinct fans with a paid order that day
	FirstOrders  int64 `json:"first_orders"`  // fans whose first ever paid order came through the guide
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
	c.FirstOrders += o.FirstOrders
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

// CountFirstOrder is told of a fan's first paid order (the caller read no
// paid order of the fan before this one): it marks the fan once per shop
// (the key first:<fan>, so of racing first orders exactly one is the
// first) and, when that order came through a guide, counts one first
// order on the guide's day of at. It reports whether this order was the
// fan's first.
func (g *Guides) CountFirstOrder(ctx context.Context, tenantID, guideID, storeID, fanID string, at time.Time, loc *time.Location) (bool, error) {
	if fanID == "" {
		return false, nil
	}
	first, err := g.store.Mark(ctx, tenantID, "first:"+fanID)
	if err != nil || !first || guideID == "" {
		return first, err
	}
	return true, g.store.Count(ctx, tenantID, guideID, storeID, DayOf(at, loc), Counts{FirstOrders: 1})
}

// DayOf is the date of t in loc, as the funnel keys days.
func DayOf(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02") }
