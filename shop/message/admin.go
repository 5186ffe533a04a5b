package message

import (
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
	"microshop/tenants/fault"
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
}

// When formats a time in the shop's zone.
func (p AdminPage) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(zone(p.Shop)).Format("2006-01-02 15:04")
}

// KindText names a notice kind.
func (AdminPage) KindText(k string) string { return NoticeText(k) }

// Template is the template id set for a notice kind.
func (p AdminPage) Template(k string) string { return p.Settings.Templates[k] }

// Statuses are the delivery statuses, in the order the console shows them.
func (AdminPage) Statuses() []string { return []string{Queued, Sending, Sent, Failed, Skipped} }

// Describe says in words whom a rule selects.
func (AdminPage) Describe(r Rule) string { return r.Describe() }

func (h *Handlers) renderCampaigns(c echo.Context, status int, p AdminPage) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	p.Shop = t
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
	p := AdminPage{Notice: doneNotice(c, map[string]string{"cancelled": "Campaign cancelled."})}
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
	if fe := formError(err); fe != nil {
		if form.Kind == "" {
			form.Kind = KindText
		}
		return h.renderCampaigns(c, fe.Status, AdminPage{Form: form, Error: fe.Message})
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
	p := AdminPage{Shop: t, Campaign: cp, Status: c.QueryParam("status"), After: c.QueryParam("after")}
	if p.Deliveries, err = h.svc.Deliveries(ctx, t.ID, cp.ID, p.Status, p.After, 50); err != nil {
		// A bad filter in the address: shown, and the first page instead.
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Status == http.StatusBadRequest {
			p.Status, p.After, p.Error = "", "", fe.Message
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
	p.Shop = t
	var err error
	if p.Segments, err = h.svc.Segments(c.Request().Context(), t); err != nil {
		return err
	}
	return c.Render(status, "admin_segments.html", p)
}

func (h *Handlers) adminSegments(c echo.Context) error {
	p := AdminPage{Notice: doneNotice(c, map[string]string{"saved": "Segment saved.", "deleted": "Segment deleted."})}
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
	if fe := formError(err); fe != nil {
		return h.renderSegments(c, fe.Status, AdminPage{RuleForm: form, Error: fe.Message})
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
	p := AdminPage{Shop: t, Settings: st, Kinds: NoticeKinds, Notice: doneNotice(c, map[string]string{"saved": "Settings saved."})}
	return c.Render(http.StatusOK, "admin_message_settings.html", p)
}

func (h *Handlers) adminSaveSettings(c echo.Context) error {
	t := tenants.FromContext(c)
	st := Settings{Templates: map[string]string{}}
	rate, err := strconv.Atoi(strings.TrimSpace(c.FormValue("rate")))
	if err != nil {
		rate = 0 // refused below with the field's message
	}
	st.Rate = rate
	for _, k := range NoticeKinds {
		st.Templates[k] = c.FormValue("template_" + k)
	}
	_, err = h.svc.SaveSettings(c.Request().Context(), t.ID, st)
	if fe := formError(err); fe != nil {
		return c.Render(fe.Status, "admin_message_settings.html", AdminPage{Shop: t, Settings: st, Kinds: NoticeKinds, Error: fe.Message})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/message-settings?done=saved")
}

func (h *Handlers) renderFan(c echo.Context, status int, f fan.Fan, p AdminPage) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	p.Shop, p.Fan = t, f
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
	return h.renderFan(c, http.StatusOK, f, AdminPage{Notice: doneNotice(c, map[string]string{"tags": "Tags saved."})})
}

func (h *Handlers) adminSetTags(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	text := c.FormValue("tags")
	_, err = h.svc.SetTags(c.Request().Context(), tenants.FromContext(c).ID, f.ID, list(text))
	if fe := formError(err); fe != nil {
		return h.renderFan(c, fe.Status, f, AdminPage{TagsText: text, Error: fe.Message})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/audience/"+url.PathEscape(f.ID)+"?done=tags")
}
