package message

import (
	"context"

	"microshop/shop/fan"
)

// FanEvent implements fan.Observer: a WeChat event applied to a fan (a
// follow, an unfollow, a scan, a click, a message) updates the fan's
// audience record at once, so a new follower is in the shop's segments
// within moments rather than at the next SyncFans pass (which remains, for
// fans recorded before this hook and for the ones it missed). Idempotent:
// it sets the state the event left and touches the fan at the event's time.
func (s *Service) FanEvent(ctx context.Context, tenantID string, ev fan.Event) error {
	switch ev.Kind {
	case fan.Subscribed, fan.Unsubscribed:
		if err := s.store.SetWeChat(ctx, tenantID, ev.FanID, ev.OpenID, ev.Kind == fan.Subscribed); err != nil {
			return wrapf(err, "record WeChat state of fan %s", ev.FanID)
		}
	}
	return s.Touch(ctx, tenantID, ev.FanID, ev.At)
}
