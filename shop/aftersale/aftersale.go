package aftersale

import (
	"slices"
	"time"
)

// Request types.
const (
	RefundOnly   = "refund_only"
	ReturnRefund = "return_refund"
	Exchange     = "exchange"
)

// types lists the request types.
var types = []string{RefundOnly, ReturnRefund, Exchange}

// Request statuses (see the package comment).
const (
	Pending        = "pending"
	AwaitingReturn = "awaiting_return"
	Returned       = "returned"
	Rejected       = "rejected"
	Escalated      = "escalated"
	Refunded       = "refunded"
	Exchanged      = "exchanged"
	Decided        = "decided"
	Closed         = "closed"
)

// Statuses lists every status; Open the ones of a request still running
// (it holds its order lines and keeps commission waiting).
var (
	Statuses = []string{Pending, AwaitingReturn, Returned, Rejected, Escalated, Refunded, Exchanged, Decided, Closed}
	Open     = []string{Pending, AwaitingReturn, Returned, Rejected, Escalated}
)

// IsOpen reports whether a request in status is still running.
func IsOpen(status string) bool { return slices.Contains(Open, status) }

// Deadline kinds: what the pass does when DueAt passes.
const (
	DueAnswer    = "answer"    // pending: the merchant did not answer → approved
	DueUnshipped = "unshipped" // pending refund_only on an unshipped order → refunded
	DueReturn    = "return"    // awaiting_return: the shopper shipped nothing → closed
	DueConfirm   = "confirm"   // returned: the merchant confirmed nothing → refunded (exchanged)
	DueEscalate  = "escalate"  // rejected: the shopper did not escalate → closed
)

// Refund statuses of a request (RefundStatus).
const (
	RefundSending = "sending" // decided; the order's refund is being asked for
	RefundSent    = "sent"    // the order recorded the refund (RefundID)
	RefundFailed  = "failed"  // the order refused it (RefundError)
)

// Who acts on a request.
const (
	ByShopper  = "shopper"
	ByMerchant = "merchant"
	ByOperator = "operator"
	ByDeadline = "deadline"
)

// Line is one order line a request is about.
type Line struct {
	Index     int    `json:"line" bson:"line"`
	ProductID string `json:"product_id" bson:"product_id"`
	SKUID     string `json:"sku_id,omitempty" bson:"sku_id"`
	Title     string `json:"title" bson:"title"`
	Quantity  int64  `json:"quantity" bson:"quantity"`
}

// Decision is the operator's decision of an escalated request.
type Decision struct {
	Outcome  string    `json:"outcome" bson:"outcome"` // refund, deny
	Amount   int64     `json:"amount" bson:"amount"`
	Note     string    `json:"note" bson:"note"`
	Operator string    `json:"operator" bson:"operator"`
	At       time.Time `json:"at" bson:"at"`
}

// Decision outcomes.
const (
	OutcomeRefund = "refund"
	OutcomeDeny   = "deny"
)

