package order

import "context"

// Gate says whether a shop may take new orders now: a penalty of the
// platform's credit rules (shop/credit's "no new orders") closes it. Its
// error is what the shopper gets (a 4xx saying why). server plugs
// shop/credit in; without one every shop takes orders.
type Gate interface {
	CanPlace(ctx context.Context, tenantID string) error
}

// SetGate plugs in what may close a shop to new orders (wired by server).
func (s *Service) SetGate(g Gate) { s.gate = g }

// open is nil when the shop may take a new order (see Gate).
func (s *Service) open(ctx context.Context, tenantID string) error {
	if s.gate == nil {
		return nil
	}
	return s.gate.CanPlace(ctx, tenantID)
}
