package order

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"microshop/shop/catalog"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// PlaceRequest is what a consumer submits to place an order.
type PlaceRequest struct {
	Items   []CartItemRequest `json:"items"`
	Address Address           `json:"address"`
	// Points the fan wants to use for a discount (0: none).
	Points int64 `json:"points,omitempty"`
	// ExpectedPayable is what the checkout showed the shopper to pay
	// (fen). When given, an order that would come to anything else (a
	// group deal ended, a price changed) is not placed: 409 price_changed,
	// so the shopper sees the new amount before agreeing to it.
	ExpectedPayable *int64 `json:"expected_payable,omitempty"`
}

var phonePattern = regexp.MustCompile(`^(\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$`)

// validate checks the request and merges repeated lines.
func (r *PlaceRequest) validate() error {
	if len(r.Items) == 0 {
		return fault.Invalid("items", "an order needs at least one item")
	}
	if len(r.Items) > MaxLines {
		return fault.Invalid("items", "an order holds at most %d different items", MaxLines)
	}
	merged := make([]CartItemRequest, 0, len(r.Items))
	index := map[string]int{}
	for i, it := range r.Items {
		field := fmt.Sprintf("items[%d]", i)
		if err := checkItemIDs(field+".", it); err != nil {
			return err
		}
		if it.Qty < 1 || it.Qty > MaxQty {
			return fault.Invalid(field+".qty", "must be between 1 and %d", MaxQty)
		}
		k := it.ProductID + "/" + it.SKUID
		if j, ok := index[k]; ok {
			merged[j].Qty += it.Qty
			if merged[j].Qty > MaxQty {
				return fault.Invalid(field+".qty", "at most %d of one item", MaxQty)
			}
			continue
		}
		index[k] = len(merged)
		merged = append(merged, it)
	}
	r.Items = merged
	a := &r.Address
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"name", &a.Name, 32}, {"phone", &a.Phone, 20}, {"province", &a.Province, 32}, {"city", &a.City, 32},
		{"district", &a.District, 32}, {"detail", &a.Detail, 200}} {
		v, err := fault.Text("address."+f.name, *f.v, f.max)
		if err != nil {
			return err
		}
		if v == "" {
			return fault.Invalid("address."+f.name, "is required")
		}
		*f.v = v
	}
	if !phonePattern.MatchString(a.Phone) {
		return fault.Invalid("address.phone", "%q is not a phone number (a mobile like 13812345678, or 010-12345678)", a.Phone)
	}
	if r.Points < 0 || r.Points > 1_000_000_000 {
		return fault.Invalid("points", "must be between 0 and 1000000000")
	}
	return nil
}

// Place prices the request at today's prices, holds stock for every line
// and returns the order awaiting payment. A line that cannot be filled
// fails the whole order with a 409 naming the product; stock already held
// for it is given back. A fan with MaxUnpaid orders awaiting payment gets
// a 409 too_many_unpaid. orderID, if not empty, is the id to use (an
// idempotent request reserved it).
func (s *Service) Place(ctx context.Context, tenantID, fanID, orderID string, req PlaceRequest) (Order, error) {
	o, _, err := s.place(ctx, tenantID, fanID, orderID, req, nil)
	return o, err
}

