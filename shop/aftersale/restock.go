package aftersale

import (
	"context"
	"fmt"

	"microshop/shop/order"
)

// Restocking. A return with a refund whose parcel came back (the merchant
// confirmed it, or its confirmation deadline passed and the request was
// refunded as received) puts the returned units back on their products:
// per request line, the quantity the request names, once. Each unit is put
// back under the order's key for it, order.RestockKey(order, line, unit),
// through the catalog, which adds it once per key (the key and the
// increment in one write on either engine): a line's returns take its
// units in the order the requests were made (the first return of 2 units
// 0 and 1, the next from 2), and a refund that restocks the whole order
// names the same units, so however many passes, merchants and refunds race
// or follow each other, a unit comes back once. It happens where the refund is sent (sendRefund):
// the pass's takeover of a refund left sending (resend) repeats it, so a
// crash between deciding and restocking is repaired (a catalog that
// refuses the units outright, a 4xx, does not hold the refund back).
//
// Nothing else restocks: a refund-only request never had goods back, an
// operator's decision refunds a request rejected before any return, and
// an exchange sends out a replacement from the same stock the returned
// units would go back to.

// restocks reports whether request r puts its units back.
func restocks(r Request) bool {
	return r.Type == ReturnRefund && r.Status == Refunded && r.ReceivedAt != nil
}

// restockReturn puts r's returned units back, once per line.
func (s *Service) restockReturn(ctx context.Context, tenantID string, r Request) error {
	if s.restock == nil || !restocks(r) {
		return nil
	}
	first, err := s.returnedBefore(ctx, tenantID, r)
	if err != nil {
		return err
	}
	for _, l := range r.Lines {
		for u := first[l.Index]; u < first[l.Index]+l.Quantity; u++ {
			if err := s.restock.Restock(ctx, tenantID, order.RestockKey(r.OrderID, l.Index, u), l.ProductID, l.SKUID, 1); err != nil {
				return fmt.Errorf("restock line %d of after-sale request %s: %w", l.Index, r.ID, err)
			}
		}
	}
	return nil
}

// returnedBefore is, per order line, how many units the order's returns
// made before r took back (their units come first). A line has at most
// one open request, so those returns were settled before r was made.
func (s *Service) returnedBefore(ctx context.Context, tenantID string, r Request) (map[int]int64, error) {
	all, err := s.store.ByOrder(ctx, tenantID, r.OrderID)
	if err != nil {
		return nil, err
	}
	first := map[int]int64{}
	for _, x := range all {
		if x.ID == r.ID || !restocks(x) || !before(x, r) {
			continue
		}
		for _, l := range x.Lines {
			first[l.Index] += l.Quantity
		}
	}
	return first, nil
}

// before reports whether request a was made before b (ids break ties).
func before(a, b Request) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}

// Restocked reports whether r's returned units are back on sale (the
// merchant's page says so): they are put back before its refund is asked
// for, so once the refund left sending.
func (r Request) Restocked() bool {
	return restocks(r) && (r.RefundStatus == RefundSent || r.RefundStatus == RefundFailed)
}
