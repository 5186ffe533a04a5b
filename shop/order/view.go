package order

import (
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"microshop/tenants/fault"
)

// How orders and carts read on the pages (storefront and console): statuses
// and times in words, the timeline, and fault messages in plain words.

// Buyable reports whether the line's quantity can still be changed.
func (l CartLine) Buyable() bool { return l.Problem != "gone" && l.Problem != "off_sale" }

// MaxQty is the most the stepper offers: the stock, within the cart's limit.
func (l CartLine) MaxQty() int64 { return max(1, min(max(l.Stock, l.Qty), MaxQty)) }

// OrderView is an order as the pages show it, with times in the shop's zone.
type OrderView struct {
	Order
	loc *time.Location
}

func viewOf(o Order, loc *time.Location) OrderView { return OrderView{Order: o, loc: loc} }

// statusText names order statuses in plain words.
var statusText = map[string]string{
	PendingPayment: "Awaiting payment",
	Paid:           "Paid · to ship",
	Shipped:        "Shipped",
	Completed:      "Completed",
	Cancelled:      "Cancelled",
	Refunded:       "Refunded",
}

// When formats a time in the shop's zone ("" for none).
func (v OrderView) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	loc := v.loc
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// Created is when the order was placed, in the shop's zone.
func (v OrderView) Created() string { return v.When(v.CreatedAt) }

// Deadline is when an unpaid order is cancelled, in the shop's zone.
func (v OrderView) Deadline() string { return v.When(v.ExpiresAt) }

// ItemCount is the number of units ordered.
func (v OrderView) ItemCount() int64 {
	var n int64
	for _, l := range v.Lines {
		n += l.Qty
	}
	return n
}

// CanPay reports whether the shopper may still pay: awaiting payment and
// not past its deadline (the cron job cancels it soon after).
func (v OrderView) CanPay() bool {
	return v.Status == PendingPayment && time.Now().Before(v.ExpiresAt)
}

// Unpaid reports whether the order awaits payment.
func (v OrderView) Unpaid() bool { return v.Status == PendingPayment }

// CanRefund reports whether a refund may still be made.
func (v OrderView) CanRefund() bool {
	return (v.Status == Paid || v.Status == Shipped || v.Status == Completed) && v.Order.Refundable > 0
}

// PendingEvents is how many order events still wait for delivery.
func (v OrderView) PendingEvents() int { return len(v.Events) }

// Step is one entry of an order's timeline. Kind names it (pages say it
// with the catalog's order.step.<kind>); Amount is a refund's; Detail is
// what it carries as typed or stored: the carrier and tracking number of a
// shipment, the reason of a refund or a cancellation.
type Step struct {
	at     time.Time
	When   string
	Kind   string
	Amount int64
	Detail string
}

// The kinds of timeline steps.
const (
	StepPlaced   = "order_placed"
	StepPaid     = "paid"
	StepShipped  = "shipped"
	StepRefunded = "refunded"
	// A refund asked for and not settled yet, and one that failed.
	StepRefundProcessing = "refund_processing"
	StepRefundFailed     = "refund_failed"
	StepCompleted        = "completed"
	StepCancelled        = "cancelled"
)

// Timeline lists what happened to the order, oldest first.
func (v OrderView) Timeline() []Step {
	steps := []Step{{at: v.CreatedAt, Kind: StepPlaced}}
	if v.PaidAt != nil {
		steps = append(steps, Step{at: *v.PaidAt, Kind: StepPaid})
	}
	if v.ShippedAt != nil {
		steps = append(steps, Step{at: *v.ShippedAt, Kind: StepShipped, Detail: v.Carrier + " " + v.TrackingNo})
	}
	for _, r := range v.Refunds {
		kind := StepRefunded
		switch r.State() {
		case RefundProcessing:
			kind = StepRefundProcessing
		case RefundFailed:
			kind = StepRefundFailed
		}
		steps = append(steps, Step{at: r.At, Kind: kind, Amount: r.Amount, Detail: r.Reason})
	}
	if v.CompletedAt != nil {
		steps = append(steps, Step{at: *v.CompletedAt, Kind: StepCompleted})
	}
	if v.CancelledAt != nil {
		steps = append(steps, Step{at: *v.CancelledAt, Kind: StepCancelled, Detail: v.CancelReason})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at.Before(steps[j].at) })
	for i := range steps {
		steps[i].When = v.When(steps[i].at)
	}
	return steps
}

// fieldNames are the words a shopper or merchant knows for input fields.
var fieldNames = map[string]string{
	"name": "Name", "phone": "Phone", "province": "Province", "city": "City", "district": "District",
	"detail": "Street address", "qty": "Quantity", "sku": "Option", "sku_id": "Option", "product_id": "Product",
	"items": "Items", "carrier": "Carrier", "tracking_no": "Tracking number", "amount": "Amount", "reason": "Reason",
	"shipping_fee": "Shipping fee", "free_shipping_over": "Free shipping threshold",
	"unpaid_timeout_minutes": "Unpaid order timeout", "auto_complete_days": "Auto-complete",
	"wechat_pay": "WeChat Pay", "wechat_key": "API key", "from": "From date", "to": "To date", "status": "Status",
	"app_id": "AppID", "mch_id": "Merchant ID", "api_v3_key": "API v3 key", "cert_serial": "Certificate serial number",
	"private_key": "Merchant private key", "public_key": "WeChat Pay public key", "public_key_id": "WeChat Pay public key ID",
}

// plainMessage turns a fault's "field: reason" message into words: the
// field's name instead of its key, starting with a capital letter.
func plainMessage(fe *fault.Error) string {
	msg := fe.Message
	if fe.Field != "" && strings.HasPrefix(msg, fe.Field+": ") {
		key := fe.Field[strings.LastIndexAny(fe.Field, ".]")+1:]
		name, ok := fieldNames[key]
		if !ok {
			name = strings.ReplaceAll(key, "_", " ")
		}
		rest := strings.TrimPrefix(msg, fe.Field+": ")
		if strings.HasPrefix(rest, "is ") || strings.HasPrefix(rest, "must ") {
			msg = name + " " + rest
		} else {
			msg = name + ": " + rest
		}
	}
	if r, n := utf8.DecodeRuneInString(msg); n > 0 {
		msg = string(unicode.ToUpper(r)) + msg[n:]
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
	}
	return msg
}
