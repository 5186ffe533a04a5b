// Package fan owns a shop's consumers ("fans"): who they are (a signed
// cookie per shop, and their WeChat openid once known), their record in
// the shop's database, their conversation with the shop, and everything
// the shop's WeChat official account tells about them.
//
// A visitor gets a fan id in a signed cookie on the first visit, without a
// database write (crawlers and one-off visitors cost nothing); the fan record
// is created the first time the fan does something worth keeping (a cart,
// an order, a check-in) through Store.Ensure, which is an idempotent insert.
//
// A WeChat user is one fan per shop, whose id is derived from the openid
// (IDForOpenID), so every path that meets the openid (a follow pushed to
// /wx/{slug}, a message, web OAuth in the storefront) lands on the same
// record with an idempotent upsert and no lookup table. When a browser fan
// signs in with WeChat OAuth for the first time, its cookie identity is
// merged into the WeChat one: the cookie is reissued for the WeChat fan,
// the old id becomes an alias (Store.Alias), and the earlier first source
// is kept.
//
// Pushes (push.go serves WeChat's endpoint, receive.go records what they
// mean) are de-duplicated by a unique insert of their key (MsgId for
// messages; FromUserName, CreateTime and event for events), then recorded,
// then answered; slow work (attribution) runs after the answer.
// A state change (follow, unfollow, scan) applies only if no later one has
// been applied, so a late retry cannot undo a newer event.
package fan

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

// Sources: the first channel that brought a fan.
const (
	SourceWeChatQR      = "wechat_qr"      // followed by scanning a parametric QR code
	SourceWeChatFollow  = "wechat_follow"  // followed from the account's profile
	SourceWeChatMessage = "wechat_message" // first seen writing to the account (followed before the shop connected it)
	SourceWeChatOAuth   = "wechat_oauth"   // first seen opening the storefront inside WeChat
)

// WeChat's customer-service rule: replies within 48 hours of the fan's last
// message (5 of them), or within a minute of a follow, a scan or a menu
// click (3).
const (
	MessageWindow  = 48 * time.Hour
	MessageReplies = 5
	EventWindow    = time.Minute
	EventReplies   = 3
)

// Fan is one consumer of one shop. The bson names are its MongoDB
// document's (store_mongo.go), where every field is always written.
type Fan struct {
	ID         string `json:"id" bson:"_id"`
	OpenID     string `json:"openid,omitempty" bson:"openid"`
	Subscribed bool   `json:"subscribed" bson:"subscribed"`
	// Source is the first channel that brought the fan: direct,
	// share_link, wechat_qr, wechat_follow, pc_store, ...
	Source string `json:"source,omitempty" bson:"source"`
	// FirstScene is the scene of the first QR code the fan followed or
	// scanned through; Scene the latest.
	FirstScene     string    `json:"first_scene,omitempty" bson:"first_scene"`
	Scene          string    `json:"scene,omitempty" bson:"scene"`
	SubscribedAt   time.Time `json:"subscribed_at,omitzero" bson:"subscribed_at"`
	UnsubscribedAt time.Time `json:"unsubscribed_at,omitzero" bson:"unsubscribed_at"`
	LastMessageAt  time.Time `json:"last_message_at,omitzero" bson:"last_message_at"`
	LastEventAt    time.Time `json:"last_event_at,omitzero" bson:"last_event_at"`
	// RepliesSinceMessage and RepliesSinceEvent count the customer-service
	// messages sent since the fan's last message and last follow, scan or
	// click.
	RepliesSinceMessage int       `json:"replies_since_message" bson:"replies_msg"`
	RepliesSinceEvent   int       `json:"replies_since_event" bson:"replies_event"`
	CreatedAt           time.Time `json:"created_at" bson:"created_at"`
}

// IDForOpenID is the fan id of a WeChat user (openid) in a shop: a hash, in
// the shape of engine.NewID, so the openid is the record's natural key.
func IDForOpenID(tenantID, openID string) string {
	h := sha256.Sum256([]byte("fan|" + tenantID + "|" + openID))
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var b strings.Builder
	for i := 0; i < 16; i++ { // 16 characters of 5 bits from the first 10 bytes
		bit := i * 5
		v := (uint(h[bit/8])<<8 | uint(h[bit/8+1])) >> (11 - bit%8) & 31
		b.WriteByte(alphabet[v])
	}
	return b.String()
}

// ReplyWindow says whether the shop may send the fan a customer-service
// message now, how many it has left and until when, or why not.
type ReplyWindow struct {
	Open   bool      `json:"open"`
	Left   int       `json:"left"`
	Closes time.Time `json:"closes_at,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// ReplyWindow applies WeChat's customer-service rule at now; loc formats
// the times in the reason.
func (f Fan) ReplyWindow(now time.Time, loc *time.Location) ReplyWindow {
	if loc == nil {
		loc = time.UTC
	}
	at := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") }
	switch {
	case f.OpenID == "":
		return ReplyWindow{Reason: "This fan has not followed the shop's WeChat account, so WeChat cannot deliver a message to them."}
	case !f.Subscribed:
		return ReplyWindow{Reason: fmt.Sprintf("This fan unfollowed the account on %s; WeChat delivers nothing to former followers.", at(f.UnsubscribedAt))}
	}
	var w ReplyWindow
	msgOpen := !f.LastMessageAt.IsZero() && now.Sub(f.LastMessageAt) < MessageWindow
	eventOpen := !f.LastEventAt.IsZero() && now.Sub(f.LastEventAt) < EventWindow
	if msgOpen && f.RepliesSinceMessage < MessageReplies {
		w = ReplyWindow{Open: true, Left: MessageReplies - f.RepliesSinceMessage, Closes: f.LastMessageAt.Add(MessageWindow)}
	}
	if eventOpen && f.RepliesSinceEvent < EventReplies && !w.Open {
		w = ReplyWindow{Open: true, Left: EventReplies - f.RepliesSinceEvent, Closes: f.LastEventAt.Add(EventWindow)}
	}
	if w.Open {
		return w
	}
	switch {
	case msgOpen:
		w.Reason = fmt.Sprintf("You have sent the %d replies WeChat allows since the fan's last message (%s). You can reply again after the fan writes.",
			MessageReplies, at(f.LastMessageAt))
	case f.LastMessageAt.IsZero():
		w.Reason = "WeChat allows replies only within 48 hours of the fan's last message (5 replies), or within a minute of a follow, scan or menu click (3). This fan has not written to the account yet."
	default:
		w.Reason = fmt.Sprintf("The fan last wrote on %s; WeChat's 48-hour reply window closed on %s. You can reply again after the fan writes.",
			at(f.LastMessageAt), at(f.LastMessageAt.Add(MessageWindow)))
	}
	return w
}

// Message is one line of a fan's conversation with the shop (its bson
// names are its MongoDB document's).
type Message struct {
	ID        string    `json:"id" bson:"_id"`
	FanID     string    `json:"fan_id" bson:"fan_id"`
	Direction string    `json:"direction" bson:"direction"` // in: from the fan; out: from the shop
	Kind      string    `json:"kind" bson:"kind"`           // text, image, voice, video, location, link
	Content   string    `json:"content" bson:"content"`
	CreatedAt time.Time `json:"created_at" bson:"created_at"`
}

// Filter selects fans for a list.
type Filter struct {
	OpenID     string
	Subscribed *bool
	Source     string
	Limit      int
	Offset     int
}
