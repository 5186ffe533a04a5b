package order

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Handlers serves orders: the merchant API, the storefront's JSON calls and
// pages, the payment notify endpoints and the console pages.
type Handlers struct {
	svc     *Service
	sandbox *Sandbox
	baseURL string
	// placing counts order placements per shop and address (PlaceLimit).
	placing *tenants.WindowCounter
}

// NewHandlers returns the order handlers. baseURL is the public address
// given to WeChat Pay as the notify URL (empty: the request's host);
// counters count placements (PlaceLimit).
func NewHandlers(svc *Service, sandbox *Sandbox, baseURL string, counters tenants.Counters) *Handlers {
	return &Handlers{svc: svc, sandbox: sandbox, baseURL: baseURL, placing: counters.Window("placing", time.Minute)}
}

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/orders", h.apiList)
	g.GET("/orders/:id", h.apiGet)
	g.POST("/orders/:id/ship", h.apiShip)
	g.POST("/orders/:id/complete", h.apiComplete)
	g.POST("/orders/:id/cancel", h.apiCancel)
	g.POST("/orders/:id/refund", h.apiRefund)
	g.POST("/orders/:id/payments/refunded", h.apiPaymentRefunded)
	g.GET("/payments", h.apiPayments)
	g.GET("/payments/reconciliation", h.apiReconciliation)
	g.GET("/order-settings", h.apiSettings)
	g.PUT("/order-settings", h.apiSaveSettings)
}

// OrderList is the answer to GET /api/v1/orders.
type OrderList struct {
	Items  []Order `json:"items"`
	Total  int64   `json:"total"`
	Limit  int     `json:"limit"`
	Offset int     `json:"offset"`
}

func queryInt(c echo.Context, name string) (int, error) {
	return engine.ParseOptInt(name, c.QueryParam(name))
}

// queryDay reads a date (2006-01-02, in the shop's time zone) or RFC 3339 time.
func queryDay(c echo.Context, name string, loc *time.Location) (time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, loc)
	if err != nil {
		return time.Time{}, fault.Invalid(name, "must be a date like 2026-11-24 or an RFC 3339 time")
	}
	return t.UTC(), nil
}

// shopZone is the shop's time zone (tenants.Tenant.Location: Asia/Shanghai
// when unset or unknown).
func shopZone(t tenants.Tenant) *time.Location { return t.Location() }

// filterFromQuery reads ?status&fan_id&from&to&limit&offset; "to" is a whole
// day when given as a date (orders of that day included).
func filterFromQuery(c echo.Context, t tenants.Tenant) (Filter, error) {
	limit, offset, err := engine.ParsePage(c.QueryParam("limit"), c.QueryParam("offset"))
	if err != nil {
		return Filter{}, err
	}
	loc := t.Location()
	from, err := queryDay(c, "from", loc)
	if err != nil {
		return Filter{}, err
	}
	to, err := queryDay(c, "to", loc)
	if err != nil {
		return Filter{}, err
	}
	if len(c.QueryParam("to")) == len("2006-01-02") {
		to = to.AddDate(0, 0, 1)
	}
	return Filter{Status: c.QueryParam("status"), FanID: c.QueryParam("fan_id"), From: from, To: to, Limit: limit, Offset: offset}, nil
}

func (h *Handlers) apiList(c echo.Context) error { return h.listOrders(c, false) }

// listOrders answers a list of the shop's orders filtered by the query;
// with mine, the requesting fan's own only.
func (h *Handlers) listOrders(c echo.Context, mine bool) error {
	t := tenants.FromContext(c)
	f, err := filterFromQuery(c, t)
	if err != nil {
		return err
	}
	if mine {
		f.FanID = fan.FromContext(c)
	}
	items, total, err := h.svc.List(c.Request().Context(), t.ID, f)
	if err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = 20
	}
	return c.JSON(http.StatusOK, OrderList{Items: items, Total: total, Limit: f.Limit, Offset: f.Offset})
}

