// Package fan owns a shop's consumers ("fans"): who they are (a signed
// cookie per shop, later a WeChat openid), their record in the shop's
// database, and the storefront middleware that identifies them.
//
// A visitor gets a fan id in a signed cookie on the first visit, without a
// database write (crawlers and one-off visitors cost nothing); the fan record
// is created the first time the fan does something worth keeping (a cart,
// an order, a check-in) through Store.Ensure, which is an idempotent insert.
package fan

import (
	"time"
)

// Fan is one consumer of one shop.
type Fan struct {
	ID         string    `json:"id"`
	OpenID     string    `json:"openid,omitempty"`
	Subscribed bool      `json:"subscribed"`
	Source     string    `json:"source,omitempty"` // first channel that brought the fan: direct, share_link, wechat_qr, pc_store, ...
	CreatedAt  time.Time `json:"created_at"`
}
