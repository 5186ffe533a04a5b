package message

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// AdminPage is what the console's messaging templates receive.
type AdminPage struct {
	Shop       tenants.Tenant
	Campaigns  []Campaign
	Total      int64
	Offset     int
	Campaign   Campaign
	Deliveries []Delivery
	Status     string
	After      string
	Segments   []Segment
	RuleForm   RuleForm
	Count      int64
	Counted    bool
	Form       CampaignForm
	Settings   Settings
	Kinds      []string
	Fan        fan.Fan
	Profile    Profile
	Inbox      []InboxItem
	TagsText   string
	Error      string
	Notice     string

	// ctx is the request's: the language Describe and Reason speak.
	ctx context.Context
}

// When formats a time in the shop's zone, the way the page's language
// writes times.
func (p AdminPage) When(t time.Time) string {
	return i18n.FormatDateTime(i18n.FromContext(p.context()), t, zone(p.Shop))
}

// KindText names a notice kind in the page's language.
func (p AdminPage) KindText(k string) string { return i18n.T(p.context(), "messages.notice."+k) }

// Template is the template id set for a notice kind.
func (p AdminPage) Template(k string) string { return p.Settings.Templates[k] }

// Statuses are the delivery statuses, in the order the console shows them.
func (AdminPage) Statuses() []string { return []string{Queued, Sending, Sent, Failed, Skipped} }

// Describe says in words whom a rule selects, in the page's language.
func (p AdminPage) Describe(r Rule) string { return describe(p.context(), r) }

// By names who started a campaign: a console user's email as it is, the
// API or the console in the page's language.
func (p AdminPage) By(by string) string {
	if by == "api" || by == "console" {
		return i18n.T(p.context(), "messages.by_"+by)
	}
	return by
}

// Reason says why a delivery was skipped or failed, in the page's
// language when it is one of the dispatcher's own reasons; anything else
// (WeChat's answer) as it is.
func (p AdminPage) Reason(reason string) string {
	ctx := p.context()
	if kind, ok := strings.CutPrefix(reason, "no template message is set for "); ok {
		for _, k := range NoticeKinds {
			if NoticeText(k) == kind {
				return i18n.T(ctx, "messages.reason.no_template", "Notice", i18n.T(ctx, "messages.notice."+k))
			}
		}
	}
	if id, ok := reasons[reason]; ok {
		return i18n.T(ctx, "messages.reason."+id)
	}
	return reason
}

// reasons are the dispatcher's fixed reasons (dispatch*.go) and their
// message ids under messages.reason.
var reasons = map[string]string{
	"the shop has no WeChat official account":                                                     "no_account",
	"the fan has not followed the shop's WeChat account":                                          "not_followed",
	"the fan unfollowed the shop's WeChat account":                                                "unfollowed",
	"the fan does not follow the shop's WeChat account":                                           "not_following",
	"the fan no longer exists":                                                                    "fan_gone",
	"opted out of marketing messages":                                                             "opted_out",
	"a notice without content":                                                                    "no_content",
	"outside WeChat's 48-hour reply window, and a broadcast must go to at least two fans at once": "broadcast_min",
}

func (p AdminPage) context() context.Context {
	if p.ctx == nil {
		return context.Background()
	}
	return p.ctx
}

// describe says in words whom r selects (Rule.Describe in ctx's language).
func describe(ctx context.Context, r Rule) string {
	var parts []string
	or := i18n.T(ctx, "segments.rule.or")
	if len(r.Tags) > 0 {
		parts = append(parts, i18n.T(ctx, "segments.rule.tagged", "Tags", strings.Join(r.Tags, or)))
	}
	for _, l := range r.bindings() {
		if len(l.ids) > 0 {
			parts = append(parts, i18n.T(ctx, "segments.rule."+l.what, "IDs", strings.Join(l.ids, or)))
		}
	}
	switch r.Subscribed {
	case "yes":
		parts = append(parts, i18n.T(ctx, "segments.rule.following"))
	case "no":
		parts = append(parts, i18n.T(ctx, "segments.rule.not_following"))
	}
	bound := func(v *int64, id string) {
		if v != nil {
			parts = append(parts, i18n.T(ctx, "segments.rule."+id, "N", *v))
		}
	}
	bound(r.MinOrders, "min_orders")
	bound(r.MaxOrders, "max_orders")
	if r.ActiveWithinDays > 0 {
		parts = append(parts, i18n.T(ctx, "segments.rule.active_within_days", "N", r.ActiveWithinDays))
	}
	if r.InactiveForDays > 0 {
		parts = append(parts, i18n.T(ctx, "segments.rule.inactive_for_days", "N", r.InactiveForDays))
	}
	bound(r.MinPoints, "min_points")
	bound(r.MaxPoints, "max_points")
	if r.MinStreak > 0 {
		parts = append(parts, i18n.T(ctx, "segments.rule.min_streak", "N", r.MinStreak))
	}
	if len(parts) == 0 {
		return i18n.T(ctx, "segments.rule.everyone")
	}
	return i18n.T(ctx, "segments.rule.fans", "Parts", strings.Join(parts, i18n.T(ctx, "segments.rule.sep")))
}