// Request is one after-sale request. Money is int64 fen. In Mongo it is
// stored as it is; on SQLite its queried fields are columns and the whole
// of it a JSON document beside them.
type Request struct {
	ID      string   `json:"id" bson:"_id"`
	OrderID string   `json:"order_id" bson:"order_id"`
	FanID   string   `json:"fan_id" bson:"fan_id"`
	Type    string   `json:"type" bson:"type"`
	Reason  string   `json:"reason" bson:"reason"`
	Amount  int64    `json:"amount" bson:"amount"`
	Lines   []Line   `json:"lines" bson:"lines"`
	Images  []string `json:"images" bson:"images"`
	Status  string   `json:"status" bson:"status"`
	// Rev grows with every write: each change is conditional on it.
	Rev int64 `json:"-" bson:"rev"`
	// DueAt is when the deadline DueKind acts (nil: none).
	DueAt   *time.Time `json:"due_at,omitempty" bson:"due_at"`
	DueKind string     `json:"due_kind,omitempty" bson:"due_kind"`

	RejectReason string `json:"reject_reason,omitempty" bson:"reject_reason"`
	Carrier      string `json:"carrier,omitempty" bson:"carrier"`
	TrackingNo   string `json:"tracking_no,omitempty" bson:"tracking_no"`
	// ApprovedBy is the merchant or the deadline; ClosedReason withdrawn
	// or timed_out.
	ApprovedBy   string `json:"approved_by,omitempty" bson:"approved_by"`
	ClosedReason string `json:"closed_reason,omitempty" bson:"closed_reason"`

	RefundStatus string    `json:"refund_status,omitempty" bson:"refund_status"`
	RefundAmount int64     `json:"refund_amount,omitempty" bson:"refund_amount"`
	RefundID     string    `json:"refund_id,omitempty" bson:"refund_id"`
	RefundError  string    `json:"refund_error,omitempty" bson:"refund_error"`
	Decision     *Decision `json:"decision,omitempty" bson:"decision,omitempty"`
	// Queued: the escalation is in the platform's dispute queue.
	Queued bool `json:"-" bson:"queued"`

	CreatedAt   time.Time  `json:"created_at" bson:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at" bson:"updated_at"`
	AnsweredAt  *time.Time `json:"answered_at,omitempty" bson:"answered_at,omitempty"`
	ReturnedAt  *time.Time `json:"returned_at,omitempty" bson:"returned_at,omitempty"`
	ReceivedAt  *time.Time `json:"received_at,omitempty" bson:"received_at,omitempty"`
	EscalatedAt *time.Time `json:"escalated_at,omitempty" bson:"escalated_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty" bson:"ended_at,omitempty"`
}

// Message is one message of a request's thread.
type Message struct {
	ID        string    `json:"id" bson:"_id"`
	RequestID string    `json:"request_id" bson:"request_id"`
	Author    string    `json:"author" bson:"author"` // shopper, merchant, operator
	Text      string    `json:"text" bson:"text"`
	Images    []string  `json:"images" bson:"images"`
	At        time.Time `json:"at" bson:"at"`
}

// Settings are a shop's after-sale window and deadlines. A shop may shorten
// the deadlines, never lengthen them (the Max values).
type Settings struct {
	// WindowDays: a request may be made up to this many days after the
	// order completed.
	WindowDays int `json:"window_days" bson:"window_days"`
	// AnswerHours: the merchant answers a request within them, or it is
	// approved.
	AnswerHours int `json:"answer_hours" bson:"answer_hours"`
	// UnshippedHours: a refund-only request on an order not shipped is
	// refunded when the merchant neither shipped nor answered within them.
	UnshippedHours int `json:"unshipped_hours" bson:"unshipped_hours"`
	// ReturnDays: the shopper ships the return within them, or the request
	// closes.
	ReturnDays int `json:"return_days" bson:"return_days"`
	// ConfirmDays: the merchant confirms a returned parcel within them, or
	// the refund goes out.
	ConfirmDays int `json:"confirm_days" bson:"confirm_days"`
	// EscalateDays: after a rejection the shopper may escalate within them;
	// then the request closes.
	EscalateDays int `json:"escalate_days" bson:"escalate_days"`
	// Rev counts the saves: a save of settings read at another revision
	// (another tab, another person, an API client) is refused, never
	// silently undone (Store.SaveSettings).
	Rev int64 `json:"rev" bson:"rev"`
}

// The platform's deadlines: the defaults and the longest a shop may set.
const (
	MaxWindowDays     = 30
	MaxAnswerHours    = 48
	MaxUnshippedHours = 24
	MaxReturnDays     = 7
	MaxConfirmDays    = 7
	MaxEscalateDays   = 7
)

// DefaultSettings are the platform's deadlines and a 7-day window.
func DefaultSettings() Settings {
	return Settings{WindowDays: 7, AnswerHours: MaxAnswerHours, UnshippedHours: MaxUnshippedHours, ReturnDays: MaxReturnDays,
		ConfirmDays: MaxConfirmDays, EscalateDays: MaxEscalateDays}
}

// days and hours as durations.
func days(n int) time.Duration  { return time.Duration(n) * 24 * time.Hour }
func hours(n int) time.Duration { return time.Duration(n) * time.Hour }
