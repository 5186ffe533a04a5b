package aftersale

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/catalog"
	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// The pages: the shopper's request form and request page (their buttons
// call the JSON API through static/js/aftersale.js; the pages render
// without it), the merchant's list and request page (forms posted with
// CSRF), the operator's queue and dispute page.

// Page is what the after-sale templates receive. Shop and Query are what
// the layouts read.
type Page struct {
	Shop     tenants.Tenant
	Query    string
	Now      time.Time
	Items    []Request
	Total    int64
	Status   string
	Statuses []string
	Offset   int
	HasMore  bool
	Request  Detail
	Order    order.Order
	// MaxAmount is what a new request on Order may ask at most.
	MaxAmount int64
	Disputes  []Dispute
	Dispute   Dispute
	Settings  Settings
	Notice    string
	Error     string
}

// Left is the time left before a deadline, in whole hours and minutes.
type Left struct {
	Hours, Minutes int64
	Over           bool
}

func leftUntil(at, now time.Time) Left {
	d := at.Sub(now)
	if d <= 0 {
		return Left{Over: true}
	}
	m := int64(d / time.Minute)
	return Left{Hours: m / 60, Minutes: m % 60}
}

// Left is the time left before r's deadline (zero when it has none).
func (r Request) Left(now time.Time) Left {
	if r.DueAt == nil {
		return Left{}
	}
	return leftUntil(*r.DueAt, now)
}

// DueMillis is r's deadline in Unix milliseconds, for the page's ticking
// countdown (0: none).
func (r Request) DueMillis() int64 {
	if r.DueAt == nil {
		return 0
	}
	return r.DueAt.UnixMilli()
}

// Left is the time left before the operator's target.
func (d Dispute) Left(now time.Time) Left { return leftUntil(d.TargetAt, now) }

// TargetMillis is the operator's target in Unix milliseconds.
func (d Dispute) TargetMillis() int64 { return d.TargetAt.UnixMilli() }

// IsOpen reports whether r is still running.
func (r Request) IsOpen() bool { return IsOpen(r.Status) }

// CanWithdraw reports whether the shopper may still withdraw r.
func (r Request) CanWithdraw() bool {
	return r.Status == Pending || r.Status == AwaitingReturn || r.Status == Rejected
}

func renderPrivate(c echo.Context, status int, name string, p Page) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.Render(status, name, p)
}

// StorefrontRoutes mounts the shopper's pages on g (/s/:slug).
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/orders/:id/after-sale", h.requestForm)
	g.GET("/after-sales/:id", h.requestPage)
}

func (h *Handlers) requestForm(c echo.Context) error {
	ctx, t := c.Request().Context(), tenants.FromContext(c)
	id := c.Param("id")
	if !engine.ValidID(id) {
		return fault.NotFound("order")
	}
	o, err := h.svc.orders.Get(ctx, t.ID, id)
	if err != nil {
		return err
	}
	if o.FanID != fan.FromContext(c) || o.Status == order.Placing || o.Status == order.Rejected {
		return fault.NotFound("order")
	}
	p := Page{Shop: t, Order: o, Now: h.svc.clock(), MaxAmount: o.Refundable}
	reqs, err := h.svc.ByOrder(ctx, t.ID, o.ID)
	if err != nil {
		return err
	}
	for _, r := range reqs {
		if IsOpen(r.Status) {
			p.MaxAmount -= r.Amount
		}
	}
	p.MaxAmount = max(p.MaxAmount, 0)
	p.Items = reqs
	return renderPrivate(c, http.StatusOK, "shop_aftersale_new.html", p)
}

func (h *Handlers) requestPage(c echo.Context) error {
	ctx, t := c.Request().Context(), tenants.FromContext(c)
	if !engine.ValidID(c.Param("id")) {
		return fault.NotFound("after-sale request")
	}
	r, err := h.fanRequest(c)
	if err != nil {
		return err
	}
	d, err := h.svc.Detail(ctx, t.ID, r)
	if err != nil {
		return err
	}
	return renderPrivate(c, http.StatusOK, "shop_aftersale.html", Page{Shop: t, Request: d, Now: h.svc.clock()})
}

// AdminRoutes mounts the merchant's console pages on g (/admin).
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/after-sales", h.adminList)
	g.POST("/after-sales/settings", h.adminSettings)
	g.GET("/after-sales/:id", h.adminRequest)
	g.POST("/after-sales/:id/approve", h.adminAct("approved", func(ctx context.Context, t string, id string, c echo.Context) error {
		_, err := h.svc.Approve(ctx, t, id)
		return err
	}))
	g.POST("/after-sales/:id/reject", h.adminAct("rejected", func(ctx context.Context, t string, id string, c echo.Context) error {
		_, err := h.svc.Reject(ctx, t, id, c.FormValue("reason"))
		return err
	}))
	g.POST("/after-sales/:id/confirm-return", h.adminAct("received", func(ctx context.Context, t string, id string, c echo.Context) error {
		_, err := h.svc.ConfirmReturn(ctx, t, id)
		return err
	}))
	g.POST("/after-sales/:id/messages", h.adminAct("sent", func(ctx context.Context, t string, id string, c echo.Context) error {
		r, err := h.svc.Get(ctx, t, id)
		if err != nil {
			return err
		}
		_, err = h.svc.AddMessage(ctx, t, r, ByMerchant, MessageRequest{Text: c.FormValue("text")})
		return err
	}))
}

// perPage is how many requests one console page lists.
const perPage = 20

func (h *Handlers) adminList(c echo.Context) error {
	return h.renderList(c, http.StatusOK, "", "")
}

