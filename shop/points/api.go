package points

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
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

func (h *Handlers) apiSaveRules(c echo.Context) error {
	var r Rules
	if err := fault.DecodeJSON(c, &r); err != nil {
		return err
	}
	saved, err := h.svc.SaveRules(c.Request().Context(), tenants.FromContext(c).ID, r)
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
func (h *Handlers) fanOf(c echo.Context) (fan.Fan, error) {
	id := c.Param("id")
	if !engine.ValidID(id) {
		return fan.Fan{}, fault.NotFound("fan")
	}
	return h.svc.fans.Get(c.Request().Context(), tenants.FromContext(c).ID, id)
}

// LedgerPage is the answer to the ledger calls: the account and a page of
// entries, newest first; Before continues to older ones (0: no more).
type LedgerPage struct {
	Account Account `json:"account"`
	Balance int64   `json:"balance"`
	Entries []Entry `json:"entries"`
	Before  int64   `json:"before,omitempty"`
}

func (h *Handlers) ledgerPage(c echo.Context, fanID string) (LedgerPage, error) {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
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
	a, err := h.svc.Account(ctx, t.ID, fanID)
	if err != nil {
		return LedgerPage{}, err
	}
	entries, err := h.svc.Ledger(ctx, t.ID, fanID, before, limit)
	if err != nil {
		return LedgerPage{}, err
	}
	p := LedgerPage{Account: a, Balance: a.Balance, Entries: entries}
	if len(entries) == limit && entries[len(entries)-1].Seq > 1 {
		p.Before = entries[len(entries)-1].Seq
	}
	return p, nil
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

// requireJSON refuses state-changing storefront calls without a JSON body
// (a cross-site form cannot send one without a CORS preflight).
func requireJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		m := c.Request().Method
		if m != http.MethodGet && m != http.MethodHead && c.Request().ContentLength != 0 &&
			!strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
			return &fault.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
				Message: "send JSON with Content-Type: application/json"}
		}
		return next(c)
	}
}

// StorefrontRoutes mounts the fan's points on g (/s/:slug, shop and fan
// resolved): the "My" page and its JSON calls.
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/me", h.mePage)
	api := g.Group("/api", requireJSON)
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
