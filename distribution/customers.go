package distribution

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"microshop/distribution/guide"
	"microshop/distribution/tree"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// MergeFan implements fan.Merger: when a browser fan signs in with WeChat
// and its cookie identity is merged into the WeChat fan, the bindings the
// browser fan collected follow it, into the slots the WeChat fan does not
// hold yet (an active binding of the WeChat fan wins). Replays are no-ops.
func (s *Service) MergeFan(ctx context.Context, tenantID, fromID, intoID string) error {
	from, err := s.store.Binding(ctx, tenantID, fromID)
	if errors.Is(err, fault.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.clock()
	for attempt := 0; attempt <= maxBindRetries; attempt++ {
		into, exists, err := s.binding(ctx, tenantID, intoID, now)
		if err != nil {
			return err
		}
		next, changed := into, false
		if !into.Guide.Active(now) && from.Guide.Active(now) {
			next.Guide, changed = from.Guide, true
		}
		if !into.Distributor.Active(now) && from.Distributor.Active(now) {
			next.Distributor, changed = from.Distributor, true
		}
		if next.ReferrerID == "" && from.ReferrerID != "" {
			next.ReferrerID, changed = from.ReferrerID, true
		}
		if next.Channel == "" {
			next.Channel = from.Channel
		}
		if !changed {
			return nil
		}
		next.UpdatedAt = now
		if ok, err := s.write(ctx, tenantID, next, exists); err != nil {
			return err
		} else if ok {
			return s.store.Log(ctx, tenantID, LogEntry{ID: engine.NewID(), FanID: intoID, Kind: "merge", From: fromID,
				To: strings.TrimSpace(next.Guide.ID + " " + next.Distributor.ID), At: now})
		}
	}
	return fmt.Errorf("merge fan %s into %s: the binding kept changing", fromID, intoID)
}

// Customer is a fan's binding and its audit trail.
type Customer struct {
	Binding Binding    `json:"binding"`
	History []LogEntry `json:"history"`
}

// Customer returns a customer's binding and its latest 100 changes; a
// customer the shop has never seen is a 404.
func (s *Service) Customer(ctx context.Context, tenantID, fanID string) (Customer, error) {
	if !engine.ValidID(fanID) {
		return Customer{}, fault.NotFound("customer")
	}
	b, err := s.store.Binding(ctx, tenantID, fanID)
	if err != nil {
		return Customer{}, err
	}
	hist, err := s.store.History(ctx, tenantID, fanID, 100)
	if err != nil {
		return Customer{}, err
	}
	if hist == nil {
		hist = []LogEntry{}
	}
	return Customer{Binding: b, History: hist}, nil
}

// Reassign is a merchant's manual change of a customer's binding: slot
// "guide" or "distributor" to id ("" unbinds). It is logged with who did it.
func (s *Service) Reassign(ctx context.Context, tenantID, fanID, slot, id, by string) (Binding, error) {
	next, err := s.manualSlot(ctx, tenantID, fanID, slot, id)
	if err != nil {
		return Binding{}, err
	}
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return Binding{}, err
	}
	now := s.clock()
	if next.ID != "" {
		next.At = now
		if st.Binding == BindDays {
			next.Until = now.AddDate(0, 0, st.BindingDays)
		}
		if st.ProtectionDays > 0 {
			next.Protect = now.AddDate(0, 0, st.ProtectionDays)
		}
	}
	for attempt := 0; attempt <= maxBindRetries; attempt++ {
		b, err := s.store.Binding(ctx, tenantID, fanID)
		if err != nil {
			return Binding{}, err // a customer the shop has never seen is a 404
		}
		from := b.Guide.ID
		if slot == "guide" {
			b.Guide = next
		} else {
			from = b.Distributor.ID
			b.Distributor = next
		}
		b.UpdatedAt = now
		ok, err := s.store.UpdateBinding(ctx, tenantID, b)
		if err != nil {
			return Binding{}, err
		}
		if !ok {
			continue
		}
		if err := s.store.Log(ctx, tenantID, LogEntry{ID: engine.NewID(), FanID: fanID, Kind: "manual", Slot: slot,
			From: from, To: next.ID, By: by, At: now}); err != nil {
			return Binding{}, err
		}
		b.Rev++
		return b, nil
	}
	return Binding{}, fault.Conflict("the customer's binding kept changing; try again")
}

