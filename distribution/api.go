package distribution

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/distribution/guide"
	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Handlers serves distribution over HTTP: the merchant API, the console
// pages and the storefront's distributor centre.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the handlers of svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.POST("/stores", h.apiCreateStore)
	g.GET("/stores", h.apiStores)
	g.GET("/stores/:id", h.apiStore)
	g.PATCH("/stores/:id", h.apiPatchStore)
	g.POST("/guides", h.apiCreateGuide)
	g.GET("/guides", h.apiGuides)
	g.GET("/guides/:id", h.apiGuide)
	g.PATCH("/guides/:id", h.apiPatchGuide)
	g.GET("/guides/:id/qr.png", h.guideQR)
	g.POST("/guides/:id/handover", h.apiHandover)
	g.GET("/guide-report", h.apiReport)
	g.GET("/guide-report.csv", h.reportCSV)
	g.GET("/distribution/settings", h.apiSettings)
	g.PUT("/distribution/settings", h.apiSaveSettings)
	g.GET("/distribution/orders/:id", h.apiOrderPath)
	g.POST("/distribution/rebuild", h.apiRebuild)
	g.GET("/distributors", h.apiDistributors)
	g.GET("/distributors/:id", h.apiDistributor)
	g.GET("/distributors/:id/children", h.apiChildren)
	g.POST("/distributors/:id/approve", h.apiApprove)
	g.POST("/distributors/:id/reject", h.apiReject)
	g.POST("/distributors/:id/move", h.apiMove)
	g.GET("/commissions", h.apiCommissions)
	g.GET("/withdrawals", h.apiWithdrawals)
	g.GET("/withdrawals/:id", h.apiWithdrawal)
	g.POST("/withdrawals/:id/approve", h.apiDecide(ledger.Approve))
	g.POST("/withdrawals/:id/reject", h.apiDecide(ledger.Reject))
	g.POST("/withdrawals/:id/pay", h.apiDecide(ledger.Pay))
	g.GET("/customers/:id", h.apiCustomer)
	g.PUT("/customers/:id/binding", h.apiRebind)
}

func tenantOf(c echo.Context) tenants.Tenant { return tenants.FromContext(c) }

// decodeOptional decodes a JSON body if there is one.
func decodeOptional(c echo.Context, v any) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	return fault.DecodeJSON(c, v)
}

func queryInt(c echo.Context, name string, def, lo, hi int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fault.Invalid(name, "must be a whole number between %d and %d", lo, hi)
	}
	return n, nil
}

