package order

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/shop/catalog"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// adminPageSize is how many orders one console page lists.
const adminPageSize = 20

// AdminRoutes mounts the console's order pages on g (/admin, signed in,
// CSRF-protected). Actions are plain form posts that call the service; a
// refused action (an invalid transition, too large a refund) shows the
// order again with the reason.
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/orders", h.adminOrders)
	g.GET("/orders/reconciliation", h.adminReconciliation)
	g.GET("/orders/:id", h.adminOrder)
	g.POST("/orders/:id/ship", h.adminShip)
	g.POST("/orders/:id/complete", h.adminComplete)
	g.POST("/orders/:id/cancel", h.adminCancel)
	g.POST("/orders/:id/refund", h.adminRefund)
	g.POST("/orders/:id/payments/refunded", h.adminPaymentRefunded)
	g.GET("/order-settings", h.adminSettings)
	g.POST("/order-settings", h.adminSaveSettings)
}

// AdminPage is what the console's order templates receive.
type AdminPage struct {
	Shop     tenants.Tenant
	Orders   []OrderView
	Total    int64
	Filter   AdminFilter
	HasMore  bool
	Statuses []Tab
	Order    OrderView
	Form     ActionForm
	Settings SettingsForm
	Error    string
	Notice   string
	// ToRefund are payments that could not pay their order (the order's,
	// on its page; the shop's, on the list) and wait for a refund.
	ToRefund []Payment
	// CanRestock: the refund form offers to put the units back on sale
	// (the shop's catalog takes them back; see Service.SetRestocker).
	CanRestock bool
	// CompleteDays is the shop's Settings.AutoCompleteDays, for a shipped
	// order's page (0 on the others).
	CompleteDays int
}

// AdminFilter is the order list's filter as typed.
type AdminFilter struct {
	Status, From, To, Query, FanID string
	Offset                         int
}

// URL links to the list with this filter at offset.
func (f AdminFilter) URL(offset int) string {
	v := url.Values{}
	for k, s := range map[string]string{"status": f.Status, "from": f.From, "to": f.To, "q": f.Query, "fan_id": f.FanID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if len(v) == 0 {
		return "/admin/orders"
	}
	return "/admin/orders?" + v.Encode()
}

// Prev and Next are the neighbouring pages' offsets.
func (f AdminFilter) Prev() int { return max(0, f.Offset-adminPageSize) }
func (f AdminFilter) Next() int { return f.Offset + adminPageSize }

// Active reports whether anything narrows the list.
func (f AdminFilter) Active() bool {
	return f.Status != "" || f.From != "" || f.To != "" || f.Query != "" || f.FanID != ""
}

// ActionForm keeps what the merchant typed into an order's action forms.
type ActionForm struct {
	Carrier, TrackingNo, CancelReason, RefundAmount, RefundReason string
	RefundRestock                                                 bool
}

// merchantTabs are the statuses the console filters by.
var merchantTabs = []Tab{
	{"", "Any status"}, {PendingPayment, "Awaiting payment"}, {Paid, "Paid · to ship"}, {Shipped, "Shipped"},
	{Completed, "Completed"}, {Refunded, "Refunded"}, {Cancelled, "Cancelled"},
}

func (h *Handlers) adminOrders(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	loc := shopZone(t)
	p := AdminPage{Shop: t, Statuses: merchantTabs, Notice: adminNotice(c),
		Filter: AdminFilter{Status: c.QueryParam("status"), From: strings.TrimSpace(c.QueryParam("from")),
			To: strings.TrimSpace(c.QueryParam("to")), Query: strings.TrimSpace(c.QueryParam("q")), FanID: c.QueryParam("fan_id")}}
	toRefund, err := h.svc.PaymentsToRefund(ctx, t.ID, PaymentToRefund, 20)
	if err != nil {
		return err
	}
	p.ToRefund = toRefund
	if q := p.Filter.Query; q != "" {
		// An order id: the one order, whatever the other filters say.
		id := strings.ToLower(strings.TrimPrefix(q, "#"))
		if !engine.ValidID(id) {
			p.Error = i18n.T(ctx, "console.orders.bad_id", "Text", q)
			return c.Render(http.StatusOK, "admin_orders.html", p)
		}
		o, err := h.svc.Get(ctx, t.ID, id)
		switch {
		case err == nil && visible(o.Status):
			p.Orders, p.Total = []OrderView{viewOf(o, loc)}, 1
		case err == nil || errors.Is(err, fault.ErrNotFound):
		default:
			return err
		}
		return c.Render(http.StatusOK, "admin_orders.html", p)
	}
	f, err := filterFromQuery(c, t)
	if err == nil {
		p.Filter.Offset = f.Offset
		f.Limit = adminPageSize
		var list []Order
		list, p.Total, err = h.svc.List(ctx, t.ID, f)
		for _, o := range list {
			p.Orders = append(p.Orders, viewOf(o, loc))
		}
		p.HasMore = int64(f.Offset+len(list)) < p.Total
	}
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		p.Error = pageError(ctx, fe)
		return c.Render(fe.Status, "admin_orders.html", p)
	}
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "admin_orders.html", p)
}

