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

// AdminRoutes mounts the console's messaging pages on g (/admin, signed
// in, CSRF-protected): campaigns, segments with their live counts, the
// notice settings, and a fan's tags and inbox.
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/messages", h.adminCampaigns)
	g.POST("/messages", h.adminCreateCampaign)
	g.GET("/messages/:id", h.adminCampaign)
	g.POST("/messages/:id/cancel", h.adminCancel)
	g.GET("/segments", h.adminSegments)
	g.POST("/segments", h.adminSaveSegment)
	g.POST("/segments/:id/delete", h.adminDeleteSegment)
	g.GET("/message-settings", h.adminSettings)
	g.POST("/message-settings", h.adminSaveSettings)
	g.GET("/audience/:id", h.adminFan)
	g.POST("/audience/:id/tags", h.adminSetTags)
}

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

// Describe says in words whom r selects.
func (r Rule) Describe() string {
	var parts []string
	if len(r.Tags) > 0 {
		parts = append(parts, "tagged "+strings.Join(r.Tags, " or "))
	}
	for _, l := range []struct {
		what string
		ids  []string
	}{{"guide", r.GuideIDs}, {"store", r.StoreIDs}, {"distributor", r.DistributorIDs}} {
		if len(l.ids) > 0 {
			parts = append(parts, l.what+" "+strings.Join(l.ids, " or "))
		}
	}
	switch r.Subscribed {
	case "yes":
		parts = append(parts, "following the WeChat account")
	case "no":
		parts = append(parts, "not following the WeChat account")
	}
	if r.MinOrders != nil {
		parts = append(parts, "at least "+strconv.FormatInt(*r.MinOrders, 10)+" orders")
	}
	if r.MaxOrders != nil {
		parts = append(parts, "at most "+strconv.FormatInt(*r.MaxOrders, 10)+" orders")
	}
	if r.ActiveWithinDays > 0 {
		parts = append(parts, "active in the last "+strconv.Itoa(r.ActiveWithinDays)+" days")
	}
	if r.InactiveForDays > 0 {
		parts = append(parts, "quiet for "+strconv.Itoa(r.InactiveForDays)+" days")
	}
	if r.MinPoints != nil {
		parts = append(parts, "at least "+strconv.FormatInt(*r.MinPoints, 10)+" points")
	}
	if r.MaxPoints != nil {
		parts = append(parts, "at most "+strconv.FormatInt(*r.MaxPoints, 10)+" points")
	}
	if r.MinStreak > 0 {
		parts = append(parts, "a check-in streak of "+strconv.Itoa(r.MinStreak)+"+ days")
	}
	if len(parts) == 0 {
		return "every fan"
	}
	return "fans " + strings.Join(parts, ", ")
}

// RuleForm is a segment form as typed.
type RuleForm struct {
	Name, Tags, GuideIDs, StoreIDs, DistributorIDs, Subscribed string
	MinOrders, MaxOrders, ActiveWithinDays, InactiveForDays    string
	MinPoints, MaxPoints, MinStreak                            string
}

func list(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// rule reads the form.
func (f RuleForm) rule() (Rule, error) {
	r := Rule{Tags: list(f.Tags), GuideIDs: list(f.GuideIDs), StoreIDs: list(f.StoreIDs), DistributorIDs: list(f.DistributorIDs),
		Subscribed: f.Subscribed}
	opt := []struct {
		field, v string
		dst      **int64
	}{{"min_orders", f.MinOrders, &r.MinOrders}, {"max_orders", f.MaxOrders, &r.MaxOrders},
		{"min_points", f.MinPoints, &r.MinPoints}, {"max_points", f.MaxPoints, &r.MaxPoints}}
	for _, o := range opt {
		if v := strings.TrimSpace(o.v); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return r, fault.Invalid(o.field, "must be a whole number")
			}
			*o.dst = &n
		}
	}
	ints := []struct {
		field, v string
		dst      *int
	}{{"active_within_days", f.ActiveWithinDays, &r.ActiveWithinDays}, {"inactive_for_days", f.InactiveForDays, &r.InactiveForDays},
		{"min_streak", f.MinStreak, &r.MinStreak}}
	for _, o := range ints {
		if v := strings.TrimSpace(o.v); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return r, fault.Invalid(o.field, "must be a whole number")
			}
			*o.dst = n
		}
	}
	return r, r.Validate()
}

func ruleForm(c echo.Context) RuleForm {
	return RuleForm{Name: c.FormValue("name"), Tags: c.FormValue("tags"), GuideIDs: c.FormValue("guide_ids"), StoreIDs: c.FormValue("store_ids"),
		DistributorIDs: c.FormValue("distributor_ids"), Subscribed: c.FormValue("subscribed"), MinOrders: c.FormValue("min_orders"),
		MaxOrders: c.FormValue("max_orders"), ActiveWithinDays: c.FormValue("active_within_days"), InactiveForDays: c.FormValue("inactive_for_days"),
		MinPoints: c.FormValue("min_points"), MaxPoints: c.FormValue("max_points"), MinStreak: c.FormValue("min_streak")}
}

// CampaignForm is the new campaign form as typed.
type CampaignForm struct {
	Name, SegmentID, Kind, Text                           string
	Title, Description, URL, Image                        string
	TemplateID, TemplateURL, Fields, ScheduledAt, Confirm string
	ServiceNotice, Fallback                               bool
}

