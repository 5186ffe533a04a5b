package points

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
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

// AdminRoutes mounts the console's points pages on g (/admin, signed in,
// CSRF-protected): the rules and the dashboard, and a fan's ledger with
// manual adjustment.
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/points", h.adminHome)
	g.POST("/points/rules", h.adminSaveRules)
	g.GET("/points/fans/:id", h.adminFan)
	g.POST("/points/fans/:id/adjust", h.adminAdjust)
	g.POST("/points/fans/:id/rebuild", h.adminRebuild)
}

// AdminPage is what the console's points templates receive.
type AdminPage struct {
	Shop   tenants.Tenant
	Stats  Stats
	Rules  Rules
	Form   RulesForm
	Fan    fan.Fan
	Ledger LedgerPage
	Adjust AdjustForm
	Error  string
	Notice string
}

// RulesForm is the rules form as typed.
type RulesForm struct {
	Enabled                                             bool
	BasePoints, Cycle, StreakRewards, CumulativeRewards string
	OrderPointsPerYuan, RedeemPointsPerYuan             string
	RedeemMaxPercent, Expiry, ExpiryMonths, RemindDays  string
	ReminderHour, Keywords, MenuKey                     string
	// Rev is the revision the form was drawn from (Rules.Rev).
	Rev string
}

// AdjustForm is the adjustment form as typed.
type AdjustForm struct {
	Points, Reason string
	// Key is minted per page load, so a double-submitted form adjusts once.
	Key string
}

// When formats a time in the shop's zone.
func (p AdminPage) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Zone(p.Shop)).Format("2006-01-02 15:04")
}

// Day reads a day the points service keeps as text ("2026-12-05") as
// midnight of it in the shop's zone, for the page to write it its
// language's way ({{date ($.Data.Day .Today) $.Zone}}); a malformed one is
// the zero time.
func (p AdminPage) Day(s string) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, s, Zone(p.Shop))
	if err != nil {
		return time.Time{}
	}
	return d
}

// Yuan formats fen.
func (p AdminPage) Yuan(fen int64) string {
	return fmt.Sprintf("%d.%02d", fen/100, fen%100)
}

// Bar is a day's bar width in percent of the busiest day.
func (p AdminPage) Bar(n int64) int64 { return n * 100 / p.Stats.MaxDay() }

func rewardsText(rs []Reward) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%d:%d", r.Day, r.Points)
	}
	return strings.Join(parts, ", ")
}

func formOf(r Rules) RulesForm {
	return RulesForm{Enabled: r.Enabled, BasePoints: strconv.FormatInt(r.BasePoints, 10), Cycle: r.Cycle,
		StreakRewards: rewardsText(r.StreakRewards), CumulativeRewards: rewardsText(r.CumulativeRewards),
		OrderPointsPerYuan: strconv.FormatInt(r.OrderPointsPerYuan, 10), RedeemPointsPerYuan: strconv.FormatInt(r.RedeemPointsPerYuan, 10),
		RedeemMaxPercent: strconv.FormatInt(r.RedeemMaxPercent, 10), Expiry: r.Expiry, ExpiryMonths: strconv.Itoa(r.ExpiryMonths),
		RemindDays: strconv.Itoa(r.RemindDays), ReminderHour: strconv.Itoa(r.ReminderHour), Keywords: strings.Join(r.Keywords, ", "),
		MenuKey: r.MenuKey, Rev: strconv.FormatInt(r.Rev, 10)}
}

// parseRewards reads "3:5, 7:20" (day:points pairs).
func parseRewards(field, s string) ([]Reward, error) {
	out := []Reward{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == ';' || r == '\n' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, p, ok := strings.Cut(part, ":")
		day, err1 := strconv.Atoi(strings.TrimSpace(d))
		pts, err2 := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fault.Invalid(field, "%q is not day:points (like 3:5, 7:20)", part)
		}
		out = append(out, Reward{Day: day, Points: pts})
	}
	return out, nil
}

// parse turns the form into rules; every number is required.
func (f RulesForm) parse() (Rules, error) {
	r := Rules{Enabled: f.Enabled, Cycle: f.Cycle, Expiry: f.Expiry, MenuKey: f.MenuKey}
	if err := engine.ParseRev(f.Rev, &r.Rev); err != nil { // a form drawn before another save is refused
		return Rules{}, err
	}
	ints := []struct {
		field, v string
		dst      *int64
	}{{"base_points", f.BasePoints, &r.BasePoints}, {"order_points_per_yuan", f.OrderPointsPerYuan, &r.OrderPointsPerYuan},
		{"redeem_points_per_yuan", f.RedeemPointsPerYuan, &r.RedeemPointsPerYuan}, {"redeem_max_percent", f.RedeemMaxPercent, &r.RedeemMaxPercent}}
	for _, x := range ints {
		n, err := strconv.ParseInt(strings.TrimSpace(x.v), 10, 64)
		if err != nil {
			return r, fault.Invalid(x.field, "must be a whole number")
		}
		*x.dst = n
	}
	small := []struct {
		field, v string
		dst      *int
	}{{"expiry_months", f.ExpiryMonths, &r.ExpiryMonths}, {"remind_days", f.RemindDays, &r.RemindDays}, {"reminder_hour", f.ReminderHour, &r.ReminderHour}}
	for _, x := range small {
		n, err := strconv.Atoi(strings.TrimSpace(x.v))
		if err != nil {
			return r, fault.Invalid(x.field, "must be a whole number")
		}
		*x.dst = n
	}
	var err error
	if r.StreakRewards, err = parseRewards("streak_rewards", f.StreakRewards); err != nil {
		return r, err
	}
	if r.CumulativeRewards, err = parseRewards("cumulative_rewards", f.CumulativeRewards); err != nil {
		return r, err
	}
	for _, k := range strings.FieldsFunc(f.Keywords, func(r rune) bool { return r == ',' || r == '，' || r == '\n' }) {
		if k = strings.TrimSpace(k); k != "" {
			r.Keywords = append(r.Keywords, k)
		}
	}
	return r, r.Validate()
}

