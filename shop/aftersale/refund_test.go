package aftersale

import (
	"testing"

	"microshop/shop/order"
)

// TestRefundMarkReadBack: the order's pages recognise a request's refund
// by its mark (to say "After-sale refund" and link the request), and
// nothing else is taken for one.
func TestRefundMarkReadBack(t *testing.T) {
	id := "afoogaoyuk4t6czh"
	if got := order.AfterSaleRequestID(RefundMark(id)); got != id {
		t.Errorf("AfterSaleRequestID(RefundMark(%q)) = %q", id, got)
	}
	if got := (order.Refund{Reason: RefundMark(id)}).AfterSaleID(); got != id {
		t.Errorf("Refund.AfterSaleID = %q, want %q", got, id)
	}
	for _, reason := range []string{"", "broken on arrival", "after-sale", "after-sale not an id", "after-sale " + id + " x"} {
		if got := order.AfterSaleRequestID(reason); got != "" {
			t.Errorf("AfterSaleRequestID(%q) = %q, want none", reason, got)
		}
	}
}
