package aftersale

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Handlers serves after-sale requests: the shopper's JSON calls and pages,
// the merchant API and console, the operator API and console.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the after-sale handlers.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// StorefrontAPIRoutes mounts the shopper's JSON calls on g (/s/:slug, shop
// and fan resolved); they are under /api.
func (h *Handlers) StorefrontAPIRoutes(g *echo.Group) {
	api := g.Group("/api")
	api.POST("/orders/:id/after-sales", h.create)
	api.GET("/after-sales/:id", h.mine)
	api.POST("/after-sales/:id/messages", h.shopperMessage)
	api.POST("/after-sales/:id/return", h.shipBack)
	api.POST("/after-sales/:id/escalate", h.escalate)
	api.POST("/after-sales/:id/withdraw", h.withdraw)
}

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/after-sales", h.apiList)
	g.GET("/after-sales/:id", h.apiGet)
	g.POST("/after-sales/:id/approve", h.apiApprove)
	g.POST("/after-sales/:id/reject", h.apiReject)
	g.POST("/after-sales/:id/confirm-return", h.apiConfirmReturn)
	g.POST("/after-sales/:id/messages", h.apiMessage)
	g.GET("/after-sale-settings", h.apiSettings)
	g.PUT("/after-sale-settings", h.apiSaveSettings)
}

// RequestList is the answer to GET /api/v1/after-sales.
type RequestList struct {
	Items  []Request `json:"items"`
	Total  int64     `json:"total"`
	Limit  int       `json:"limit"`
	Offset int       `json:"offset"`
}

// fanRequest is the requesting fan's :id request.
func (h *Handlers) fanRequest(c echo.Context) (Request, error) {
	return h.svc.GetForFan(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), c.Param("id"))
}

func (h *Handlers) create(c echo.Context) error {
	var in CreateRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.Create(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

func (h *Handlers) mine(c echo.Context) error {
	r, err := h.fanRequest(c)
	if err != nil {
		return err
	}
	d, err := h.svc.Detail(c.Request().Context(), tenants.FromContext(c).ID, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (h *Handlers) shopperMessage(c echo.Context) error {
	r, err := h.fanRequest(c)
	if err != nil {
		return err
	}
	return h.message(c, r, ByShopper)
}

// message adds the body's message to r's thread as author.
func (h *Handlers) message(c echo.Context, r Request, author string) error {
	var in MessageRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	m, err := h.svc.AddMessage(c.Request().Context(), tenants.FromContext(c).ID, r, author, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}

func (h *Handlers) shipBack(c echo.Context) error {
	var in ReturnRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.ShipBack(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h *Handlers) escalate(c echo.Context) error { return h.shopperAct(c, h.svc.Escalate) }

func (h *Handlers) withdraw(c echo.Context) error { return h.shopperAct(c, h.svc.Withdraw) }

// shopperAct runs act, a step without a body, on the fan's :id request.
func (h *Handlers) shopperAct(c echo.Context, act func(ctx context.Context, tenantID, fanID, id string) (Request, error)) error {
	if err := decodeEmpty(c); err != nil {
		return err
	}
	r, err := act(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// decodeEmpty accepts no body or an empty JSON object.
func decodeEmpty(c echo.Context) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	var none struct{}
	return fault.DecodeJSON(c, &none)
}

func (h *Handlers) apiList(c echo.Context) error {
	limit, offset, err := engine.ParsePage(c.QueryParam("limit"), c.QueryParam("offset"))
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 20
	}
	items, total, err := h.svc.List(c.Request().Context(), tenants.FromContext(c).ID, c.QueryParam("status"), limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, RequestList{Items: items, Total: total, Limit: limit, Offset: offset})
}

func (h *Handlers) apiGet(c echo.Context) error {
	ctx, tenantID := c.Request().Context(), tenants.FromContext(c).ID
	r, err := h.svc.Get(ctx, tenantID, c.Param("id"))
	if err != nil {
		return err
	}
	d, err := h.svc.Detail(ctx, tenantID, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (h *Handlers) apiApprove(c echo.Context) error { return h.merchantAct(c, h.svc.Approve) }

// merchantAct runs act, a step without a body, on the shop's :id request
// (another shop's is a 404 whatever the body).
func (h *Handlers) merchantAct(c echo.Context, act func(ctx context.Context, tenantID, id string) (Request, error)) error {
	if err := h.exists(c); err != nil {
		return err
	}
	if err := decodeEmpty(c); err != nil {
		return err
	}
	r, err := act(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// RejectRequest is the merchant's refusal.
type RejectRequest struct {
	Reason string `json:"reason"`
}

func (h *Handlers) apiReject(c echo.Context) error {
	if err := h.exists(c); err != nil {
		return err
	}
	var in RejectRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.Reject(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"), in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h *Handlers) apiConfirmReturn(c echo.Context) error {
	return h.merchantAct(c, h.svc.ConfirmReturn)
}

func (h *Handlers) apiMessage(c echo.Context) error {
	r, err := h.svc.Get(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return h.message(c, r, ByMerchant)
}

func (h *Handlers) apiSettings(c echo.Context) error {
	st, err := h.svc.Settings(c.Request().Context(), tenants.FromContext(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// apiSaveSettings decodes onto the current settings, so fields left out
// stay as they are.
func (h *Handlers) apiSaveSettings(c echo.Context) error {
	ctx, tenantID := c.Request().Context(), tenants.FromContext(c).ID
	st, err := h.svc.Settings(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := fault.DecodeJSONOnto(c, &st); err != nil {
		return err
	}
	if st, err = h.svc.SaveSettings(ctx, tenantID, st); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// exists answers another shop's (or no) request with its 404 before the
// body is read, so a wrong body never tells that the id exists.
func (h *Handlers) exists(c echo.Context) error {
	_, err := h.svc.Get(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	return err
}
