package order

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// StorefrontAPIRoutes mounts the consumer's JSON calls on g (/s/:slug, shop
// and fan resolved). They change state with a JSON body only, so a
// cross-site form cannot reach them (the browser would need a CORS
// preflight).
func (h *Handlers) StorefrontAPIRoutes(g *echo.Group) {
	api := g.Group("/api", requireJSON)
	api.GET("/cart", h.cart)
	api.POST("/cart/items", h.cartAdd)
	api.PUT("/cart/items", h.cartSet)
	api.POST("/orders", h.place)
	api.GET("/orders", h.myOrders)
	api.GET("/orders/:id", h.myOrder)
	api.POST("/orders/:id/pay", h.pay)
	api.POST("/orders/:id/cancel", h.cancelMine)
	api.POST("/orders/:id/confirm-receipt", h.confirmReceipt)
}

// NotifyRoutes mounts the payment providers' notify endpoints on e.
func (h *Handlers) NotifyRoutes(g *echo.Group) {
	g.POST("/sandbox", h.notifySandbox)
	g.POST("/wechat", h.notifyWeChat)
	g.POST("/wechat-refund", h.notifyWeChatRefund)
}

// requireJSON refuses state-changing storefront calls without a JSON body.
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

func (h *Handlers) cart(c echo.Context) error {
	v, err := h.svc.Cart(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (h *Handlers) cartAdd(c echo.Context) error { return h.cartWrite(c, true) }
func (h *Handlers) cartSet(c echo.Context) error { return h.cartWrite(c, false) }

func (h *Handlers) cartWrite(c echo.Context, add bool) error {
	var in CartItemRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	v, err := h.svc.SetCartItem(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), in, add)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// place is POST /s/{slug}/api/orders. With an Idempotency-Key header, the
// same key and body replay the first answer for 24 hours; the same key with
// another body is a 409 (Service.PlaceIdempotent). One address places at
// most PlaceLimit orders a minute in one shop (a 429 beyond).
func (h *Handlers) place(c echo.Context) error {
	if ok, wait := h.placing.Take(tenants.FromContext(c).ID+" "+addressKey(c.RealIP()), PlaceLimit, time.Now()); !ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return fault.TooManyRequests("too many orders from your network in the last minute; try again in a minute")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return fault.Invalid("", "could not read the request body")
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	var req PlaceRequest
	if err := fault.DecodeJSON(c, &req); err != nil {
		return err
	}
	a, err := h.svc.PlaceIdempotent(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c),
		c.Request().Header.Get("Idempotency-Key"), body, req)
	if a.Replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	if err != nil {
		return err
	}
	return c.JSONBlob(a.Status, a.Body)
}

func (h *Handlers) myOrders(c echo.Context) error { return h.listOrders(c, true) }

func (h *Handlers) myOrder(c echo.Context) error {
	o, err := h.svc.GetForFan(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

func (h *Handlers) cancelMine(c echo.Context) error {
	o, err := h.svc.CancelForFan(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// pay is POST /s/{slug}/api/orders/{id}/pay: it starts a payment (the
// sandbox pay page's URL, or WeChat Pay's JSAPI parameters), and with
// {"sandbox_confirm": true} completes a sandbox payment through the signed
// notify path.
func (h *Handlers) pay(c echo.Context) error {
	t := tenants.FromContext(c)
	var req PayRequest
	if err := decodeOptional(c, &req); err != nil {
		return err
	}
	req.ClientIP, req.NotifyURL = c.RealIP(), h.publicURL(c)+"/pay/notify/"+t.Slug+"/wechat"
	start, err := h.svc.Pay(c.Request().Context(), h.sandbox, t.ID, fan.FromContext(c), c.Param("id"), req)
	if err != nil {
		return err
	}
	if start.Provider == ProviderSandbox {
		start.PayURL = "/s/" + t.Slug + "/pay/" + c.Param("id")
	}
	return c.JSON(http.StatusOK, start)
}

func (h *Handlers) publicURL(c echo.Context) string {
	if h.baseURL != "" {
		return h.baseURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

// readNotify reads a notify body (bounded by the server's body limit).
func readNotify(c echo.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, fault.Invalid("", "could not read the notification")
	}
	return b, nil
}

func (h *Handlers) notifySandbox(c echo.Context) error {
	body, err := readNotify(c)
	if err != nil {
		return err
	}
	if err := h.svc.Notify(c.Request().Context(), h.sandbox, tenants.FromContext(c).ID, body); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handlers) notifyWeChat(c echo.Context) error {
	return h.wechatNotify(c, h.svc.WeChatPayNotify)
}

// notifyWeChatRefund takes WeChat Pay's refund notifications.
func (h *Handlers) notifyWeChatRefund(c echo.Context) error {
	return h.wechatNotify(c, h.svc.WeChatRefundNotify)
}

// wechatNotify reads a WeChat Pay notification, hands it to take and
// answers as WeChat Pay expects.
func (h *Handlers) wechatNotify(c echo.Context, take func(context.Context, string, *http.Request) error) error {
	body, err := readNotify(c)
	if err != nil {
		return err
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	err = take(c.Request().Context(), tenants.FromContext(c).ID, c.Request())
	var fe *fault.Error
	if err != nil && !errors.As(err, &fe) {
		return err // a 500, logged: WeChat Pay tries again later
	}
	status, answer := WeChatPayReply(err)
	if answer == nil {
		return c.NoContent(status)
	}
	return c.JSON(status, answer)
}
