package message

import (
	"context"
	"time"
)

// InboxItem is one message in a fan's storefront inbox. The Mongo store
// keeps it as it is (the bson names), the SQLite store in the inbox table.
type InboxItem struct {
	ID        string    `json:"id" bson:"_id"` // the delivery's
	FanID     string    `json:"fan_id" bson:"fan_id"`
	Kind      string    `json:"kind" bson:"kind"` // marketing, or the notice kind
	Title     string    `json:"title" bson:"title"`
	Body      string    `json:"body" bson:"body"`
	URL       string    `json:"url,omitempty" bson:"url"`
	Image     string    `json:"image,omitempty" bson:"image"`
	Channel   string    `json:"channel" bson:"channel"` // how else it reached the fan
	CreatedAt time.Time `json:"created_at" bson:"created_at"`
}

// Inbox lists a fan's inbox, newest first, created before before (zero:
// the newest).
func (s *Service) Inbox(ctx context.Context, tenantID, fanID string, before time.Time, limit int) ([]InboxItem, error) {
	items, err := s.store.Inbox(ctx, tenantID, fanID, before, limit)
	return items, wrapf(err, "read inbox of fan %s", fanID)
}

// FanInbox is what the fan reads in the storefront: a page of the inbox
// and whether the fan opted out of marketing. Reading one's messages is
// activity, for a fan the shop knows.
func (s *Service) FanInbox(ctx context.Context, tenantID, fanID string, before time.Time, limit int) (items []InboxItem, optedOut bool, err error) {
	if items, err = s.Inbox(ctx, tenantID, fanID, before, limit); err != nil {
		return nil, false, err
	}
	prof, err := s.Profile(ctx, tenantID, fanID)
	if err != nil {
		return nil, false, err
	}
	if _, err := s.fans.Get(ctx, tenantID, fanID); err == nil {
		if err := s.Touch(ctx, tenantID, fanID, s.clock()); err != nil {
			s.log.Warn("touch fan", "tenant", tenantID, "fan", fanID, "err", err)
		}
	}
	return items, prof.OptedOut, nil
}
