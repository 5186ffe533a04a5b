package message

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Handlers serve messaging: the merchant API, the console, and the fan's
// storefront inbox.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the messaging handlers.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/segments", h.apiSegments)
	g.POST("/segments", h.apiCreateSegment)
	g.POST("/segments/count", h.apiCount)
	g.GET("/segments/:id", h.apiSegment)
	g.DELETE("/segments/:id", h.apiDeleteSegment)
	g.GET("/campaigns", h.apiCampaigns)
	g.POST("/campaigns", h.apiCreateCampaign)
	g.GET("/campaigns/:id", h.apiCampaign)
	g.GET("/campaigns/:id/deliveries", h.apiDeliveries)
	g.POST("/campaigns/:id/cancel", h.apiCancel)
	g.GET("/message-settings", h.apiSettings)
	g.PUT("/message-settings", h.apiSaveSettings)
	g.GET("/fans/:id/audience", h.apiProfile)
	g.PUT("/fans/:id/tags", h.apiSetTags)
	g.GET("/fans/:id/inbox", h.apiFanInbox)
}

func (h *Handlers) apiSegments(c echo.Context) error {
	list, err := h.svc.Segments(c.Request().Context(), tenants.FromContext(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": list})
}

func (h *Handlers) apiCreateSegment(c echo.Context) error {
	var req SegmentRequest
	if err := fault.DecodeJSON(c, &req); err != nil {
		return err
	}
	sg, err := h.svc.CreateSegment(c.Request().Context(), tenants.FromContext(c), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, sg)
}

// apiCount is the live count of a rule, before saving or sending.
func (h *Handlers) apiCount(c echo.Context) error {
	var r Rule
	if err := fault.DecodeJSON(c, &r); err != nil {
		return err
	}
	n, err := h.svc.Count(c.Request().Context(), tenants.FromContext(c), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int64{"count": n})
}

func (h *Handlers) apiSegment(c echo.Context) error {
	sg, err := h.svc.Segment(c.Request().Context(), tenants.FromContext(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sg)
}

func (h *Handlers) apiDeleteSegment(c echo.Context) error {
	if err := h.svc.DeleteSegment(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func queryInt(c echo.Context, name string, def int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fault.Invalid(name, "must be a whole number")
	}
	return n, nil
}

func (h *Handlers) apiCampaigns(c echo.Context) error {
	limit, err := queryInt(c, "limit", 20)
	if err != nil {
		return err
	}
	offset, err := queryInt(c, "offset", 0)
	if err != nil {
		return err
	}
	list, total, err := h.svc.Campaigns(c.Request().Context(), tenants.FromContext(c).ID, limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": list, "total": total, "limit": limit, "offset": offset})
}

func (h *Handlers) apiCreateCampaign(c echo.Context) error {
	var req CampaignRequest
	if err := fault.DecodeJSON(c, &req); err != nil {
		return err
	}
	cp, err := h.svc.CreateCampaign(c.Request().Context(), tenants.FromContext(c), req, "api")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, cp)
}

func (h *Handlers) apiCampaign(c echo.Context) error {
	cp, err := h.svc.Campaign(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cp)
}

func (h *Handlers) apiDeliveries(c echo.Context) error {
	limit, err := queryInt(c, "limit", 50)
	if err != nil {
		return err
	}
	id := c.Param("id")
	if !engine.ValidID(id) {
		return fault.NotFound("campaign")
	}
	list, err := h.svc.Deliveries(c.Request().Context(), tenants.FromContext(c).ID, id, c.QueryParam("status"), c.QueryParam("after"), limit)
	if err != nil {
		return err
	}
	next := ""
	if len(list) == limit {
		next = list[len(list)-1].ID
	}
	return c.JSON(http.StatusOK, map[string]any{"items": list, "after": next})
}

func (h *Handlers) apiCancel(c echo.Context) error {
	cp, err := h.svc.CancelCampaign(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cp)
}

func (h *Handlers) apiSettings(c echo.Context) error {
	st, err := h.svc.Settings(c.Request().Context(), tenants.FromContext(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (h *Handlers) apiSaveSettings(c echo.Context) error {
	var st Settings
	if err := fault.DecodeJSON(c, &st); err != nil {
		return err
	}
	saved, err := h.svc.SaveSettings(c.Request().Context(), tenants.FromContext(c).ID, st)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, saved)
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

func (h *Handlers) apiProfile(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	p, err := h.svc.Profile(c.Request().Context(), tenants.FromContext(c).ID, f.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (h *Handlers) apiSetTags(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	var in struct {
		Tags []string `json:"tags"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	tags, err := h.svc.SetTags(c.Request().Context(), tenants.FromContext(c).ID, f.ID, in.Tags)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tags": tags})
}

// inboxPage reads ?before= (an RFC 3339 time from the last page).
func inboxBefore(c echo.Context) (time.Time, error) {
	v := c.QueryParam("before")
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fault.Invalid("before", "must be the created_at of the last item of the previous page")
	}
	return t, nil
}

func (h *Handlers) apiFanInbox(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	before, err := inboxBefore(c)
	if err != nil {
		return err
	}
	items, err := h.svc.Inbox(c.Request().Context(), tenants.FromContext(c).ID, f.ID, before, 50)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
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

// StorefrontRoutes mounts the fan's inbox on g (/s/:slug, shop and fan
// resolved).
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/inbox", h.inboxPage)
	api := g.Group("/api", requireJSON)
	api.GET("/inbox", h.myInbox)
	api.PUT("/inbox/preferences", h.setPreferences)
}

// InboxPage is what the inbox template receives; Shop and Query are what
// the storefront layout reads.
type InboxPage struct {
	Shop     tenants.Tenant
	Query    string
	Items    []InboxItem
	OptedOut bool
	More     string // ?before= of the next page
}

// When formats an item's time in the shop's zone.
func (p InboxPage) When(it InboxItem) string {
	return it.CreatedAt.In(zone(p.Shop)).Format("2006-01-02 15:04")
}

// Notice reports whether an item is a service notice (not marketing).
func (InboxPage) Notice(it InboxItem) bool { return it.Kind != "marketing" }

func (h *Handlers) inbox(c echo.Context) (InboxPage, error) {
	ctx := c.Request().Context()
	t, fanID := tenants.FromContext(c), fan.FromContext(c)
	before, err := inboxBefore(c)
	if err != nil {
		return InboxPage{}, err
	}
	p := InboxPage{Shop: t}
	if p.Items, err = h.svc.Inbox(ctx, t.ID, fanID, before, 30); err != nil {
		return p, err
	}
	if len(p.Items) == 30 {
		p.More = p.Items[29].CreatedAt.Format(time.RFC3339Nano)
	}
	prof, err := h.svc.Profile(ctx, t.ID, fanID)
	if err != nil {
		return p, err
	}
	p.OptedOut = prof.OptedOut
	// Reading one's messages is activity, for a fan the shop knows.
	if _, err := h.svc.fans.Get(ctx, t.ID, fanID); err == nil {
		if err := h.svc.Touch(ctx, t.ID, fanID, h.svc.clock()); err != nil {
			h.svc.log.Warn("touch fan", "tenant", t.ID, "fan", fanID, "err", err)
		}
	}
	return p, nil
}

func (h *Handlers) inboxPage(c echo.Context) error {
	p, err := h.inbox(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.Render(http.StatusOK, "shop_inbox.html", p)
}

func (h *Handlers) myInbox(c echo.Context) error {
	p, err := h.inbox(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.JSON(http.StatusOK, map[string]any{"items": p.Items, "marketing": !p.OptedOut, "before": p.More})
}

func (h *Handlers) setPreferences(c echo.Context) error {
	var in struct {
		Marketing *bool `json:"marketing"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.Marketing == nil {
		return fault.Invalid("marketing", "is required: true to receive offers, false to opt out")
	}
	if err := h.svc.SetOptOut(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), !*in.Marketing); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]bool{"marketing": *in.Marketing})
}
