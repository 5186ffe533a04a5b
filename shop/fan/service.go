package fan

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/message"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// Attributor hands a fan's QR scene to attribution. A follow through a
// parametric QR code (channel "subscribe") or a follower's scan ("scan")
// calls Touch after WeChat has its answer; the distribution package plugs
// in the real rules (guides, distributors), and until then NoAttribution
// does nothing (the scene is on the fan record either way). Touch may be
// called more than once for one event (a crash between recording and
// attribution, a replay of an old push): it must be idempotent.
type Attributor interface {
	Touch(ctx context.Context, tenantID, fanID, scene, channel string) error
}

// NoAttribution is the Attributor that does nothing.
type NoAttribution struct{}

// Touch does nothing.
func (NoAttribution) Touch(context.Context, string, string, string, string) error { return nil }

// Merger is told when a browser's cookie identity is merged into a WeChat
// fan, so packages that keyed something by the old id (a cart) can move
// it. Optional; idempotent like Touch.
type Merger interface {
	MergeFan(ctx context.Context, tenantID, fromID, intoID string) error
}

// Times and sizes of push processing.
const (
	// pushHorizon: pushes are remembered this long for de-duplication, and
	// a push older than this is ignored (a replay: WeChat retries within
	// seconds).
	pushHorizon = 72 * time.Hour
	// purgeEvery is how often one process purges a shop's old push records.
	purgeEvery = time.Hour
	// MaxReply is the longest customer-service text, in characters.
	MaxReply = 600
	// afterWorkers run the slow work that follows a push's answer.
	afterWorkers = 16
)

// Service is the fans' domain: pushes, conversations and replies, WeChat
// sign-in merges, listing.
type Service struct {
	store      Store
	accounts   *wechat.Accounts
	attributor Attributor
	mergers    []Merger
	responders []Responder
	log        *slog.Logger
	now        func() time.Time
	after      *afterWork

	mu        sync.Mutex
	purged    map[string]time.Time
	lastStamp time.Time
}

// stamp is now at millisecond precision (what MongoDB keeps), strictly
// increasing within this process, so replies sent in one burst keep their
// order in the conversation.
func (s *Service) stamp() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC().Truncate(time.Millisecond)
	if !now.After(s.lastStamp) {
		now = s.lastStamp.Add(time.Millisecond)
	}
	s.lastStamp = now
	return now
}

// NewService returns the fan service. attributor may be nil (no
// attribution yet).
func NewService(store Store, accounts *wechat.Accounts, attributor Attributor, log *slog.Logger) *Service {
	if attributor == nil {
		attributor = NoAttribution{}
	}
	return &Service{store: store, accounts: accounts, attributor: attributor, log: log, now: time.Now,
		after: newAfterWork(afterWorkers, log), purged: map[string]time.Time{}}
}

// WithMerger returns the service also telling m about merged identities
// (distribution's bindings, a cart: each part that keys data by fan).
func (s *Service) WithMerger(m Merger) *Service {
	s.mergers = append(s.mergers, m)
	return s
}

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

// WithAttributor returns the service handing QR scenes to a (set once, by
// server, before serving).
func (s *Service) WithAttributor(a Attributor) *Service {
	s.attributor = a
	return s
}

// Store returns the fan store.
func (s *Service) Store() Store { return s.store }

// Wait blocks until the work queued after answered pushes is done (tests,
// shutdown).
func (s *Service) Wait() { s.after.wait() }

// Get returns a fan; a malformed id is a 400, another shop's a 404.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Fan, error) {
	if !engine.ValidID(id) {
		return Fan{}, fault.Invalid("id", "is not a fan id")
	}
	return s.store.Get(ctx, tenantID, id)
}

// Resolve follows a merged identity to the fan it became.
func (s *Service) Resolve(ctx context.Context, tenantID, id string) (string, error) {
	into, err := s.store.Alias(ctx, tenantID, id)
	if errors.Is(err, fault.ErrNotFound) {
		return id, nil
	}
	return into, err
}

// List pages through the shop's fans; limits are checked here.
func (s *Service) List(ctx context.Context, tenantID string, f Filter) ([]Fan, int64, error) {
	if f.Limit == 0 {
		f.Limit = 20
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, 0, fault.Invalid("limit", "must be between 1 and 100")
	}
	if f.Offset < 0 || f.Offset > 1_000_000 {
		return nil, 0, fault.Invalid("offset", "must be between 0 and 1000000")
	}
	if len(f.OpenID) > 64 {
		return nil, 0, fault.Invalid("openid", "is too long")
	}
	if len(f.Source) > 32 {
		return nil, 0, fault.Invalid("source", "is too long")
	}
	return s.store.List(ctx, tenantID, f)
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
		return Message{}, err
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
		return Message{}, err
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

// Link makes the WeChat user openID the fan of a browser whose cookie fan
// is cookieID (after web OAuth), merging the cookie identity into the
// WeChat fan, and returns that fan.
func (s *Service) Link(ctx context.Context, tenantID, cookieID, openID string) (Fan, error) {
	into := Fan{ID: IDForOpenID(tenantID, openID), OpenID: openID, Source: SourceWeChatOAuth,
		CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if err := s.store.Merge(ctx, tenantID, cookieID, into); err != nil {
		return Fan{}, err
	}
	for _, m := range s.mergers {
		if cookieID == into.ID {
			break
		}
		if err := m.MergeFan(ctx, tenantID, cookieID, into.ID); err != nil {
			s.log.Error("merge fan elsewhere", "tenant", tenantID, "from", cookieID, "into", into.ID, "err", err)
		}
	}
	return s.store.Get(ctx, tenantID, into.ID)
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
		if _, err := s.store.Apply(ctx, tenantID, ev); err != nil {
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
	if _, err := s.store.Apply(ctx, tenantID, ev); err != nil {
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
	out = strings.TrimSpace(out)
	if utf8.RuneCountInString(out) > 2000 {
		out = string([]rune(out)[:2000])
	}
	return out, true
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

// afterWork runs work after a push is answered: a fixed set of workers,
// each fan's work on one worker in order (a follow's attribution before the
// scan that follows it).
type afterWork struct {
	log     *slog.Logger
	queues  []chan func()
	pending sync.WaitGroup
}

func newAfterWork(n int, log *slog.Logger) *afterWork {
	a := &afterWork{log: log, queues: make([]chan func(), n)}
	for i := range a.queues {
		q := make(chan func(), 256)
		a.queues[i] = q
		go func() {
			for fn := range q {
				fn()
			}
		}()
	}
	return a
}

// do queues fn for key's worker; it waits when that worker is 256 jobs
// behind (backpressure rather than unbounded memory).
func (a *afterWork) do(key string, fn func(ctx context.Context)) {
	h := fnv.New32a()
	h.Write([]byte(key))
	a.pending.Add(1)
	a.queues[h.Sum32()%uint32(len(a.queues))] <- func() {
		defer a.pending.Done()
		defer func() {
			if r := recover(); r != nil {
				a.log.Error("panic in work after a push", "value", fmt.Sprint(r))
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		fn(ctx)
	}
}

func (a *afterWork) wait() { a.pending.Wait() }