// adminNotice is the notice of an order page after an action (?done=), in
// the request's language.
func adminNotice(c echo.Context) string {
	switch done := c.QueryParam("done"); done {
	case "shipped", "completed", "cancelled", "refunded", "payment_refunded", "settings":
		return i18n.T(c.Request().Context(), "console.orders.done_"+done)
	}
	return ""
}

// pageError is what a console page says of a refused action: in English the
// fault's message in plain words (plainMessage: "Tracking number is
// required."), in other languages the error catalog's translation
// (fault.Message).
func pageError(ctx context.Context, fe *fault.Error) string {
	if i18n.FromContext(ctx) == i18n.En {
		return plainMessage(fe)
	}
	return fault.Message(ctx, fe)
}

// RefundWhy is why a payment could not pay its order: a message id with its
// argument (a transaction id; for console.orders.why_status, the order's
// status then), or (ID "") the stored reason as it is.
type RefundWhy struct{ ID, Arg string }

// WhyToRefund words why p waits for a refund. The payment service stores
// its reason in English (payment.go); the page says it in its language.
func (AdminPage) WhyToRefund(p Payment) RefundWhy {
	if tx, ok := strings.CutPrefix(p.Reason, "the order was already paid by transaction "); ok {
		return RefundWhy{ID: "console.orders.why_paid_twice", Arg: tx}
	}
	if st, ok := strings.CutPrefix(p.Reason, "the order was "); ok {
		if st, ok := strings.CutSuffix(st, " when this payment arrived"); ok {
			return RefundWhy{ID: "console.orders.why_status", Arg: strings.ReplaceAll(st, " ", "_")}
		}
	}
	return RefundWhy{Arg: p.Reason}
}

// merchantOrder loads the :id order of the shop; a malformed, missing or
// another shop's id is a 404.
func (h *Handlers) merchantOrder(c echo.Context) (Order, error) {
	id := c.Param("id")
	if !engine.ValidID(id) {
		return Order{}, fault.NotFound("order")
	}
	return h.svc.GetForMerchant(c.Request().Context(), tenants.FromContext(c).ID, id)
}

func (h *Handlers) adminOrder(c echo.Context) error {
	o, err := h.merchantOrder(c)
	if err != nil {
		return err
	}
	t := tenants.FromContext(c)
	toRefund, err := h.orderToRefund(c.Request().Context(), t.ID, o.ID)
	if err != nil {
		return err
	}
	days, err := h.completeDays(c.Request().Context(), t.ID, o)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "admin_order.html", AdminPage{Shop: t, Order: viewOf(o, shopZone(t)),
		Form: defaultForm(o), Notice: adminNotice(c), ToRefund: toRefund, CanRestock: h.svc.restock != nil, CompleteDays: days})
}

// completeDays is after how many days of shipping the shop completes
// orders by itself, for a shipped order's page (0 for the others).
func (h *Handlers) completeDays(ctx context.Context, tenantID string, o Order) (int, error) {
	if o.Status != Shipped {
		return 0, nil
	}
	st, err := h.svc.Settings(ctx, tenantID)
	return st.AutoCompleteDays, err
}

// orderToRefund is the order's payments waiting for a refund.
func (h *Handlers) orderToRefund(ctx context.Context, tenantID, orderID string) ([]Payment, error) {
	all, err := h.svc.OrderPayments(ctx, tenantID, orderID)
	var out []Payment
	for _, p := range all {
		if p.Refund == PaymentToRefund {
			out = append(out, p)
		}
	}
	return out, err
}

func (h *Handlers) adminPaymentRefunded(c echo.Context) error {
	return h.adminAction(c, "payment_refunded", func(ctx context.Context, tenantID string, o Order, _ ActionForm) error {
		_, err := h.svc.MarkRefunded(ctx, tenantID, o.ID, c.FormValue("provider"), c.FormValue("transaction_id"))
		return err
	})
}

