package order

import (
	"context"
	"slices"
	"strings"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Get returns one order of the shop.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Order, error) {
	if err := engine.CheckID("id", "order", id); err != nil {
		return Order{}, err
	}
	return s.store.Get(ctx, tenantID, id)
}

// GetForFan returns the fan's own order; anyone else's is not found.
func (s *Service) GetForFan(ctx context.Context, tenantID, fanID, id string) (Order, error) {
	o, err := s.Get(ctx, tenantID, id)
	if err == nil && o.FanID != fanID {
		return Order{}, fault.NotFound("order")
	}
	return visibleOrder(o, err)
}

// GetForMerchant returns an order as the merchant may see it: orders still
// being placed, or rejected while placing, are not found.
func (s *Service) GetForMerchant(ctx context.Context, tenantID, id string) (Order, error) {
	return visibleOrder(s.Get(ctx, tenantID, id))
}

// visibleOrder is o as read (o, err), unless no one may see it yet.
func visibleOrder(o Order, err error) (Order, error) {
	if err != nil {
		return Order{}, err
	}
	if !visible(o.Status) {
		return Order{}, fault.NotFound("order")
	}
	return o, nil
}

func visible(status string) bool { return status != Placing && status != Rejected }

// MerchantOrder is an order as the merchant sees it: with every payment
// recorded for it, including any that must be refunded.
type MerchantOrder struct {
	Order
	Payments []Payment `json:"payments"`
}

// MerchantOrder returns the order with its payments.
func (s *Service) MerchantOrder(ctx context.Context, tenantID, id string) (MerchantOrder, error) {
	o, err := s.GetForMerchant(ctx, tenantID, id)
	if err != nil {
		return MerchantOrder{}, err
	}
	payments, err := s.OrderPayments(ctx, tenantID, o.ID)
	return MerchantOrder{Order: o, Payments: payments}, err
}

// List pages through orders.
func (s *Service) List(ctx context.Context, tenantID string, f Filter) ([]Order, int64, error) {
	if err := engine.CheckPage(&f.Limit, f.Offset); err != nil {
		return nil, 0, err
	}
	if f.Status != "" && !slices.Contains(listed, f.Status) {
		return nil, 0, fault.Invalid("status", "must be one of %s", strings.Join(listed, ", "))
	}
	if f.FanID != "" {
		if err := engine.CheckID("fan_id", "fan", f.FanID); err != nil {
			return nil, 0, err
		}
	}
	return s.store.List(ctx, tenantID, f)
}