// base is the public address for links and QR codes.
func (h *Handlers) base(c echo.Context) string {
	if h.svc.baseURL != "" {
		return strings.TrimSuffix(h.svc.baseURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

// GuideJSON is a guide as the API answers it.
type GuideJSON struct {
	guide.Guide
	Link  string `json:"link"`   // the storefront link the QR encodes (without WeChat)
	QRURL string `json:"qr_url"` // the QR code as a PNG
}

func (h *Handlers) guideJSON(c echo.Context, g guide.Guide) GuideJSON {
	t := tenantOf(c)
	return GuideJSON{Guide: g, Link: h.base(c) + "/s/" + t.Slug + "/?g=" + g.Code, QRURL: "/api/v1/guides/" + g.ID + "/qr.png"}
}

func (h *Handlers) apiCreateStore(c echo.Context) error {
	var in guide.LocationInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	l, err := h.svc.guides.CreateLocation(c.Request().Context(), tenantOf(c).ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, l)
}

func (h *Handlers) apiStores(c echo.Context) error {
	ls, err := h.svc.guides.Store().Locations(c.Request().Context(), tenantOf(c).ID, 1000)
	if err != nil {
		return err
	}
	if ls == nil {
		ls = []guide.Location{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": ls})
}

func (h *Handlers) apiStore(c echo.Context) error {
	l, err := h.svc.guides.Location(c.Request().Context(), tenantOf(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

func (h *Handlers) apiPatchStore(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.svc.guides.Location(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	var in guide.LocationInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	l, err := h.svc.guides.UpdateLocation(ctx, tenantOf(c).ID, c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

func (h *Handlers) apiCreateGuide(c echo.Context) error {
	var in guide.GuideInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	g, err := h.svc.guides.CreateGuide(c.Request().Context(), tenantOf(c).ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h.guideJSON(c, g))
}

func (h *Handlers) apiGuides(c echo.Context) error {
	limit, err := queryInt(c, "limit", 100, 1, 500)
	if err != nil {
		return err
	}
	offset, err := queryInt(c, "offset", 0, 0, 1_000_000)
	if err != nil {
		return err
	}
	store := c.QueryParam("store_id")
	if store != "" && !engine.ValidID(store) {
		return fault.Invalid("store_id", "%q is not a store id", truncate(store))
	}
	gs, err := h.svc.guides.Store().Guides(c.Request().Context(), tenantOf(c).ID, store, limit, offset)
	if err != nil {
		return err
	}
	out := make([]GuideJSON, len(gs))
	for i, g := range gs {
		out[i] = h.guideJSON(c, g)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out, "limit": limit, "offset": offset})
}

func (h *Handlers) apiGuide(c echo.Context) error {
	g, err := h.svc.guides.Guide(c.Request().Context(), tenantOf(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.guideJSON(c, g))
}

func (h *Handlers) apiPatchGuide(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.svc.guides.Guide(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	var in guide.GuideInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	g, err := h.svc.guides.UpdateGuide(ctx, tenantOf(c).ID, c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.guideJSON(c, g))
}

func (h *Handlers) apiHandover(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.svc.guides.Guide(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	var in struct {
		ToGuideID string `json:"to_guide_id"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.Handover(ctx, tenantOf(c).ID, c.Param("id"), in.ToGuideID, "api")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// ReportQuery is a funnel report request.
type ReportQuery struct {
	Group, Period    string
	From, To         string // days, inclusive
	GuideID, StoreID string
}

// reportQuery reads ?group&period&from&to&guide_id&store_id; the range
// defaults to the last 30 days in the shop's time zone.
func (h *Handlers) reportQuery(c echo.Context) (ReportQuery, error) {
	t := tenantOf(c)
	q := ReportQuery{Group: c.QueryParam("group"), Period: c.QueryParam("period"), GuideID: c.QueryParam("guide_id"),
		StoreID: c.QueryParam("store_id"), From: c.QueryParam("from"), To: c.QueryParam("to")}
	if q.Group == "" {
		q.Group = "guide"
	}
	if q.Period == "" {
		q.Period = "range"
	}
	today := guide.DayOf(h.svc.clock(), zoneOf(t))
	if q.To == "" {
		q.To = today
	}
	to, err := time.Parse("2006-01-02", q.To)
	if err != nil {
		return q, fault.Invalid("to", "must be a date like 2026-11-24")
	}
	if q.From == "" {
		q.From = to.AddDate(0, 0, -29).Format("2006-01-02")
	}
	from, err := time.Parse("2006-01-02", q.From)
	if err != nil {
		return q, fault.Invalid("from", "must be a date like 2026-11-01")
	}
	if from.After(to) {
		return q, fault.Invalid("from", "must not be after to")
	}
	if to.Sub(from) > 3*366*24*time.Hour {
		return q, fault.Invalid("from", "a report spans at most three years")
	}
	if q.GuideID != "" && !engine.ValidID(q.GuideID) {
		return q, fault.Invalid("guide_id", "%q is not a guide id", truncate(q.GuideID))
	}
	if q.StoreID != "" && !engine.ValidID(q.StoreID) {
		return q, fault.Invalid("store_id", "%q is not a store id", truncate(q.StoreID))
	}
	return q, nil
}

// Report is a funnel report.
type Report struct {
	Group  string      `json:"group"`
	Period string      `json:"period"`
	From   string      `json:"from"`
	To     string      `json:"to"`
	Rows   []guide.Row `json:"rows"`
	Total  guide.Row   `json:"total"`
}

func (h *Handlers) report(ctx context.Context, tenantID string, q ReportQuery) (Report, error) {
	days, err := h.svc.guides.Store().Days(ctx, tenantID, guide.DayFilter{GuideID: q.GuideID, StoreID: q.StoreID, From: q.From, To: q.To})
	if err != nil {
		return Report{}, err
	}
	names := map[string]string{}
	if q.Group == "store" {
		ls, err := h.svc.guides.Store().Locations(ctx, tenantID, 1000)
		if err != nil {
			return Report{}, err
		}
		for _, l := range ls {
			names[l.ID] = l.Name
		}
	} else {
		gs, err := h.svc.guides.Store().Guides(ctx, tenantID, "", 5000, 0)
		if err != nil {
			return Report{}, err
		}
		for _, g := range gs {
			names[g.ID] = g.Name
		}
	}
	rows, err := guide.Report(days, q.Group, q.Period, names)
	if err != nil {
		return Report{}, err
	}
	return Report{Group: q.Group, Period: q.Period, From: q.From, To: q.To, Rows: rows, Total: guide.Total(days)}, nil
}

func (h *Handlers) apiReport(c echo.Context) error {
	q, err := h.reportQuery(c)
	if err != nil {
		return err
	}
	r, err := h.report(c.Request().Context(), tenantOf(c).ID, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// reportCSV is the funnel report as CSV (amounts in yuan), for
// spreadsheets.
func (h *Handlers) reportCSV(c echo.Context) error {
	q, err := h.reportQuery(c)
	if err != nil {
		return err
	}
	r, err := h.report(c.Request().Context(), tenantOf(c).ID, q)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	c.Response().Header().Set(echo.HeaderContentDisposition,
		fmt.Sprintf(`attachment; filename="guide-report-%s-%s-%s.csv"`, q.Group, q.From, q.To))
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{q.Group + "_id", "name", "period", "visits", "follows", "new_fans", "ordering_fans", "orders",
		"paid_gmv_yuan", "refunds", "refund_amount_yuan", "conversion_pct"})
	for _, row := range r.Rows {
		period := row.Period
		if period == "" {
			period = q.From + ".." + q.To
		}
		_ = w.Write([]string{row.Key, csvSafe(row.Name), period, itoa(row.Visits), itoa(row.Follows), itoa(row.NewFans),
			itoa(row.OrderingFans), itoa(row.Orders), Yuan(row.PaidGMV), itoa(row.Refunds), Yuan(row.RefundAmount),
			strconv.FormatFloat(row.Conversion, 'f', 1, 64)})
	}
	w.Flush()
	return w.Error()
}

// csvSafe keeps a spreadsheet from running a name as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Yuan formats fen as yuan with two decimals ("-1.05" for -105).
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// SettingsJSON is the settings with what the merchant should know.
type SettingsJSON struct {
	Settings
	Warning string `json:"warning,omitempty"`
}

func (h *Handlers) apiSettings(c echo.Context) error {
	st, err := h.svc.settings(c.Request().Context(), tenantOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, SettingsJSON{Settings: st, Warning: st.Warning()})
}

func (h *Handlers) apiSaveSettings(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := h.svc.settings(ctx, tenantOf(c).ID)
	if err != nil {
		return err
	}
	// Decode over the current settings: fields left out stay as they are.
	if err := fault.DecodeJSON(c, &st); err != nil {
		return err
	}
	if err := h.svc.SaveSettings(ctx, tenantOf(c).ID, st); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, SettingsJSON{Settings: st, Warning: st.Warning()})
}

// SaveSettings validates and stores a shop's settings.
func (s *Service) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	if err := st.Validate(); err != nil {
		return err
	}
	return s.store.SaveSettings(ctx, tenantID, st)
}

// PathStep is one beneficiary on an order's recommendation path.
type PathStep struct {
	Level         int    `json:"level"`
	DistributorID string `json:"distributor_id"`
	Code          string `json:"code,omitempty"`
	FanID         string `json:"fan_id,omitempty"`
	Depth         int    `json:"depth,omitempty"`
}

// OrderPath is an order's attribution with its recommendation path
// (fan ← L1 ← L2) and its commission entries.
type OrderPath struct {
	OrderID     string            `json:"order_id"`
	FanID       string            `json:"fan_id"`
	Status      string            `json:"status"`
	Attribution order.Attribution `json:"attribution"`
	GuideName   string            `json:"guide_name,omitempty"`
	Path        []PathStep        `json:"path"`
	Commissions []ledger.Entry    `json:"commissions"`
}

// OrderPath explains an order's attribution.
func (s *Service) OrderPath(ctx context.Context, tenantID, orderID string) (OrderPath, error) {
	if s.orders == nil || !engine.ValidID(orderID) {
		return OrderPath{}, fault.NotFound("order")
	}
	o, err := s.orders.Get(ctx, tenantID, orderID)
	if err != nil {
		return OrderPath{}, err
	}
	if o.Status == order.Placing || o.Status == order.Rejected {
		return OrderPath{}, fault.NotFound("order")
	}
	p := OrderPath{OrderID: o.ID, FanID: o.FanID, Status: o.Status, Attribution: o.Attribution, Path: []PathStep{}, Commissions: []ledger.Entry{}}
	if o.Attribution.GuideID != "" {
		if g, err := s.guides.Store().Guide(ctx, tenantID, o.Attribution.GuideID); err == nil {
			p.GuideName = g.Name
		}
	}
	ds, err := s.tree.Store().Many(ctx, tenantID, o.Attribution.Path)
	if err != nil {
		return OrderPath{}, err
	}
	for i, id := range o.Attribution.Path {
		d := ds[id]
		p.Path = append(p.Path, PathStep{Level: i + 1, DistributorID: id, Code: d.Code, FanID: d.FanID, Depth: d.Depth})
	}
	es, err := s.ledger.ByOrder(ctx, tenantID, o.ID)
	if err != nil {
		return OrderPath{}, err
	}
	for _, e := range es {
		if e.Class == ledger.ClassCommission {
			p.Commissions = append(p.Commissions, e)
		}
	}
	return p, nil
}

func (h *Handlers) apiOrderPath(c echo.Context) error {
	p, err := h.svc.OrderPath(c.Request().Context(), tenantOf(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (h *Handlers) apiRebuild(c echo.Context) error {
	r, err := h.svc.Rebuild(c.Request().Context(), tenantOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// DistributorJSON is a distributor with its counters and balance.
type DistributorJSON struct {
	tree.View
	Balance       ledger.Balance `json:"balance"`
	NextAvailable time.Time      `json:"next_available_at,omitzero"`
}

// Distributor returns one distributor with counters and balance.
func (s *Service) Distributor(ctx context.Context, tenantID, id string) (DistributorJSON, error) {
	if !engine.ValidID(id) {
		return DistributorJSON{}, fault.NotFound("distributor")
	}
	v, err := s.tree.View(ctx, tenantID, id)
	if err != nil {
		return DistributorJSON{}, err
	}
	b, err := s.ledger.Balance(ctx, tenantID, id)
	if err != nil {
		return DistributorJSON{}, err
	}
	next, err := s.ledger.NextAvailable(ctx, tenantID, id)
	return DistributorJSON{View: v, Balance: b, NextAvailable: next}, err
}

func (h *Handlers) apiDistributors(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenantOf(c)
	limit, err := queryInt(c, "limit", 50, 1, 200)
	if err != nil {
		return err
	}
	offset, err := queryInt(c, "offset", 0, 0, 1_000_000)
	if err != nil {
		return err
	}
	var items []tree.View
	switch top := c.QueryParam("top"); {
	case top != "":
		if top != "sales" && top != "size" {
			return fault.Invalid("top", "must be sales or size")
		}
		items, err = h.svc.tree.Top(ctx, t.ID, top, limit)
	case c.QueryParam("status") != "":
		st := c.QueryParam("status")
		if st != tree.Active && st != tree.Pending && st != tree.Rejected {
			return fault.Invalid("status", "must be active, pending or rejected")
		}
		var ds []tree.Distributor
		if ds, err = h.svc.tree.Store().List(ctx, t.ID, st, limit, offset); err == nil {
			for _, d := range ds {
				items = append(items, tree.View{Distributor: d, Children: -1})
			}
		}
	default:
		parent := c.QueryParam("parent_id")
		if parent != "" && !engine.ValidID(parent) {
			return fault.Invalid("parent_id", "%q is not a distributor id", truncate(parent))
		}
		items, err = h.svc.tree.Children(ctx, t.ID, parent, limit, offset)
	}
	if err != nil {
		return err
	}
	if items == nil {
		items = []tree.View{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "limit": limit, "offset": offset})
}

func (h *Handlers) apiDistributor(c echo.Context) error {
	d, err := h.svc.Distributor(c.Request().Context(), tenantOf(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (h *Handlers) apiChildren(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.svc.Distributor(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 50, 1, 200)
	if err != nil {
		return err
	}
	offset, err := queryInt(c, "offset", 0, 0, 1_000_000)
	if err != nil {
		return err
	}
	items, err := h.svc.tree.Children(ctx, tenantOf(c).ID, c.Param("id"), limit, offset)
	if err != nil {
		return err
	}
	if items == nil {
		items = []tree.View{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "limit": limit, "offset": offset})
}

func (h *Handlers) apiApprove(c echo.Context) error { return h.apiApplication(c, true) }
func (h *Handlers) apiReject(c echo.Context) error  { return h.apiApplication(c, false) }

func (h *Handlers) apiApplication(c echo.Context, approve bool) error {
	ctx := c.Request().Context()
	if _, err := h.svc.Distributor(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	if _, err := h.svc.tree.Decide(ctx, tenantOf(c).ID, c.Param("id"), approve); err != nil {
		return err
	}
	return h.apiDistributor(c)
}

func (h *Handlers) apiMove(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.svc.Distributor(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	var in struct {
		ParentID string `json:"parent_id"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.ParentID != "" && !engine.ValidID(in.ParentID) {
		return fault.Invalid("parent_id", "%q is not a distributor id", truncate(in.ParentID))
	}
	if _, err := h.svc.tree.Move(ctx, tenantOf(c).ID, c.Param("id"), in.ParentID); err != nil {
		return err
	}
	return h.apiDistributor(c)
}

func (h *Handlers) ledgerFilter(c echo.Context, class string) (ledger.Filter, error) {
	f := ledger.Filter{Class: class, OrderID: c.QueryParam("order_id"), Beneficiary: c.QueryParam("beneficiary"), Status: c.QueryParam("status")}
	var err error
	if f.Limit, err = queryInt(c, "limit", 50, 1, 200); err != nil {
		return f, err
	}
	if f.Offset, err = queryInt(c, "offset", 0, 0, 1_000_000); err != nil {
		return f, err
	}
	if f.OrderID != "" && !engine.ValidID(f.OrderID) {
		return f, fault.Invalid("order_id", "%q is not an order id", truncate(f.OrderID))
	}
	if f.Beneficiary != "" && !engine.ValidID(f.Beneficiary) {
		return f, fault.Invalid("beneficiary", "%q is not a distributor id", truncate(f.Beneficiary))
	}
	statuses := map[string][]string{ledger.ClassCommission: {ledger.Pending, ledger.Available},
		ledger.ClassWithdrawal: {ledger.Requested, ledger.Approved, ledger.Paid, ledger.Rejected}}[class]
	if f.Status != "" && !contains(statuses, f.Status) {
		return f, fault.Invalid("status", "must be one of %s", strings.Join(statuses, ", "))
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (h *Handlers) apiCommissions(c echo.Context) error {
	f, err := h.ledgerFilter(c, ledger.ClassCommission)
	if err != nil {
		return err
	}
	es, err := h.svc.ledger.List(c.Request().Context(), tenantOf(c).ID, f)
	if err != nil {
		return err
	}
	if es == nil {
		es = []ledger.Entry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": es, "limit": f.Limit, "offset": f.Offset})
}

func (h *Handlers) apiWithdrawals(c echo.Context) error {
	f, err := h.ledgerFilter(c, ledger.ClassWithdrawal)
	if err != nil {
		return err
	}
	es, err := h.svc.ledger.List(c.Request().Context(), tenantOf(c).ID, f)
	if err != nil {
		return err
	}
	out := make([]Withdrawal, len(es))
	for i, e := range es {
		out[i] = withdrawal(e)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out, "limit": f.Limit, "offset": f.Offset})
}

// Withdrawal is a withdrawal as the API shows it (its id without the
// ledger prefix).
type Withdrawal struct {
	ID          string    `json:"id"`
	Distributor string    `json:"distributor_id"`
	Status      string    `json:"status"`
	Amount      int64     `json:"amount"`
	Fee         int64     `json:"fee"`
	Payout      int64     `json:"payout"`
	Note        string    `json:"note,omitempty"`
	TransferRef string    `json:"transfer_ref,omitempty"`
	At          time.Time `json:"at"`
	DecidedAt   time.Time `json:"decided_at,omitzero"`
	PaidAt      time.Time `json:"paid_at,omitzero"`
}

func withdrawal(e ledger.Entry) Withdrawal {
	return Withdrawal{ID: strings.TrimPrefix(e.ID, "withdraw:"), Distributor: e.Beneficiary, Status: e.Status, Amount: e.Amount,
		Fee: e.Fee, Payout: e.Payout, Note: e.Note, TransferRef: e.TransferRef, At: e.At, DecidedAt: e.DecidedAt, PaidAt: e.PaidAt}
}

func (h *Handlers) withdrawalOf(c echo.Context) (ledger.Entry, error) {
	id := c.Param("id")
	if !engine.ValidID(id) {
		return ledger.Entry{}, fault.NotFound("withdrawal")
	}
	return h.svc.ledger.Withdrawal(c.Request().Context(), tenantOf(c).ID, ledger.WithdrawalID(id))
}

func (h *Handlers) apiWithdrawal(c echo.Context) error {
	w, err := h.withdrawalOf(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, withdrawal(w))
}

func (h *Handlers) apiDecide(decision string) echo.HandlerFunc {
	return func(c echo.Context) error {
		w, err := h.withdrawalOf(c)
		if err != nil {
			return err
		}
		var in struct {
			TransferRef string `json:"transfer_ref"`
		}
		if err := decodeOptional(c, &in); err != nil {
			return err
		}
		w, err = h.svc.ledger.Decide(c.Request().Context(), tenantOf(c).ID, w.ID, decision, strings.TrimSpace(in.TransferRef))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, withdrawal(w))
	}
}

// Customer is a fan's binding and its audit trail.
type Customer struct {
	Binding Binding    `json:"binding"`
	History []LogEntry `json:"history"`
}

func (h *Handlers) customer(ctx context.Context, tenantID, fanID string) (Customer, error) {
	if !engine.ValidID(fanID) {
		return Customer{}, fault.NotFound("customer")
	}
	b, err := h.svc.store.Binding(ctx, tenantID, fanID)
	if err != nil {
		return Customer{}, err
	}
	hist, err := h.svc.store.History(ctx, tenantID, fanID, 100)
	if err != nil {
		return Customer{}, err
	}
	if hist == nil {
		hist = []LogEntry{}
	}
	return Customer{Binding: b, History: hist}, nil
}

func (h *Handlers) apiCustomer(c echo.Context) error {
	cu, err := h.customer(c.Request().Context(), tenantOf(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cu)
}

func (h *Handlers) apiRebind(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.customer(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	var in struct {
		Slot string `json:"slot"`
		ID   string `json:"id"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	if _, err := h.svc.Reassign(ctx, tenantOf(c).ID, c.Param("id"), in.Slot, in.ID, "api"); err != nil {
		return err
	}
	return h.apiCustomer(c)
}