// Couriers are the codes of the couriers the ship form offers by name
// (courier.<code> in the page's language).
func (AdminPage) Couriers() []string { return CourierCodes() }

// defaultForm proposes a full refund of what is left.
func defaultForm(o Order) ActionForm {
	f := ActionForm{}
	if o.Refundable > 0 {
		f.RefundAmount = catalog.FormatYuan(o.Refundable)
	}
	return f
}

func actionForm(c echo.Context) ActionForm {
	return ActionForm{Carrier: c.FormValue("carrier"), TrackingNo: c.FormValue("tracking_no"),
		CancelReason: c.FormValue("reason"), RefundAmount: c.FormValue("amount"), RefundReason: c.FormValue("reason"),
		RefundRestock: c.FormValue("restock") == "1"}
}

// adminAction runs one action on the :id order and goes back to the order,
// or shows it again with why the action was refused.
func (h *Handlers) adminAction(c echo.Context, done string, act func(ctx context.Context, tenantID string, o Order, f ActionForm) error) error {
	o, err := h.merchantOrder(c)
	if err != nil {
		return err
	}
	t := tenants.FromContext(c)
	f := actionForm(c)
	err = act(c.Request().Context(), t.ID, o, f)
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 && fe.Status != http.StatusNotFound {
		fresh, gerr := h.merchantOrder(c)
		if gerr != nil {
			return gerr
		}
		if f.RefundAmount == "" {
			f.RefundAmount = defaultForm(fresh).RefundAmount
		}
		toRefund, rerr := h.orderToRefund(c.Request().Context(), t.ID, fresh.ID)
		if rerr != nil {
			return rerr
		}
		days, derr := h.completeDays(c.Request().Context(), t.ID, fresh)
		if derr != nil {
			return derr
		}
		return c.Render(fe.Status, "admin_order.html", AdminPage{Shop: t, Order: viewOf(fresh, shopZone(t)), Form: f,
			Error: pageError(c.Request().Context(), fe), ToRefund: toRefund, CanRestock: h.svc.restock != nil, CompleteDays: days})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/orders/"+o.ID+"?done="+done)
}

func (h *Handlers) adminShip(c echo.Context) error {
	return h.adminAction(c, "shipped", func(ctx context.Context, tenantID string, o Order, f ActionForm) error {
		// A courier the console offers is kept by its English name, which
		// pages show in their language (courier.go).
		_, err := h.svc.Ship(ctx, tenantID, o.ID, CourierName(f.Carrier), f.TrackingNo)
		return err
	})
}

func (h *Handlers) adminComplete(c echo.Context) error {
	return h.adminAction(c, "completed", func(ctx context.Context, tenantID string, o Order, _ ActionForm) error {
		_, err := h.svc.Complete(ctx, tenantID, o.ID)
		return err
	})
}

func (h *Handlers) adminCancel(c echo.Context) error {
	return h.adminAction(c, "cancelled", func(ctx context.Context, tenantID string, o Order, f ActionForm) error {
		reason := strings.TrimSpace(f.CancelReason)
		if reason == "" {
			reason = "cancelled by the shop" // a stored code: pages show order.reason.cancelled_by_the_shop
		}
		_, err := h.svc.Cancel(ctx, tenantID, o.ID, reason)
		return err
	})
}

func (h *Handlers) adminRefund(c echo.Context) error {
	return h.adminAction(c, "refunded", func(ctx context.Context, tenantID string, o Order, f ActionForm) error {
		amount, err := catalog.ParseYuan("amount", f.RefundAmount)
		if err != nil {
			return err
		}
		if amount == 0 {
			return fault.Invalid("amount", "must be more than ¥0.00")
		}
		_, err = h.svc.Refund(ctx, tenantID, o.ID, RefundRequest{Amount: amount, Reason: f.RefundReason,
			Restock: f.RefundRestock, NotifyURL: h.refundNotifyURL(c)})
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Status == http.StatusConflict {
			// The service words the limit in fen; the console speaks yuan.
			if cur, gerr := h.svc.Get(ctx, tenantID, o.ID); gerr == nil && cur.Paid > 0 && cur.Refundable < amount &&
				(cur.Status == Paid || cur.Status == Shipped || cur.Status == Completed || cur.Status == Refunded) {
				return fault.Conflict("at most ¥%s can still be refunded (paid ¥%s, refunded ¥%s); you asked for ¥%s",
					catalog.FormatYuan(cur.Refundable), catalog.FormatYuan(cur.Paid), catalog.FormatYuan(cur.Refunded),
					catalog.FormatYuan(amount))
			}
		}
		return err
	})
}
