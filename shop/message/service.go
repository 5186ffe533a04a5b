package message

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// TenantLookup finds a shop by id (its slug for links, its zone for
// dates); tenants.Service is one.
type TenantLookup interface {
	TenantByID(ctx context.Context, id string) (tenants.Tenant, error)
}

// Leaser runs a function while holding a named lease, so one replica at a
// time dispatches a shop's messages; tenants.Leaser is one.
type Leaser interface {
	Run(ctx context.Context, name string, ttl time.Duration, fn func(ctx context.Context) error) (bool, error)
}

// Options are what the message service is built from.
type Options struct {
	Store   Store
	Fans    fan.Store
	Sender  Sender
	Tenants TenantLookup
	// Leaser may be nil (one process: tests).
	Leaser Leaser
	// BaseURL is the server's public address, for links in template
	// messages ("" leaves them out; the inbox keeps them).
	BaseURL string
	Log     *slog.Logger
}

// Service runs messaging for every shop.
type Service struct {
	store   Store
	fans    fan.Store
	sender  Sender
	tenants TenantLookup
	leaser  Leaser
	baseURL string
	log     *slog.Logger
	now     func() time.Time
	// claimTTL is how long a delivery may stay "sending" before the
	// dispatcher takes its dispatcher for dead.
	claimTTL time.Duration
	// budget bounds one kicked dispatch.
	budget time.Duration

	mu      sync.Mutex
	running map[string]bool // shops whose dispatcher runs in this process
	again   map[string]bool // shops kicked while it ran
	work    sync.WaitGroup
	// Tests: manual turns kicks off (the test dispatches), afterSend is
	// called after a message left, before it is recorded.
	manual    bool
	afterSend func(d Delivery)
}

