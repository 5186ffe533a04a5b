package main

import (
	"context"
	"time"

	"microshop/distribution/guide"
	"microshop/market"
	"microshop/shop/credit"
	"microshop/shop/dashboard"
	"microshop/shop/review"
)

// marketQuality gives the market each shop's service from the credit
// rules: score and level, the after-sale rate and on-time shipping of the
// last 90 days, and whether a penalty keeps it off the market. Sales (the
// formula's distinct buyers, brushing left out) and repeat buyers are the
// market's own count of paid orders, kept as order events happen
// (market/sales.go, fed by setUpMarketSales) and added to these. Fan
// interaction is the dashboard's: the share of the shop's fans active in
// the last 7 days (its "healthy" line is 10%).
type marketQuality struct {
	credit      *credit.Service
	interaction dashboard.Interaction
}

func (q marketQuality) ShopFactors(ctx context.Context, tenantIDs []string) (map[string]market.ShopFactors, error) {
	out := make(map[string]market.ShopFactors, len(tenantIDs))
	for _, id := range tenantIDs {
		c, err := q.credit.Credit(ctx, id)
		if err != nil {
			return nil, err
		}
		st, err := q.credit.Standing(ctx, id)
		if err != nil {
			return nil, err
		}
		f := market.ShopFactors{Credit: c.Score, Level: c.Level, OnTime: 1, OffMarket: st.OffMarket}
		if ship := c.Inputs.Shipping; ship.Due > 0 {
			f.OnTime = float64(ship.OnTime) / float64(ship.Due)
		}
		if paid := c.Inputs.Shipping.Paid; paid > 0 {
			f.AfterSaleRate = float64(c.Inputs.AfterSale.Requests) / float64(paid)
		}
		if q.interaction != nil {
			active7, _, fans, err := q.interaction.Interaction(ctx, id, time.Now())
			if err != nil {
				return nil, err
			}
			if fans > 0 {
				f.Interaction = float64(active7) / float64(fans)
			}
		}
		out[id] = f
	}
	return out, nil
}

// marketRatings gives the market its products' review ratings.
type marketRatings struct{ reviews *review.Service }

func (r marketRatings) ProductRatings(ctx context.Context, tenantID string, productIDs []string) (map[string][2]int64, error) {
	out := map[string][2]int64{}
	for _, id := range productIDs {
		st, err := r.reviews.Stats(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		if st.Count > 0 {
			out[id] = [2]int64{st.Sum * 100 / st.Count, st.Count}
		}
	}
	return out, nil
}

// marketPenalties gives a shop the published penalty for a report an
// operator upheld (market.ReportPenalties), once per report.
type marketPenalties struct{ credit *credit.Service }

func (p marketPenalties) PenalizeReport(ctx context.Context, tenantID, kind, reason, key string) error {
	rule, ok := market.ReportPenalties[kind]
	if !ok {
		return nil
	}
	_, err := p.credit.Penalize(ctx, tenantID, rule.Penalty, "market_"+kind, reason, key, rule.Days)
	return err
}

// setUpMarketSales has the market count every shop's paid and refunded
// orders (the ranking's sales term; one record per order in the platform
// database, never a scan per search), with the shop's staff's orders left
// out: those delivered to a phone of one of its shopping guides.
func (a *app) setUpMarketSales() {
	a.market.SetStaff(marketStaff{a.dist.Guides()})
	a.orders.Subscribe(a.market)
}

// marketStaff tells the market whether a phone is one of the shop's
// guides' (present or past).
type marketStaff struct{ guides *guide.Guides }

func (s marketStaff) StaffPhone(ctx context.Context, tenantID, phone string) (bool, error) {
	const page = 500
	for offset := 0; ; offset += page {
		gs, err := s.guides.List(ctx, tenantID, "", page, offset)
		if err != nil {
			return false, err
		}
		for _, g := range gs {
			if market.NormalizePhone(g.Phone) == phone {
				return true, nil
			}
		}
		if len(gs) < page {
			return false, nil
		}
	}
}
