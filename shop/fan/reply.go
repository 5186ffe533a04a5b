package fan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
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
	return Detail{Fan: f, ReplyWindow: replyWindowIn(i18n.FromContext(ctx), f, s.now(), t.Location()), Messages: msgs}, nil
}

// replyWindowIn is f.ReplyWindow with its reason in lang (the merchant
// reads it in the console).
func replyWindowIn(lang string, f Fan, now time.Time, loc *time.Location) ReplyWindow {
	w := f.ReplyWindow(now, loc)
	if e := closedWindow(lang, f, now, loc); e != nil && w.Reason != "" {
		w.Reason = e.In(lang)
	}
	return w
}

// closedWindow is why the shop may not message f now, as a 409 whose
// English is ReplyWindow's Reason (fan.go) and whose format the error
// catalog translates (tenants/i18n, errors/<lang>.toml); lang writes its
// dates. It is nil while the window is open. A test keeps the two
// wordings the same.
func closedWindow(lang string, f Fan, now time.Time, loc *time.Location) *fault.Error {
	if loc == nil {
		loc = time.UTC
	}
	at := func(t time.Time) string { return i18n.FormatDateTime(lang, t, loc) }
	switch {
	case f.OpenID == "":
		return fault.Conflict("This fan has not followed the shop's WeChat account, so WeChat cannot deliver a message to them.")
	case !f.Subscribed:
		return fault.Conflict("This fan unfollowed the account on %s; WeChat delivers nothing to former followers.", at(f.UnsubscribedAt))
	}
	if f.ReplyWindow(now, loc).Open {
		return nil
	}
	switch {
	case !f.LastMessageAt.IsZero() && now.Sub(f.LastMessageAt) < MessageWindow:
		return fault.Conflict("You have sent the %d replies WeChat allows since the fan's last message (%s). You can reply again after the fan writes.",
			MessageReplies, at(f.LastMessageAt))
	case f.LastMessageAt.IsZero():
		return fault.Conflict("WeChat allows replies only within 48 hours of the fan's last message (5 replies), or within a minute of a follow, scan or menu click (3). This fan has not written to the account yet.")
	}
	return fault.Conflict("The fan last wrote on %s; WeChat's 48-hour reply window closed on %s. You can reply again after the fan writes.",
		at(f.LastMessageAt), at(f.LastMessageAt.Add(MessageWindow)))
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
	text, err := fault.MultilineText("text", text, MaxReply)
	if err != nil {
		return Message{}, err
	}
	if text == "" {
		return Message{}, fault.Invalid("text", "is required")
	}
	f, err := s.Get(ctx, t.ID, fanID)
	if err != nil {
		return Message{}, err
	}
	now := s.now().UTC()
	lang := i18n.FromContext(ctx)
	if f.OpenID == "" {
		return Message{}, closedWindow(lang, f, now, t.Location())
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
		e := closedWindow(lang, f, now, t.Location())
		if e == nil {
			e = fault.Conflict("another reply took the last message WeChat allows; wait for the fan to write again")
		}
		e.Code = "wechat_window_closed"
		return Message{}, e
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
