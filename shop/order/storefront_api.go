package order

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// idempotencyWindow is how long an Idempotency-Key replays its answer.
const idempotencyWindow = 24 * time.Hour

// StorefrontRoutes mounts the consumer's JSON calls on g (/s/:slug, shop and
// fan resolved). They change state with a JSON body only, so a cross-site
// form cannot reach them (the browser would need a CORS preflight).
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	api := g.Group("/api", requireJSON)
	api.GET("/cart", h.cart)
	api.POST("/cart/items", h.cartAdd)
	api.PUT("/cart/items", h.cartSet)
	api.POST("/orders", h.place)
	api.GET("/orders", h.myOrders)
	api.GET("/orders/:id", h.myOrder)
	api.POST("/orders/:id/pay", h.pay)
	api.POST("/orders/:id/cancel", h.cancelMine)
}

// NotifyRoutes mounts the payment providers' notify endpoints on e.
func (h *Handlers) NotifyRoutes(g *echo.Group) {
	g.POST("/sandbox", h.notifySandbox)
	g.POST("/wechat", h.notifyWeChat)
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
// another body is a 409.
func (h *Handlers) place(c echo.Context) error {
	ctx := c.Request().Context()
	t, fanID := tenants.FromContext(c), fan.FromContext(c)
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return fault.Invalid("", "could not read the request body")
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	var req PlaceRequest
	if err := fault.DecodeJSON(c, &req); err != nil {
		return err
	}
	key := strings.TrimSpace(c.Request().Header.Get("Idempotency-Key"))
	if key == "" {
		o, err := h.svc.Place(ctx, t.ID, fanID, "", req)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, o)
	}
	if len(key) > 128 {
		return fault.Invalid("Idempotency-Key", "must be at most 128 characters")
	}
	sum := sha256.Sum256(body)
	now := time.Now().UTC().Truncate(time.Millisecond)
	claim := IdemKey{Scope: fanID, Key: key, Hash: hex.EncodeToString(sum[:]), OrderID: engine.NewID(), At: now}
	rec, claimed, err := h.svc.store.ClaimKey(ctx, t.ID, claim, now.Add(-idempotencyWindow))
	if err != nil {
		return err
	}
	if !claimed {
		return h.replay(c, t.ID, claim, rec)
	}
	o, err := h.svc.Place(ctx, t.ID, fanID, rec.OrderID, req)
	status, answer := http.StatusCreated, any(o)
	var fe *fault.Error
	if err != nil {
		if !errors.As(err, &fe) || fe.Status >= 500 {
			// Our failure, not the request's: forget the key so a retry
			// runs again instead of waiting out the window.
			if rerr := h.svc.store.ReleaseKey(context.WithoutCancel(ctx), t.ID, rec); rerr != nil {
				return errors.Join(err, rerr)
			}
			return err
		}
		status, answer = fe.Status, map[string]*fault.Error{"error": fe}
	}
	b, _ := json.Marshal(answer)
	rec.Status, rec.Body = status, b
	if ferr := h.svc.store.FinishKey(ctx, t.ID, rec); ferr != nil {
		return ferr
	}
	return c.JSONBlob(status, b)
}

func (h *Handlers) replay(c echo.Context, tenantID string, claim, rec IdemKey) error {
	c.Response().Header().Set("Idempotent-Replayed", "true")
	switch {
	case rec.Hash != claim.Hash:
		return fault.Conflict("this Idempotency-Key was used for a different request")
	case rec.Status != 0:
		return c.JSONBlob(rec.Status, rec.Body)
	}
	// The first request is still running, or died before recording its
	// answer: answer with the order if it got that far.
	o, err := h.svc.store.Get(c.Request().Context(), tenantID, rec.OrderID)
	if err == nil && visible(o.Status) {
		return c.JSON(http.StatusCreated, o)
	}
	return fault.Conflict("a request with this Idempotency-Key is still in progress; retry in a moment")
}

func (h *Handlers) myOrders(c echo.Context) error {
	t := tenants.FromContext(c)
	f, err := filterFromQuery(c, t)
	if err != nil {
		return err
	}
	f.FanID = fan.FromContext(c)
	items, total, err := h.svc.List(c.Request().Context(), t.ID, f)
	if err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = 20
	}
	return c.JSON(http.StatusOK, OrderList{Items: items, Total: total, Limit: f.Limit, Offset: f.Offset})
}

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
	ctx := c.Request().Context()
	t, fanID := tenants.FromContext(c), fan.FromContext(c)
	var in struct {
		SandboxConfirm bool   `json:"sandbox_confirm"`
		Provider       string `json:"provider"`
	}
	if err := decodeOptional(c, &in); err != nil {
		return err
	}
	o, err := h.svc.GetForFan(ctx, t.ID, fanID, c.Param("id"))
	if err != nil {
		return err
	}
	st, err := h.svc.store.Settings(ctx, t.ID)
	if err != nil {
		return err
	}
	if in.SandboxConfirm {
		if st.WeChatPay.Enabled() {
			return fault.Conflict("this shop takes real payments; the sandbox is off")
		}
		o, err := h.svc.sandboxConfirm(ctx, h.sandbox, t.ID, o) // o is the buyer's own, read above
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"status": o.Status, "order": o})
	}
	if o.Status != PendingPayment {
		return fault.Conflict("cannot pay an order that is %s", strings.ReplaceAll(o.Status, "_", " "))
	}
	if st.WeChatPay.Enabled() {
		f, err := h.svc.fans.Get(ctx, t.ID, fanID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return err
		}
		params, err := h.svc.StartWeChatPay(ctx, t.ID, o, f.OpenID, c.RealIP(), h.publicURL(c)+"/pay/notify/"+t.Slug+"/wechat")
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"provider": ProviderWeChat, "jsapi": params})
	}
	return c.JSON(http.StatusOK, map[string]any{"provider": ProviderSandbox, "pay_url": "/s/" + t.Slug + "/pay/" + o.ID})
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
	body, err := readNotify(c)
	if err != nil {
		return err
	}
	err = h.svc.WeChatPayNotify(c.Request().Context(), tenants.FromContext(c).ID, body)
	var fe *fault.Error
	if err != nil && !errors.As(err, &fe) {
		return err // a 500: WeChat Pay retries later
	}
	status := http.StatusOK
	if fe != nil {
		status = fe.Status
	}
	return c.XML(status, WeChatPayReply(err))
}
