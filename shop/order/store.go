package order

import (
	"context"
	_ "embed"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Store keeps orders, payments, idempotency keys, carts and the shop's
// order settings in the tenant's database.
type Store interface {
	Insert(ctx context.Context, tenantID string, o *Order) error
	Get(ctx context.Context, tenantID, id string) (Order, error)
	List(ctx context.Context, tenantID string, f Filter) ([]Order, int64, error)

	// Transition moves the order from one of from to to, applying ch and
	// appending ev (if any) to its outbox, in one conditional update. It
	// reports false, changing nothing, when the order is not in from.
	Transition(ctx context.Context, tenantID, id string, from []string, to string, ch Change, ev *Event) (bool, error)
	// Placed moves the order from placing to pending_payment (placed
	// false, changing nothing, when it is not placing). With k, SQLite
	// stores the answer to k's request in the same transaction, as
	// FinishKey does (finished true); on MongoDB the caller does that
	// (FinishKey) after.
	Placed(ctx context.Context, tenantID, id string, k *IdemKey) (placed, finished bool, err error)
	// MarkPaid moves the order from pending_payment to paid if it asks
	// exactly amount (payable), applying ch and appending ev to its outbox,
	// in one conditional update, records p, and returns the order as
	// written; false, changing nothing, otherwise. On SQLite p is a
	// payments row written in the same transaction; on MongoDB p is the
	// order's own fields (provider, transaction_id, paid, paid_at), written
	// by the same update, and Payments/PaymentsBetween list it from there.
	MarkPaid(ctx context.Context, tenantID, id string, amount int64, ch Change, ev *Event, p Payment) (Order, bool, error)
	// AddRefund records r (processing) if at least r.Amount is still
	// refundable and the order is in one of from, in one conditional
	// update that reserves the amount (refundable -= amount) and counts
	// it in refunding.
	AddRefund(ctx context.Context, tenantID, id string, from []string, r Refund) (bool, error)
	// SettleRefund writes refunds (the order's list with one refund
	// settled) and st, only if the order's refund_seq is still seq: false,
	// changing nothing, when another write of its refunds came first.
	SettleRefund(ctx context.Context, tenantID, id string, seq int64, refunds []Refund, st RefundSettle) (bool, error)
	// Refunding lists up to limit orders with a refund still processing.
	Refunding(ctx context.Context, tenantID string, limit int) ([]Order, error)
	// FullyRefunded lists up to limit orders whose money was all refunded
	// but whose status is still paid, shipped or completed (left so by the
	// two-write refund of earlier releases on MongoDB).
	FullyRefunded(ctx context.Context, tenantID string, limit int) ([]Order, error)
	// Due lists up to limit orders in status whose time field (expires_at,
	// shipped_at or created_at) is before t, oldest first.
	Due(ctx context.Context, tenantID, status, field string, t time.Time, limit int) ([]Order, error)
	// SetNextQuery sets when the query job asks WeChat Pay about the
	// order's payment next (nil: never), while it awaits payment.
	SetNextQuery(ctx context.Context, tenantID, id string, at *time.Time) error
	// DueQueries lists up to limit orders awaiting payment whose next
	// query is due by t, soonest first.
	DueQueries(ctx context.Context, tenantID string, t time.Time, limit int) ([]Order, error)
	// WithEvents lists up to limit orders with undelivered events.
	WithEvents(ctx context.Context, tenantID string, limit int) ([]Order, error)
	// AckEvents removes delivered events from the order's outbox.
	AckEvents(ctx context.Context, tenantID, id string, events []Event) error

	// InsertPayment records a provider's payment once: false when that
	// provider transaction was recorded before (a repeated notification).
	InsertPayment(ctx context.Context, tenantID string, p Payment) (bool, error)
	// FlagPayment marks a recorded payment PaymentToRefund with reason,
	// unless it is flagged already (false then).
	FlagPayment(ctx context.Context, tenantID, provider, transactionID, reason string) (bool, error)
	// RefundedPayment moves an order's flagged payment to PaymentRefunded;
	// false when there is no such payment waiting for a refund.
	RefundedPayment(ctx context.Context, tenantID, orderID, provider, transactionID string, at time.Time) (bool, error)
	// Payments lists payments in a refund state (newest first), or, with
	// orderID, every payment of that order.
	Payments(ctx context.Context, tenantID, refund, orderID string, limit int) ([]Payment, error)
	// PaymentsBetween lists the provider's payments recorded from from
	// up to to, oldest first (reconcile_store.go).
	PaymentsBetween(ctx context.Context, tenantID, provider string, from, to time.Time) ([]Payment, error)
	// RefundedSince lists the orders created since createdFrom that had
	// money refunded (reconcile_store.go).
	RefundedSince(ctx context.Context, tenantID string, createdFrom time.Time) ([]Order, error)
	// Reconciliation reads the shop's WeChat Pay reconciliation of a
	// China day (found false when none was stored); SaveReconciliation
	// replaces it.
	Reconciliation(ctx context.Context, tenantID, date string) (Reconciliation, bool, error)
	SaveReconciliation(ctx context.Context, tenantID string, r Reconciliation) error

	// ClaimKey records an idempotency key for a request, or returns the
	// record already there (claimed false). Records older than staleBefore
	// are taken over as new.
	ClaimKey(ctx context.Context, tenantID string, k IdemKey, staleBefore time.Time) (IdemKey, bool, error)
	// FinishKey stores the response given to the key's request.
	FinishKey(ctx context.Context, tenantID string, k IdemKey) error
	// ReleaseKey forgets an unfinished key (its request failed on our side,
	// so a retry with it must run again).
	ReleaseKey(ctx context.Context, tenantID string, k IdemKey) error
	// DeleteKeysBefore forgets up to limit keys recorded before t.
	DeleteKeysBefore(ctx context.Context, tenantID string, t time.Time, limit int) (int, error)

	// InsertTaking takes slot sl as TakeSlot does and inserts o (Insert),
	// both or neither: one SQLite transaction; on MongoDB the slot, then
	// the order (a slot whose order never came is free once placing would
	// have been given up: Service.slotFree). False, inserting nothing,
	// when another placement took the slot first.
	InsertTaking(ctx context.Context, tenantID string, o *Order, sl Slot, prev string) (bool, error)
	// Slots returns the fan's unpaid-order slots that were ever taken.
	Slots(ctx context.Context, tenantID, fanID string) ([]Slot, error)
	// TakeSlot gives slot sl.N of sl.FanID to sl.OrderID: with prev "",
	// only if the slot was never taken; otherwise only if it still holds
	// order prev. False when another placement took it first.
	TakeSlot(ctx context.Context, tenantID string, sl Slot, prev string) (bool, error)

	Cart(ctx context.Context, tenantID, fanID string) ([]CartItem, error)
	// SetCartItem sets an item's quantity (0 removes it).
	SetCartItem(ctx context.Context, tenantID, fanID string, it CartItem) error
	ClearCart(ctx context.Context, tenantID, fanID string) error

	Settings(ctx context.Context, tenantID string) (Settings, error)
	// SaveSettings saves s, as revision s.Rev+1, if the stored settings
	// are still at s.Rev (the revision they were read at); otherwise it
	// changes nothing and is a conflict (409).
	SaveSettings(ctx context.Context, tenantID string, s Settings) error

	paidReader // shipping.go: the shop's credit reads the orders paid in a window
}

// Filter selects orders for the merchant's list.
type Filter struct {
	Status string // "" for every status a merchant sees (not placing/rejected)
	FanID  string
	From   time.Time // created at or after (zero: no bound)
	To     time.Time // created before (zero: no bound)
	Limit  int
	Offset int
}

// Change is what a transition sets besides the status.
type Change struct {
	PaidAt        *time.Time
	Paid          *int64 // also sets refundable
	Provider      *string
	TransactionID *string
	Test          *bool
	ShippedAt     *time.Time
	Carrier       *string
	TrackingNo    *string
	CompletedAt   *time.Time
	CancelledAt   *time.Time
	CancelReason  *string
}

// RefundSettle is what settling one refund changes besides the list:
// Refunded is added to refunded, Refundable given back to refundable,
// Close moves the order to refunded, Event (a succeeded refund's) goes to
// the outbox.
type RefundSettle struct {
	Refunded, Refundable int64
	Close                bool
	Event                *Event
}

// Payment is a provider's confirmed payment of an order.
type Payment struct {
	Provider      string    `json:"provider" bson:"provider"`
	TransactionID string    `json:"transaction_id" bson:"transaction_id"`
	OrderID       string    `json:"order_id" bson:"order_id"`
	Amount        int64     `json:"amount" bson:"amount"`
	At            time.Time `json:"at" bson:"at"`
	// Refund is "" for a payment that paid its order, PaymentToRefund for
	// money that arrived for an order it could not pay (cancelled
	// meanwhile, or paid already by another transaction), PaymentRefunded
	// once the merchant has given it back.
	Refund     string     `json:"refund,omitempty" bson:"refund"`
	Reason     string     `json:"reason,omitempty" bson:"reason"`
	RefundedAt *time.Time `json:"refunded_at,omitempty" bson:"refunded_at,omitempty"`
}

// Refund states of a payment that did not pay its order.
const (
	PaymentToRefund = "to_refund"
	PaymentRefunded = "refunded"
)

// IdemKey is an Idempotency-Key and what was answered to it.
type IdemKey struct {
	Scope   string    `bson:"scope"` // the fan, so keys of different shoppers never clash
	Key     string    `bson:"key"`
	Hash    string    `bson:"hash"` // of the request body
	OrderID string    `bson:"order_id"`
	Status  int       `bson:"status"` // 0 while the request is being served
	Body    []byte    `bson:"body"`
	At      time.Time `bson:"at"`
}

// Slot is one of a fan's MaxUnpaid places for an unpaid order: the order
// that last took it, and when. It is free again once that order is paid,
// cancelled or rejected (see Service.insertWithSlot).
type Slot struct {
	FanID   string    `bson:"fan_id"`
	N       int       `bson:"n"`
	OrderID string    `bson:"order_id"`
	At      time.Time `bson:"at"`
}

// CartItem is one line of a fan's cart.
type CartItem struct {
	ProductID string    `json:"product_id" bson:"product_id"`
	SKUID     string    `json:"sku_id" bson:"sku_id"`
	Qty       int64     `json:"qty" bson:"qty"`
	PriceSeen int64     `json:"price_seen" bson:"price_seen"` // the price when last added or changed, to show changes since
	AddedAt   time.Time `json:"added_at" bson:"added_at"`
}

// NewStore returns the order store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{engineStore{e}}, &mongoStore{engineStore{e}})
}

