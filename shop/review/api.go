package review

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Handlers serve reviews: the merchant API and console, the storefront's
// JSON calls.
type Handlers struct{ svc *Service }

// NewHandlers returns the review handlers.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
// There is no route that deletes or edits a review: a merchant never can.
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/reviews", h.apiList)
	g.GET("/reviews/:id", h.apiGet)
	g.POST("/reviews/:id/reply", h.apiReply)
}

// StorefrontAPIRoutes mounts the shopper's JSON calls on g (/s/:slug, shop
// and fan resolved).
func (h *Handlers) StorefrontAPIRoutes(g *echo.Group) {
	g.POST("/api/orders/:id/reviews", h.create)
	g.GET("/api/orders/:id/reviews", h.ofOrder)
	g.PUT("/api/reviews/:id", h.update)
	g.GET("/api/products/:id/reviews", h.ofProduct)
}

// ReviewList is a page of reviews.
type ReviewList struct {
	Items []Review `json:"items"`
	Total int64    `json:"total"`
}

// ProductReviews is a product's rating and a page of its reviews.
type ProductReviews struct {
	ProductID string   `json:"product_id"`
	Count     int64    `json:"count"`
	Average   float64  `json:"average"`
	Items     []Review `json:"items"`
}

func (h *Handlers) apiList(c echo.Context) error {
	limit, offset, err := engine.ParsePage(c.QueryParam("limit"), c.QueryParam("offset"))
	if err != nil {
		return err
	}
	list, total, err := h.svc.List(c.Request().Context(), tenants.FromContext(c).ID, c.QueryParam("product_id"), limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ReviewList{Items: list, Total: total})
}

func (h *Handlers) apiGet(c echo.Context) error {
	r, err := h.svc.Get(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// ReplyRequest is the merchant's reply.
type ReplyRequest struct {
	Text string `json:"text"`
}

func (h *Handlers) apiReply(c echo.Context) error {
	// The review first: another shop's id is a 404 whatever the body.
	if _, err := h.svc.Get(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id")); err != nil {
		return err
	}
	var in ReplyRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.Reply(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"), in.Text)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h *Handlers) create(c echo.Context) error {
	var in Input
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.Create(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

func (h *Handlers) ofOrder(c echo.Context) error {
	list, err := h.svc.OfOrder(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ReviewList{Items: list, Total: int64(len(list))})
}

func (h *Handlers) update(c echo.Context) error {
	var in Edit
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.Update(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h *Handlers) ofProduct(c echo.Context) error {
	id := c.Param("id")
	if !engine.ValidID(id) {
		return fault.NotFound("product")
	}
	limit, offset, err := engine.ParsePage(c.QueryParam("limit"), c.QueryParam("offset"))
	if err != nil {
		return err
	}
	ctx, tenantID := c.Request().Context(), tenants.FromContext(c).ID
	st, err := h.svc.Stats(ctx, tenantID, id)
	if err != nil {
		return err
	}
	list, _, err := h.svc.List(ctx, tenantID, id, limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ProductReviews{ProductID: id, Count: st.Count, Average: st.Average(), Items: list})
}
