package ledger

import "context"

// AfterSale says whether an order has an after-sale request still open
// (shop/aftersale). Commission of such an order does not settle, even past
// its after-sale window: it waits for the request to end (a refund it ends
// with reverses the commission while it is still pending). server plugs
// shop/aftersale in; without one nothing waits.
type AfterSale interface {
	OpenAfterSale(ctx context.Context, tenantID, orderID string) (bool, error)
}

// SetAfterSale plugs in what keeps commission waiting (wired by server).
func (l *Ledger) SetAfterSale(a AfterSale) { l.afterSale = a }

// openAfterSale reports whether the order's commission must wait.
func (l *Ledger) openAfterSale(ctx context.Context, tenantID, orderID string) (bool, error) {
	if l.afterSale == nil || orderID == "" {
		return false, nil
	}
	return l.afterSale.OpenAfterSale(ctx, tenantID, orderID)
}