func (h *Handlers) renderCampaigns(c echo.Context, status int, p AdminPage) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	p.Shop, p.ctx = t, ctx
	offset, _ := strconv.Atoi(c.QueryParam("offset"))
	p.Offset = max(0, min(offset, 100_000))
	var err error
	if p.Campaigns, p.Total, err = h.svc.CampaignsWithCounts(ctx, t.ID, 20, p.Offset); err != nil {
		return err
	}
	if p.Segments, err = h.svc.SegmentChoices(ctx, t.ID); err != nil {
		return err
	}
	if p.Form.Kind == "" {
		p.Form = CampaignForm{Kind: KindText, Fallback: true}
	}
	return c.Render(status, "admin_messages.html", p)
}

func (h *Handlers) adminCampaigns(c echo.Context) error {
	p := AdminPage{Notice: i18n.Done(c, map[string]string{"cancelled": "messages.done.cancelled"})}
	return h.renderCampaigns(c, http.StatusOK, p)
}

func (h *Handlers) adminCreateCampaign(c echo.Context) error {
	t := tenants.FromContext(c)
	form := campaignForm(c)
	req, err := form.request(zone(t))
	var cp Campaign
	if err == nil {
		cp, err = h.svc.CreateCampaign(c.Request().Context(), t, req, who(c))
	}
	if fe, ok := fault.Client(err); ok {
		if form.Kind == "" {
			form.Kind = KindText
		}
		return h.renderCampaigns(c, fe.Status, AdminPage{Form: form, Error: fault.Message(c.Request().Context(), err)})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/messages/"+cp.ID)
}

func (h *Handlers) adminCampaign(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	cp, err := h.svc.Campaign(ctx, t.ID, c.Param("id"))
	if err != nil {
		return err
	}
	p := AdminPage{Shop: t, Campaign: cp, Status: c.QueryParam("status"), After: c.QueryParam("after"), ctx: ctx}
	if p.Deliveries, err = h.svc.Deliveries(ctx, t.ID, cp.ID, p.Status, p.After, 50); err != nil {
		// A bad filter in the address: shown, and the first page instead.
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Status == http.StatusBadRequest {
			p.Status, p.After, p.Error = "", "", fault.Message(ctx, err)
			p.Deliveries, err = h.svc.Deliveries(ctx, t.ID, cp.ID, "", "", 50)
		}
		if err != nil {
			return err
		}
	}
	if len(p.Deliveries) == 50 {
		p.After = p.Deliveries[49].ID
	} else {
		p.After = ""
	}
	return c.Render(http.StatusOK, "admin_message.html", p)
}

func (h *Handlers) adminCancel(c echo.Context) error {
	id := c.Param("id")
	_, err := h.svc.CancelCampaign(c.Request().Context(), tenants.FromContext(c).ID, id)
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status == http.StatusConflict {
		return c.Redirect(http.StatusSeeOther, "/admin/messages/"+url.PathEscape(id))
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/messages?done=cancelled")
}

func (h *Handlers) renderSegments(c echo.Context, status int, p AdminPage) error {
	t := tenants.FromContext(c)
	p.Shop, p.ctx = t, c.Request().Context()
	var err error
	if p.Segments, err = h.svc.Segments(c.Request().Context(), t); err != nil {
		return err
	}
	return c.Render(status, "admin_segments.html", p)
}

func (h *Handlers) adminSegments(c echo.Context) error {
	p := AdminPage{Notice: i18n.Done(c, map[string]string{"saved": "segments.done.saved", "deleted": "segments.done.deleted"})}
	return h.renderSegments(c, http.StatusOK, p)
}

// adminSaveSegment counts the form's fans (action=count) or saves it.
func (h *Handlers) adminSaveSegment(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	form := ruleForm(c)
	r, err := form.rule()
	if err == nil && c.FormValue("action") == "count" {
		n, err := h.svc.Count(ctx, t, r)
		if err != nil {
			return err
		}
		return h.renderSegments(c, http.StatusOK, AdminPage{RuleForm: form, Count: n, Counted: true})
	}
	if err == nil {
		_, err = h.svc.CreateSegment(ctx, t, SegmentRequest{Name: form.Name, Rule: r})
	}
	if fe, ok := fault.Client(err); ok {
		return h.renderSegments(c, fe.Status, AdminPage{RuleForm: form, Error: fault.Message(ctx, err)})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/segments?done=saved")
}

func (h *Handlers) adminDeleteSegment(c echo.Context) error {
	if err := h.svc.DeleteSegment(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/segments?done=deleted")
}

func (h *Handlers) adminSettings(c echo.Context) error {
	t := tenants.FromContext(c)
	st, err := h.svc.Settings(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	p := AdminPage{Shop: t, Settings: st, Kinds: NoticeKinds, Notice: i18n.Done(c, map[string]string{"saved": "messages.done.settings_saved"}),
		ctx: c.Request().Context()}
	return c.Render(http.StatusOK, "admin_message_settings.html", p)
}

func (h *Handlers) adminSaveSettings(c echo.Context) error {
	t := tenants.FromContext(c)
	st, err := h.svc.Settings(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	st.Templates = map[string]string{}
	if err := engine.ParseRev(c.FormValue("rev"), &st.Rev); err != nil { // a form drawn before another save is refused
		return err
	}
	rate, err := strconv.Atoi(strings.TrimSpace(c.FormValue("rate")))
	if err != nil {
		rate = 0 // refused below with the field's message
	}
	st.Rate = rate
	for _, k := range NoticeKinds {
		st.Templates[k] = c.FormValue("template_" + k)
	}
	_, err = h.svc.SaveSettings(c.Request().Context(), t.ID, st)
	if fe, ok := fault.Client(err); ok {
		ctx := c.Request().Context()
		msg := fault.Message(ctx, err)
		if fe.Code == fault.CodeSettingsChanged { // the typed values, now at the stored revision: a second save applies them
			if cur, err := h.svc.Settings(ctx, t.ID); err == nil {
				st.Rev, msg = cur.Rev, i18n.T(ctx, "settings.stale_kept")
			}
		}
		return c.Render(fe.Status, "admin_message_settings.html", AdminPage{Shop: t, Settings: st, Kinds: NoticeKinds, Error: msg, ctx: ctx})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/message-settings?done=saved")
}

func (h *Handlers) renderFan(c echo.Context, status int, f fan.Fan, p AdminPage) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	p.Shop, p.Fan, p.ctx = t, f, ctx
	var err error
	if p.Profile, err = h.svc.Profile(ctx, t.ID, f.ID); err != nil {
		return err
	}
	if p.TagsText == "" && p.Error == "" {
		tags := append([]string(nil), p.Profile.Tags...)
		sort.Strings(tags)
		p.TagsText = strings.Join(tags, ", ")
	}
	if p.Inbox, err = h.svc.Inbox(ctx, t.ID, f.ID, time.Time{}, 50); err != nil {
		return err
	}
	return c.Render(status, "admin_audience.html", p)
}

func (h *Handlers) adminFan(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	return h.renderFan(c, http.StatusOK, f, AdminPage{Notice: i18n.Done(c, map[string]string{"tags": "messages.done.tags_saved"})})
}

func (h *Handlers) adminSetTags(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	text := c.FormValue("tags")
	_, err = h.svc.SetTags(c.Request().Context(), tenants.FromContext(c).ID, f.ID, list(text))
	if fe, ok := fault.Client(err); ok {
		return h.renderFan(c, fe.Status, f, AdminPage{TagsText: text, Error: fault.Message(c.Request().Context(), err)})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/audience/"+url.PathEscape(f.ID)+"?done=tags")
}
