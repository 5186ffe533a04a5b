// Package order owns a shop's carts, orders, payments and refunds: placing
// an order without overselling (stock holds in shop/catalog), paying it
// exactly once however often a payment provider notifies, refunding never
// more than was paid, cancelling unpaid orders on time, and publishing
// order events (paid, refunded, completed, cancelled) to the parts of the
// platform that react to them, at least once and across crashes.
//
// No rule here rests on a multi-record transaction. Each state change is one
// conditional single-record update (status = 'pending_payment' -> 'paid'),
// and the events it causes are appended to the order record in that same
// update (an outbox inside the order). A dispatcher delivers them and then
// removes them, so a crash between "order paid" and "commission created"
// only delays delivery. Consumers must be idempotent: an event carries a
// stable id (order id + event id).
package order

import (
	"context"
	"strconv"
	"time"
)

// Order statuses. "placing" and "rejected" are internal: an order is
// placing while its stock is being held, and rejected when a line could not
// be filled (the consumer got a 409, never an order).
const (
	Placing        = "placing"
	Rejected       = "rejected"
	PendingPayment = "pending_payment"
	Paid           = "paid"
	Shipped        = "shipped"
	Completed      = "completed"
	Cancelled      = "cancelled"
	Refunded       = "refunded" // fully refunded
)

// statuses is every status an order can have.
var statuses = []string{Placing, Rejected, PendingPayment, Paid, Shipped, Completed, Cancelled, Refunded}

// listed are the statuses a merchant (or the buyer) sees: all but placing
// and rejected, which no one sees.
var listed = []string{PendingPayment, Paid, Shipped, Completed, Cancelled, Refunded}

// refundable are the statuses an order can be refunded in.
var refundable = []string{Paid, Shipped, Completed}

// Order is one purchase. Money is int64 fen. In Mongo it is stored as it
// is, under the lower-cased field names (bson tags name the others); the
// SQLite columns have the same names.
type Order struct {
	ID          string  `json:"id" bson:"_id"`
	FanID       string  `json:"fan_id" bson:"fan_id"`
	Status      string  `json:"status"`
	Lines       []Line  `json:"lines"`
	Address     Address `json:"address"`
	GoodsTotal  int64   `json:"goods_total" bson:"goods_total"`
	ShippingFee int64   `json:"shipping_fee" bson:"shipping_fee"`
	Discount    int64   `json:"discount"`
	Payable     int64   `json:"payable"`
	// Paid is what the provider confirmed; Refunded what went back
	// (succeeded refunds); Refundable = Paid - Refunded - what processing
	// refunds reserve, kept as a field so a refund is one conditional
	// decrement (refundable >= amount) on every engine.
	Paid       int64    `json:"paid"`
	Refunded   int64    `json:"refunded"`
	Refundable int64    `json:"refundable"`
	Refunds    []Refund `json:"refunds"`
	// Refunding counts the refunds still processing; RefundSeq grows with
	// every write of Refunds, so a refund is settled by a write
	// conditional on the version it read.
	Refunding     int    `json:"refunding" bson:"refunding"`
	RefundSeq     int64  `json:"-" bson:"refund_seq"`
	Provider      string `json:"payment_provider,omitempty"`
	TransactionID string `json:"transaction_id,omitempty" bson:"transaction_id"`
	// Test marks an order paid in the sandbox while its shop was in test
	// mode: no real money moved, and it earns no withdrawable commission.
	Test         bool   `json:"test" bson:"test"`
	Carrier      string `json:"carrier,omitempty"`
	TrackingNo   string `json:"tracking_no,omitempty" bson:"tracking_no"`
	CancelReason string `json:"cancel_reason,omitempty" bson:"cancel_reason"`
	// Attribution is who brought this order, fixed when it was placed:
	// later rebinding of the fan never moves it.
	Attribution Attribution `json:"attribution"`
	CreatedAt   time.Time   `json:"created_at" bson:"created_at"`
	ExpiresAt   time.Time   `json:"expires_at" bson:"expires_at"`
	PaidAt      *time.Time  `json:"paid_at,omitempty" bson:"paid_at,omitempty"`
	ShippedAt   *time.Time  `json:"shipped_at,omitempty" bson:"shipped_at,omitempty"`
	CompletedAt *time.Time  `json:"completed_at,omitempty" bson:"completed_at,omitempty"`
	CancelledAt *time.Time  `json:"cancelled_at,omitempty" bson:"cancelled_at,omitempty"`
	// NextQueryAt is the payment's state at WeChat Pay as the query job
	// keeps it: when to ask about it next (nil: nothing to ask, the buyer
	// never started paying or the back-off ended; see jobs.go).
	NextQueryAt *time.Time `json:"-" bson:"next_query_at,omitempty"`
	// Events not yet delivered to every subscriber (the outbox).
	Events []Event `json:"-"`
}

