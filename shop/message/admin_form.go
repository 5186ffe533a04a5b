package message

import (
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
)

// RuleForm is a segment form as typed.
type RuleForm struct {
	Name, Tags, GuideIDs, StoreIDs, DistributorIDs, Subscribed string
	MinOrders, MaxOrders, ActiveWithinDays, InactiveForDays    string
	MinPoints, MaxPoints, MinStreak                            string
}

func ruleForm(c echo.Context) RuleForm {
	return RuleForm{Name: c.FormValue("name"), Tags: c.FormValue("tags"), GuideIDs: c.FormValue("guide_ids"), StoreIDs: c.FormValue("store_ids"),
		DistributorIDs: c.FormValue("distributor_ids"), Subscribed: c.FormValue("subscribed"), MinOrders: c.FormValue("min_orders"),
		MaxOrders: c.FormValue("max_orders"), ActiveWithinDays: c.FormValue("active_within_days"), InactiveForDays: c.FormValue("inactive_for_days"),
		MinPoints: c.FormValue("min_points"), MaxPoints: c.FormValue("max_points"), MinStreak: c.FormValue("min_streak")}
}

// list reads a list typed with commas (either width) or one a line.
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

// CampaignForm is the new campaign form as typed.
type CampaignForm struct {
	Name, SegmentID, Kind, Text                           string
	Title, Description, URL, Image                        string
	TemplateID, TemplateURL, Fields, ScheduledAt, Confirm string
	ServiceNotice, Fallback                               bool
}

func campaignForm(c echo.Context) CampaignForm {
	return CampaignForm{Name: c.FormValue("name"), SegmentID: c.FormValue("segment_id"), Kind: c.FormValue("kind"), Text: c.FormValue("text"),
		Title: c.FormValue("title"), Description: c.FormValue("description"), URL: c.FormValue("url"), Image: c.FormValue("image"),
		TemplateID: c.FormValue("template_id"), TemplateURL: c.FormValue("template_url"), Fields: c.FormValue("fields"),
		ScheduledAt: c.FormValue("scheduled_at"), ServiceNotice: c.FormValue("service_notice") != "", Fallback: c.FormValue("fallback") != ""}
}

// parseFields reads "name: value" lines.
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
			return nil, fault.Invalid("template.fields", "%q is not name: value", fault.Clip(line, 40))
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// request reads the form, its time in the shop's zone.
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
