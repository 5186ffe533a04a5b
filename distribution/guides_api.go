package distribution

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/distribution/guide"
	"microshop/tenants/fault"
)

// GuideJSON is a guide as the API answers it.
type GuideJSON struct {
	guide.Guide
	Link  string `json:"link"`   // the storefront link the QR encodes (without WeChat)
	QRURL string `json:"qr_url"` // the QR code as a PNG
}

func (h *Handlers) guideJSON(c echo.Context, g guide.Guide) GuideJSON {
	return GuideJSON{Guide: g, Link: h.link(c, "g", g.Code), QRURL: "/api/v1/guides/" + g.ID + "/qr.png"}
}

func (h *Handlers) guidesJSON(c echo.Context, gs []guide.Guide) []GuideJSON {
	out := make([]GuideJSON, len(gs))
	for i, g := range gs {
		out[i] = h.guideJSON(c, g)
	}
	return out
}

func (h *Handlers) apiCreateStore(c echo.Context) error {
	var in guide.LocationInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	l, err := h.svc.guides.CreateLocation(c.Request().Context(), tenantOf(c).ID, in)
	return reply(c, http.StatusCreated, l, err)
}

func (h *Handlers) apiStores(c echo.Context) error {
	ls, err := h.svc.guides.Locations(c.Request().Context(), tenantOf(c).ID)
	return reply(c, http.StatusOK, map[string]any{"items": ls}, err)
}

func (h *Handlers) apiStore(c echo.Context) error {
	l, err := byID(c, h.svc.guides.Location)
	return reply(c, http.StatusOK, l, err)
}

func (h *Handlers) apiPatchStore(c echo.Context) error {
	l, err := edit(c, found(h.svc.guides.Location), h.svc.guides.UpdateLocation)
	return reply(c, http.StatusOK, l, err)
}

func (h *Handlers) apiCreateGuide(c echo.Context) error {
	var in guide.GuideInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	g, err := h.svc.guides.CreateGuide(c.Request().Context(), tenantOf(c).ID, in)
	return reply(c, http.StatusCreated, h.guideJSON(c, g), err)
}

func (h *Handlers) apiGuides(c echo.Context) error {
	limit, offset, err := page(c, 100, 500)
	if err != nil {
		return err
	}
	gs, err := h.svc.guides.List(c.Request().Context(), tenantOf(c).ID, c.QueryParam("store_id"), limit, offset)
	return list(c, h.guidesJSON(c, gs), limit, offset, err)
}

func (h *Handlers) apiGuide(c echo.Context) error {
	g, err := byID(c, h.svc.guides.Guide)
	return reply(c, http.StatusOK, h.guideJSON(c, g), err)
}

func (h *Handlers) apiPatchGuide(c echo.Context) error {
	g, err := edit(c, found(h.svc.guides.Guide), h.svc.guides.UpdateGuide)
	return reply(c, http.StatusOK, h.guideJSON(c, g), err)
}

func (h *Handlers) apiHandover(c echo.Context) error {
	r, err := edit(c, found(h.svc.guides.Guide), func(ctx context.Context, tenantID, id string, in struct {
		ToGuideID string `json:"to_guide_id"`
	}) (HandoverReport, error) {
		return h.svc.Handover(ctx, tenantID, id, in.ToGuideID, "api")
	})
	return reply(c, http.StatusOK, r, err)
}

// reportQuery reads ?group&period&from&to&guide_id&store_id, resolved by
// the service (the range defaults to the last 30 days).
func (h *Handlers) reportQuery(c echo.Context) (ReportQuery, error) {
	return h.svc.ResolveReport(tenantOf(c), ReportQuery{Group: c.QueryParam("group"), Period: c.QueryParam("period"),
		GuideID: c.QueryParam("guide_id"), StoreID: c.QueryParam("store_id"), From: c.QueryParam("from"), To: c.QueryParam("to")})
}

// report is the funnel report the query asks for.
func (h *Handlers) report(c echo.Context) (Report, error) {
	q, err := h.reportQuery(c)
	if err != nil {
		return Report{}, err
	}
	return h.svc.guides.Funnel(c.Request().Context(), tenantOf(c).ID, q)
}

func (h *Handlers) apiReport(c echo.Context) error {
	r, err := h.report(c)
	return reply(c, http.StatusOK, r, err)
}

// reportCSV is the funnel report as CSV (amounts in yuan), for
// spreadsheets.
func (h *Handlers) reportCSV(c echo.Context) error {
	r, err := h.report(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	c.Response().Header().Set(echo.HeaderContentDisposition,
		fmt.Sprintf(`attachment; filename="guide-report-%s-%s-%s.csv"`, r.Group, r.From, r.To))
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{r.Group + "_id", "name", "period", "visits", "follows", "new_fans", "ordering_fans", "first_orders", "orders",
		"paid_gmv_yuan", "refunds", "refund_amount_yuan", "conversion_pct"})
	for _, row := range r.Rows {
		period := row.Period
		if period == "" {
			period = r.From + ".." + r.To
		}
		_ = w.Write([]string{row.Key, csvSafe(row.Name), period, itoa(row.Visits), itoa(row.Follows), itoa(row.NewFans),
			itoa(row.OrderingFans), itoa(row.FirstOrders), itoa(row.Orders), Yuan(row.PaidGMV), itoa(row.Refunds), Yuan(row.RefundAmount),
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
