package ledger

import (
	"context"
	"time"
)

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

// AfterSaleWindow is an AfterSale that also knows when an order's
// after-sale window closes (shop/aftersale: the order's completion plus
// the shop's after-sale window). When the plugged AfterSale is one, that
// date is when the order's commission settles: the shop's after-sale
// window wins over the date distribution computed from its old setting
// (after_sale_days), so the merchant sets one number, in the after-sale
// settings. ok false (an order not completed) keeps distribution's date.
type AfterSaleWindow interface {
	WindowEnd(ctx context.Context, tenantID, orderID string) (end time.Time, ok bool, err error)
}

// settleAt is when the commission of order orderID, completed with
// distribution's date at, settles: the end of the shop's after-sale
// window when the plugged AfterSale knows it, else at.
func (l *Ledger) settleAt(ctx context.Context, tenantID, orderID string, at time.Time) (time.Time, error) {
	w, ok := l.afterSale.(AfterSaleWindow)
	if !ok || orderID == "" {
		return at, nil
	}
	end, ok, err := w.WindowEnd(ctx, tenantID, orderID)
	if err != nil || !ok {
		return at, err
	}
	return end, nil
}