// fields reads "name: value" lines.
func parseFields(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			k, v, ok = strings.Cut(line, "：")
		}
		if !ok {
			return nil, fault.Invalid("template.fields", "%q is not name: value", truncate(line))
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func (f CampaignForm) request(loc *time.Location) (CampaignRequest, error) {
	req := CampaignRequest{Name: f.Name, Kind: f.Kind, Text: f.Text, ServiceNotice: f.ServiceNotice, FallbackInbox: &f.Fallback}
	if f.SegmentID == "" {
		req.Rule = &Rule{}
	} else {
		req.SegmentID = f.SegmentID
	}
	switch f.Kind {
	case KindArticle:
		req.Article = &Article{Title: f.Title, Description: f.Description, URL: f.URL, Image: f.Image}
	case KindTemplate:
		fields, err := parseFields(f.Fields)
		if err != nil {
			return req, err
		}
		req.Template = &TemplateMessage{ID: f.TemplateID, URL: f.TemplateURL, Fields: fields}
	}
	if v := strings.TrimSpace(f.ScheduledAt); v != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", v, loc)
		if err != nil {
			return req, fault.Invalid("scheduled_at", "must be a date and time like 2026-11-24T20:00")
		}
		req.ScheduledAt = &t
	}
	return req, nil
}

func (h *Handlers) renderCampaigns(c echo.Context, status int, p AdminPage) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	p.Shop = t
	offset, _ := strconv.Atoi(c.QueryParam("offset"))
	p.Offset = max(0, min(offset, 100_000))
	var err error
	if p.Campaigns, p.Total, err = h.svc.Campaigns(ctx, t.ID, 20, p.Offset); err != nil {
		return err
	}
	for i := range p.Campaigns {
		if p.Campaigns[i].Counts, err = h.svc.store.CountDeliveries(ctx, t.ID, p.Campaigns[i].ID); err != nil {
			return err
		}
	}
	if p.Segments, err = h.svc.store.Segments(ctx, t.ID, 100); err != nil {
		return err
	}
	if p.Form.Kind == "" {
		p.Form = CampaignForm{Kind: KindText, Fallback: true}
	}
	return c.Render(status, "admin_messages.html", p)
}

func (h *Handlers) adminCampaigns(c echo.Context) error {
	p := AdminPage{}
	if c.QueryParam("done") == "cancelled" {
		p.Notice = "Campaign cancelled."
	}
	return h.renderCampaigns(c, http.StatusOK, p)
}

func (h *Handlers) adminCreateCampaign(c echo.Context) error {
	t := tenants.FromContext(c)
	form := CampaignForm{Name: c.FormValue("name"), SegmentID: c.FormValue("segment_id"), Kind: c.FormValue("kind"), Text: c.FormValue("text"),
		Title: c.FormValue("title"), Description: c.FormValue("description"), URL: c.FormValue("url"), Image: c.FormValue("image"),
		TemplateID: c.FormValue("template_id"), TemplateURL: c.FormValue("template_url"), Fields: c.FormValue("fields"),
		ScheduledAt: c.FormValue("scheduled_at"), ServiceNotice: c.FormValue("service_notice") != "", Fallback: c.FormValue("fallback") != ""}
	req, err := form.request(zone(t))
	var cp Campaign
	if err == nil {
		cp, err = h.svc.CreateCampaign(c.Request().Context(), t, req, who(c))
	}
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
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

func who(c echo.Context) string {
	if u, ok := tenants.UserFromContext(c); ok {
		return u.Email
	}
	return "console"
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
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	if _, err := h.svc.Campaign(ctx, t.ID, c.Param("id")); err != nil {
		return err
	}
	_, err := h.svc.CancelCampaign(ctx, t.ID, c.Param("id"))
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status == http.StatusConflict {
		return c.Redirect(http.StatusSeeOther, "/admin/messages/"+url.PathEscape(c.Param("id")))
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
	p := AdminPage{}
	switch c.QueryParam("done") {
	case "saved":
		p.Notice = "Segment saved."
	case "deleted":
		p.Notice = "Segment deleted."
	}
	return h.renderSegments(c, http.StatusOK, p)
}

// adminSaveSegment counts the form's fans (action=count) or saves it.
func (h *Handlers) adminSaveSegment(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	form := ruleForm(c)
	r, err := form.rule()
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		return h.renderSegments(c, fe.Status, AdminPage{RuleForm: form, Error: fe.Message})
	}
	if err != nil {
		return err
	}
	if c.FormValue("action") == "count" {
		n, err := h.svc.Count(ctx, t, r)
		if err != nil {
			return err
		}
		return h.renderSegments(c, http.StatusOK, AdminPage{RuleForm: form, Count: n, Counted: true})
	}
	_, err = h.svc.CreateSegment(ctx, t, SegmentRequest{Name: form.Name, Rule: r})
	if errors.As(err, &fe) && fe.Status < 500 {
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
	p := AdminPage{Shop: t, Settings: st, Kinds: NoticeKinds}
	if c.QueryParam("done") == "saved" {
		p.Notice = "Settings saved."
	}
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
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
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
	p := AdminPage{}
	if c.QueryParam("done") == "tags" {
		p.Notice = "Tags saved."
	}
	return h.renderFan(c, http.StatusOK, f, p)
}

func (h *Handlers) adminSetTags(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	text := c.FormValue("tags")
	_, err = h.svc.SetTags(c.Request().Context(), tenants.FromContext(c).ID, f.ID, list(text))
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		return h.renderFan(c, fe.Status, f, AdminPage{TagsText: text, Error: fe.Message})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/audience/"+url.PathEscape(f.ID)+"?done=tags")
}
