package fan

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// Receiving a shop's WeChat pushes: what a verified push means for the fan
// and the conversation, recorded once however often WeChat retries, and the
// passive reply it gets.

const (
	// pushHorizon: pushes are remembered this long for de-duplication, and
	// a push older than this is ignored (a replay: WeChat retries within
	// seconds).
	pushHorizon = 72 * time.Hour
	// purgeEvery is how often one process purges a shop's old push records.
	purgeEvery = time.Hour
)

// Responder answers a fan's text message or menu click with a passive
// reply, such as the check-in keyword. It must be quick (WeChat waits 5 s
// for the whole push) and idempotent: a retried push asks again.
type Responder interface {
	Respond(ctx context.Context, tenantID, fanID string, msg *message.MixMessage) (reply string, ok bool, err error)
}

// WithResponder returns the service also asking r to answer fans' texts
// and menu clicks (the first responder that answers wins).
func (s *Service) WithResponder(r Responder) *Service {
	s.responders = append(s.responders, r)
	return s
}

// respond asks the responders about a text or menu click; nil when none answers.
func (s *Service) respond(ctx context.Context, tenantID, fanID string, msg *message.MixMessage) *message.Reply {
	isClick := msg.MsgType == message.MsgTypeEvent && msg.Event == message.EventClick
	if msg.MsgType != message.MsgTypeText && !isClick {
		return nil
	}
	for _, r := range s.responders {
		text, ok, err := r.Respond(ctx, tenantID, fanID, msg)
		if err != nil {
			s.log.Error("answer fan message", "tenant", tenantID, "fan", fanID, "err", err)
			continue
		}
		if ok && text != "" {
			return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(text)}
		}
	}
	return nil
}

// HandlePush records what one verified push means, before WeChat gets its
// answer, and returns the passive reply (nil for "success"). Slow work is
// queued to run after the answer. It is the wechat.PushHandler of a shop's
// /wx/{slug}.
func (s *Service) HandlePush(ctx context.Context, acct *wechat.Account, msg *message.MixMessage) (*message.Reply, error) {
	tenantID := acct.TenantID
	openID := string(msg.FromUserName)
	if openID == "" || len(openID) > 64 || !printable(openID) {
		return nil, fault.Invalid("FromUserName", "must be the fan's openid")
	}
	if msg.MsgType == "" {
		return nil, fault.Invalid("MsgType", "is required")
	}
	if msg.CreateTime <= 0 {
		return nil, fault.Invalid("CreateTime", "must be a Unix time in seconds")
	}
	now := s.now().UTC()
	at := time.Unix(msg.CreateTime, 0).UTC()
	if at.After(now.Add(5 * time.Minute)) {
		at = now // a clock ahead of ours: no event from the future
	}
	if now.Sub(at) > pushHorizon {
		s.log.Info("old push ignored", "tenant", tenantID, "created", at)
		return nil, nil
	}
	fanID := IDForOpenID(tenantID, openID)
	kind, key := string(msg.MsgType), ""
	if msg.MsgType == message.MsgTypeEvent {
		kind = "event:" + string(msg.Event)
		key = "e:" + openID + ":" + strconv.FormatInt(msg.CreateTime, 10) + ":" + string(msg.Event)
	} else if msg.MsgID != 0 {
		key = "m:" + strconv.FormatInt(msg.MsgID, 10)
	} else {
		key = "m:" + openID + ":" + strconv.FormatInt(msg.CreateTime, 10)
	}
	if len(kind) > 64 {
		kind = kind[:64]
	}
	welcome := s.welcome(acct, msg)
	claimed, err := s.store.ClaimPush(ctx, tenantID, PushRecord{Key: key, OpenID: openID, Kind: kind, At: now.Truncate(time.Millisecond)})
	if err != nil {
		return nil, err
	}
	if !claimed {
		// A retry: WeChat did not get the first answer, so answer again,
		// without doing anything twice (responders are idempotent).
		if r := s.respond(ctx, tenantID, fanID, msg); r != nil {
			return r, nil
		}
		return welcome, nil
	}
	scene, channel, err := s.apply(ctx, tenantID, fanID, openID, msg, at)
	if err != nil {
		// Forget the push so WeChat's retry is processed.
		if rerr := s.store.ReleasePush(context.WithoutCancel(ctx), tenantID, key); rerr != nil {
			s.log.Error("release failed push", "tenant", tenantID, "key", key, "err", rerr)
		}
		return nil, err
	}
	s.after.do(fanID, func(ctx context.Context) {
		if scene != "" {
			if err := s.attributor.Touch(ctx, tenantID, fanID, scene, channel); err != nil {
				s.log.Error("attribute scene", "tenant", tenantID, "fan", fanID, "scene", scene, "err", err)
			}
		}
		s.purge(ctx, tenantID)
	})
	if r := s.respond(ctx, tenantID, fanID, msg); r != nil {
		return r, nil
	}
	return welcome, nil
}

