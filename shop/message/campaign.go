package message

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Article is an image-and-link message.
type Article struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url"`
	Image       string `json:"image,omitempty"`
}

// TemplateMessage is a WeChat template message: its template id, the page
// it opens and its fields (first, keyword1, ..., remark).
type TemplateMessage struct {
	ID     string            `json:"id"`
	URL    string            `json:"url,omitempty"`
	Fields map[string]string `json:"fields"`
}

// Campaign is one message to a segment.
type Campaign struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	SegmentID string           `json:"segment_id,omitempty"`
	Rule      Rule             `json:"rule"`
	Kind      string           `json:"kind"`
	Text      string           `json:"text,omitempty"`
	Article   *Article         `json:"article,omitempty"`
	Template  *TemplateMessage `json:"template,omitempty"`
	// ServiceNotice says the campaign is a service notice, not marketing:
	// required for template messages; opted-out fans still receive it.
	ServiceNotice bool `json:"service_notice"`
	// Fallback sends to the storefront inbox those WeChat cannot reach.
	Fallback    bool      `json:"fallback_inbox"`
	Status      string    `json:"status"`
	ScheduledAt time.Time `json:"scheduled_at"`
	// Cursor is the last fan id materialised; Materialized says all are.
	Cursor       string    `json:"-"`
	Materialized bool      `json:"materialized"`
	Recipients   int64     `json:"recipients"`
	By           string    `json:"by,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	// Counts are the deliveries by status, filled when read.
	Counts map[string]int64 `json:"counts,omitempty"`
}

// Marketing reports whether the campaign is marketing (opt-out applies).
func (c Campaign) Marketing() bool { return !c.ServiceNotice }

// content is the campaign as text (customer-service and broadcast
// messages) and as an inbox item.
func (c Campaign) content(shop string) (string, InboxItem) {
	switch c.Kind {
	case KindArticle:
		a := c.Article
		text := a.Title
		if a.Description != "" {
			text += "\n" + a.Description
		}
		return text + "\n" + a.URL, InboxItem{Kind: "marketing", Title: a.Title, Body: a.Description, URL: a.URL, Image: a.Image}
	case KindTemplate:
		t := c.Template
		var parts []string
		for _, k := range []string{"keyword1", "keyword2", "keyword3", "keyword4", "keyword5", "remark"} {
			if v := t.Fields[k]; v != "" {
				parts = append(parts, v)
			}
		}
		title := t.Fields["first"]
		if title == "" {
			title = c.Name
		}
		return title, InboxItem{Kind: "notice", Title: title, Body: strings.Join(parts, "\n"), URL: t.URL}
	}
	return c.Text, InboxItem{Kind: "marketing", Title: shop, Body: c.Text}
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

// CreateCampaign checks and stores a campaign, and starts it now or at its
// time.
func (s *Service) CreateCampaign(ctx context.Context, t tenants.Tenant, req CampaignRequest, by string) (Campaign, error) {
	now := s.clock()
	c := Campaign{ID: engine.NewID(), Kind: req.Kind, ServiceNotice: req.ServiceNotice,
		Fallback: req.FallbackInbox == nil || *req.FallbackInbox, By: by, CreatedAt: now, ScheduledAt: now, Status: CampaignSending}
	var err error
	if c.Name, err = requiredText("name", req.Name, 64); err != nil {
		return Campaign{}, err
	}
	if err := s.audienceOf(ctx, t.ID, req, &c); err != nil {
		return Campaign{}, err
	}
	if err := req.contentOf(&c); err != nil {
		return Campaign{}, err
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
		return Campaign{}, fmt.Errorf("insert campaign: %w", err)
	}
	if c.Status == CampaignSending {
		if _, err := s.store.SetCampaignStatus(ctx, t.ID, c.ID, []string{CampaignSending}, CampaignSending, now); err != nil {
			return Campaign{}, fmt.Errorf("start campaign %s: %w", c.ID, err)
		}
		s.Kick(t.ID)
	}
	return c, nil
}

// audienceOf sets whom the campaign goes to: a saved segment's rule, or
// the request's own.
func (s *Service) audienceOf(ctx context.Context, tenantID string, req CampaignRequest, c *Campaign) error {
	switch {
	case req.SegmentID != "" && req.Rule != nil:
		return fault.Invalid("rule", "give a segment_id or a rule, not both")
	case req.SegmentID != "":
		if err := engine.CheckID("segment_id", "segment", req.SegmentID); err != nil {
			return err
		}
		sg, err := s.store.Segment(ctx, tenantID, req.SegmentID)
		if errors.Is(err, fault.ErrNotFound) {
			return fault.Invalid("segment_id", "no segment %s in this shop", req.SegmentID)
		}
		if err != nil {
			return fmt.Errorf("load segment %s: %w", req.SegmentID, err)
		}
		c.SegmentID, c.Rule = sg.ID, sg.Rule
	case req.Rule != nil:
		if err := req.Rule.Validate(); err != nil {
			return err
		}
		c.Rule = *req.Rule
	default:
		return fault.Invalid("segment_id", "choose who receives it: a segment_id, or a rule ({} for every fan)")
	}
	return nil
}

// contentOf checks the request's message of its kind and sets it on c.
func (req CampaignRequest) contentOf(c *Campaign) error {
	var err error
	switch req.Kind {
	case KindText:
		c.Text, err = requiredLines("text", req.Text, 600)
		return err
	case KindArticle:
		c.Article, err = checkArticle(req.Article)
		return err
	case KindTemplate:
		c.Template, err = checkTemplate(req.Template, req.ServiceNotice)
		return err
	}
	return fault.Invalid("kind", "must be text, article or template")
}

// checkArticle checks an article and trims its texts.
func checkArticle(a *Article) (*Article, error) {
	if a == nil {
		return nil, fault.Invalid("article", "is required for an article: title, description, url, image")
	}
	var err error
	if a.Title, err = requiredText("article.title", a.Title, 64); err != nil {
		return nil, err
	}
	if a.Description, err = fault.MultilineText("article.description", a.Description, 200); err != nil {
		return nil, err
	}
	if a.URL, err = validURL("article.url", a.URL, true); err != nil {
		return nil, err
	}
	if a.Image, err = validURL("article.image", a.Image, false); err != nil {
		return nil, err
	}
	return a, nil
}

// checkTemplate checks a template message, which must be a service
// notice.
func checkTemplate(tm *TemplateMessage, serviceNotice bool) (*TemplateMessage, error) {
	if tm == nil || strings.TrimSpace(tm.ID) == "" || len(tm.ID) > 64 {
		return nil, fault.Invalid("template.id", "is required: the template id from the WeChat account")
	}
	if !serviceNotice {
		return nil, fault.Invalid("service_notice",
			"template messages are for service notices (an order, an account change), never marketing: WeChat bans accounts that advertise with them; send a text or an article instead, or set service_notice if this is a service notice")
	}
	if len(tm.Fields) == 0 || len(tm.Fields) > 10 {
		return nil, fault.Invalid("template.fields", "give 1 to 10 fields (first, keyword1, ..., remark)")
	}
	for k, v := range tm.Fields {
		if !templateField.MatchString(k) {
			return nil, fault.Invalid("template.fields", "%q is not a field name", fault.Clip(k, 40))
		}
		var err error
		if tm.Fields[k], err = fault.MultilineText("template.fields."+k, v, 200); err != nil {
			return nil, err
		}
	}
	var err error
	tm.ID = strings.TrimSpace(tm.ID)
	if tm.URL, err = validURL("template.url", tm.URL, false); err != nil {
		return nil, err
	}
	return tm, nil
}

// Campaign returns a campaign with its delivery counts.
func (s *Service) Campaign(ctx context.Context, tenantID, id string) (Campaign, error) {
	if !engine.ValidID(id) {
		return Campaign{}, fault.NotFound("campaign")
	}
	c, err := s.store.Campaign(ctx, tenantID, id)
	if err != nil {
		return Campaign{}, fmt.Errorf("load campaign %s: %w", id, err)
	}
	c.Counts, err = s.store.CountDeliveries(ctx, tenantID, id)
	return c, wrapf(err, "count deliveries of campaign %s", id)
}

const maxCampaignOffset = 100_000

// MaxCampaignsCounted is as far as the campaign list counts: its last page.
// A bounded count reads a bounded part of the index on MongoDB.
const MaxCampaignsCounted = maxCampaignOffset + 100

// Campaigns lists campaigns, newest first.
func (s *Service) Campaigns(ctx context.Context, tenantID string, limit, offset int) ([]Campaign, int64, error) {
	if limit == 0 {
		limit = 20
	}
	if limit < 1 || limit > 100 {
		return nil, 0, fault.Invalid("limit", "must be between 1 and 100")
	}
	if offset < 0 || offset > maxCampaignOffset {
		return nil, 0, fault.Invalid("offset", "must be between 0 and %d", maxCampaignOffset)
	}
	list, total, err := s.store.Campaigns(ctx, tenantID, limit, offset)
	return list, total, wrapf(err, "list campaigns")
}

// CampaignsWithCounts lists campaigns, newest first, each with its
// delivery counts.
func (s *Service) CampaignsWithCounts(ctx context.Context, tenantID string, limit, offset int) ([]Campaign, int64, error) {
	list, total, err := s.Campaigns(ctx, tenantID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	for i, c := range list {
		if list[i].Counts, err = s.store.CountDeliveries(ctx, tenantID, c.ID); err != nil {
			return nil, 0, fmt.Errorf("count deliveries of campaign %s: %w", c.ID, err)
		}
	}
	return list, total, nil
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
		return Campaign{}, fmt.Errorf("cancel campaign %s: %w", id, err)
	}
	if !ok {
		return Campaign{}, fault.Conflict("the campaign is %s; only scheduled or sending campaigns can be cancelled", c.Status)
	}
	return s.Campaign(ctx, tenantID, id)
}

// Deliveries lists a campaign's deliveries in status ("" any), after the
// delivery id after, in id order.
func (s *Service) Deliveries(ctx context.Context, tenantID, campaignID, status, after string, limit int) ([]Delivery, error) {
	if !engine.ValidID(campaignID) {
		return nil, fault.NotFound("campaign")
	}
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
	list, err := s.store.Deliveries(ctx, tenantID, campaignID, status, after, limit)
	return list, wrapf(err, "list deliveries of campaign %s", campaignID)
}
