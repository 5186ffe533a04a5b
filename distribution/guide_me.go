package distribution

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/distribution/guide"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// GuideMePath is the page guide staff open on their phones: their own QR
// card, funnel and customers (the server grants it to the guide role).
const GuideMePath = "/admin/guide/me"

// GuideMeRoutes mounts the guide's own page and QR code on g (/admin,
// signed in, CSRF-protected).
func (h *Handlers) GuideMeRoutes(g *echo.Group) {
	g.GET("/guide/me", h.guideMe)
	g.GET("/guide/me/qr.png", h.guideMeQR)
}

// GuideMePage is what admin_guide_me.html receives.
type GuideMePage struct {
	// NotGuide: the person signed in is no guide (the owner, a manager).
	NotGuide bool
	Guide    guide.Guide
	Store    string
	Link     string
	// Week and Month are the funnel of the last 7 and 30 days.
	Week, Month Report
	Customers   []Binding
}

// GuideMe is guide g's own page: its store, its funnel of the last 7 and
// 30 days, its latest bound customers.
func (s *Service) GuideMe(ctx context.Context, t tenants.Tenant, g guide.Guide) (GuideMePage, error) {
	p := GuideMePage{Guide: g}
	if l, err := s.guides.Location(ctx, t.ID, g.StoreID); err == nil {
		p.Store = l.Name
	}
	for _, r := range []struct {
		days int
		into *Report
	}{{7, &p.Week}, {30, &p.Month}} {
		q, err := s.ResolveReport(t, ReportQuery{GuideID: g.ID})
		if err != nil {
			return p, err
		}
		q.From = shiftDay(q.To, 1-r.days)
		if *r.into, err = s.guides.Funnel(ctx, t.ID, q); err != nil {
			return p, err
		}
	}
	var err error
	p.Customers, err = s.store.BoundTo(ctx, t.ID, "guide", g.ID, 50, 0)
	return p, err
}

// myGuide is the guide record the signed-in guide acts as; anyone else
// has none (404).
func (h *Handlers) myGuide(c echo.Context) (guide.Guide, error) {
	who, _ := tenants.PrincipalFromContext(c)
	if who.GuideID == "" {
		return guide.Guide{}, fault.NotFound("guide")
	}
	return h.svc.guides.Guide(c.Request().Context(), tenantOf(c).ID, who.GuideID)
}

// guideMe is GET /admin/guide/me.
func (h *Handlers) guideMe(c echo.Context) error {
	if who, _ := tenants.PrincipalFromContext(c); who.GuideID == "" {
		return c.Render(http.StatusOK, "admin_guide_me.html", GuideMePage{NotGuide: true})
	}
	g, err := h.myGuide(c)
	if err != nil {
		return err
	}
	p, err := h.svc.GuideMe(c.Request().Context(), tenantOf(c), g)
	if err != nil {
		return err
	}
	p.Link = h.link(c, "g", g.Code)
	return c.Render(http.StatusOK, "admin_guide_me.html", p)
}

// guideMeQR is GET /admin/guide/me/qr.png: the guide's own QR code.
func (h *Handlers) guideMeQR(c echo.Context) error {
	g, err := h.myGuide(c)
	if err != nil {
		return err
	}
	png, _, err := h.svc.QR(c.Request().Context(), tenantOf(c).ID, "g:"+g.Code, h.link(c, "g", g.Code), true, 512)
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
