package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"microshop/shop/catalog"
	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// The storefront's order pages: cart, checkout, the sandbox pay page and
// "My orders". They belong to one shopper, so they are never cached (the
// catalog's page cache is for anonymous pages only). Every page renders
// without JavaScript; its buttons call the JSON API (storefront_api.go)
// through static/js/shop.js.

// ordersPerPage is how many orders one "My orders" page lists.
const ordersPerPage = 10

// PageRoutes mounts the consumer's order pages on g (/s/:slug, shop and fan
// resolved).
func (h *Handlers) PageRoutes(g *echo.Group) {
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
	// Sandbox is true when the shop takes no real payments (no WeChat Pay).
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

// Checkout is the checkout page's order summary.
type Checkout struct {
	Lines            []CartLine
	GoodsTotal       int64
	ShippingFee      int64
	Discount         int64
	Payable          int64
	FreeShippingOver int64 // 0: shipping is never free
	Ready            bool
	// BuyNow is a single item bought from its product page, not the cart.
	BuyNow bool
	// Items is the JSON the page posts as the order's items.
	Items string
	// IdempotencyKey is minted once per page load, so a retried or double
	// submitted checkout places one order.
	IdempotencyKey string
	// PointsOffer is the points discount the shopper may choose to take.
	PointsOffer Discount
}

// FreeShippingGap is how much more the shopper must buy for free shipping
// (0 when shipping is free already or never).
func (c Checkout) FreeShippingGap() int64 {
	if c.FreeShippingOver == 0 || c.ShippingFee == 0 {
		return 0
	}
	return c.FreeShippingOver - c.GoodsTotal
}

// ProblemText says in plain words why a cart line cannot be bought as it is.
func (l CartLine) ProblemText() string {
	switch l.Problem {
	case "gone":
		return "This item is no longer available. Remove it to check out."
	case "off_sale":
		return "No longer on sale. Remove it to check out."
	case "out_of_stock":
		return "Sold out. Remove it to check out."
	case "insufficient_stock":
		return fmt.Sprintf("Only %d left. Lower the quantity to check out.", l.Stock)
	}
	return ""
}

// Buyable reports whether the line's quantity can still be changed.
func (l CartLine) Buyable() bool { return l.Problem != "gone" && l.Problem != "off_sale" }

// MaxQty is the most the stepper offers: the stock, within the cart's limit.
func (l CartLine) MaxQty() int64 { return max(1, min(max(l.Stock, l.Qty), MaxQty)) }

// OrderView is an order as the pages show it, with times in the shop's zone.
type OrderView struct {
	Order
	loc *time.Location
}

func viewOf(o Order, loc *time.Location) OrderView { return OrderView{Order: o, loc: loc} }

// statusText names order statuses in plain words.
var statusText = map[string]string{
	PendingPayment: "Awaiting payment",
	Paid:           "Paid · to ship",
	Shipped:        "Shipped",
	Completed:      "Completed",
	Cancelled:      "Cancelled",
	Refunded:       "Refunded",
}

// StatusText is the order's status in plain words.
func (v OrderView) StatusText() string {
	if s, ok := statusText[v.Status]; ok {
		if v.Refunded > 0 && v.Status != Refunded {
			s += " · partly refunded"
		}
		return s
	}
	return strings.ReplaceAll(v.Status, "_", " ")
}

// When formats a time in the shop's zone ("" for none).
func (v OrderView) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	loc := v.loc
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// Created is when the order was placed, in the shop's zone.
func (v OrderView) Created() string { return v.When(v.CreatedAt) }

// Deadline is when an unpaid order is cancelled, in the shop's zone.
func (v OrderView) Deadline() string { return v.When(v.ExpiresAt) }

// ItemCount is the number of units ordered.
func (v OrderView) ItemCount() int64 {
	var n int64
	for _, l := range v.Lines {
		n += l.Qty
	}
	return n
}

// Summary names the order's first item and how many more there are.
func (v OrderView) Summary() string {
	if len(v.Lines) == 0 {
		return ""
	}
	l := v.Lines[0]
	s := l.Title
	if l.SKUName != "" {
		s += " (" + l.SKUName + ")"
	}
	s += " ×" + strconv.FormatInt(l.Qty, 10)
	if n := len(v.Lines) - 1; n == 1 {
		s += " and 1 more item"
	} else if n > 1 {
		s += fmt.Sprintf(" and %d more items", n)
	}
	return s
}

// CanPay reports whether the shopper may still pay: awaiting payment and
// not past its deadline (the cron job cancels it soon after).
func (v OrderView) CanPay() bool {
	return v.Status == PendingPayment && time.Now().Before(v.ExpiresAt)
}

// Unpaid reports whether the order awaits payment.
func (v OrderView) Unpaid() bool { return v.Status == PendingPayment }

// CanRefund reports whether a refund may still be made.
func (v OrderView) CanRefund() bool {
	return (v.Status == Paid || v.Status == Shipped || v.Status == Completed) && v.Order.Refundable > 0
}

// ProviderText names the payment provider.
func (v OrderView) ProviderText() string {
	switch v.Provider {
	case ProviderSandbox:
		return "Sandbox (no real money)"
	case ProviderWeChat:
		return "WeChat Pay"
	}
	return v.Provider
}

// PendingEvents is how many order events still wait for delivery.
func (v OrderView) PendingEvents() int { return len(v.Events) }

// Step is one entry of an order's timeline.
type Step struct {
	at     time.Time
	When   string
	Title  string
	Detail string
}

// Timeline lists what happened to the order, oldest first.
func (v OrderView) Timeline() []Step {
	steps := []Step{{at: v.CreatedAt, Title: "Order placed",
		Detail: fmt.Sprintf("%d item(s), payable ¥%s", v.ItemCount(), catalog.FormatYuan(v.Payable))}}
	if v.PaidAt != nil {
		d := "¥" + catalog.FormatYuan(v.Paid) + " via " + v.ProviderText()
		if v.TransactionID != "" {
			d += " · transaction " + v.TransactionID
		}
		steps = append(steps, Step{at: *v.PaidAt, Title: "Paid", Detail: d})
	}
	if v.ShippedAt != nil {
		steps = append(steps, Step{at: *v.ShippedAt, Title: "Shipped", Detail: v.Carrier + " " + v.TrackingNo})
	}
	for _, r := range v.Refunds {
		steps = append(steps, Step{at: r.At, Title: "Refunded ¥" + catalog.FormatYuan(r.Amount), Detail: r.Reason})
	}
	if v.CompletedAt != nil {
		steps = append(steps, Step{at: *v.CompletedAt, Title: "Completed"})
	}
	if v.CancelledAt != nil {
		steps = append(steps, Step{at: *v.CancelledAt, Title: "Cancelled", Detail: v.CancelReason})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at.Before(steps[j].at) })
	for i := range steps {
		steps[i].When = v.When(steps[i].at)
	}
	return steps
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
	st, err := h.svc.store.Settings(ctx, t.ID)
	if err != nil {
		return err
	}
	items := make([]CartItemRequest, 0, len(v.Items))
	for _, l := range v.Items {
		items = append(items, CartItemRequest{ProductID: l.ProductID, SKUID: l.SKUID, Qty: l.Qty})
	}
	b, _ := json.Marshal(items)
	co := Checkout{Lines: v.Items, GoodsTotal: v.GoodsTotal, ShippingFee: st.shippingFor(v.GoodsTotal),
		FreeShippingOver: st.FreeShippingOver, Ready: v.Ready, BuyNow: buyNow, Items: string(b), IdempotencyKey: engine.NewID()}
	co.Payable = co.GoodsTotal + co.ShippingFee - co.Discount
	if h.svc.disc != nil {
		if co.PointsOffer, err = h.svc.disc.Offer(ctx, t.ID, fan.FromContext(c), co.GoodsTotal); err != nil {
			return err
		}
	}
	p.Checkout = co
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
	return h.svc.quoteItem(c.Request().Context(), tenants.FromContext(c).ID, CartItemRequest{ProductID: productID, SKUID: skuID, Qty: qty})
}

