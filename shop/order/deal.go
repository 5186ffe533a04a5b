package order

import (
	"context"
	"fmt"
	"time"
)

// DealPricer prices order lines at a group deal's price (shop/vote's "I
// want a group deal"): server plugs it in; without one every line keeps
// the product's price.
//
// DealPrice says whether a deal gives the fan qty units of the product at
// a group price now (inside its window, the fan allowed, that many left):
// the deal's id and its price, or "" for none. ClaimDeal takes qty of the
// deal's quantity for the order once (a replay is a no-op), failing with a
// 409 when less is left; it is called after the order's stock is held, and
// the pricer gives the quantity back when the order is cancelled or
// rejected (it subscribes to order events).
type DealPricer interface {
	DealPrice(ctx context.Context, tenantID, fanID, productID string, qty int64, now time.Time) (dealID string, price int64, err error)
	ClaimDeal(ctx context.Context, tenantID, dealID, orderID string, qty int64) error
}

// SetDealPricer plugs in group deals' prices (wired by server).
func (s *Service) SetDealPricer(p DealPricer) { s.deals = p }

// dealClaims is what an order being placed takes of group deals: units
// by deal, and units priced by product (its SKU lines share one deal).
type dealClaims struct{ byDeal, byProduct map[string]int64 }

func newDealClaims() dealClaims {
	return dealClaims{byDeal: map[string]int64{}, byProduct: map[string]int64{}}
}

// dealPrice sets the line's price to a group deal's when one applies, and
// adds its units to what the order claims of that deal.
func (s *Service) dealPrice(ctx context.Context, tenantID, fanID string, l *Line, now time.Time, claims dealClaims) error {
	if s.deals == nil {
		return nil
	}
	id, price, err := s.deals.DealPrice(ctx, tenantID, fanID, l.ProductID, l.Qty+claims.byProduct[l.ProductID], now)
	if err != nil {
		return fmt.Errorf("group deal price of product %s: %w", l.ProductID, err)
	}
	if id == "" {
		return nil
	}
	l.Price, l.Amount = price, price*l.Qty
	claims.byProduct[l.ProductID] += l.Qty
	claims.byDeal[id] += l.Qty
	return nil
}

// claimDeals takes the order's units of each group deal it was priced at.
func (s *Service) claimDeals(ctx context.Context, tenantID, orderID string, claims dealClaims) error {
	for id, qty := range claims.byDeal {
		if err := s.deals.ClaimDeal(ctx, tenantID, id, orderID, qty); err != nil {
			return err
		}
	}
	return nil
}

// priceDeals prices v's lines at the group deals live for the fan now, as
// placing the order would (the cart and the checkout show what will be
// charged), keeping the regular price beside; lines priced already are
// left. A deal that closes before the order is placed leaves the regular
// price: placing decides. An error prices nothing (the pages still show).
func (s *Service) priceDeals(ctx context.Context, tenantID, fanID string, v *CartView) {
	if s.deals == nil || fanID == "" {
		return
	}
	now, byProduct := s.clock(), map[string]int64{}
	for i := range v.Items {
		l := &v.Items[i]
		if l.Problem != "" || l.Qty <= 0 || l.RegularPrice != 0 {
			continue
		}
		id, price, err := s.deals.DealPrice(ctx, tenantID, fanID, l.ProductID, l.Qty+byProduct[l.ProductID], now)
		if err != nil || id == "" || price >= l.Price {
			continue
		}
		byProduct[l.ProductID] += l.Qty
		v.GoodsTotal -= (l.Price - price) * l.Qty
		l.RegularPrice, l.Price, l.Amount = l.Price, price, price*l.Qty
		l.PriceChanged = false // the page shows the regular price beside the group price
	}
}
