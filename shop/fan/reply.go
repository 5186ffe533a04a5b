package fan

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// MaxReply is the longest customer-service text, in characters.
const MaxReply = 600

// Detail is the answer to GET /api/v1/fans/{id}: the fan, whether the shop
// may message them now, and their conversation (the last 100 messages,
// oldest first).
type Detail struct {
	Fan
	ReplyWindow ReplyWindow `json:"reply_window"`
	Messages    []Message   `json:"messages"`
}

// conversationLength is how many messages a fan's page shows.
const conversationLength = 100

// Detail returns the shop's fan id with its reply window now and its
// conversation; a malformed id is a 400, another shop's fan a 404.
func (s *Service) Detail(ctx context.Context, t tenants.Tenant, id string) (Detail, error) {
	f, err := s.Get(ctx, t.ID, id)
	if err != nil {
		return Detail{}, err
	}
	msgs, err := s.Conversation(ctx, t.ID, f.ID, conversationLength)
	if err != nil {
		return Detail{}, err
	}
	if msgs == nil {
		msgs = []Message{}
	}
	return Detail{Fan: f, ReplyWindow: f.ReplyWindow(s.now(), location(t)), Messages: msgs}, nil
}

// Conversation returns the fan's last messages, oldest first.
func (s *Service) Conversation(ctx context.Context, tenantID, fanID string, limit int) ([]Message, error) {
	return s.store.Messages(ctx, tenantID, fanID, limit)
}

// Reply sends the merchant's text to the fan through the customer-service
// API. WeChat's rule is enforced first, by taking one reply from the fan's
// allowance in a single conditional update: outside the window, or with
// the replies used up, nothing is sent and the error says why.
func (s *Service) Reply(ctx context.Context, t tenants.Tenant, fanID, text string) (Message, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return Message{}, fault.Invalid("text", "is required")
	case utf8.RuneCountInString(text) > MaxReply:
		return Message{}, fault.Invalid("text", "must be at most %d characters", MaxReply)
	}
	f, err := s.Get(ctx, t.ID, fanID)
	if err != nil {
		return Message{}, err
	}
	now := s.now().UTC()
	if f.OpenID == "" {
		return Message{}, fault.Conflict("%s", f.ReplyWindow(now, location(t)).Reason)
	}
	acct, err := s.accounts.Account(ctx, t.ID)
	if errors.Is(err, fault.ErrNotFound) {
		return Message{}, fault.Conflict("connect the shop's WeChat official account first (console → WeChat)")
	}
	if err != nil {
		return Message{}, fmt.Errorf("load the shop's WeChat account: %w", err)
	}
	ok, err := s.store.ReserveReply(ctx, t.ID, f.ID, now)
	if err != nil {
		return Message{}, err
	}
	if !ok {
		f, err = s.store.Get(ctx, t.ID, f.ID)
		if err != nil {
			return Message{}, err
		}
		reason := f.ReplyWindow(now, location(t)).Reason
		if reason == "" {
			reason = "another reply took the last message WeChat allows; wait for the fan to write again"
		}
		return Message{}, &fault.Error{Status: 409, Code: "wechat_window_closed", Message: reason}
	}
	if err := acct.SendText(ctx, f.OpenID, text); err != nil {
		if rerr := s.store.ReturnReply(context.WithoutCancel(ctx), t.ID, f.ID); rerr != nil {
			s.log.Error("return unsent reply", "tenant", t.ID, "fan", f.ID, "err", rerr)
		}
		return Message{}, fmt.Errorf("send reply to fan %s: %w", f.ID, err)
	}
	m := Message{ID: engine.NewID(), FanID: f.ID, Direction: "out", Kind: "text", Content: text, CreatedAt: s.stamp()}
	if _, err := s.store.AddMessage(ctx, t.ID, m); err != nil {
		// Sent: WeChat delivered it, so do not report a failure.
		s.log.Error("record sent reply", "tenant", t.ID, "fan", f.ID, "err", err)
	}
	return m, nil
}

func location(t tenants.Tenant) *time.Location {
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil || t.TimeZone == "" {
		loc, _ = time.LoadLocation(tenants.DefaultTimeZone)
	}
	if loc == nil {
		return time.UTC
	}
	return loc
}
