package market

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Handlers serve the market: the merchant's listing switch (/api/v1/market,
// /admin/market), the market itself (/m/ pages and /m/api), and the
// operator's reports queue (/ops/market, /api/ops/v1/market).
type Handlers struct {
	svc     *Service
	hider   Hider
	reports *tenants.WindowCounter
	secure  bool
}

// NewHandlers returns the market's handlers; hider takes a prohibited
// product off its shop's shelves; counters count reports.
func NewHandlers(svc *Service, hider Hider, secureCookies bool, counters tenants.Counters) *Handlers {
	return &Handlers{svc: svc, hider: hider, reports: counters.Window("reports", time.Hour), secure: secureCookies}
}

// APIRoutes mounts GET and PUT /market on g (/api/v1).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/market", h.getListing)
	g.PUT("/market", h.putListing)
}

func (h *Handlers) getListing(c echo.Context) error {
	sh, err := h.svc.Listing(c.Request().Context(), tenants.FromContext(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sh)
}

func (h *Handlers) putListing(c echo.Context) error {
	var in ListingInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	sh, err := h.svc.SetListing(c.Request().Context(), tenants.FromContext(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sh)
}

// MarketRoutes mounts the market's pages on g (/m, with CSRF on forms).
func (h *Handlers) MarketRoutes(g *echo.Group) {
	g.GET("/", h.home)
	g.GET("/search", h.searchPage)
	g.GET("/ranking", h.rankingPage)
	g.GET("/report", h.reportForm)
	g.POST("/report", h.reportPost)
	h.peopleRoutes(g)
}

// MarketAPIRoutes mounts the market's JSON on g (/m/api; public, no key).
func (h *Handlers) MarketAPIRoutes(g *echo.Group) {
	g.GET("/search", h.searchAPI)
	g.GET("/ranking-formula", h.formulaAPI)
	g.POST("/reports", h.reportAPI)
}

func queryOf(c echo.Context) Query {
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	return Query{Text: c.QueryParam("q"), Category: c.QueryParam("category"), Cursor: c.QueryParam("cursor"), Limit: limit}
}

func (h *Handlers) searchAPI(c echo.Context) error {
	res, err := h.svc.Search(c.Request().Context(), queryOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (h *Handlers) formulaAPI(c echo.Context) error {
	return c.JSON(http.StatusOK, PublishedFormula())
}

const visitorLen = 26

// visitorCookie names a market visitor (who reported what), no more.
const visitorCookie = "ms_mv"

func (h *Handlers) visitor(c echo.Context) string {
	if ck, err := c.Cookie(visitorCookie); err == nil && len(ck.Value) == visitorLen {
		return ck.Value
	}
	v := engine.NewSecret(visitorLen)
	c.SetCookie(&http.Cookie{Name: visitorCookie, Value: v, Path: "/m", HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	return v
}

// maxReportsPerHour bounds one visitor's (and one address's) reports.
const maxReportsPerHour = 10

func (h *Handlers) report(c echo.Context, in ReportInput) (Report, error) {
	who := h.visitor(c)
	now := time.Now()
	if ok, _ := h.reports.Take("v:"+who, maxReportsPerHour, now); !ok {
		return Report{}, fault.New(http.StatusTooManyRequests, "rate_limited", "too many reports; try again later")
	}
	if ok, _ := h.reports.Take("ip:"+c.RealIP(), 3*maxReportsPerHour, now); !ok {
		return Report{}, fault.New(http.StatusTooManyRequests, "rate_limited", "too many reports; try again later")
	}
	return h.svc.Report(c.Request().Context(), who, in)
}

func (h *Handlers) reportAPI(c echo.Context) error {
	var in ReportInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.report(c, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

// OpsAPIRoutes mounts the operator's market calls on g (/api/ops/v1).
func (h *Handlers) OpsAPIRoutes(g *echo.Group) {
	g.GET("/market/reports", h.opsReports)
	g.POST("/market/reports/:id/decide", h.opsDecide)
	g.POST("/market/delist", h.opsDelist)
	g.GET("/market/explain", h.opsExplain)
}

func (h *Handlers) opsReports(c echo.Context) error {
	rs, err := h.svc.Reports(c.Request().Context(), c.QueryParam("status"))
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []Report{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": rs})
}

func operator(c echo.Context) (tenants.Operator, error) {
	op, ok := tenants.OperatorFromContext(c)
	if !ok {
		return tenants.Operator{}, fault.New(http.StatusUnauthorized, "unauthorized", "an operator API key is required")
	}
	return op, nil
}

func (h *Handlers) opsDecide(c echo.Context) error {
	op, err := operator(c)
	if err != nil {
		return err
	}
	var d Decision
	if err := fault.DecodeJSON(c, &d); err != nil {
		return err
	}
	r, err := h.svc.Decide(c.Request().Context(), op, c.Param("id"), d, h.hider)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// DelistInput is an operator's delisting of a product.
type DelistInput struct {
	Shop      string `json:"shop"`
	ProductID string `json:"product_id"`
	Reason    string `json:"reason"`
}

func (h *Handlers) opsDelist(c echo.Context) error {
	if _, err := operator(c); err != nil {
		return err
	}
	var in DelistInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	reason, err := fault.Text("reason", in.Reason, 200)
	if err != nil {
		return err
	}
	if reason == "" {
		return fault.Invalid("reason", "is required")
	}
	it, _, ok := h.svc.itemBySlug(in.Shop, in.ProductID)
	if !ok {
		return fault.NotFound("product")
	}
	if err := h.svc.Delist(c.Request().Context(), it.TenantID, it.ProductID, reason); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *Handlers) opsExplain(c echo.Context) error {
	ex, err := h.svc.ExplainRank(c.Request().Context(), c.QueryParam("q"), c.QueryParam("shop"), c.QueryParam("product_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ex)
}
