package distribution

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Attribute implements order.Attributor: who gets credit for the fan's
// order placed now. The guide comes from the fan's active guide binding;
// the distributor from the fan's own distributor record when the fan is a
// distributor (their team line), else from the active distributor binding;
// the path is the distributor (level 1, unless a distributor's own order
// without self-purchase commission) and its upline, as many as the shop
// has levels. A handful of reads, whatever the tree's size or depth.
func (s *Service) Attribute(ctx context.Context, tenantID, fanID string) (order.Attribution, error) {
	a := order.Attribution{Channel: ChannelDirect}
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return a, err
	}
	now := s.clock()
	b, err := s.store.Binding(ctx, tenantID, fanID)
	if errors.Is(err, fault.ErrNotFound) {
		b, err = Binding{}, nil
	}
	if err != nil {
		return a, err
	}
	if b.Guide.Active(now) {
		g, err := s.guides.Store().Guide(ctx, tenantID, b.Guide.ID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return a, err
		}
		if err == nil && g.Active {
			a.GuideID, a.StoreID, a.Channel = g.ID, g.StoreID, orDirect(b.Guide.Channel)
		}
	}
	if a.GuideID == "" && tagged(b.Channel) {
		// A tagged link (?ch=market, ?ch=pc_store) with nobody to credit:
		// the order still counts under the channel it came through.
		a.Channel = b.Channel
	}
	if !st.Enabled {
		return a, nil
	}
	levels := len(st.Levels)
	self, err := s.tree.ByFan(ctx, tenantID, fanID)
	switch {
	case err == nil && self.Status == tree.Active:
		a.DistributorID = self.ID
		if st.SelfPurchase {
			a.Path = append([]string{self.ID}, self.Upline...)
		} else {
			a.Path = slices.Clone(self.Upline)
		}
	case err != nil && !errors.Is(err, fault.ErrNotFound):
		return a, err
	case b.Distributor.Active(now):
		d, err := s.tree.Store().Light(ctx, tenantID, b.Distributor.ID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return a, err
		}
		if err == nil && d.Status == tree.Active && d.FanID != fanID {
			a.DistributorID = d.ID
			a.Path = append([]string{d.ID}, d.Upline...)
			if a.GuideID == "" {
				a.Channel = orDirect(b.Distributor.Channel)
			}
		}
	}
	if len(a.Path) > levels {
		a.Path = a.Path[:levels]
	}
	if len(a.Path) == 0 {
		a.Path = nil
	}
	return a, nil
}

// tagged reports whether a binding's latest channel came from a link's
// ?ch= tag rather than from a guide's or distributor's code (whose
// channels the slots carry, and only while they bind).
func tagged(ch string) bool {
	switch ch {
	case "", ChannelDirect, ChannelGuideQR, ChannelShareLink, ChannelWeChatQR:
		return false
	}
	return true
}

func orDirect(ch string) string {
	if ch == "" {
		return ChannelDirect
	}
	return ch
}

// PathStep is one beneficiary on an order's recommendation path.
type PathStep struct {
	Level         int    `json:"level"`
	DistributorID string `json:"distributor_id"`
	Code          string `json:"code,omitempty"`
	FanID         string `json:"fan_id,omitempty"`
	Depth         int    `json:"depth,omitempty"`
}

// OrderPath is an order's attribution with its recommendation path
// (fan ← L1 ← L2) and its commission entries.
type OrderPath struct {
	OrderID     string            `json:"order_id"`
	FanID       string            `json:"fan_id"`
	Status      string            `json:"status"`
	Attribution order.Attribution `json:"attribution"`
	GuideName   string            `json:"guide_name,omitempty"`
	Path        []PathStep        `json:"path"`
	Commissions []ledger.Entry    `json:"commissions"`
}

// OrderPath explains an order's attribution.
func (s *Service) OrderPath(ctx context.Context, tenantID, orderID string) (OrderPath, error) {
	if s.orders == nil || !engine.ValidID(orderID) {
		return OrderPath{}, fault.NotFound("order")
	}
	o, err := s.orders.Get(ctx, tenantID, orderID)
	if err != nil {
		return OrderPath{}, fmt.Errorf("load order %s: %w", orderID, err)
	}
	if o.Status == order.Placing || o.Status == order.Rejected {
		return OrderPath{}, fault.NotFound("order")
	}
	p := OrderPath{OrderID: o.ID, FanID: o.FanID, Status: o.Status, Attribution: o.Attribution, Path: []PathStep{}, Commissions: []ledger.Entry{}}
	if o.Attribution.GuideID != "" {
		if g, err := s.guides.Store().Guide(ctx, tenantID, o.Attribution.GuideID); err == nil {
			p.GuideName = g.Name
		}
	}
	ds, err := s.tree.Store().Many(ctx, tenantID, o.Attribution.Path)
	if err != nil {
		return OrderPath{}, err
	}
	for i, id := range o.Attribution.Path {
		d := ds[id]
		p.Path = append(p.Path, PathStep{Level: i + 1, DistributorID: id, Code: d.Code, FanID: d.FanID, Depth: d.Depth})
	}
	es, err := s.ledger.ByOrder(ctx, tenantID, o.ID)
	if err != nil {
		return OrderPath{}, err
	}
	for _, e := range es {
		if e.Class == ledger.ClassCommission {
			p.Commissions = append(p.Commissions, e)
		}
	}
	return p, nil
}
