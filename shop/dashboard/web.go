package dashboard

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// Products counts the shop's products, all and on sale, for the console
// home's catalog card; server plugs the catalog in.
type Products interface {
	Counts(ctx context.Context, tenantID string) (total, onSale int64, err error)
}

// Handlers serve the dashboard: GET /api/v1/dashboard, the console home
// (/admin) and its charts' numbers as CSV.
type Handlers struct {
	svc      *Service
	products Products
	baseURL  string

	mu    sync.Mutex
	pages map[[3]string]homeParts // (tenant, range, language) → what the home drew lately
}

// homeParts are the home's drawn charts, catalog counts and content (the
// page inside the console's layout), kept as long as the dashboard they
// were drawn from (the read's serial, see Service.read) and the shop's
// name, address and zone the content shows.
type homeParts struct {
	serial        uint64
	shop          string // the shop's name, slug and zone, and the storefront's address
	charts        []Chart
	total, onSale int64
	content       template.HTML
}

// NewHandlers returns the dashboard's handlers; baseURL, when set, is the
// storefront links' base (else the request's).
func NewHandlers(svc *Service, products Products, baseURL string) *Handlers {
	return &Handlers{svc: svc, products: products, baseURL: baseURL, pages: map[[3]string]homeParts{}}
}

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/dashboard", h.api)
}

// AdminRoutes mounts the console home and the charts' CSV on g (/admin).
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("", h.home)
	g.GET("/dashboard.csv", h.csv)
}