// welcome is the passive reply to a follow, if the shop set one.
func (s *Service) welcome(acct *wechat.Account, msg *message.MixMessage) *message.Reply {
	if msg.MsgType != message.MsgTypeEvent || msg.Event != message.EventSubscribe || acct.Settings.Welcome == "" {
		return nil
	}
	return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(acct.Settings.Welcome)}
}

// apply records the push on the fan and the conversation; it returns the
// scene to attribute, if any, and through which channel.
func (s *Service) apply(ctx context.Context, tenantID, fanID, openID string, msg *message.MixMessage, at time.Time) (string, string, error) {
	ev := Event{FanID: fanID, OpenID: openID, At: at}
	if msg.MsgType == message.MsgTypeEvent {
		switch msg.Event {
		case message.EventSubscribe:
			ev.Kind, ev.Source = Subscribed, SourceWeChatFollow
			if sc, ok := strings.CutPrefix(msg.EventKey, "qrscene_"); ok {
				ev.Scene, ev.Source = s.scene(tenantID, sc), SourceWeChatQR
				if ev.Scene == "" {
					ev.Source = SourceWeChatFollow
				}
			}
		case message.EventScan:
			ev.Kind, ev.Source, ev.Scene = Scanned, SourceWeChatQR, s.scene(tenantID, msg.EventKey)
		case message.EventUnsubscribe:
			ev.Kind, ev.Source = Unsubscribed, SourceWeChatFollow
		case message.EventClick:
			ev.Kind, ev.Source = Clicked, SourceWeChatFollow
		default:
			return "", "", nil // recorded in the push log only
		}
		if err := s.applyEvent(ctx, tenantID, ev); err != nil {
			return "", "", err
		}
		channel := map[EventKind]string{Subscribed: "subscribe", Scanned: "scan"}[ev.Kind]
		return ev.Scene, channel, nil
	}
	content, ok := summary(msg)
	if !ok {
		return "", "", nil // not a message from the fan (a notification WeChat pushes)
	}
	ev.Kind, ev.Source = Wrote, SourceWeChatMessage
	if err := s.applyEvent(ctx, tenantID, ev); err != nil {
		return "", "", err
	}
	id := "in:" + fanID + ":"
	if msg.MsgID != 0 {
		id += strconv.FormatInt(msg.MsgID, 10)
	} else {
		id += strconv.FormatInt(msg.CreateTime, 10)
	}
	_, err := s.store.AddMessage(ctx, tenantID, Message{ID: id, FanID: fanID, Direction: "in", Kind: string(msg.MsgType),
		Content: content, CreatedAt: at})
	return "", "", err
}

// applyEvent records ev on the fan and, when it changed something, tells
// the observers after WeChat has its answer.
func (s *Service) applyEvent(ctx context.Context, tenantID string, ev Event) error {
	applied, err := s.store.Apply(ctx, tenantID, ev)
	if err != nil || !applied || len(s.observers) == 0 {
		return err
	}
	s.after.do(ev.FanID, func(ctx context.Context) {
		for _, o := range s.observers {
			if err := o.FanEvent(ctx, tenantID, ev); err != nil {
				s.log.Error("observe fan event", "tenant", tenantID, "fan", ev.FanID, "kind", ev.Kind, "err", err)
			}
		}
	})
	return nil
}

// scene is a pushed scene if it is one the shop could have issued.
func (s *Service) scene(tenantID, sc string) string {
	if err := wechat.ValidateScene(sc); err != nil {
		s.log.Warn("push with an unusable scene ignored", "tenant", tenantID, "err", err)
		return ""
	}
	return sc
}

// summary is how a fan's message shows in the conversation.
func summary(m *message.MixMessage) (string, bool) {
	var out string
	switch m.MsgType {
	case message.MsgTypeText:
		out = m.Content
	case message.MsgTypeImage:
		out = "[image] " + m.PicURL
	case message.MsgTypeVoice:
		out = "[voice] " + m.Recognition
	case message.MsgTypeVideo, message.MsgTypeShortVideo:
		out = "[video]"
	case message.MsgTypeLocation:
		out = fmt.Sprintf("[location] %s (%.5f, %.5f)", m.Label, m.LocationX, m.LocationY)
	case message.MsgTypeLink:
		out = "[link] " + m.Title + " " + m.URL
	default:
		return "", false
	}
	return fault.Clip(strings.TrimSpace(out), 2000), true
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// purge forgets a shop's old push records, at most once an hour per
// process (a cron job would need every tenant enumerated; this rides on
// the pushes that create the records).
func (s *Service) purge(ctx context.Context, tenantID string) {
	now := s.now()
	s.mu.Lock()
	last, ok := s.purged[tenantID]
	if ok && now.Sub(last) < purgeEvery {
		s.mu.Unlock()
		return
	}
	if len(s.purged) > 100_000 {
		clear(s.purged)
	}
	s.purged[tenantID] = now
	s.mu.Unlock()
	if n, err := s.store.PurgePushes(ctx, tenantID, now.Add(-pushHorizon)); err != nil {
		s.log.Error("purge push records", "tenant", tenantID, "err", err)
	} else if n > 0 {
		s.log.Info("push records purged", "tenant", tenantID, "count", n)
	}
}
