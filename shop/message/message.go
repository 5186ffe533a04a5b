package message

import "time"

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

// WeChat's limits the dispatcher applies.
const (
	// BroadcastsPerMonth is a service account's broadcasts per fan a month.
	BroadcastsPerMonth = 4
	// MinBroadcast is the fewest openids one broadcast request may name.
	MinBroadcast = 2
	// MaxBroadcast is the most.
	MaxBroadcast = 10_000
)

// Delivery is one message to one fan: a campaign's recipient or a notice.
// The Mongo store keeps it as it is (the bson names); the SQLite store in
// the deliveries table.
type Delivery struct {
	ID         string    `json:"id" bson:"_id"`
	CampaignID string    `json:"campaign_id,omitempty" bson:"campaign_id"`
	FanID      string    `json:"fan_id" bson:"fan_id"`
	Status     string    `json:"status" bson:"status"`
	Channel    string    `json:"channel,omitempty" bson:"channel"`
	Reason     string    `json:"reason,omitempty" bson:"reason"`
	Attempts   int       `json:"attempts" bson:"attempts"`
	NextAt     time.Time `json:"next_at" bson:"next_at"`
	Batch      string    `json:"batch,omitempty" bson:"batch"`
	ClaimedAt  time.Time `json:"claimed_at,omitzero" bson:"claimed_at"`
	Notice     *Notice   `json:"notice,omitempty" bson:"notice,omitempty"`
	CreatedAt  time.Time `json:"created_at" bson:"created_at"`
	DoneAt     time.Time `json:"done_at,omitzero" bson:"done_at"`
}
