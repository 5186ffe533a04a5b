package order

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"microshop/tenants/fault"
)

// Limits on placing orders, so that no one holds a shop's stock for free:
// a fan has at most MaxUnpaid unpaid orders at once (in the database, so on
// every replica), and one address places at most PlaceLimit orders a
// minute in one shop (in the process).

// MaxUnpaid is how many unpaid orders one fan may have at once.
const MaxUnpaid = 3

// errTooManyUnpaid refuses a fan's order beyond MaxUnpaid unpaid ones.
var errTooManyUnpaid = fault.Conflict("you have %d unpaid orders: pay for or cancel one before placing another", MaxUnpaid).
	WithCode("too_many_unpaid")

// insertWithSlot writes the new order o with one of its fan's MaxUnpaid
// slots, or refuses it with errTooManyUnpaid. A slot is taken by one
// conditional write (a unique insert, or a swap from the order it held),
// so however many placements of one fan race, each slot goes to one of
// them; on SQLite the order is written in the same transaction
// (Store.InsertTaking). A slot is free again when its order is paid,
// cancelled or rejected; nothing has to free it, so a crash anywhere
// frees it too.
//
// This process's hints (slotHints) first: a slot whose order it saw leave
// payment is taken with that one conditional write, reading nothing; when
// the write misses (the slot moved meanwhile) or there is no such hint,
// the slots and their orders are read.
func (s *Service) insertWithSlot(ctx context.Context, tenantID string, o *Order, now time.Time) error {
	fanID := o.FanID
	try := func(n int, prev string) (bool, error) {
		took, err := s.store.InsertTaking(ctx, tenantID, o, Slot{FanID: fanID, N: n, OrderID: o.ID, At: now}, prev)
		switch {
		case err != nil:
			s.slots.forget(tenantID, fanID, n)
		case took:
			s.slots.seen(tenantID, fanID, n, o.ID, false)
		default:
			s.slots.forget(tenantID, fanID, n)
		}
		return took, err
	}
	if n, prev, ok, mine := s.slots.free(tenantID, fanID, o.ID); mine {
		return s.store.Insert(ctx, tenantID, o) // this order's retry: it has its slot
	} else if ok {
		if took, err := try(n, prev); err != nil || took {
			return err
		}
	}
	slots, err := s.store.Slots(ctx, tenantID, fanID)
	if err != nil {
		return err
	}
	held := map[int]Slot{}
	for _, sl := range slots {
		if sl.OrderID == o.ID {
			return s.store.Insert(ctx, tenantID, o) // this order's retry: it has its slot
		}
		held[sl.N] = sl
	}
	for n := range MaxUnpaid {
		prev, taken := held[n]
		if taken {
			free, err := s.slotFree(ctx, tenantID, prev, now)
			if err != nil {
				return err
			}
			s.slots.seen(tenantID, fanID, n, prev.OrderID, free)
			if !free {
				continue
			}
		}
		if took, err := try(n, prev.OrderID); err != nil || took {
			return err
		}
	}
	return errTooManyUnpaid
}

// slotFree reports whether sl's order no longer awaits payment. An order
// that was never written (its placing died between taking the slot and
// writing it) frees the slot once placing would have been given up.
func (s *Service) slotFree(ctx context.Context, tenantID string, sl Slot, now time.Time) (bool, error) {
	o, err := s.store.Get(ctx, tenantID, sl.OrderID)
	if errors.Is(err, fault.ErrNotFound) {
		return sl.At.Before(now.Add(-placingGrace)), nil
	}
	if err != nil {
		return false, err
	}
	return o.Status != Placing && o.Status != PendingPayment, nil
}

// PlaceLimit is how many orders one address may place in one shop per
// minute: a carrier's NAT or a shop's Wi-Fi puts many shoppers behind one
// address, a script placing orders to hold stock needs far more.
const PlaceLimit = 60

// addressKey is what the limit counts an address as: an IPv4 address, or
// an IPv6 address's /64 (one subscriber's network; a host picks addresses
// in it freely).
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() || a.Is4In6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}
