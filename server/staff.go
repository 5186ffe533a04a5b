package main

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/distribution"
	"microshop/distribution/guide"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// Staff, roles and the audit log: the staff pages and calls
// (tenants.StaffHandlers), the audit log (tenants.Auditor), and the page
// guide staff open on their phones (their own QR card, funnel and
// customers, read through the distribution service).

// staffGuides are the shop's guides as staff management sees them.
type staffGuides struct{ guides *guide.Guides }

func (g staffGuides) Guide(ctx context.Context, tenantID, id string) (tenants.GuideOption, error) {
	gd, err := g.guides.Guide(ctx, tenantID, id)
	return tenants.GuideOption{ID: gd.ID, Name: gd.Name}, err
}

func (g staffGuides) Guides(ctx context.Context, tenantID string) ([]tenants.GuideOption, error) {
	gs, err := g.guides.List(ctx, tenantID, "", 1000, 0)
	out := make([]tenants.GuideOption, 0, len(gs))
	for _, gd := range gs {
		if gd.Active {
			out = append(out, tenants.GuideOption{ID: gd.ID, Name: gd.Name})
		}
	}
	return out, err
}

// mountStaff mounts the staff pages and calls, the audit log and the
// guide's own page; root is the site's root group with CSRF (the
// invitation page).
func (a *app) mountStaff(root, api, admin *echo.Group, codec *tenants.SessionCodec) {
	staff := tenants.NewStaffHandlers(a.tenants, codec, a.cfg.SecureCookies, a.cfg.BaseURL)
	staff.APIRoutes(api)
	staff.AdminRoutes(admin)
	staff.JoinRoutes(root)
	a.audit.APIRoutes(api)
	a.audit.AdminRoutes(admin)
	admin.GET(strings.TrimPrefix(guideMePath, "/admin"), a.guideMe)
	admin.GET(strings.TrimPrefix(guideMePath, "/admin")+"/qr.png", a.guideMeQR)
}

// guideMeView is what admin_guide_me.html receives.
type guideMeView struct {
	// NotGuide: the person signed in is no guide (the owner, a manager).
	NotGuide bool
	Guide    guide.Guide
	Store    string
	Link     string
	// Week and Month are the funnel of the last 7 and 30 days.
	Week, Month distribution.Report
	Customers   []distribution.Binding
}

// myGuide is the guide record the signed-in guide acts as; anyone else
// has none (404).
func (a *app) myGuide(c echo.Context) (guide.Guide, error) {
	who, _ := tenants.PrincipalFromContext(c)
	if who.GuideID == "" {
		return guide.Guide{}, fault.NotFound("guide")
	}
	return a.dist.Guides().Guide(c.Request().Context(), tenants.FromContext(c).ID, who.GuideID)
}

// guideLink is the storefront link the guide's code opens.
func (a *app) guideLink(c echo.Context, g guide.Guide) string {
	base := strings.TrimSuffix(a.cfg.BaseURL, "/")
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return base + "/s/" + tenants.FromContext(c).Slug + "/?g=" + g.Code
}

// guideMe is GET /admin/guide/me: the guide's card, funnel and customers.
func (a *app) guideMe(c echo.Context) error {
	if who, _ := tenants.PrincipalFromContext(c); who.GuideID == "" {
		return c.Render(http.StatusOK, "admin_guide_me.html", guideMeView{NotGuide: true})
	}
	g, err := a.myGuide(c)
	if err != nil {
		return err
	}
	ctx, t := c.Request().Context(), tenants.FromContext(c)
	v := guideMeView{Guide: g, Link: a.guideLink(c, g)}
	if l, err := a.dist.Guides().Location(ctx, t.ID, g.StoreID); err == nil {
		v.Store = l.Name
	}
	for _, r := range []struct {
		days int
		into *distribution.Report
	}{{7, &v.Week}, {30, &v.Month}} {
		q, err := a.dist.ResolveReport(t, distribution.ReportQuery{GuideID: g.ID})
		if err != nil {
			return err
		}
		q.From = shiftDay(q.To, 1-r.days)
		if *r.into, err = a.dist.Guides().Funnel(ctx, t.ID, q); err != nil {
			return err
		}
	}
	if v.Customers, err = a.dist.Store().BoundTo(ctx, t.ID, "guide", g.ID, 50, 0); err != nil {
		return err
	}
	return c.Render(http.StatusOK, "admin_guide_me.html", v)
}

// guideMeQR is GET /admin/guide/me/qr.png: the guide's own QR code.
func (a *app) guideMeQR(c echo.Context) error {
	g, err := a.myGuide(c)
	if err != nil {
		return err
	}
	png, _, err := a.dist.QR(c.Request().Context(), tenants.FromContext(c).ID, "g:"+g.Code, a.guideLink(c, g), true, 512)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=300")
	return c.Blob(http.StatusOK, "image/png", png)
}

// shiftDay is day (2026-12-05) moved by n days.
func shiftDay(day string, n int) string {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return day
	}
	return t.AddDate(0, 0, n).Format("2006-01-02")
}