// place is Place; with key (the request's Idempotency-Key, claimed), the
// answer is stored under the key with the order's move to awaiting
// payment where the store can (finished true: Store.Placed).
func (s *Service) place(ctx context.Context, tenantID, fanID, orderID string, req PlaceRequest, key *IdemKey) (Order, bool, error) {
	if err := req.validate(); err != nil {
		return Order{}, false, err
	}
	if err := s.open(ctx, tenantID); err != nil {
		return Order{}, false, err
	}
	settings, err := s.Settings(ctx, tenantID)
	if err != nil {
		return Order{}, false, err
	}
	now := s.clock()
	o := Order{ID: orderID, FanID: fanID, Status: Placing, Address: req.Address, CreatedAt: now,
		ExpiresAt: now.Add(time.Duration(settings.UnpaidTimeoutMinutes) * time.Minute), Refunds: []Refund{}}
	if o.ID == "" {
		o.ID = engine.NewID()
	}
	deals := newDealClaims() // what the order takes of group deals (deal.go)
	for i, it := range req.Items {
		p, err := s.catalog.Get(ctx, tenantID, it.ProductID)
		if errors.Is(err, fault.ErrNotFound) {
			return Order{}, false, fault.Invalid(fmt.Sprintf("items[%d].product_id", i), "no product %s in this shop", it.ProductID)
		}
		if err != nil {
			return Order{}, false, err
		}
		l, _, problem, err := lineOf(p, it.SKUID, it.Qty)
		if err != nil {
			return Order{}, false, err
		}
		if problem == "off_sale" {
			return Order{}, false, fault.Conflict("%q is no longer on sale", p.Title)
		}
		if err := s.dealPrice(ctx, tenantID, fanID, &l, now, deals); err != nil { // a group deal's price (deal.go)
			return Order{}, false, err
		}
		o.Lines = append(o.Lines, l)
		o.GoodsTotal += l.Amount
	}
	o.ShippingFee = settings.shippingFor(o.GoodsTotal)
	var disc Discount
	if req.Points > 0 {
		if s.disc == nil {
			return Order{}, false, fault.Invalid("points", "this shop does not take points at checkout")
		}
		if disc, err = s.disc.Quote(ctx, tenantID, fanID, o.GoodsTotal, req.Points); err != nil {
			return Order{}, false, fmt.Errorf("quote points discount: %w", err)
		}
		o.Discount = disc.Amount
	}
	o.Payable = o.GoodsTotal + o.ShippingFee - o.Discount
	if req.ExpectedPayable != nil && *req.ExpectedPayable != o.Payable {
		return Order{}, false, fault.New(http.StatusConflict, "price_changed",
			"a price changed: the order comes to ¥%s, not the ¥%s shown; check it again", catalog.FormatYuan(o.Payable),
			catalog.FormatYuan(*req.ExpectedPayable))
	}
	if err := s.known.ensure(ctx, s.fans, tenantID, fanID, now); err != nil {
		return Order{}, false, err
	}
	o.Attribution = Attribution{Channel: "direct"}
	if s.attr != nil {
		a, err := s.attr.Attribute(ctx, tenantID, fanID)
		if err != nil {
			return Order{}, false, fmt.Errorf("attribute order: %w", err)
		}
		if a.Channel == "" {
			a.Channel = "direct"
		}
		o.Attribution = a
	}

	// The order is written (with its unpaid slot, limits.go) before any
	// stock is held, so a crash from here on leaves a "placing" order that
	// the recovery job rejects, releasing whatever it held.
	if err := s.insertWithSlot(ctx, tenantID, &o, now); err != nil {
		if engine.IsUniqueViolation(err) {
			return Order{}, false, fault.Conflict("order %s exists", o.ID)
		}
		return Order{}, false, err
	}
	if disc.Points > 0 {
		if err := s.disc.Reserve(ctx, tenantID, fanID, o.ID, disc); err != nil {
			if _, rerr := s.reject(ctx, tenantID, o.ID, "points could not be used"); rerr != nil {
				s.log.Error("reject order", "tenant", tenantID, "order", o.ID, "err", rerr)
			}
			return Order{}, false, fmt.Errorf("reserve points for order %s: %w", o.ID, err)
		}
	}
	for i, l := range o.Lines {
		err := s.catalog.Hold(ctx, tenantID, holdKey(o.ID, i), l.ProductID, l.SKUID, l.Qty)
		if err == nil {
			continue
		}
		if _, rerr := s.reject(ctx, tenantID, o.ID, "out of stock"); rerr != nil {
			s.log.Error("reject order", "tenant", tenantID, "order", o.ID, "err", rerr)
		}
		if errors.Is(err, catalog.ErrOutOfStock) {
			return Order{}, false, s.outOfStock(ctx, tenantID, l)
		}
		return Order{}, false, err
	}
	if err := s.claimDeals(ctx, tenantID, o.ID, deals); err != nil { // the group deals' quantities (deal.go)
		if _, rerr := s.reject(ctx, tenantID, o.ID, "group deal sold out"); rerr != nil {
			s.log.Error("reject order", "tenant", tenantID, "order", o.ID, "err", rerr)
		}
		return Order{}, false, err
	}
	placed := o
	placed.Status = PendingPayment
	if key != nil {
		a := placeAnswer(http.StatusCreated, placed)
		key.Status, key.Body = a.Status, a.Body
	}
	ok, finished, err := s.store.Placed(ctx, tenantID, o.ID, key)
	if err != nil {
		return Order{}, false, err
	}
	if !ok {
		return Order{}, false, fault.Conflict("the order was interrupted; please place it again")
	}
	o = placed
	s.countPlaced()
	if err := s.removeOrdered(ctx, tenantID, fanID, o.Lines); err != nil {
		s.log.Warn("clear cart", "tenant", tenantID, "fan", fanID, "err", err)
	}
	return o, finished, nil
}

// outOfStock is the 409 that names the product and what is left.
func (s *Service) outOfStock(ctx context.Context, tenantID string, l Line) error {
	name := l.Title
	if l.SKUName != "" {
		name += " (" + l.SKUName + ")"
	}
	msg := fmt.Sprintf("%q is out of stock", name)
	if p, err := s.catalog.Get(ctx, tenantID, l.ProductID); err == nil {
		left := p.Stock
		for _, k := range p.SKUs {
			if k.ID == l.SKUID {
				left = k.Stock
			}
		}
		if left > 0 {
			msg = fmt.Sprintf("only %d of %q left; you asked for %d", left, name, l.Qty)
		}
	}
	return &fault.Error{Status: http.StatusConflict, Code: "out_of_stock", Message: msg, Field: l.ProductID}
}

// reject ends a placing order and gives its stock back.
func (s *Service) reject(ctx context.Context, tenantID, id, reason string) (bool, error) {
	now := s.clock()
	ok, err := s.store.Transition(ctx, tenantID, id, []string{Placing}, Rejected,
		Change{CancelledAt: &now, CancelReason: &reason}, &Event{ID: EventCancelled, Type: EventCancelled, At: now})
	if err != nil || !ok {
		return ok, err
	}
	// Delivery failures leave the events in the outbox for the next pass.
	if err := s.Dispatch(ctx, tenantID, id); err != nil {
		s.log.Warn("dispatch order events", "tenant", tenantID, "order", id, "err", err)
	}
	return true, nil
}
