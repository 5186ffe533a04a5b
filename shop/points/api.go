package points

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// Handlers serve points: the merchant API, the console, the storefront's
// "My" page and its JSON calls.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the points handlers.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/points/rules", h.apiRules)
	g.PUT("/points/rules", h.apiSaveRules)
	g.GET("/points/stats", h.apiStats)
	g.GET("/fans/:id/points", h.apiFanPoints)
	g.POST("/fans/:id/points/adjustments", h.apiAdjust)
	g.POST("/fans/:id/points/rebuild", h.apiRebuild)
}

func (h *Handlers) apiRules(c echo.Context) error {
	r, err := h.svc.Rules(c.Request().Context(), tenants.FromContext(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// apiSaveRules decodes onto the current rules, so fields left out stay as
// they are; rev, when sent, is the revision the rules were read at (a save
// overtaken since is refused), otherwise the save applies to the rules as
// they are.
func (h *Handlers) apiSaveRules(c echo.Context) error {
	ctx, tenantID := c.Request().Context(), tenants.FromContext(c).ID
	r, err := h.svc.Rules(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := fault.DecodeJSONOnto(c, &r); err != nil {
		return err
	}
	saved, err := h.svc.SaveRules(ctx, tenantID, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, saved)
}

func (h *Handlers) apiStats(c echo.Context) error {
	st, err := h.svc.Stats(c.Request().Context(), tenants.FromContext(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// fanOf resolves the :id fan of the shop: a malformed id or another shop's
// fan is a 404, before anything else is read.
func (h *Handlers) fanOf(c echo.Context) (fan.Fan, error) { return fan.FromPath(c, h.svc.Fan) }

// ledgerPage reads ?before= and ?limit= and returns that page of the fan's
// ledger.
func (h *Handlers) ledgerPage(c echo.Context, fanID string) (LedgerPage, error) {
	var before int64
	if v := c.QueryParam("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return LedgerPage{}, fault.Invalid("before", "must be a sequence number from an earlier page")
		}
		before = n
	}
	limit := 20
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return LedgerPage{}, fault.Invalid("limit", "must be between 1 and 100")
		}
		limit = n
	}
	return h.svc.LedgerPage(c.Request().Context(), tenants.FromContext(c).ID, fanID, before, limit)
}

func (h *Handlers) apiFanPoints(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	p, err := h.ledgerPage(c, f.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (h *Handlers) apiAdjust(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	var req AdjustRequest
	if err := fault.DecodeJSON(c, &req); err != nil {
		return err
	}
	e, err := h.svc.Adjust(c.Request().Context(), tenants.FromContext(c).ID, f.ID, req, "api")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, e)
}

func (h *Handlers) apiRebuild(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	a, changed, err := h.svc.Rebuild(c.Request().Context(), tenants.FromContext(c).ID, f.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"account": a, "changed": changed})
}

// who names the merchant user acting in the console.
func who(c echo.Context) string {
	if u, ok := tenants.UserFromContext(c); ok {
		return u.Email
	}
	return "console"
}

// StorefrontRoutes mounts the fan's "My" page on g (/s/:slug, shop and fan
// resolved), and for now its JSON calls too (StorefrontAPIRoutes), which
// server mounted through it.
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/me", h.mePage)
}

// StorefrontAPIRoutes mounts the fan's points JSON calls on g (/s/:slug,
// shop and fan resolved), under /api.
func (h *Handlers) StorefrontAPIRoutes(g *echo.Group) {
	api := g.Group("/api", fan.RequireJSON)
	api.POST("/checkin", h.checkin)
	api.GET("/points", h.myPoints)
	api.PUT("/points/reminder", h.setReminder)
}

func (h *Handlers) checkin(c echo.Context) error {
	// A body is optional; if sent it must be JSON (an empty object).
	if c.Request().ContentLength > 0 {
		var empty struct{}
		if err := fault.DecodeJSON(c, &empty); err != nil {
			return err
		}
	}
	r, err := h.svc.CheckIn(c.Request().Context(), tenants.FromContext(c), fan.FromContext(c))
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if r.Already {
		status = http.StatusOK
	}
	return c.JSON(status, r)
}

func (h *Handlers) myPoints(c echo.Context) error {
	p, err := h.ledgerPage(c, fan.FromContext(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.JSON(http.StatusOK, p)
}

func (h *Handlers) setReminder(c echo.Context) error {
	var in struct {
		On *bool `json:"on"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.On == nil {
		return fault.Invalid("on", "is required: true to be reminded daily, false to stop")
	}
	if err := h.svc.SetReminder(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), *in.On); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]bool{"on": *in.On})
}

// MePage is what the "My" page template receives; Shop and Query are what
// the storefront layout reads.
type MePage struct {
	Shop  tenants.Tenant
	Query string
	Me
}

// Weekdays label the calendar's columns.
func (MePage) Weekdays() []string { return []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} }

// When formats an entry's time in the shop's zone.
func (p MePage) When(e Entry) string { return e.At.In(Zone(p.Shop)).Format("01-02 15:04") }

// Expires formats a lot's expiry (the last day it is valid) in the
// shop's zone.
func (p MePage) Expires(l Lot) string {
	if l.ExpiresAt.IsZero() {
		return "never expires"
	}
	return "until " + l.ExpiresAt.In(Zone(p.Shop)).Add(-1).Format(time2006)
}

const time2006 = "2006-01-02"

func (h *Handlers) mePage(c echo.Context) error {
	t := tenants.FromContext(c)
	me, err := h.svc.Me(c.Request().Context(), t, fan.FromContext(c), c.QueryParam("month"))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.Render(http.StatusOK, "shop_me.html", MePage{Shop: t, Me: me})
}