func (h *Handlers) apiGet(c echo.Context) error {
	o, err := h.svc.MerchantOrder(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// PaymentList is the answer to GET /api/v1/payments.
type PaymentList struct {
	Items []Payment `json:"items"`
}

// apiPayments lists payments that could not pay their order
// (?refund=to_refund, the default) or were refunded since (?refund=refunded).
func (h *Handlers) apiPayments(c echo.Context) error {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	if c.QueryParam("limit") != "" && limit == 0 {
		return fault.Invalid("limit", "must be between 1 and 200")
	}
	items, err := h.svc.PaymentsToRefund(c.Request().Context(), tenants.FromContext(c).ID, c.QueryParam("refund"), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, PaymentList{Items: items})
}

// PaymentRef names one payment of an order.
type PaymentRef struct {
	Provider      string `json:"provider"`
	TransactionID string `json:"transaction_id"`
}

func (h *Handlers) apiPaymentRefunded(c echo.Context) error {
	var in PaymentRef
	return h.apiAction(c, fault.DecodeJSON, &in, func(ctx context.Context, tenantID, id string) (any, error) {
		return h.svc.MarkRefunded(ctx, tenantID, id, in.Provider, in.TransactionID)
	})
}

// decodeOptional decodes a JSON body if there is one.
func decodeOptional(c echo.Context, v any) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	return fault.DecodeJSON(c, v)
}

// apiAction answers a merchant's action on the :id order. The order is
// resolved first, so a request for another shop's (or a missing) order is
// a 404 whatever its body says; then decode reads the body into in, and
// act's answer is the response.
func (h *Handlers) apiAction(c echo.Context, decode func(echo.Context, any) error, in any,
	act func(ctx context.Context, tenantID, id string) (any, error)) error {
	ctx, tenantID, id := c.Request().Context(), tenants.FromContext(c).ID, c.Param("id")
	if _, err := h.svc.GetForMerchant(ctx, tenantID, id); err != nil {
		return err
	}
	if err := decode(c, in); err != nil {
		return err
	}
	v, err := act(ctx, tenantID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (h *Handlers) apiShip(c echo.Context) error {
	var in struct {
		Carrier    string `json:"carrier"`
		TrackingNo string `json:"tracking_no"`
	}
	return h.apiAction(c, fault.DecodeJSON, &in, func(ctx context.Context, tenantID, id string) (any, error) {
		return h.svc.Ship(ctx, tenantID, id, in.Carrier, in.TrackingNo)
	})
}

func (h *Handlers) apiComplete(c echo.Context) error {
	o, err := h.svc.Complete(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

func (h *Handlers) apiCancel(c echo.Context) error {
	var in struct {
		Reason string `json:"reason"`
	}
	return h.apiAction(c, decodeOptional, &in, func(ctx context.Context, tenantID, id string) (any, error) {
		return h.svc.Cancel(ctx, tenantID, id, in.Reason)
	})
}

func (h *Handlers) apiRefund(c echo.Context) error {
	var in RefundRequest
	return h.apiAction(c, fault.DecodeJSON, &in, func(ctx context.Context, tenantID, id string) (any, error) {
		in.NotifyURL = h.refundNotifyURL(c)
		return h.svc.Refund(ctx, tenantID, id, in)
	})
}

func (h *Handlers) apiSettings(c echo.Context) error {
	st, err := h.svc.Settings(c.Request().Context(), tenants.FromContext(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st.Masked())
}

// apiSaveSettings decodes onto the current settings, so fields left out
// stay as they are (the WeChat Pay key among them: sent back masked, it is
// kept).
func (h *Handlers) apiSaveSettings(c echo.Context) error {
	ctx, tenantID := c.Request().Context(), tenants.FromContext(c).ID
	st, err := h.svc.Settings(ctx, tenantID)
	if err != nil {
		return err
	}
	st = st.Masked()
	if err := fault.DecodeJSONOnto(c, &st); err != nil {
		return err
	}
	if err := h.svc.SaveSettings(ctx, tenantID, st); err != nil {
		return err
	}
	// As stored: the new revision, the account's derived fields.
	if st, err = h.svc.Settings(ctx, tenantID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st.Masked())
}

// refundNotifyURL is where WeChat Pay notifies the shop's refunds.
func (h *Handlers) refundNotifyURL(c echo.Context) string {
	return h.publicURL(c) + "/pay/notify/" + tenants.FromContext(c).Slug + "/wechat-refund"
}
