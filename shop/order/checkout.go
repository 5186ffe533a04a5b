package order

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Checkout is the checkout page's order summary.
type Checkout struct {
	Lines            []CartLine
	GoodsTotal       int64
	ShippingFee      int64
	Discount         int64
	Payable          int64
	FreeShippingOver int64 // 0: shipping is never free
	Ready            bool
	// BuyNow is a single item bought from its product page, not the cart.
	BuyNow bool
	// Items is the JSON the page posts as the order's items.
	Items string
	// IdempotencyKey is minted once per page load, so a retried or double
	// submitted checkout places one order.
	IdempotencyKey string
	// PointsOffer is the points discount the shopper may choose to take.
	PointsOffer Discount
}

// FreeShippingGap is how much more the shopper must buy for free shipping
// (0 when shipping is free already or never).
func (c Checkout) FreeShippingGap() int64 {
	if c.FreeShippingOver == 0 || c.ShippingFee == 0 {
		return 0
	}
	return c.FreeShippingOver - c.GoodsTotal
}

// Checkout summarises the order the fan would place for v (the cart, or
// one item bought now): shipping under the shop's settings, and the points
// discount the fan may take.
func (s *Service) Checkout(ctx context.Context, tenantID, fanID string, v CartView) (Checkout, error) {
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return Checkout{}, err
	}
	s.priceDeals(ctx, tenantID, fanID, &v)
	items := make([]CartItemRequest, 0, len(v.Items))
	for _, l := range v.Items {
		items = append(items, CartItemRequest{ProductID: l.ProductID, SKUID: l.SKUID, Qty: l.Qty})
	}
	b, _ := json.Marshal(items)
	co := Checkout{Lines: v.Items, GoodsTotal: v.GoodsTotal, ShippingFee: st.shippingFor(v.GoodsTotal),
		FreeShippingOver: st.FreeShippingOver, Ready: v.Ready, Items: string(b), IdempotencyKey: engine.NewID()}
	co.Payable = co.GoodsTotal + co.ShippingFee - co.Discount
	if s.disc != nil {
		if co.PointsOffer, err = s.disc.Offer(ctx, tenantID, fanID, co.GoodsTotal); err != nil {
			return Checkout{}, fmt.Errorf("offer points discount: %w", err)
		}
	}
	return co, nil
}

// QuoteItem prices one item bought straight from its product page as a
// one-line cart, with the same problems a cart line would show.
func (s *Service) QuoteItem(ctx context.Context, tenantID string, it CartItemRequest) (CartView, error) {
	p, err := s.catalog.Get(ctx, tenantID, it.ProductID)
	if err != nil {
		return CartView{}, err
	}
	if len(p.SKUs) > 0 && it.SKUID == "" {
		return CartView{}, &fault.Error{Status: http.StatusBadRequest, Code: "invalid", Field: "sku",
			Message: fmt.Sprintf("Choose an option of %q first.", p.Title)}
	}
	l, err := cartLine(p, it.SKUID, it.Qty)
	if err != nil {
		return CartView{}, err
	}
	v := CartView{Items: []CartLine{l}, Ready: l.Problem == ""}
	if v.Ready {
		v.GoodsTotal, v.Count = l.Amount, l.Qty
	}
	return v, nil
}
