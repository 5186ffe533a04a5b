// Package message owns how a shop talks to its fans: the audience records
// segments select from, segments with a live count, campaigns (text,
// image-and-link article, template message) sent now or on a schedule,
// one delivery record per recipient, WeChat's quotas applied before
// sending, transactional notices (order paid and shipped, commission,
// points about to expire, the check-in reminder), the storefront inbox
// holding everything sent to a fan, and the fan's marketing opt-out.
//
// # Choosing a channel, before sending
//
// For each recipient of a text or article campaign, in order:
//   - opted out of marketing: skipped, with that reason;
//   - follows the shop's WeChat account, inside the customer-service window
//     (48 hours after the fan's last message, 5 messages; 1 minute after a
//     follow, scan or menu click, 3): one message is taken from that
//     allowance (a conditional update on the fan, shop/fan's ReserveReply)
//     and sent as a customer-service message;
//   - follows, outside the window, fewer than 4 broadcasts this month: one
//     is taken from the fan's monthly broadcast allowance (a conditional
//     update on the audience record) and the fan joins a broadcast to an
//     openid list (at least two fans per request; WeChat's rule for a
//     service account is 4 a month per fan);
//   - otherwise the storefront inbox when the campaign falls back to it,
//     else skipped with the reason (not following, window closed and
//     broadcasts used up).
//
// Template messages are service notices, never marketing: a template
// campaign must say it is a service notice, and goes to followers only
// (the rest fall back to the inbox). Everything that reaches a fan, by any
// channel, is also in their inbox.
//
// # Exactly once, and crashes
//
//   - A campaign's recipients are materialised page by page (the segment
//     read by fan id after a cursor): deliveries are inserted keyed by
//     (campaign, fan), so a page inserted twice after a crash adds nothing,
//     then the cursor advances by a conditional update.
//   - A delivery is claimed (queued -> sending, conditional) before it is
//     sent, and finished (sending -> sent/failed/skipped) after, so two
//     dispatchers never send one delivery. One dispatcher runs per shop:
//     a lease across replicas, a flag within the process.
//   - A delivery left "sending" by a crash is resolved by its channel. A
//     broadcast is resent with the same clientmsgid (its batch id), which
//     WeChat de-duplicates, so it reaches the fan once; an inbox copy is a
//     keyed insert, so it is made again safely. A customer-service or
//     template message has no such key at WeChat: whether it left is
//     unknown, so it is marked failed ("interrupted while sending") rather
//     than risk a duplicate. Only the one message a dispatcher had in
//     flight at the instant of the crash can be in that state.
//   - Notices are deliveries keyed by their cause ("order-paid:<order>"),
//     inserted once however often the event is redelivered, and sent by
//     the same dispatcher.
//   - A purchase counts once per fan and order (a keyed insert, then the
//     count is recomputed from those records, not incremented).
package message

import (
	"time"
)

// Campaign kinds.
const (
	KindText     = "text"
	KindArticle  = "article"
	KindTemplate = "template"
)

// Campaign statuses.
const (
	CampaignScheduled = "scheduled"
	CampaignSending   = "sending"
	CampaignDone      = "done"
	CampaignCancelled = "cancelled"
)

// Delivery statuses.
const (
	Queued  = "queued"
	Sending = "sending"
	Sent    = "sent"
	Failed  = "failed"
	Skipped = "skipped"
)

// Channels a delivery goes by.
const (
	ChannelCustom   = "custom"   // WeChat customer-service message
	ChannelMass     = "mass"     // WeChat broadcast to an openid list
	ChannelTemplate = "template" // WeChat template message
	ChannelInbox    = "inbox"    // the storefront inbox only
)

// Notice kinds.
const (
	NoticeOrderPaid          = "order_paid"
	NoticeOrderShipped       = "order_shipped"
	NoticeCommissionCredited = "commission_credited"
	NoticeCommissionReversed = "commission_reversed"
	NoticePointsExpiring     = "points_expiring"
	NoticeCheckinReminder    = "checkin_reminder"
)