func (h *Handlers) api(c echo.Context) error {
	d, err := h.svc.Read(c.Request().Context(), tenants.FromContext(c), c.QueryParam("range"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// HomePage is what admin_home.html receives: the storefront and catalog
// cards, and the dashboard with its charts.
type HomePage struct {
	Shop          tenants.Tenant
	StorefrontURL string
	Total, OnSale int64
	Dashboard     *Dashboard
	Charts        []Chart
	Ranges        []RangeLink

	// The page's content is drawn once per dashboard read and served
	// inside the layout meanwhile (templates.View.Content): contentOnly
	// asks the renderer for the content alone, content is what it drew.
	contentOnly bool
	content     template.HTML
}

// ContentOnly asks for the page's content without the layout
// (templates.View.ContentOnly).
func (p HomePage) ContentOnly() bool { return p.contentOnly }

// Content is the page's content drawn already, "" if it is not
// (templates.View.Content).
func (p HomePage) Content() template.HTML { return p.content }

// RangeLink is one entry of the range switch.
type RangeLink struct {
	Name, Label string
	Current     bool
}

// Money writes fen as the page shows money (¥39.00).
func (p HomePage) Money(fen int64) string { return money(fen) }

func (h *Handlers) home(c echo.Context) error {
	t := tenants.FromContext(c)
	ctx := c.Request().Context()
	page := HomePage{Shop: t, StorefrontURL: h.storefrontURL(c, t.Slug)}
	d, serial, err := h.svc.read(ctx, t, c.QueryParam("range"))
	if err != nil {
		return err
	}
	page.Dashboard = &d
	lang := i18n.FromContext(ctx)
	if _, ok := i18n.Supported(lang); !ok {
		lang = i18n.Default
	}
	for _, r := range Ranges {
		page.Ranges = append(page.Ranges, RangeLink{Name: r.Name, Label: i18n.T(ctx, "dashboard.range."+r.Name), Current: r.Name == d.Range})
	}
	// The charts, the catalog counts and the page's content are drawn
	// again when the dashboard is read again (new counts, or cacheFor
	// later), or the shop's name, address or zone changed.
	k, shop := [3]string{t.ID, d.Range, lang}, t.Name+"\x00"+t.Slug+"\x00"+t.TimeZone+"\x00"+page.StorefrontURL
	h.mu.Lock()
	parts, ok := h.pages[k]
	h.mu.Unlock()
	if !ok || parts.serial != serial || parts.shop != shop {
		parts = homeParts{serial: serial, shop: shop, charts: charts(ctx, lang, d)}
		if h.products != nil {
			if parts.total, parts.onSale, err = h.products.Counts(ctx, t.ID); err != nil {
				return err
			}
		}
		page.Charts, page.Total, page.OnSale = parts.charts, parts.total, parts.onSale
		if parts.content, err = h.drawContent(c, page); err != nil {
			return err
		}
		h.mu.Lock()
		if len(h.pages) >= maxCached {
			clear(h.pages)
		}
		h.pages[k] = parts
		h.mu.Unlock()
	}
	page.Charts, page.Total, page.OnSale, page.content = parts.charts, parts.total, parts.onSale, parts.content
	return render(c, http.StatusOK, "admin_home.html", page)
}

// pageBuffers are the buffers the home renders into, reused: the page is
// some 50 KB, which c.Render would allocate afresh every time.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render is c.Render into a reused buffer.
func render(c echo.Context, status int, name string, data any) error {
	r := c.Echo().Renderer
	if r == nil {
		return echo.ErrRendererNotRegistered
	}
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			pageBuffers.Put(buf)
		}
	}()
	if err := r.Render(buf, name, data, c); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// drawContent renders the home's content alone (no layout) for page.
func (h *Handlers) drawContent(c echo.Context, page HomePage) (template.HTML, error) {
	r := c.Echo().Renderer
	if r == nil {
		return "", echo.ErrRendererNotRegistered
	}
	page.contentOnly = true
	var buf bytes.Buffer
	if err := r.Render(&buf, "admin_home.html", page, c); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}

func (h *Handlers) storefrontURL(c echo.Context, slug string) string {
	base := h.baseURL
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return base + "/s/" + slug + "/"
}

// ChartIDs are the charts, in the order the home shows them.
var ChartIDs = []string{"gmv", "orders", "visits", "fans", "channels", "interaction"}

// charts draws the dashboard's charts in lang.
func charts(ctx context.Context, lang string, d Dashboard) []Chart {
	days := make([]string, len(d.Days))
	col := func(f func(Day) int64) []int64 {
		out := make([]int64, len(d.Days))
		for i, x := range d.Days {
			out[i] = f(x)
		}
		return out
	}
	for i, x := range d.Days {
		days[i] = x.Day
	}
	T := func(id string, pairs ...any) string { return i18n.T(ctx, "dashboard."+id, pairs...) }
	out := []Chart{
		{ID: "gmv", Title: T("chart.gmv"), SVG: barChart(lang, T("chart.gmv"), days, []Series{
			{T("col.paid"), colorBrand, col(func(x Day) int64 { return x.Paid })},
			{T("col.refunded"), colorMuted, col(func(x Day) int64 { return x.Refunded })}}, true)},
		{ID: "orders", Title: T("chart.orders"), SVG: barChart(lang, T("chart.orders"), days, []Series{
			{T("col.orders"), colorBrand, col(func(x Day) int64 { return x.Orders })},
			{T("col.buyers"), colorBlue, col(func(x Day) int64 { return x.Buyers })}}, false)},
		{ID: "visits", Title: T("chart.visits"), SVG: barChart(lang, T("chart.visits"), days, []Series{
			{T("col.visits"), colorBlue, col(func(x Day) int64 { return x.Visits })}}, false)},
		{ID: "fans", Title: T("chart.fans"), SVG: barChart(lang, T("chart.fans"), days, []Series{
			{T("col.new_fans"), colOK, col(func(x Day) int64 { return x.NewFans })},
			{T("col.unfollows"), colorMuted, col(func(x Day) int64 { return x.Unfollows })},
			{T("col.active_fans"), colorBlue, col(func(x Day) int64 { return x.Active })},
			{T("col.checkins"), colorBrand, col(func(x Day) int64 { return x.Checkins })}}, false)},
	}
	var labels, notes []string
	var values []int64
	for _, ch := range d.Channels {
		labels = append(labels, T("channel."+ch.Channel))
		values = append(values, ch.Paid)
		notes = append(notes, fmt.Sprintf("%s · %s", money(ch.Paid), T("share", "Share", formatPercent(ch.Share))))
	}
	out = append(out, Chart{ID: "channels", Title: T("chart.channels"), SVG: hbarChart(T("chart.channels"), labels, values, notes, colorBrand)})
	rate := T("interaction_rate", "Rate", formatPercent(d.Now.InteractionRate), "Active", d.Now.ActiveFans, "Fans", d.Now.Fans,
		"Days", d.Now.ActiveWindow)
	out = append(out, Chart{ID: "interaction", Title: T("chart.interaction"), SVG: gauge(T("chart.interaction"), d.Now.InteractionRate,
		d.Now.HealthyRate, rate, T("healthy_line", "Rate", formatPercent(d.Now.HealthyRate)))})
	return out
}

// formatPercent writes a percentage with one decimal ("12.5%").
func formatPercent(p float64) string { return strconv.FormatFloat(p, 'f', 1, 64) + "%" }

// Percent is formatPercent for the page.
func (p HomePage) Percent(v float64) string { return formatPercent(v) }

// csv is GET /admin/dashboard.csv?chart=…&range=…: a chart's numbers (the
// first chart's without chart=),
// headed in the request's language (UTF-8 with a byte-order mark, which
// spreadsheet programs need to read Chinese).
func (h *Handlers) csv(c echo.Context) error {
	ctx := c.Request().Context()
	chart := c.QueryParam("chart")
	if chart == "" {
		chart = ChartIDs[0]
	}
	known := false
	for _, id := range ChartIDs {
		known = known || id == chart
	}
	if !known {
		return fault.Invalid("chart", "must be gmv, orders, visits, fans, channels or interaction")
	}
	d, err := h.svc.Read(ctx, tenants.FromContext(c), c.QueryParam("range"))
	if err != nil {
		return err
	}
	rows := Table(ctx, chart, d)
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="dashboard-%s-%s.csv"`, chart, d.Range))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// Table is a chart's numbers: a header row in the request's language, then
// a row per day (per channel; one row for the interaction rate). Money is
// in yuan with two decimals, days are YYYY-MM-DD.
func Table(ctx context.Context, chart string, d Dashboard) [][]string {
	T := func(id string) string { return i18n.T(ctx, "dashboard.col."+id) }
	n := strconv.FormatInt
	yuan := func(fen int64) string { return money(fen)[len("¥"):] }
	var rows [][]string
	perDay := func(head []string, f func(Day) []string) {
		rows = append(rows, append([]string{T("day")}, head...))
		for _, x := range d.Days {
			rows = append(rows, append([]string{x.Day}, f(x)...))
		}
	}
	switch chart {
	case "gmv":
		perDay([]string{T("paid"), T("refunded"), T("gmv")}, func(x Day) []string { return []string{yuan(x.Paid), yuan(x.Refunded), yuan(x.GMV)} })
	case "orders":
		perDay([]string{T("orders"), T("buyers")}, func(x Day) []string { return []string{n(x.Orders, 10), n(x.Buyers, 10)} })
	case "visits":
		perDay([]string{T("visits"), T("orders")}, func(x Day) []string { return []string{n(x.Visits, 10), n(x.Orders, 10)} })
	case "fans":
		perDay([]string{T("new_fans"), T("unfollows"), T("active_fans"), T("checkins")}, func(x Day) []string {
			return []string{n(x.NewFans, 10), n(x.Unfollows, 10), n(x.Active, 10), n(x.Checkins, 10)}
		})
	case "channels":
		rows = append(rows, []string{T("channel"), T("paid"), T("refunded"), T("gmv"), T("orders"), T("share")})
		for _, ch := range d.Channels {
			rows = append(rows, []string{i18n.T(ctx, "dashboard.channel."+ch.Channel), yuan(ch.Paid), yuan(ch.Refunded), yuan(ch.GMV),
				n(ch.Orders, 10), strconv.FormatFloat(ch.Share, 'f', 1, 64)})
		}
	case "interaction":
		rows = append(rows, []string{T("active_fans"), T("fans"), T("rate"), T("healthy")},
			[]string{n(d.Now.ActiveFans, 10), n(d.Now.Fans, 10), strconv.FormatFloat(d.Now.InteractionRate, 'f', 1, 64),
				strconv.FormatFloat(d.Now.HealthyRate, 'f', 1, 64)})
	}
	return rows
}

// Day is a day of the shop (YYYY-MM-DD) as a time, noon in the shop's
// zone, for the page's date function.
func (p HomePage) Day(day string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, day, p.Shop.Location())
	if err != nil {
		return time.Time{}
	}
	return t.Add(12 * time.Hour)
}