// quoteItem prices one item as a one-line cart, with the same problems a
// cart line would show.
func (s *Service) quoteItem(ctx context.Context, tenantID string, it CartItemRequest) (CartView, error) {
	p, err := s.catalog.Get(ctx, tenantID, it.ProductID)
	if err != nil {
		return CartView{}, err
	}
	if len(p.SKUs) > 0 && it.SKUID == "" {
		return CartView{}, &fault.Error{Status: http.StatusBadRequest, Code: "invalid", Field: "sku",
			Message: fmt.Sprintf("Choose an option of %q first.", p.Title)}
	}
	skuName, price, stock, problem, err := resolve(p, it.SKUID)
	if err != nil {
		return CartView{}, err
	}
	l := CartLine{ProductID: p.ID, SKUID: it.SKUID, Title: p.Title, SKUName: skuName, Image: p.Image(),
		Price: price, PriceSeen: price, Qty: it.Qty, Stock: stock, Amount: price * it.Qty, Problem: problem}
	if l.Problem == "" && l.Stock == 0 {
		l.Problem = "out_of_stock"
	} else if l.Problem == "" && l.Stock < l.Qty {
		l.Problem = "insufficient_stock"
	}
	v := CartView{Items: []CartLine{l}, Ready: l.Problem == ""}
	if v.Ready {
		v.GoodsTotal, v.Count = l.Amount, l.Qty
	}
	return v, nil
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
	st, err := h.svc.store.Settings(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	return renderPrivate(c, http.StatusOK, "shop_pay.html", ShopPage{Shop: t, Order: o, Sandbox: !st.WeChatPay.Enabled()})
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

// fieldNames are the words a shopper or merchant knows for input fields.
var fieldNames = map[string]string{
	"name": "Name", "phone": "Phone", "province": "Province", "city": "City", "district": "District",
	"detail": "Street address", "qty": "Quantity", "sku": "Option", "sku_id": "Option", "product_id": "Product",
	"items": "Items", "carrier": "Carrier", "tracking_no": "Tracking number", "amount": "Amount", "reason": "Reason",
	"shipping_fee": "Shipping fee", "free_shipping_over": "Free shipping threshold",
	"unpaid_timeout_minutes": "Unpaid order timeout", "auto_complete_days": "Auto-complete",
	"wechat_pay": "WeChat Pay", "wechat_key": "API key", "from": "From date", "to": "To date", "status": "Status",
}

// plainMessage turns a fault's "field: reason" message into words: the
// field's name instead of its key, starting with a capital letter.
func plainMessage(fe *fault.Error) string {
	msg := fe.Message
	if fe.Field != "" && strings.HasPrefix(msg, fe.Field+": ") {
		key := fe.Field[strings.LastIndexAny(fe.Field, ".]")+1:]
		name, ok := fieldNames[key]
		if !ok {
			name = strings.ReplaceAll(key, "_", " ")
		}
		rest := strings.TrimPrefix(msg, fe.Field+": ")
		if strings.HasPrefix(rest, "is ") || strings.HasPrefix(rest, "must ") {
			msg = name + " " + rest
		} else {
			msg = name + ": " + rest
		}
	}
	if r, n := utf8.DecodeRuneInString(msg); n > 0 {
		msg = string(unicode.ToUpper(r)) + msg[n:]
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
	}
	return msg
}