// manualSlot is the slot a merchant binds fanID to: the active guide or
// distributor id of this shop (an empty slot for "").
func (s *Service) manualSlot(ctx context.Context, tenantID, fanID, slot, id string) (Slot, error) {
	switch {
	case slot != "guide" && slot != "distributor":
		return Slot{}, fault.Invalid("slot", "must be guide or distributor")
	case id == "":
		return Slot{}, nil
	case slot == "guide":
		g, err := s.guides.Guide(ctx, tenantID, id)
		if errors.Is(err, fault.ErrNotFound) || (err == nil && !g.Active) {
			return Slot{}, fault.Invalid("guide_id", "no active guide %s in this shop", fault.Clip(id, 40))
		}
		return Slot{ID: g.ID, StoreID: g.StoreID, Channel: "manual"}, err
	}
	if err := engine.CheckID("distributor_id", "distributor", id); err != nil {
		return Slot{}, err
	}
	d, err := s.tree.Store().Light(ctx, tenantID, id)
	switch {
	case errors.Is(err, fault.ErrNotFound) || (err == nil && d.Status != tree.Active):
		return Slot{}, fault.Invalid("distributor_id", "no active distributor %s in this shop", fault.Clip(id, 40))
	case err != nil:
		return Slot{}, err
	case d.FanID == fanID:
		return Slot{}, fault.Invalid("distributor_id", "a customer cannot be bound to themselves")
	}
	return Slot{ID: d.ID, Channel: "manual"}, nil
}

// HandoverReport says what a hand-over did.
type HandoverReport struct {
	Guide     guide.Guide `json:"guide"`
	To        string      `json:"to"`
	Customers int         `json:"customers"`
}

// Handover deactivates a guide who leaves and moves every customer bound to
// them to another guide, in one action; each move is logged. Orders
// already placed keep their attribution.
func (s *Service) Handover(ctx context.Context, tenantID, guideID, toID, by string) (HandoverReport, error) {
	g, err := s.guides.Guide(ctx, tenantID, guideID)
	if err != nil {
		return HandoverReport{}, err
	}
	to, err := s.guides.Guide(ctx, tenantID, toID)
	if errors.Is(err, fault.ErrNotFound) || (err == nil && (!to.Active || to.ID == g.ID)) {
		return HandoverReport{}, fault.Invalid("to_guide_id", "must be another active guide of this shop")
	}
	if err != nil {
		return HandoverReport{}, err
	}
	if g.Active {
		if g, err = s.guides.Leave(ctx, tenantID, g, to.ID); err != nil {
			return HandoverReport{}, err
		}
	}
	r := HandoverReport{Guide: g, To: to.ID}
	now := s.clock()
	for {
		// Moved bindings leave the index range, so the first page is
		// always the next one.
		page, err := s.store.BoundTo(ctx, tenantID, "guide", g.ID, 200, 0)
		if err != nil {
			return r, err
		}
		if len(page) == 0 {
			return r, nil
		}
		for _, b := range page {
			if b.Guide.ID != g.ID {
				continue
			}
			b.Guide = Slot{ID: to.ID, StoreID: to.StoreID, Channel: b.Guide.Channel, At: now, Until: b.Guide.Until, Protect: b.Guide.Protect}
			b.UpdatedAt = now
			ok, err := s.store.UpdateBinding(ctx, tenantID, b)
			if err != nil {
				return r, err
			}
			if !ok {
				continue // changed meanwhile: the next page re-reads it
			}
			if err := s.store.Log(ctx, tenantID, LogEntry{ID: engine.NewID(), FanID: b.FanID, Kind: "handover", Slot: "guide",
				From: g.ID, To: to.ID, By: by, At: now}); err != nil {
				return r, err
			}
			r.Customers++
		}
	}
}
