package distribution

import (
	"context"
	"fmt"
	"strings"
	"time"

	"microshop/distribution/guide"
	"microshop/distribution/ledger"
	"microshop/shop/order"
)

// Commission: how much each level earns on an order (Settings.Commission),
// and the order events that record it (OrderEvent).

func (s Settings) rule(productID string) (ProductRule, bool) {
	for _, p := range s.Products {
		if p.ProductID == productID {
			return p, true
		}
	}
	return ProductRule{}, false
}

// Base is an order's commission base: the goods amount actually paid,
// after discounts, without shipping.
func Base(o order.Order) int64 {
	goods := o.GoodsTotal - o.Discount
	if o.Paid > 0 {
		goods = min(goods, o.Paid-o.ShippingFee)
	}
	return max(0, goods)
}

// Commission is the commission of each level of path (level 1 first) on
// order o: floor(base × rate) per line, or a fixed amount per unit for
// products with one, the total capped at CapBps of the base (taken off the
// deepest levels first). It is never negative; zero amounts are left out.
func (s Settings) Commission(o order.Order, path []string) []Earning {
	base := Base(o)
	n := min(len(path), len(s.Levels))
	if n == 0 || base == 0 || o.GoodsTotal <= 0 {
		return nil
	}
	amounts := make([]int64, n)
	for _, l := range o.Lines {
		lineBase := l.Amount * base / o.GoodsTotal
		rule, ok := s.rule(l.ProductID)
		for lv := range n {
			var a int64
			switch {
			case ok && len(rule.Fixed) > lv:
				a = rule.Fixed[lv] * l.Qty
			case ok && len(rule.Levels) > lv:
				a = lineBase * rule.Levels[lv] / 10000
			default:
				a = lineBase * s.Levels[lv] / 10000
			}
			amounts[lv] += max(0, a)
		}
	}
	limit := base * s.CapBps / 10000
	var total int64
	for _, a := range amounts {
		total += a
	}
	for lv := n - 1; lv >= 0 && total > limit; lv-- {
		cut := min(amounts[lv], total-limit)
		amounts[lv] -= cut
		total -= cut
	}
	var out []Earning
	for lv, a := range amounts {
		if a > 0 {
			out = append(out, Earning{Level: lv + 1, Beneficiary: path[lv], Amount: a, Base: base, RateBps: s.Levels[lv]})
		}
	}
	return out
}

// Earning is one level's commission on an order.
type Earning struct {
	Level       int
	Beneficiary string
	Amount      int64
	Base        int64
	RateBps     int64
}

// Sale is a paid order as distribution counts it: the fact that makes
// the funnel's and the team's counters move once (its order id is unique),
// and the record the rebuild job recounts them from.
type Sale struct {
	OrderID       string    `json:"order_id"`
	FanID         string    `json:"fan_id"`
	GuideID       string    `json:"guide_id,omitempty"`
	StoreID       string    `json:"store_id,omitempty"`
	DistributorID string    `json:"distributor_id,omitempty"`
	Channel       string    `json:"channel"`
	Base          int64     `json:"base"`          // commission base (paid goods)
	Paid          int64     `json:"paid"`          // what the buyer paid
	Refunded      int64     `json:"refunded"`      // refunded so far
	RefundedBase  int64     `json:"refunded_base"` // the base's share of that
	PaidAt        time.Time `json:"paid_at"`
}

// OrderEvent implements order.Subscriber. It is idempotent by (order,
// event): paid creates the commission entries (marked test, moving no
// money, for a test order) and moves the counters once;
// refunded reverses commission pro rata; completed schedules the
// commission's available date; cancelled has nothing to pay.
func (s *Service) OrderEvent(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	switch ev.Type {
	case order.EventPaid:
		return s.paid(ctx, tenantID, o, ev)
	case order.EventRefunded:
		return s.refunded(ctx, tenantID, o, ev)
	case order.EventCompleted:
		return s.completed(ctx, tenantID, o, ev)
	}
	return nil
}