func (h *Handlers) adminHome(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	if q := strings.TrimSpace(c.QueryParam("fan")); q != "" {
		if !engine.ValidID(q) {
			return h.renderHome(c, http.StatusOK, AdminPage{Error: i18n.T(ctx, "console.points.bad_fan_id", "Text", fault.Clip(q, 40))})
		}
		return c.Redirect(http.StatusSeeOther, "/admin/points/fans/"+q)
	}
	r, err := h.svc.Rules(ctx, t.ID)
	if err != nil {
		return err
	}
	p := AdminPage{Rules: r, Form: formOf(r), Notice: i18n.Done(c, map[string]string{"rules": "console.points.rules_saved"})}
	return h.renderHome(c, http.StatusOK, p)
}

func (h *Handlers) renderHome(c echo.Context, status int, p AdminPage) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	p.Shop = t
	var err error
	if p.Stats, err = h.svc.Stats(ctx, t); err != nil {
		return err
	}
	if p.Form == (RulesForm{}) {
		if p.Rules, err = h.svc.Rules(ctx, t.ID); err != nil {
			return err
		}
		p.Form = formOf(p.Rules)
	}
	return c.Render(status, "admin_points.html", p)
}

func (h *Handlers) adminSaveRules(c echo.Context) error {
	form := RulesForm{Enabled: c.FormValue("enabled") != "", BasePoints: c.FormValue("base_points"), Cycle: c.FormValue("cycle"),
		StreakRewards: c.FormValue("streak_rewards"), CumulativeRewards: c.FormValue("cumulative_rewards"),
		OrderPointsPerYuan: c.FormValue("order_points_per_yuan"), RedeemPointsPerYuan: c.FormValue("redeem_points_per_yuan"),
		RedeemMaxPercent: c.FormValue("redeem_max_percent"), Expiry: c.FormValue("expiry"), ExpiryMonths: c.FormValue("expiry_months"),
		RemindDays: c.FormValue("remind_days"), ReminderHour: c.FormValue("reminder_hour"), Keywords: c.FormValue("keywords"),
		MenuKey: c.FormValue("menu_key"), Rev: c.FormValue("rev")}
	r, err := form.parse()
	if err == nil {
		_, err = h.svc.SaveRules(c.Request().Context(), tenants.FromContext(c).ID, r)
	}
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		ctx := c.Request().Context()
		msg := fault.Message(ctx, fe)
		if fe.Code == fault.CodeSettingsChanged { // the typed values, now at the stored revision: a second save applies them
			if cur, err := h.svc.Rules(ctx, tenants.FromContext(c).ID); err == nil {
				form.Rev, msg = strconv.FormatInt(cur.Rev, 10), i18n.T(ctx, "settings.stale_kept")
			}
		}
		return h.renderHome(c, fe.Status, AdminPage{Form: form, Error: msg})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/points?done=rules")
}

func (h *Handlers) renderFan(c echo.Context, status int, f fan.Fan, p AdminPage) error {
	ledger, err := h.ledgerPage(c, f.ID)
	if err != nil {
		return err
	}
	p.Shop, p.Fan, p.Ledger = tenants.FromContext(c), f, ledger
	if p.Adjust.Key == "" || !engine.ValidID(p.Adjust.Key) {
		p.Adjust.Key = engine.NewID()
	}
	if p.Rules, err = h.svc.Rules(c.Request().Context(), p.Shop.ID); err != nil {
		return err
	}
	return c.Render(status, "admin_points_fan.html", p)
}

func (h *Handlers) adminFan(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	p := AdminPage{Notice: i18n.Done(c, map[string]string{"adjusted": "console.points.done_adjusted",
		"rebuilt": "console.points.done_rebuilt", "sound": "console.points.done_sound"})}
	return h.renderFan(c, http.StatusOK, f, p)
}

func (h *Handlers) adminAdjust(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	form := AdjustForm{Points: strings.TrimSpace(c.FormValue("points")), Reason: c.FormValue("reason"), Key: c.FormValue("key")}
	n, perr := strconv.ParseInt(form.Points, 10, 64)
	if perr != nil {
		return h.renderFan(c, http.StatusBadRequest, f, AdminPage{Adjust: form,
			Error: i18n.T(c.Request().Context(), "console.points.adjust_not_number")})
	}
	_, err = h.svc.Adjust(c.Request().Context(), tenants.FromContext(c).ID, f.ID,
		AdjustRequest{Points: n, Reason: form.Reason, Key: form.Key}, who(c))
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		return h.renderFan(c, fe.Status, f, AdminPage{Adjust: form, Error: fault.Message(c.Request().Context(), fe)})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/points/fans/"+url.PathEscape(f.ID)+"?done=adjusted")
}

func (h *Handlers) adminRebuild(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	_, changed, err := h.svc.Rebuild(c.Request().Context(), tenants.FromContext(c).ID, f.ID)
	if err != nil {
		return err
	}
	done := "sound"
	if changed {
		done = "rebuilt"
	}
	return c.Redirect(http.StatusSeeOther, "/admin/points/fans/"+url.PathEscape(f.ID)+"?done="+done)
}