// NoticeKinds lists the notice kinds in the order the console shows them.
var NoticeKinds = []string{NoticeOrderPaid, NoticeOrderShipped, NoticeCommissionCredited, NoticeCommissionReversed,
	NoticePointsExpiring, NoticeCheckinReminder}

// noticeText names notice kinds in plain words.
var noticeText = map[string]string{
	NoticeOrderPaid: "Order paid", NoticeOrderShipped: "Order shipped", NoticeCommissionCredited: "Commission credited",
	NoticeCommissionReversed: "Commission reversed", NoticePointsExpiring: "Points about to expire",
	NoticeCheckinReminder: "Daily check-in reminder",
}

// NoticeText names a notice kind.
func NoticeText(kind string) string {
	if s, ok := noticeText[kind]; ok {
		return s
	}
	return kind
}

// WeChat's limits the dispatcher applies.
const (
	// BroadcastsPerMonth is a service account's broadcasts per fan a month.
	BroadcastsPerMonth = 4
	// MinBroadcast is the fewest openids one broadcast request may name.
	MinBroadcast = 2
	// MaxBroadcast is the most.
	MaxBroadcast = 10_000
)

// Profile is what segments know about a fan, kept at write time by the
// events that change it (orders, points, check-ins, WeChat state).
type Profile struct {
	FanID         string    `json:"fan_id"`
	OpenID        string    `json:"openid,omitempty"`
	Subscribed    bool      `json:"subscribed"`
	Tags          []string  `json:"tags"`
	GuideID       string    `json:"guide_id,omitempty"`
	StoreID       string    `json:"store_id,omitempty"`
	DistributorID string    `json:"distributor_id,omitempty"`
	Orders        int64     `json:"orders"`
	LastActive    time.Time `json:"last_active_at,omitzero"`
	Points        int64     `json:"points"`
	Streak        int       `json:"streak"`
	LastCheckin   string    `json:"last_checkin_day,omitempty"`
	OptedOut      bool      `json:"opted_out"`
	MassMonth     string    `json:"-"`
	MassCount     int       `json:"broadcasts_this_month"`
	CreatedAt     time.Time `json:"created_at"`
}

// Rule selects fans. Empty fields select everyone; set fields all apply.
type Rule struct {
	// Tags: the fan has at least one of them.
	Tags []string `json:"tags,omitempty"`
	// GuideIDs, StoreIDs, DistributorIDs: the fan is bound to one of them.
	GuideIDs       []string `json:"guide_ids,omitempty"`
	StoreIDs       []string `json:"store_ids,omitempty"`
	DistributorIDs []string `json:"distributor_ids,omitempty"`
	// Subscribed: "yes" follows the WeChat account, "no" does not, "" any.
	Subscribed string `json:"subscribed,omitempty"`
	// MinOrders and MaxOrders bound the paid orders.
	MinOrders *int64 `json:"min_orders,omitempty"`
	MaxOrders *int64 `json:"max_orders,omitempty"`
	// ActiveWithinDays: did something in the last N days;
	// InactiveForDays: did nothing in the last N days.
	ActiveWithinDays int `json:"active_within_days,omitempty"`
	InactiveForDays  int `json:"inactive_for_days,omitempty"`
	// MinPoints and MaxPoints bound the points balance.
	MinPoints *int64 `json:"min_points,omitempty"`
	MaxPoints *int64 `json:"max_points,omitempty"`
	// MinStreak: a live check-in streak of at least N days.
	MinStreak int `json:"min_streak,omitempty"`
}

// Segment is a saved rule.
type Segment struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Rule      Rule      `json:"rule"`
	CreatedAt time.Time `json:"created_at"`
	// Count is the live count, filled when read.
	Count int64 `json:"count"`
}

