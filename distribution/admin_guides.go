package distribution

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/distribution/guide"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// renderGuides draws the stores, the guides and the funnel report.
func (h *Handlers) renderGuides(c echo.Context, status int, p *AdminPage) error {
	ctx := c.Request().Context()
	p.start(c)
	var err error
	if p.Stores, err = h.svc.guides.Locations(ctx, p.Shop.ID); err != nil {
		return err
	}
	p.StoreName = map[string]string{}
	for _, l := range p.Stores {
		p.StoreName[l.ID] = l.Name
	}
	gs, err := h.svc.guides.List(ctx, p.Shop.ID, "", 1000, 0)
	if err != nil {
		return err
	}
	for _, g := range gs {
		p.Guides = append(p.Guides, h.guideJSON(c, g))
	}
	// A bad query shows its problem over the report of what it resolved
	// to so far.
	q, err := h.reportQuery(c)
	if err != nil && p.Error == "" {
		p.Error = fault.Message(ctx, err)
	}
	p.Query = q
	if p.Report, err = h.svc.guides.Funnel(ctx, p.Shop.ID, q); err != nil {
		return err
	}
	v := url.Values{"group": {q.Group}, "period": {q.Period}, "from": {q.From}, "to": {q.To}}
	p.CSVURL = "/admin/guides/report.csv?" + v.Encode()
	return c.Render(status, "admin_guides.html", p)
}

// Day is a day of the shop (YYYY-MM-DD) as a time, noon in the shop's
// zone, for the page's date function (the zero time for anything else).
func (p AdminPage) Day(day string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, day, p.Shop.Location())
	if err != nil {
		return time.Time{}
	}
	return t.Add(12 * time.Hour)
}

// Day is a day of the shop (YYYY-MM-DD) as a time, noon in loc (the
// shop's zone, $.Zone), for admin_guide_me.html's date function.
func (GuideMePage) Day(day string, loc *time.Location) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, day, loc)
	if err != nil {
		return time.Time{}
	}
	return t.Add(12 * time.Hour)
}

// CanHandOver reports whether another active guide than id may take over
// id's customers (the hand-over form is offered only then).
func (p AdminPage) CanHandOver(id string) bool {
	for _, g := range p.Guides {
		if g.Active && g.ID != id {
			return true
		}
	}
	return false
}

// guidesForm runs a form of the guides page (see submit).
func (h *Handlers) guidesForm(c echo.Context, done string, act func(ctx context.Context, tenantID string) error) error {
	return h.submit(c, "/admin/guides?done="+done, h.renderGuides, act)
}

func (h *Handlers) adminCreateStore(c echo.Context) error {
	return h.guidesForm(c, "store", func(ctx context.Context, tenantID string) error {
		_, err := h.svc.guides.CreateLocation(ctx, tenantID, guide.LocationInput{Name: formPtr(c, "name"), Address: formPtr(c, "address")})
		return err
	})
}

func (h *Handlers) adminUpdateStore(c echo.Context) error {
	if _, err := byID(c, h.svc.guides.Location); err != nil {
		return err
	}
	return h.guidesForm(c, "store", func(ctx context.Context, tenantID string) error {
		_, err := h.svc.guides.UpdateLocation(ctx, tenantID, c.Param("id"),
			guide.LocationInput{Name: formPtr(c, "name"), Address: formPtr(c, "address"), Active: formBool(c, "active")})
		return err
	})
}

func (h *Handlers) adminCreateGuide(c echo.Context) error {
	return h.guidesForm(c, "guide", func(ctx context.Context, tenantID string) error {
		_, err := h.svc.guides.CreateGuide(ctx, tenantID,
			guide.GuideInput{Name: formPtr(c, "name"), Phone: formPtr(c, "phone"), StoreID: formPtr(c, "store_id")})
		return err
	})
}

func (h *Handlers) adminUpdateGuide(c echo.Context) error {
	if _, err := byID(c, h.svc.guides.Guide); err != nil {
		return err
	}
	return h.guidesForm(c, "guide", func(ctx context.Context, tenantID string) error {
		_, err := h.svc.guides.UpdateGuide(ctx, tenantID, c.Param("id"), guide.GuideInput{Name: formPtr(c, "name"),
			Phone: formPtr(c, "phone"), StoreID: formPtr(c, "store_id"), Active: formBool(c, "active")})
		return err
	})
}

func (h *Handlers) adminHandover(c echo.Context) error {
	if _, err := byID(c, h.svc.guides.Guide); err != nil {
		return err
	}
	by := ""
	if u, ok := tenants.UserFromContext(c); ok {
		by = u.Email
	}
	return h.guidesForm(c, "handover", func(ctx context.Context, tenantID string) error {
		_, err := h.svc.Handover(ctx, tenantID, c.Param("id"), c.FormValue("to_guide_id"), by)
		return err
	})
}

func (h *Handlers) adminGuideCard(c echo.Context) error {
	g, err := byID(c, h.svc.guides.Guide)
	if err != nil {
		return err
	}
	p := &AdminPage{Shop: tenantOf(c), Guide: h.guideJSON(c, g)}
	if l, err := h.svc.guides.Location(c.Request().Context(), p.Shop.ID, g.StoreID); err == nil {
		p.GuideShop = l.Name
	}
	return c.Render(http.StatusOK, "admin_guides_card.html", p)
}
