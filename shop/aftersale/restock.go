package aftersale

import (
	"context"
	"fmt"
	"strconv"
)

// Restocking. A return with a refund whose parcel came back (the merchant
// confirmed it, or its confirmation deadline passed and the request was
// refunded as received) puts the returned units back on their products:
// per request line, the quantity the request names, once. Each line's
// units are put back under the key RestockKey(request, line) through the
// catalog, which adds them once per key (the key and the increment in one
// write on either engine), and the request reaches refunded once (a
// conditional change), so however many passes and merchants race, the
// units come back once. It happens where the refund is sent (sendRefund):
// the pass's takeover of a refund left sending (resend) repeats it, so a
// crash between deciding and restocking is repaired (a catalog that
// refuses the units outright, a 4xx, does not hold the refund back).
//
// Nothing else restocks: a refund-only request never had goods back, an
// operator's decision refunds a request rejected before any return, and
// an exchange sends out a replacement from the same stock the returned
// units would go back to.

// RestockKey is the catalog's key for the units of line (its place in the
// order) that request id put back.
func RestockKey(id string, line int) string { return "aftersale:" + id + ":" + strconv.Itoa(line) }

// restocks reports whether request r puts its units back.
func restocks(r Request) bool {
	return r.Type == ReturnRefund && r.Status == Refunded && r.ReceivedAt != nil
}

// restockReturn puts r's returned units back, once per line.
func (s *Service) restockReturn(ctx context.Context, tenantID string, r Request) error {
	if s.restock == nil || !restocks(r) {
		return nil
	}
	for _, l := range r.Lines {
		if err := s.restock.Restock(ctx, tenantID, RestockKey(r.ID, l.Index), l.ProductID, l.SKUID, l.Quantity); err != nil {
			return fmt.Errorf("restock line %d of after-sale request %s: %w", l.Index, r.ID, err)
		}
	}
	return nil
}

// Restocked reports whether r's returned units are back on sale (the
// merchant's page says so): they are put back before its refund is asked
// for, so once the refund left sending.
func (r Request) Restocked() bool {
	return restocks(r) && (r.RefundStatus == RefundSent || r.RefundStatus == RefundFailed)
}
