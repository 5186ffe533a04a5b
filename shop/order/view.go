package order

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"microshop/shop/catalog"
	"microshop/tenants/fault"
)

// How orders and carts read on the pages (storefront and console): statuses
// and times in words, the timeline, and fault messages in plain words.

// ProblemText says in plain words why a cart line cannot be bought as it is.
func (l CartLine) ProblemText() string {
	switch l.Problem {
	case "gone":
		return "This item is no longer available. Remove it to check out."
	case "off_sale":
		return "No longer on sale. Remove it to check out."
	case "out_of_stock":
		return "Sold out. Remove it to check out."
	case "insufficient_stock":
		return fmt.Sprintf("Only %d left. Lower the quantity to check out.", l.Stock)
	}
	return ""
}

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

// StatusText is the order's status in plain words.
func (v OrderView) StatusText() string {
	if s, ok := statusText[v.Status]; ok {
		if v.Refunded > 0 && v.Status != Refunded {
			s += " · partly refunded"
		}
		return s
	}
	return words(v.Status)
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

// Summary names the order's first item and how many more there are.
func (v OrderView) Summary() string {
	if len(v.Lines) == 0 {
		return ""
	}
	l := v.Lines[0]
	s := l.Title
	if l.SKUName != "" {
		s += " (" + l.SKUName + ")"
	}
	s += " ×" + strconv.FormatInt(l.Qty, 10)
	if n := len(v.Lines) - 1; n == 1 {
		s += " and 1 more item"
	} else if n > 1 {
		s += fmt.Sprintf(" and %d more items", n)
	}
	return s
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

// ProviderText names the payment provider.
func (v OrderView) ProviderText() string {
	switch v.Provider {
	case ProviderSandbox:
		return "Sandbox (no real money)"
	case ProviderWeChat:
		return "WeChat Pay"
	}
	return v.Provider
}

// PendingEvents is how many order events still wait for delivery.
func (v OrderView) PendingEvents() int { return len(v.Events) }

// Step is one entry of an order's timeline.
type Step struct {
	at     time.Time
	When   string
	Title  string
	Detail string
}

// Timeline lists what happened to the order, oldest first.
func (v OrderView) Timeline() []Step {
	steps := []Step{{at: v.CreatedAt, Title: "Order placed",
		Detail: fmt.Sprintf("%d item(s), payable ¥%s", v.ItemCount(), catalog.FormatYuan(v.Payable))}}
	if v.PaidAt != nil {
		d := "¥" + catalog.FormatYuan(v.Paid) + " via " + v.ProviderText()
		if v.TransactionID != "" {
			d += " · transaction " + v.TransactionID
		}
		steps = append(steps, Step{at: *v.PaidAt, Title: "Paid", Detail: d})
	}
	if v.ShippedAt != nil {
		steps = append(steps, Step{at: *v.ShippedAt, Title: "Shipped", Detail: v.Carrier + " " + v.TrackingNo})
	}
	for _, r := range v.Refunds {
		steps = append(steps, Step{at: r.At, Title: "Refunded ¥" + catalog.FormatYuan(r.Amount), Detail: r.Reason})
	}
	if v.CompletedAt != nil {
		steps = append(steps, Step{at: *v.CompletedAt, Title: "Completed"})
	}
	if v.CancelledAt != nil {
		steps = append(steps, Step{at: *v.CancelledAt, Title: "Cancelled", Detail: v.CancelReason})
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