func (s *Service) paid(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	a := o.Attribution
	sale := Sale{OrderID: o.ID, FanID: o.FanID, GuideID: a.GuideID, StoreID: a.StoreID, DistributorID: a.DistributorID,
		Channel: orDirect(a.Channel), Base: Base(o), Paid: o.Paid, PaidAt: ev.At}
	first, paidBefore, err := s.store.RecordSale(ctx, tenantID, sale)
	if err != nil {
		return err
	}
	if first {
		// No paid order before this one: this may be the fan's first ever
		// (the guide's first-order step; racing first orders are settled
		// by its marker).
		if paidBefore == 0 {
			if _, err := s.guides.CountFirstOrder(ctx, tenantID, a.GuideID, a.StoreID, o.FanID, ev.At, s.zone(ctx, tenantID)); err != nil {
				return err
			}
		}
		if a.GuideID != "" {
			if err := s.guides.CountOrdering(ctx, tenantID, a.GuideID, a.StoreID, o.FanID, ev.At, s.zone(ctx, tenantID),
				guide.Counts{Orders: 1, PaidGMV: sale.Base}); err != nil {
				return err
			}
		}
		if err := s.tree.AddSales(ctx, tenantID, a.DistributorID, sale.Base); err != nil {
			return err
		}
	}
	if len(a.Path) == 0 {
		return nil
	}
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return err
	}
	if !st.Enabled {
		return nil
	}
	var earnings []ledger.Earning
	for _, e := range st.Commission(o, a.Path) {
		earnings = append(earnings, ledger.Earning{OrderID: o.ID, FanID: o.FanID, Level: e.Level,
			Beneficiary: e.Beneficiary, Amount: e.Amount, Base: e.Base, RateBps: e.RateBps, Test: o.Test})
	}
	if err := s.ledger.EarnAll(ctx, tenantID, earnings); err != nil {
		return fmt.Errorf("commission of order %s: %w", o.ID, err)
	}
	return nil
}

// share is x's part of refunds totalling r out of paid: floor(x·r/paid),
// all of x once everything was refunded.
func share(x, r, paid int64) int64 {
	if paid <= 0 || r >= paid {
		return x
	}
	return x * r / paid
}

func (s *Service) refunded(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	refundID := strings.TrimPrefix(ev.ID, "refund:")
	var before int64
	found := false
	for _, r := range o.Refunds {
		if r.ID == refundID {
			found = true
			break
		}
		before += r.Amount
	}
	if !found {
		return fmt.Errorf("order %s has no refund %s", o.ID, refundID)
	}
	after := before + ev.Amount
	base := Base(o)
	baseShare := share(base, after, o.Paid) - share(base, before, o.Paid)
	first, err := s.store.Mark(ctx, tenantID, "refund:"+o.ID+":"+refundID)
	if err != nil {
		return err
	}
	a := o.Attribution
	if first {
		if err := s.store.AddSaleRefund(ctx, tenantID, o.ID, ev.Amount, baseShare); err != nil {
			return err
		}
		if a.GuideID != "" {
			if err := s.guides.Store().Count(ctx, tenantID, a.GuideID, a.StoreID, guide.DayOf(ev.At, s.zone(ctx, tenantID)),
				guide.Counts{Refunds: 1, RefundAmount: ev.Amount}); err != nil {
				return err
			}
		}
		if err := s.tree.AddSales(ctx, tenantID, a.DistributorID, -baseShare); err != nil {
			return err
		}
	}
	if len(a.Path) == 0 {
		return nil
	}
	entries, err := s.ledger.ByOrder(ctx, tenantID, o.ID)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type != ledger.TypeEarn {
			continue
		}
		back := share(e.Amount, after, o.Paid) - share(e.Amount, before, o.Paid)
		if _, _, err := s.ledger.Reverse(ctx, tenantID, e, refundID, back); err != nil {
			return fmt.Errorf("reverse commission %s: %w", e.ID, err)
		}
	}
	return nil
}

func (s *Service) completed(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	if len(o.Attribution.Path) == 0 {
		return nil
	}
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return err
	}
	at := ev.At
	if o.CompletedAt != nil {
		at = *o.CompletedAt
	}
	return s.ledger.ScheduleOrder(ctx, tenantID, o.ID, at.AddDate(0, 0, st.AfterSaleDays))
}