func (h *Handlers) renderList(c echo.Context, code int, notice, errText string) error {
	ctx, t := c.Request().Context(), tenants.FromContext(c)
	status := c.QueryParam("status")
	if status != "" && !slices.Contains(Statuses, status) {
		status = ""
	}
	offset, _ := strconv.Atoi(c.QueryParam("offset"))
	offset = max(0, min(offset, 100000))
	items, total, err := h.svc.List(ctx, t.ID, status, perPage, offset)
	if err != nil {
		return err
	}
	st, err := h.svc.Settings(ctx, t.ID)
	if err != nil {
		return err
	}
	return c.Render(code, "admin_aftersales.html", Page{Shop: t, Now: h.svc.clock(), Items: items, Total: total, Status: status,
		Statuses: Statuses, Offset: offset, HasMore: int64(offset+perPage) < total, Settings: st, Notice: notice, Error: errText})
}

func (h *Handlers) adminSettings(c echo.Context) error {
	ctx, t := c.Request().Context(), tenants.FromContext(c)
	st, err := h.svc.Settings(ctx, t.ID)
	if err != nil {
		return err
	}
	if err := engine.ParseRev(c.FormValue("rev"), &st.Rev); err != nil { // a form drawn before another save is refused
		return h.renderList(c, http.StatusBadRequest, "", fault.Message(ctx, err))
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"window_days", &st.WindowDays}, {"answer_hours", &st.AnswerHours}, {"unshipped_hours", &st.UnshippedHours},
		{"return_days", &st.ReturnDays}, {"confirm_days", &st.ConfirmDays}, {"escalate_days", &st.EscalateDays}} {
		n, err := engine.ParseOptInt(f.name, c.FormValue(f.name))
		if err != nil {
			return h.renderList(c, http.StatusBadRequest, "", fault.Message(ctx, err))
		}
		*f.v = n
	}
	if _, err := h.svc.SaveSettings(ctx, t.ID, st); err != nil {
		if fe, ok := fault.Client(err); ok {
			return h.renderList(c, fe.Status, "", fault.Message(ctx, err))
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/after-sales?done=saved")
}

func (h *Handlers) adminRequest(c echo.Context) error {
	return h.renderRequest(c, http.StatusOK, "")
}

func (h *Handlers) renderRequest(c echo.Context, code int, errText string) error {
	ctx, t := c.Request().Context(), tenants.FromContext(c)
	id := c.Param("id")
	if !engine.ValidID(id) {
		return fault.NotFound("after-sale request")
	}
	r, err := h.svc.Get(ctx, t.ID, id)
	if err != nil {
		return err
	}
	d, err := h.svc.Detail(ctx, t.ID, r)
	if err != nil {
		return err
	}
	return c.Render(code, "admin_aftersale.html", Page{Shop: t, Now: h.svc.clock(), Request: d, Error: errText})
}

// adminAct is a console action on the :id request: done names the notice
// shown after it (?done=); a refusal shows the request page with the error.
func (h *Handlers) adminAct(done string, act func(ctx context.Context, tenantID, id string, c echo.Context) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, t := c.Request().Context(), tenants.FromContext(c)
		id := c.Param("id")
		if !engine.ValidID(id) {
			return fault.NotFound("after-sale request")
		}
		err := act(ctx, t.ID, id, c)
		if fe, ok := fault.Client(err); ok && fe.Status != http.StatusNotFound {
			return h.renderRequest(c, fe.Status, fault.Message(ctx, err))
		}
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/admin/after-sales/"+id+"?done="+done)
	}
}

// OpsRoutes mounts the operator's console pages on g (/ops).
func (h *Handlers) OpsRoutes(g *echo.Group) {
	g.GET("/disputes", h.opsQueue)
	g.GET("/disputes/:id", h.opsDispute)
	g.POST("/disputes/:id/decide", h.opsDecideForm)
}

func (h *Handlers) opsQueue(c echo.Context) error {
	if _, err := operator(c); err != nil {
		return err
	}
	status := c.QueryParam("status")
	if status != DisputeDecided {
		status = DisputeOpen
	}
	list, err := h.svc.ListDisputes(c.Request().Context(), status)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "ops_disputes.html", Page{Now: h.svc.clock(), Disputes: list, Status: status})
}

func (h *Handlers) opsDispute(c echo.Context) error {
	return h.renderDispute(c, http.StatusOK, "")
}

func (h *Handlers) renderDispute(c echo.Context, code int, errText string) error {
	if _, err := operator(c); err != nil {
		return err
	}
	if !engine.ValidID(c.Param("id")) {
		return fault.NotFound("dispute")
	}
	v, err := h.svc.Dispute(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.Render(code, "ops_dispute.html", Page{Now: h.svc.clock(), Dispute: v.Dispute, Request: v.Request, Error: errText})
}

func (h *Handlers) opsDecideForm(c echo.Context) error {
	op, err := operator(c)
	if err != nil {
		return err
	}
	ctx, id := c.Request().Context(), c.Param("id")
	if !engine.ValidID(id) {
		return fault.NotFound("dispute")
	}
	in := DecideRequest{Outcome: c.FormValue("outcome"), Note: c.FormValue("note")}
	if in.Outcome == OutcomeRefund && c.FormValue("amount") != "" {
		if in.Amount, err = catalog.ParseYuan("amount", c.FormValue("amount")); err != nil {
			return h.renderDispute(c, http.StatusBadRequest, fault.Message(ctx, err))
		}
	}
	_, err = h.svc.DecideDispute(ctx, id, op.ID, in)
	if fe, ok := fault.Client(err); ok && fe.Status != http.StatusNotFound {
		return h.renderDispute(c, fe.Status, fault.Message(ctx, err))
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ops/disputes/"+id+"?done=decided")
}
