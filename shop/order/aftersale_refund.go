package order

import (
	"strings"

	"microshop/tenants/engine"
)

// AfterSaleRefundPrefix begins the reason of a refund an after-sale request
// asked for: the reason is the prefix and the request's id
// (aftersale.RefundMark), which is how the after-sale service finds its
// refund among the order's. Pages do not show it as it is: they say
// "After-sale refund" in their language (AfterSaleID).
const AfterSaleRefundPrefix = "after-sale "

// AfterSaleRequestID is the id of the after-sale request a refund reason
// names (AfterSaleRefundPrefix and the id), or "" for any other reason.
func AfterSaleRequestID(reason string) string {
	id, ok := strings.CutPrefix(reason, AfterSaleRefundPrefix)
	if !ok || !engine.ValidID(id) {
		return ""
	}
	return id
}

// AfterSaleID is the id of the after-sale request r refunds ("" for a
// merchant's own refund).
func (r Refund) AfterSaleID() string { return AfterSaleRequestID(r.Reason) }

// AfterSaleID is, for a refund step, the id of the after-sale request the
// refund is for ("" for other steps and a merchant's own refund).
func (s Step) AfterSaleID() string {
	switch s.Kind {
	case StepRefunded, StepRefundProcessing, StepRefundFailed:
		return AfterSaleRequestID(s.Detail)
	}
	return ""
}
