package main

import (
	"context"

	"microshop/market"
	"microshop/shop/credit"
	"microshop/shop/review"
)

// marketQuality gives the market each shop's service from the credit
// rules: score and level, the after-sale rate and on-time shipping of the
// last 90 days, and whether a penalty keeps it off the market. Repeat
// buyers and fan interaction have no source yet: every shop gets 0, so
// they move no shop above another.
type marketQuality struct{ credit *credit.Service }

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