// Attribution is the snapshot of who gets credit for an order: the
// shopping guide (and their store) and the distributor the fan was bound
// to, the ancestor path commission was computed along, and the channel.
// shop declares it; distribution fills it through an Attributor.
type Attribution struct {
	Channel       string   `json:"channel"` // guide_qr, share_link, wechat_qr, pc_store, direct
	GuideID       string   `json:"guide_id,omitempty"`
	StoreID       string   `json:"store_id,omitempty"`
	DistributorID string   `json:"distributor_id,omitempty"`
	Path          []string `json:"path,omitempty"` // beneficiaries, nearest first: L1, L2, ...
}

// Attributor says who gets credit for a fan's order at the moment it is
// placed. server plugs distribution in; without one, orders are "direct".
type Attributor interface {
	Attribute(ctx context.Context, tenantID, fanID string) (Attribution, error)
}

// Discount is what a discounter takes off an order: Amount fen, paid for
// with Points of the fan's.
type Discount struct {
	Points int64 `json:"points"`
	Amount int64 `json:"amount"`
}

// Discounter takes a discount off an order at checkout, paid for with
// something the fan holds (loyalty points). server plugs shop/points in;
// without one, an order asking for a discount is refused.
//
// Quote prices the discount for points on goods worth goodsTotal, with no
// side effect (it may lower points to what the order allows). Reserve
// takes what pays for it, once per order id (a replay is a no-op); it is
// called after the order is written, so a crash leaves a placing order the
// recovery pass rejects. Giving it back is the discounter's business: it
// also subscribes to order events and returns what an order reserved when
// that order is cancelled (or rejected) or refunded.
type Discounter interface {
	Quote(ctx context.Context, tenantID, fanID string, goodsTotal, points int64) (Discount, error)
	// Offer is the largest discount the fan can take on goods worth
	// goodsTotal (zero when none), for the checkout page to propose.
	Offer(ctx context.Context, tenantID, fanID string, goodsTotal int64) (Discount, error)
	Reserve(ctx context.Context, tenantID, fanID, orderID string, d Discount) error
}

// Line is one product (or SKU) of an order, priced when the order was placed.
type Line struct {
	ProductID string `json:"product_id"`
	SKUID     string `json:"sku_id,omitempty"`
	Title     string `json:"title"`
	SKUName   string `json:"sku_name,omitempty"`
	Image     string `json:"image,omitempty"`
	Price     int64  `json:"price"`
	Qty       int64  `json:"qty"`
	Amount    int64  `json:"amount"`
}

// holdKey names the stock hold of line i of order id.
func holdKey(orderID string, i int) string { return orderID + ":" + strconv.Itoa(i) }

// Address is where an order ships.
type Address struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Province string `json:"province"`
	City     string `json:"city"`
	District string `json:"district"`
	Detail   string `json:"detail"`
}

// Refund is one (full or partial) refund of an order. It is recorded
// processing, its amount reserved (taken off the order's refundable), when
// the merchant asks for it; the provider's answer, notification or a
// query then settles it once: succeeded (the money counts as refunded and
// the refund event goes out) or failed (the amount is refundable again).
type Refund struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
	Reason string `json:"reason"`
	// Status is RefundProcessing, RefundSucceeded or RefundFailed; ""
	// (refunds of earlier releases, recorded at once) means succeeded.
	Status string `json:"status" bson:"status"`
	// Restock puts the order's units back on the products once the
	// refund succeeds (once per order line, however many refunds ask).
	Restock bool `json:"restock,omitempty" bson:"restock"`
	// Provider is who gives the money back: ProviderWeChat, or "" for an
	// order paid in the sandbox's test mode (refunded locally, at once).
	Provider string `json:"provider,omitempty" bson:"provider"`
	// RefundID is the provider's refund number; Failure why it failed.
	RefundID  string     `json:"refund_id,omitempty" bson:"refund_id"`
	Failure   string     `json:"failure,omitempty" bson:"failure"`
	At        time.Time  `json:"at"`
	SettledAt *time.Time `json:"settled_at,omitempty" bson:"settled_at,omitempty"`
}

// Refund statuses.
const (
	RefundProcessing = "processing"
	RefundSucceeded  = "succeeded"
	RefundFailed     = "failed"
)

// State is the refund's status, "" read as succeeded.
func (r Refund) State() string {
	if r.Status == "" {
		return RefundSucceeded
	}
	return r.Status
}

// Event types published to subscribers.
const (
	EventPaid      = "paid"
	EventRefunded  = "refunded"
	EventCompleted = "completed"
	EventCancelled = "cancelled"
	// EventShipped tells subscribers (notices) an order left the shop.
	EventShipped = "shipped"
)

// Event is something that happened to an order. ID is unique within the
// order (the type, or the refund id for refunds), so consumers can key
// their effects by (order id, event id).
type Event struct {
	ID     string    `json:"id" bson:"id"`
	Type   string    `json:"type" bson:"type"`
	Amount int64     `json:"amount,omitempty" bson:"amount"`
	At     time.Time `json:"at" bson:"at"`
}

// Live reports whether the order still holds or took stock: everything
// except rejected and cancelled orders.
func (o *Order) Live() bool { return o.Status != Rejected && o.Status != Cancelled }