// Article is an image-and-link message.
type Article struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url"`
	Image       string `json:"image,omitempty"`
}

// TemplateMessage is a WeChat template message: its template id, the page
// it opens and its fields (first, keyword1, ..., remark).
type TemplateMessage struct {
	ID     string            `json:"id"`
	URL    string            `json:"url,omitempty"`
	Fields map[string]string `json:"fields"`
}

// Campaign is one message to a segment.
type Campaign struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	SegmentID string           `json:"segment_id,omitempty"`
	Rule      Rule             `json:"rule"`
	Kind      string           `json:"kind"`
	Text      string           `json:"text,omitempty"`
	Article   *Article         `json:"article,omitempty"`
	Template  *TemplateMessage `json:"template,omitempty"`
	// ServiceNotice says the campaign is a service notice, not marketing:
	// required for template messages; opted-out fans still receive it.
	ServiceNotice bool `json:"service_notice"`
	// Fallback sends to the storefront inbox those WeChat cannot reach.
	Fallback    bool      `json:"fallback_inbox"`
	Status      string    `json:"status"`
	ScheduledAt time.Time `json:"scheduled_at"`
	// Cursor is the last fan id materialised; Materialized says all are.
	Cursor       string    `json:"-"`
	Materialized bool      `json:"materialized"`
	Recipients   int64     `json:"recipients"`
	By           string    `json:"by,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	// Counts are the deliveries by status, filled when read.
	Counts map[string]int64 `json:"counts,omitempty"`
}

// Marketing reports whether the campaign is marketing (opt-out applies).
func (c Campaign) Marketing() bool { return !c.ServiceNotice }

// Notice is a transactional message to one fan.
type Notice struct {
	// Key names the notice's cause, unique in the shop: a notice with a
	// key seen before is not sent again.
	Key   string `json:"key" bson:"key"`
	FanID string `json:"fan_id" bson:"fan_id"`
	Kind  string `json:"kind" bson:"kind"`
	Title string `json:"title" bson:"title"`
	Body  string `json:"body" bson:"body"`
	// URL is the storefront page the notice opens (absolute path).
	URL string `json:"url,omitempty" bson:"url,omitempty"`
	// Fields fill a template message: keyword1, keyword2, keyword3.
	Fields map[string]string `json:"fields,omitempty" bson:"fields,omitempty"`
}

// Delivery is one message to one fan: a campaign's recipient or a notice.
type Delivery struct {
	ID         string    `json:"id"`
	CampaignID string    `json:"campaign_id,omitempty"`
	FanID      string    `json:"fan_id"`
	Status     string    `json:"status"`
	Channel    string    `json:"channel,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Attempts   int       `json:"attempts"`
	NextAt     time.Time `json:"next_at"`
	Batch      string    `json:"batch,omitempty"`
	ClaimedAt  time.Time `json:"claimed_at,omitzero"`
	Notice     *Notice   `json:"notice,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	DoneAt     time.Time `json:"done_at,omitzero"`
}

// InboxItem is one message in a fan's storefront inbox.
type InboxItem struct {
	ID        string    `json:"id"` // the delivery's
	FanID     string    `json:"fan_id"`
	Kind      string    `json:"kind"` // marketing, or the notice kind
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	URL       string    `json:"url,omitempty"`
	Image     string    `json:"image,omitempty"`
	Channel   string    `json:"channel"` // how else it reached the fan
	CreatedAt time.Time `json:"created_at"`
}

// Settings are a shop's messaging settings.
type Settings struct {
	// Rate is how many messages a second the dispatcher sends for the shop.
	Rate int `json:"rate"`
	// Templates maps notice kinds to the shop's WeChat template ids; a
	// notice without one goes to the inbox only.
	Templates map[string]string `json:"templates"`
}

// DefaultSettings are what a shop starts with.
func DefaultSettings() Settings { return Settings{Rate: 20, Templates: map[string]string{}} }
