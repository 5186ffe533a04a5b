package order

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// The storefront's order pages: cart, checkout, the sandbox pay page and
// "My orders". They belong to one shopper, so they are never cached (the
// catalog's page cache is for anonymous pages only). Every page renders
// without JavaScript; its buttons call the JSON API (storefront_api.go)
// through static/js/shop.js.

// ordersPerPage is how many orders one "My orders" page lists.
const ordersPerPage = 10

// StorefrontRoutes mounts the consumer's order pages on g (/s/:slug, shop
// and fan resolved).
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/cart", h.cartPage)
	g.GET("/checkout", h.checkoutPage)
	g.GET("/pay/:id", h.payPage)
	g.GET("/orders", h.ordersPage)
	g.GET("/orders/:id", h.orderPage)
}

// ShopPage is what the storefront's order templates receive. Shop and
// Query are what the storefront layout reads.
type ShopPage struct {
	Shop     tenants.Tenant
	Query    string
	Cart     CartView
	Checkout Checkout
	Order    OrderView
	Orders   []OrderView
	Tabs     []Tab
	Status   string
	Page     int
	HasMore  bool
	// Sandbox is true when the shop takes sandbox payments (no WeChat Pay,
	// and in test mode on a live server).
	Sandbox bool
	Notice  string
	Error   string
}

// Tab is one status tab of "My orders".
type Tab struct {
	Status, Label string
}

// shopperTabs are the status tabs of "My orders", in the order shown.
var shopperTabs = []Tab{
	{"", "All"}, {PendingPayment, "To pay"}, {Paid, "To ship"}, {Shipped, "Shipped"},
	{Completed, "Completed"}, {Refunded, "Refunded"}, {Cancelled, "Cancelled"},
}

// renderPrivate renders a per-shopper page: never stored by a browser or a
// proxy.
func renderPrivate(c echo.Context, status int, name string, p ShopPage) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.Render(status, name, p)
}

func (h *Handlers) cartPage(c echo.Context) error {
	t := tenants.FromContext(c)
	v, err := h.svc.Cart(c.Request().Context(), t.ID, fan.FromContext(c))
	if err != nil {
		return err
	}
	return renderPrivate(c, http.StatusOK, "shop_cart.html", ShopPage{Shop: t, Cart: v})
}

// checkoutPage summarises the order to be placed: the whole cart, or with
// ?product&sku&qty one item bought straight from its product page (the
// product page's "Buy now" is a GET form, so it works without JavaScript).
func (h *Handlers) checkoutPage(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	p := ShopPage{Shop: t}
	var v CartView
	var err error
	buyNow := c.QueryParam("product") != ""
	if buyNow {
		v, err = h.buyNowCart(c)
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Status < 500 && fe.Status != http.StatusNotFound {
			p.Error = plainMessage(fe)
			return renderPrivate(c, fe.Status, "shop_checkout.html", p)
		}
		if err != nil {
			return err
		}
	} else {
		v, err = h.svc.Cart(ctx, t.ID, fan.FromContext(c))
		if err != nil {
			return err
		}
		if !v.Ready {
			// Empty, or something to fix first: the cart page says what.
			return c.Redirect(http.StatusSeeOther, "/s/"+t.Slug+"/cart")
		}
	}
	co, err := h.svc.Checkout(ctx, t.ID, fan.FromContext(c), v)
	if err != nil {
		return err
	}
	co.BuyNow = buyNow
	p.Checkout = co
	if c.QueryParam("changed") != "" { // placing found another amount (shop.js)
		p.Notice = i18n.T(ctx, "checkout.price_changed")
	}
	return renderPrivate(c, http.StatusOK, "shop_checkout.html", p)
}

// buyNowCart prices the one item of a "Buy now" like a cart line.
func (h *Handlers) buyNowCart(c echo.Context) (CartView, error) {
	productID, skuID := c.QueryParam("product"), c.QueryParam("sku")
	if !engine.ValidID(productID) {
		return CartView{}, fault.NotFound("product")
	}
	if skuID != "" && !engine.ValidID(skuID) {
		return CartView{}, fault.Invalid("sku", "choose one of the product's options")
	}
	qty := int64(1)
	if q := c.QueryParam("qty"); q != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(q), 10, 64)
		if err != nil || n < 1 || n > MaxQty {
			return CartView{}, fault.Invalid("qty", "must be a whole number from 1 to %d", MaxQty)
		}
		qty = n
	}
	return h.svc.QuoteItem(c.Request().Context(), tenants.FromContext(c).ID, CartItemRequest{ProductID: productID, SKUID: skuID, Qty: qty})
}

// shopperOrder is the :id order of the requesting shopper; a malformed id
// is a 404 like any order that is not theirs.
func (h *Handlers) shopperOrder(c echo.Context) (OrderView, error) {
	t := tenants.FromContext(c)
	id := c.Param("id")
	if !engine.ValidID(id) {
		return OrderView{}, fault.NotFound("order")
	}
	o, err := h.svc.GetForFan(c.Request().Context(), t.ID, fan.FromContext(c), id)
	if err != nil {
		return OrderView{}, err
	}
	return viewOf(o, shopZone(t)), nil
}

func (h *Handlers) payPage(c echo.Context) error {
	t := tenants.FromContext(c)
	o, err := h.shopperOrder(c)
	if err != nil {
		return err
	}
	st, err := h.svc.Settings(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	return renderPrivate(c, http.StatusOK, "shop_pay.html", ShopPage{Shop: t, Order: o, Sandbox: h.svc.SandboxAllowed(st)})
}

func (h *Handlers) ordersPage(c echo.Context) error {
	t := tenants.FromContext(c)
	status := c.QueryParam("status")
	known := false
	for _, tab := range shopperTabs {
		known = known || tab.Status == status
	}
	if !known {
		status = ""
	}
	page, _ := strconv.Atoi(c.QueryParam("page"))
	page = max(1, min(page, 1000))
	list, total, err := h.svc.List(c.Request().Context(), t.ID, Filter{FanID: fan.FromContext(c), Status: status,
		Limit: ordersPerPage, Offset: (page - 1) * ordersPerPage})
	if err != nil {
		return err
	}
	p := ShopPage{Shop: t, Tabs: shopperTabs, Status: status, Page: page, HasMore: int64(page*ordersPerPage) < total}
	loc := shopZone(t)
	for _, o := range list {
		p.Orders = append(p.Orders, viewOf(o, loc))
	}
	return renderPrivate(c, http.StatusOK, "shop_orders.html", p)
}

func (h *Handlers) orderPage(c echo.Context) error {
	t := tenants.FromContext(c)
	o, err := h.shopperOrder(c)
	if err != nil {
		return err
	}
	p := ShopPage{Shop: t, Order: o}
	if c.QueryParam("paid") != "" {
		if o.PaidAt != nil {
			p.Notice = "Payment received. Thank you! We will let you know when your order ships."
		} else if o.Status == PendingPayment {
			p.Notice = "We are waiting for the payment to be confirmed. This page will show it once it is."
		}
	}
	return renderPrivate(c, http.StatusOK, "shop_order.html", p)
}