// NewService returns the message service.
func NewService(o Options) *Service {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{store: o.Store, fans: o.Fans, sender: o.Sender, tenants: o.Tenants, leaser: o.Leaser, baseURL: o.BaseURL, log: o.Log,
		now: time.Now, claimTTL: 2 * time.Minute, budget: 50 * time.Second, running: map[string]bool{}, again: map[string]bool{}}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Store returns the message store.
func (s *Service) Store() Store { return s.store }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// zone is the shop's time zone.
func zone(t tenants.Tenant) *time.Location {
	if t.TimeZone != "" {
		if loc, err := time.LoadLocation(t.TimeZone); err == nil {
			return loc
		}
	}
	if loc, err := time.LoadLocation(tenants.DefaultTimeZone); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

func (s *Service) today(t tenants.Tenant, now time.Time) string {
	return now.In(zone(t)).Format(time.DateOnly)
}

// Touch records that a fan did something (a storefront visit, a check-in).
func (s *Service) Touch(ctx context.Context, tenantID, fanID string, at time.Time) error {
	return s.store.Touch(ctx, tenantID, fanID, at.UTC().Truncate(time.Millisecond))
}

// PointsChanged records a fan's points figures, and the fan's activity
// when active is set (shop/points calls it).
func (s *Service) PointsChanged(ctx context.Context, tenantID, fanID string, balance int64, streak int, lastDay string, active time.Time) error {
	return s.store.SetPoints(ctx, tenantID, fanID, balance, streak, lastDay, active.UTC().Truncate(time.Millisecond))
}

// SetBinding records who a fan is bound to: the distribution package
// calls it when a binding changes, so segments by guide, store and
// distributor stay current. Paid orders also record their attribution.
func (s *Service) SetBinding(ctx context.Context, tenantID, fanID, guideID, storeID, distributorID string) error {
	return s.store.SetBinding(ctx, tenantID, fanID, guideID, storeID, distributorID)
}

// Interaction counts the fans active in the last 7 and 30 days, and all
// fans (shop/points' console shows the rate).
func (s *Service) Interaction(ctx context.Context, tenantID string, now time.Time) (active7, active30, fans int64, err error) {
	if active7, err = s.store.CountActive(ctx, tenantID, now.AddDate(0, 0, -7)); err != nil {
		return
	}
	if active30, err = s.store.CountActive(ctx, tenantID, now.AddDate(0, 0, -30)); err != nil {
		return
	}
	_, fans, err = s.fans.List(ctx, tenantID, fan.Filter{Limit: 1})
	return
}

// Profile returns the fan's audience record (an empty one if none yet).
func (s *Service) Profile(ctx context.Context, tenantID, fanID string) (Profile, error) {
	p, err := s.store.Profile(ctx, tenantID, fanID)
	if errors.Is(err, fault.ErrNotFound) {
		return Profile{FanID: fanID, Tags: []string{}}, nil
	}
	return p, err
}

var tagPattern = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} _\-.]{0,31}$`)

// normTags checks and de-duplicates tags.
func normTags(field string, tags []string) ([]string, error) {
	if len(tags) > 20 {
		return nil, fault.Invalid(field, "at most 20 tags")
	}
	seen := map[string]bool{}
	out := []string{}
	for i, t := range tags {
		t = strings.TrimSpace(t)
		if !tagPattern.MatchString(t) {
			return nil, fault.Invalid(fmt.Sprintf("%s[%d]", field, i), "%q: a tag is 1 to 32 letters, digits, spaces, - _ or .", truncate(t))
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// SetTags replaces a fan's tags.
func (s *Service) SetTags(ctx context.Context, tenantID, fanID string, tags []string) ([]string, error) {
	tags, err := normTags("tags", tags)
	if err != nil {
		return nil, err
	}
	return tags, s.store.SetTags(ctx, tenantID, fanID, tags)
}

// SetOptOut records the fan's choice about marketing messages.
func (s *Service) SetOptOut(ctx context.Context, tenantID, fanID string, out bool) error {
	if _, err := s.fans.Ensure(ctx, tenantID, fanID, "direct", s.clock()); err != nil {
		return err
	}
	return s.store.SetOptOut(ctx, tenantID, fanID, out)
}

func truncate(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}

// Validate checks a rule.
func (r *Rule) Validate() error {
	var err error
	if r.Tags, err = normTags("rule.tags", r.Tags); err != nil {
		return err
	}
	if len(r.Tags) == 0 {
		r.Tags = nil
	}
	for _, l := range []struct {
		field string
		ids   []string
	}{{"rule.guide_ids", r.GuideIDs}, {"rule.store_ids", r.StoreIDs}, {"rule.distributor_ids", r.DistributorIDs}} {
		if len(l.ids) > 100 {
			return fault.Invalid(l.field, "at most 100")
		}
		for i, id := range l.ids {
			if id == "" || len(id) > 64 || strings.ContainsAny(id, " \t\n") {
				return fault.Invalid(fmt.Sprintf("%s[%d]", l.field, i), "is not an id")
			}
		}
	}
	switch r.Subscribed {
	case "", "yes", "no":
	default:
		return fault.Invalid("rule.subscribed", "must be yes, no or empty (any)")
	}
	for _, n := range []struct {
		field string
		v     *int64
	}{{"rule.min_orders", r.MinOrders}, {"rule.max_orders", r.MaxOrders}, {"rule.min_points", r.MinPoints}, {"rule.max_points", r.MaxPoints}} {
		if n.v != nil && (*n.v < 0 || *n.v > 1_000_000_000) {
			return fault.Invalid(n.field, "must be between 0 and 1000000000")
		}
	}
	if r.MinOrders != nil && r.MaxOrders != nil && *r.MinOrders > *r.MaxOrders {
		return fault.Invalid("rule.max_orders", "must not be below min_orders")
	}
	if r.MinPoints != nil && r.MaxPoints != nil && *r.MinPoints > *r.MaxPoints {
		return fault.Invalid("rule.max_points", "must not be below min_points")
	}
	for _, n := range []struct {
		field string
		v     int
	}{{"rule.active_within_days", r.ActiveWithinDays}, {"rule.inactive_for_days", r.InactiveForDays}, {"rule.min_streak", r.MinStreak}} {
		if n.v < 0 || n.v > 3650 {
			return fault.Invalid(n.field, "must be between 0 and 3650")
		}
	}
	if r.ActiveWithinDays > 0 && r.InactiveForDays > 0 && r.InactiveForDays >= r.ActiveWithinDays {
		return fault.Invalid("rule.inactive_for_days", "with active_within_days %d selects no one", r.ActiveWithinDays)
	}
	return nil
}

// Count is the live count of the fans r selects.
func (s *Service) Count(ctx context.Context, t tenants.Tenant, r Rule) (int64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	now := s.clock()
	return s.store.Count(ctx, t.ID, r, s.today(t, now), now)
}

// SegmentRequest is a segment to save.
type SegmentRequest struct {
	Name string `json:"name"`
	Rule Rule   `json:"rule"`
}

// CreateSegment saves a segment.
func (s *Service) CreateSegment(ctx context.Context, t tenants.Tenant, req SegmentRequest) (Segment, error) {
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || utf8.RuneCountInString(req.Name) > 64 {
		return Segment{}, fault.Invalid("name", "is required, at most 64 characters")
	}
	if err := req.Rule.Validate(); err != nil {
		return Segment{}, err
	}
	sg := Segment{ID: engine.NewID(), Name: req.Name, Rule: req.Rule, CreatedAt: s.clock()}
	if err := s.store.InsertSegment(ctx, t.ID, sg); err != nil {
		return Segment{}, err
	}
	var err error
	sg.Count, err = s.Count(ctx, t, sg.Rule)
	return sg, err
}

// Segment returns a segment with its live count.
func (s *Service) Segment(ctx context.Context, t tenants.Tenant, id string) (Segment, error) {
	if !engine.ValidID(id) {
		return Segment{}, fault.NotFound("segment")
	}
	sg, err := s.store.Segment(ctx, t.ID, id)
	if err != nil {
		return Segment{}, err
	}
	sg.Count, err = s.Count(ctx, t, sg.Rule)
	return sg, err
}

// Segments lists the shop's segments with their live counts.
func (s *Service) Segments(ctx context.Context, t tenants.Tenant) ([]Segment, error) {
	list, err := s.store.Segments(ctx, t.ID, 100)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Count, err = s.Count(ctx, t, list[i].Rule); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// DeleteSegment deletes a segment (campaigns keep their copy of its rule).
func (s *Service) DeleteSegment(ctx context.Context, tenantID, id string) error {
	if !engine.ValidID(id) {
		return fault.NotFound("segment")
	}
	return s.store.DeleteSegment(ctx, tenantID, id)
}

// CampaignRequest is a campaign to send.
type CampaignRequest struct {
	Name string `json:"name"`
	// SegmentID picks a saved segment; Rule, without one, selects inline.
	SegmentID     string           `json:"segment_id,omitempty"`
	Rule          *Rule            `json:"rule,omitempty"`
	Kind          string           `json:"kind"`
	Text          string           `json:"text,omitempty"`
	Article       *Article         `json:"article,omitempty"`
	Template      *TemplateMessage `json:"template,omitempty"`
	ServiceNotice bool             `json:"service_notice,omitempty"`
	// FallbackInbox (default true) sends to the inbox those WeChat cannot
	// reach.
	FallbackInbox *bool `json:"fallback_inbox,omitempty"`
	// ScheduledAt, in the future, schedules the campaign; empty sends now.
	ScheduledAt *time.Time `json:"scheduled_at,omitempty"`
}

var templateField = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

func validURL(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return "", fault.Invalid(field, "is required")
		}
		return "", nil
	}
	u, err := url.Parse(s)
	if len(s) > 500 || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if err == nil && u.Scheme == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && len(s) <= 500 {
			return s, nil // a page of the shop
		}
		return "", fault.Invalid(field, "must be an http(s) address or a path of the shop, like /s/my-shop/")
	}
	return s, nil
}

// CreateCampaign checks and stores a campaign, and starts it now or at its
// time.
func (s *Service) CreateCampaign(ctx context.Context, t tenants.Tenant, req CampaignRequest, by string) (Campaign, error) {
	now := s.clock()
	c := Campaign{ID: engine.NewID(), Name: strings.TrimSpace(req.Name), Kind: req.Kind, ServiceNotice: req.ServiceNotice,
		Fallback: req.FallbackInbox == nil || *req.FallbackInbox, By: by, CreatedAt: now, ScheduledAt: now, Status: CampaignSending}
	if c.Name == "" || utf8.RuneCountInString(c.Name) > 64 {
		return Campaign{}, fault.Invalid("name", "is required, at most 64 characters")
	}
	switch {
	case req.SegmentID != "" && req.Rule != nil:
		return Campaign{}, fault.Invalid("rule", "give a segment_id or a rule, not both")
	case req.SegmentID != "":
		if !engine.ValidID(req.SegmentID) {
			return Campaign{}, fault.Invalid("segment_id", "is not a segment id")
		}
		sg, err := s.store.Segment(ctx, t.ID, req.SegmentID)
		if errors.Is(err, fault.ErrNotFound) {
			return Campaign{}, fault.Invalid("segment_id", "no segment %s in this shop", req.SegmentID)
		}
		if err != nil {
			return Campaign{}, err
		}
		c.SegmentID, c.Rule = sg.ID, sg.Rule
	case req.Rule != nil:
		if err := req.Rule.Validate(); err != nil {
			return Campaign{}, err
		}
		c.Rule = *req.Rule
	default:
		return Campaign{}, fault.Invalid("segment_id", "choose who receives it: a segment_id, or a rule ({} for every fan)")
	}
	switch req.Kind {
	case KindText:
		c.Text = strings.TrimSpace(req.Text)
		if c.Text == "" || utf8.RuneCountInString(c.Text) > 600 {
			return Campaign{}, fault.Invalid("text", "is required, at most 600 characters")
		}
	case KindArticle:
		a := req.Article
		if a == nil {
			return Campaign{}, fault.Invalid("article", "is required for an article: title, description, url, image")
		}
		a.Title, a.Description = strings.TrimSpace(a.Title), strings.TrimSpace(a.Description)
		if a.Title == "" || utf8.RuneCountInString(a.Title) > 64 {
			return Campaign{}, fault.Invalid("article.title", "is required, at most 64 characters")
		}
		if utf8.RuneCountInString(a.Description) > 200 {
			return Campaign{}, fault.Invalid("article.description", "must be at most 200 characters")
		}
		var err error
		if a.URL, err = validURL("article.url", a.URL, true); err != nil {
			return Campaign{}, err
		}
		if a.Image, err = validURL("article.image", a.Image, false); err != nil {
			return Campaign{}, err
		}
		c.Article = a
	case KindTemplate:
		tm := req.Template
		if tm == nil || strings.TrimSpace(tm.ID) == "" || len(tm.ID) > 64 {
			return Campaign{}, fault.Invalid("template.id", "is required: the template id from the WeChat account")
		}
		if !req.ServiceNotice {
			return Campaign{}, fault.Invalid("service_notice",
				"template messages are for service notices (an order, an account change), never marketing: WeChat bans accounts that advertise with them; send a text or an article instead, or set service_notice if this is a service notice")
		}
		if len(tm.Fields) == 0 || len(tm.Fields) > 10 {
			return Campaign{}, fault.Invalid("template.fields", "give 1 to 10 fields (first, keyword1, ..., remark)")
		}
		for k, v := range tm.Fields {
			if !templateField.MatchString(k) {
				return Campaign{}, fault.Invalid("template.fields", "%q is not a field name", truncate(k))
			}
			if utf8.RuneCountInString(v) > 200 {
				return Campaign{}, fault.Invalid("template.fields."+k, "must be at most 200 characters")
			}
		}
		var err error
		tm.ID = strings.TrimSpace(tm.ID)
		if tm.URL, err = validURL("template.url", tm.URL, false); err != nil {
			return Campaign{}, err
		}
		c.Template = tm
	default:
		return Campaign{}, fault.Invalid("kind", "must be text, article or template")
	}
	if req.ScheduledAt != nil && req.ScheduledAt.After(now.Add(5*time.Second)) {
		if req.ScheduledAt.After(now.AddDate(0, 3, 0)) {
			return Campaign{}, fault.Invalid("scheduled_at", "must be within three months")
		}
		c.ScheduledAt, c.Status = req.ScheduledAt.UTC().Truncate(time.Millisecond), CampaignScheduled
	}
	if c.Status == CampaignSending {
		c.StartedAt = now
	}
	if err := s.store.InsertCampaign(ctx, t.ID, c); err != nil {
		return Campaign{}, err
	}
	if c.Status == CampaignSending {
		if _, err := s.store.SetCampaignStatus(ctx, t.ID, c.ID, []string{CampaignSending}, CampaignSending, now); err != nil {
			return Campaign{}, err
		}
		s.Kick(t.ID)
	}
	return c, nil
}

// Campaign returns a campaign with its delivery counts.
func (s *Service) Campaign(ctx context.Context, tenantID, id string) (Campaign, error) {
	if !engine.ValidID(id) {
		return Campaign{}, fault.NotFound("campaign")
	}
	c, err := s.store.Campaign(ctx, tenantID, id)
	if err != nil {
		return Campaign{}, err
	}
	c.Counts, err = s.store.CountDeliveries(ctx, tenantID, id)
	return c, err
}

// Campaigns lists campaigns, newest first.
func (s *Service) Campaigns(ctx context.Context, tenantID string, limit, offset int) ([]Campaign, int64, error) {
	if limit == 0 {
		limit = 20
	}
	if limit < 1 || limit > 100 {
		return nil, 0, fault.Invalid("limit", "must be between 1 and 100")
	}
	if offset < 0 || offset > 100_000 {
		return nil, 0, fault.Invalid("offset", "must be between 0 and 100000")
	}
	return s.store.Campaigns(ctx, tenantID, limit, offset)
}

// CancelCampaign stops a scheduled or sending campaign: what was sent
// stays sent, the rest is not sent.
func (s *Service) CancelCampaign(ctx context.Context, tenantID, id string) (Campaign, error) {
	c, err := s.Campaign(ctx, tenantID, id)
	if err != nil {
		return Campaign{}, err
	}
	ok, err := s.store.SetCampaignStatus(ctx, tenantID, id, []string{CampaignScheduled, CampaignSending}, CampaignCancelled, s.clock())
	if err != nil {
		return Campaign{}, err
	}
	if !ok {
		return Campaign{}, fault.Conflict("the campaign is %s; only scheduled or sending campaigns can be cancelled", c.Status)
	}
	return s.Campaign(ctx, tenantID, id)
}

// Deliveries lists a campaign's deliveries.
func (s *Service) Deliveries(ctx context.Context, tenantID, campaignID, status, after string, limit int) ([]Delivery, error) {
	switch status {
	case "", Queued, Sending, Sent, Failed, Skipped:
	default:
		return nil, fault.Invalid("status", "must be queued, sending, sent, failed or skipped")
	}
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > 500 {
		return nil, fault.Invalid("limit", "must be between 1 and 500")
	}
	if len(after) > 80 {
		return nil, fault.Invalid("after", "is not a delivery id")
	}
	if _, err := s.Campaign(ctx, tenantID, campaignID); err != nil {
		return nil, err
	}
	return s.store.Deliveries(ctx, tenantID, campaignID, status, after, limit)
}

// Settings returns the shop's messaging settings.
func (s *Service) Settings(ctx context.Context, tenantID string) (Settings, error) {
	return s.store.Settings(ctx, tenantID)
}

// SaveSettings checks and stores the shop's messaging settings.
func (s *Service) SaveSettings(ctx context.Context, tenantID string, st Settings) (Settings, error) {
	if st.Rate < 1 || st.Rate > 1000 {
		return Settings{}, fault.Invalid("rate", "must be between 1 and 1000 messages a second")
	}
	clean := map[string]string{}
	for k, v := range st.Templates {
		if _, ok := noticeText[k]; !ok {
			return Settings{}, fault.Invalid("templates", "%q is not a notice kind (%s)", truncate(k), strings.Join(NoticeKinds, ", "))
		}
		v = strings.TrimSpace(v)
		if len(v) > 64 || strings.ContainsAny(v, " \t\n") {
			return Settings{}, fault.Invalid("templates."+k, "is not a template id")
		}
		if v != "" {
			clean[k] = v
		}
	}
	st.Templates = clean
	return st, s.store.SaveSettings(ctx, tenantID, st)
}

// Inbox lists a fan's inbox, newest first.
func (s *Service) Inbox(ctx context.Context, tenantID, fanID string, before time.Time, limit int) ([]InboxItem, error) {
	return s.store.Inbox(ctx, tenantID, fanID, before, limit)
}

// Notify queues a transactional notice to a fan, once per key, and kicks
// the dispatcher: a template message when the shop set one for the kind
// and the fan follows, else the inbox. It returns quickly; WeChat is
// called after.
func (s *Service) Notify(ctx context.Context, tenantID string, n Notice) error {
	n.Key = strings.TrimSpace(n.Key)
	switch {
	case n.Key == "" || len(n.Key) > 200:
		return fault.Invalid("key", "is required, at most 200 characters")
	case !engine.ValidID(n.FanID):
		return fault.Invalid("fan_id", "is not a fan id")
	case noticeText[n.Kind] == "":
		return fault.Invalid("kind", "must be one of %s", strings.Join(NoticeKinds, ", "))
	case n.Title == "" || utf8.RuneCountInString(n.Title) > 64:
		return fault.Invalid("title", "is required, at most 64 characters")
	case utf8.RuneCountInString(n.Body) > 600:
		return fault.Invalid("body", "must be at most 600 characters")
	}
	now := s.clock()
	added, err := s.store.InsertDeliveries(ctx, tenantID, []Delivery{{ID: "n:" + n.Key, FanID: n.FanID, Status: Queued,
		NextAt: now, Notice: &n, CreatedAt: now}})
	if err != nil {
		return err
	}
	if added > 0 {
		s.Kick(tenantID)
	}
	return nil
}

func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s¥%d.%02d", sign, fen/100, fen%100)
}

// Commission tells a fan (a distributor) that commission was credited or,
// reversed, taken back. key names the commission ledger entry (it is the
// notice's de-duplication key, so the distribution package may call this
// from an at-least-once handler); amount is fen.
func (s *Service) Commission(ctx context.Context, tenantID, fanID, key string, amount int64, orderID string, reversed bool) error {
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return err
	}
	n := Notice{Key: "commission:" + key, FanID: fanID, Kind: NoticeCommissionCredited, Title: "Commission credited",
		Body: fmt.Sprintf("%s commission on order %s.", yuan(amount), orderID), URL: "/s/" + t.Slug + "/",
		Fields: map[string]string{"keyword1": yuan(amount), "keyword2": orderID}}
	if reversed {
		n.Kind, n.Title = NoticeCommissionReversed, "Commission reversed"
		n.Body = fmt.Sprintf("%s commission on order %s was taken back (the order was refunded).", yuan(amount), orderID)
	}
	return s.Notify(ctx, tenantID, n)
}

// PointsExpiring tells a fan points expire soon (shop/points calls it).
func (s *Service) PointsExpiring(ctx context.Context, tenantID, fanID string, points int64, expiresAt time.Time) error {
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return err
	}
	last := expiresAt.In(zone(t)).Add(-time.Second).Format(time.DateOnly)
	return s.Notify(ctx, tenantID, Notice{Key: fmt.Sprintf("points-expiring:%s:%d", fanID, expiresAt.Unix()), FanID: fanID,
		Kind: NoticePointsExpiring, Title: "Points about to expire",
		Body: fmt.Sprintf("%d of your points expire after %s. Use them at checkout before then.", points, last),
		URL:  "/s/" + t.Slug + "/me", Fields: map[string]string{"keyword1": fmt.Sprintf("-%d (expire after %s)", points, last),
			"keyword2": fmt.Sprintf("%d points", points)}})
}

// CheckinReminder reminds a fan who opted in to check in today (shop/points
// calls it).
func (s *Service) CheckinReminder(ctx context.Context, tenantID, fanID, day string) error {
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return err
	}
	return s.Notify(ctx, tenantID, Notice{Key: "checkin-reminder:" + fanID + ":" + day, FanID: fanID, Kind: NoticeCheckinReminder,
		Title: "Check in today", Body: "You have not checked in today: check in to keep your streak.", URL: "/s/" + t.Slug + "/me",
		Fields: map[string]string{"keyword1": "Daily check-in", "keyword2": day}})
}

// OrderEvent implements order.Subscriber: a paid order counts as a purchase
// (once per order) and records the fan's attribution, and paid and shipped
// orders send their notices (once per order: the notice key). Every event
// counts as activity.
func (s *Service) OrderEvent(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	if o.FanID == "" {
		return nil
	}
	at := ev.At.UTC().Truncate(time.Millisecond)
	switch ev.Type {
	case order.EventPaid:
		a := o.Attribution
		if err := s.store.AddPurchase(ctx, tenantID, o.FanID, o.ID, at, a.GuideID, a.StoreID, a.DistributorID); err != nil {
			return err
		}
	case order.EventShipped:
	default:
		return s.store.Touch(ctx, tenantID, o.FanID, at)
	}
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return err
	}
	link := "/s/" + t.Slug + "/orders/" + o.ID
	when := at.In(zone(t)).Format("2006-01-02 15:04")
	if ev.Type == order.EventPaid {
		return s.Notify(ctx, tenantID, Notice{Key: "order-paid:" + o.ID, FanID: o.FanID, Kind: NoticeOrderPaid, Title: "Payment received",
			Body: fmt.Sprintf("We received %s for order %s. We will tell you when it ships.", yuan(o.Paid), o.ID), URL: link,
			Fields: map[string]string{"keyword1": o.ID, "keyword2": yuan(o.Paid), "keyword3": when}})
	}
	carrier, tracking := o.Carrier, o.TrackingNo
	if carrier == "" {
		carrier = "-"
	}
	if tracking == "" {
		tracking = "-"
	}
	return s.Notify(ctx, tenantID, Notice{Key: "order-shipped:" + o.ID, FanID: o.FanID, Kind: NoticeOrderShipped, Title: "Your order has shipped",
		Body: fmt.Sprintf("Order %s left the shop with %s, tracking number %s.", o.ID, carrier, tracking), URL: link,
		Fields: map[string]string{"keyword1": o.ID, "keyword2": carrier, "keyword3": tracking}})
}