// engineStore is what the stores of both engines share: the engine, and the
// shop's order settings, one document kept the same way on either.
type engineStore struct{ e *engine.Engine }

var settingsDoc = engine.Doc{Table: "order_settings"}

func (s engineStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	st := DefaultSettings()
	if _, err := s.e.LoadDoc(ctx, tenantID, settingsDoc, &st); err != nil {
		return Settings{}, err
	}
	return st, nil
}

func (s engineStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	return s.e.SaveDocNext(ctx, tenantID, settingsDoc, &st, &st.Rev, errSettingsChanged)
}

// errSettingsChanged: settings saved from a read that another save
// overtook.
var errSettingsChanged = fault.Conflict("the order settings were changed meanwhile (in another tab, or by someone else): reload them and save again").
	WithCode(fault.CodeSettingsChanged)

// set is one field a Change writes, and its value (times as time.Time).
type set struct {
	field string
	value any
}

// sets lists what ch writes besides the status, in a fixed order.
func (ch Change) sets() []set {
	var s []set
	s = setIf(s, "paid_at", ch.PaidAt)
	s = setIf(s, "paid", ch.Paid)
	s = setIf(s, "refundable", ch.Paid) // a payment makes all of it refundable
	s = setIf(s, "provider", ch.Provider)
	s = setIf(s, "transaction_id", ch.TransactionID)
	s = setIf(s, "test", ch.Test)
	s = setIf(s, "shipped_at", ch.ShippedAt)
	s = setIf(s, "carrier", ch.Carrier)
	s = setIf(s, "tracking_no", ch.TrackingNo)
	s = setIf(s, "completed_at", ch.CompletedAt)
	s = setIf(s, "cancelled_at", ch.CancelledAt)
	return setIf(s, "cancel_reason", ch.CancelReason)
}

