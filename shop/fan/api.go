package fan

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// Handlers serves the fans: the push endpoint, the merchant API and the
// console.
type Handlers struct {
	svc      *Service
	accounts *wechat.Accounts
}

// NewHandlers returns the fans' handlers.
func NewHandlers(svc *Service, accounts *wechat.Accounts) *Handlers {
	return &Handlers{svc: svc, accounts: accounts}
}

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/fans", h.apiList)
	g.GET("/fans/:id", h.apiGet)
	g.POST("/fans/:id/messages", h.apiReply)
}

// FromPath resolves the fan named by the :id path parameter in the
// request's shop, for the routes other packages mount under a fan
// (/fans/:id/points, /fans/:id/tags, /audience/:id …): a malformed id, or
// the id of no fan of this shop, is a 404 before anything else is read
// (the resource under it does not exist). get is the caller's service
// method that reads one fan of a shop, such as points.Service.Fan. The
// fans' own routes answer a malformed id with a 400 (Service.Get).
func FromPath(c echo.Context, get func(ctx context.Context, tenantID, id string) (Fan, error)) (Fan, error) {
	id := c.Param("id")
	if !engine.ValidID(id) {
		return Fan{}, fault.NotFound("fan")
	}
	return get(c.Request().Context(), tenants.FromContext(c).ID, id)
}

// List is the answer to GET /api/v1/fans.
type List struct {
	Items  []Fan `json:"items"`
	Total  int64 `json:"total"`
	Limit  int   `json:"limit"`
	Offset int   `json:"offset"`
}

func filterFromQuery(c echo.Context) (Filter, error) {
	var f Filter
	var err error
	if f.Limit, err = intParam("limit", c.QueryParam("limit"), 1, 100); err != nil {
		return f, err
	}
	if f.Offset, err = intParam("offset", c.QueryParam("offset"), 0, 1_000_000); err != nil {
		return f, err
	}
	switch v := c.QueryParam("subscribed"); v {
	case "":
	case "true", "1":
		t := true
		f.Subscribed = &t
	case "false", "0":
		ff := false
		f.Subscribed = &ff
	default:
		return f, fault.Invalid("subscribed", "must be true or false")
	}
	f.OpenID, f.Source = c.QueryParam("openid"), c.QueryParam("source")
	return f, nil
}

func intParam(name, v string, lo, hi int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fault.Invalid(name, "must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

func (h *Handlers) apiList(c echo.Context) error {
	f, err := filterFromQuery(c)
	if err != nil {
		return err
	}
	items, total, err := h.svc.List(c.Request().Context(), tenants.FromContext(c).ID, f)
	if err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = 20
	}
	if items == nil {
		items = []Fan{}
	}
	return c.JSON(http.StatusOK, List{Items: items, Total: total, Limit: f.Limit, Offset: f.Offset})
}

func (h *Handlers) detail(c echo.Context) (tenants.Tenant, Detail, error) {
	t := tenants.FromContext(c)
	d, err := h.svc.Detail(c.Request().Context(), t, c.Param("id"))
	return t, d, err
}

func (h *Handlers) apiGet(c echo.Context) error {
	_, d, err := h.detail(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (h *Handlers) apiReply(c echo.Context) error {
	t := tenants.FromContext(c)
	if _, err := h.svc.Get(c.Request().Context(), t.ID, c.Param("id")); err != nil {
		return err // a missing fan is a 404 before the body is looked at
	}
	var in struct {
		Text string `json:"text"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	m, err := h.svc.Reply(c.Request().Context(), t, c.Param("id"), in.Text)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}