func setIf[T any](s []set, field string, v *T) []set {
	if v == nil {
		return s
	}
	return append(s, set{field, *v})
}

// Schema is the order tables and indexes in each tenant database.
var Schema = engine.NewSchema("order", schemaSQL,
	engine.Coll("orders",
		engine.Index("-created_at", "-_id"), engine.Index("status", "-created_at", "-_id"),
		engine.Index("fan_id", "-created_at", "-_id"), engine.Index("status", "expires_at"),
		engine.Index("status", "shipped_at"), engine.Index("status", "refundable"), engine.Index("outbox"),
		engine.Index("refunding"), engine.Index("paid_at"), engine.Index("status", "next_query_at")),
	engine.Coll("payments",
		engine.Unique("provider", "transaction_id"), engine.Index("order_id"),
		engine.Index("refund", "-at"), engine.Index("provider", "at")),
	engine.Coll("idempotency_keys", engine.Unique("scope", "key"), engine.Index("at")),
	// unpaid_slots are read and written by _id (fan id and slot number).
	engine.Coll("unpaid_slots"),
	engine.Coll("cart_items", engine.Unique("fan_id", "product_id", "sku_id")),
	engine.Coll("order_settings"),
	// order_reconciliations are read and written by _id (the date).
	engine.Coll("order_reconciliations"),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string
