package pcstore

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// Handlers serves the PC store link: the merchant API, the console pages,
// and the widget PC stores embed.
type Handlers struct {
	syncer  *Syncer
	baseURL string
	// WaitLimit bounds how long POST /sync?wait=true waits (under the
	// server's write timeout).
	WaitLimit time.Duration
}

// NewHandlers returns the handlers. baseURL is the public address printed
// in the widget and QR codes; empty means the address the request came to.
func NewHandlers(s *Syncer, baseURL string) *Handlers {
	return &Handlers{syncer: s, baseURL: strings.TrimRight(baseURL, "/"), WaitLimit: 50 * time.Second}
}

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/pcstore/link", h.apiGetLink)
	g.POST("/pcstore/link", h.apiLink)
	g.DELETE("/pcstore/link", h.apiUnlink)
	g.POST("/pcstore/feed", h.apiUpload)
	g.POST("/pcstore/sync", h.apiSync)
	g.GET("/pcstore/runs", h.apiRuns)
	g.GET("/pcstore/runs/:id", h.apiRun)
	g.GET("/pcstore/widget", h.apiWidget)
	g.POST("/pcstore/taobao", h.apiTaobao)
}

// LinkAnswer is the answer to linking: the saved link and the preview.
type LinkAnswer struct {
	Link    LinkView `json:"link"`
	Preview Preview  `json:"preview"`
}

func (h *Handlers) apiGetLink(c echo.Context) error {
	l, err := h.syncer.Link(c.Request().Context(), tenants.FromContext(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l.View())
}

// apiLink is POST /api/v1/pcstore/link.
func (h *Handlers) apiLink(c echo.Context) error {
	var in LinkInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	l, p, err := h.syncer.SaveLink(c.Request().Context(), tenants.FromContext(c).ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, LinkAnswer{Link: l.View(), Preview: p})
}

func (h *Handlers) apiUnlink(c echo.Context) error {
	if err := h.syncer.Unlink(c.Request().Context(), tenants.FromContext(c).ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiUpload is POST /api/v1/pcstore/feed: the body is the feed file (XML
// or TSV, optionally gzip); settings come as query parameters.
func (h *Handlers) apiUpload(c echo.Context) error {
	q := c.QueryParams()
	in, err := settingsFrom(q.Get("currency"), q.Get("rates"), q.Get("interval_minutes"), q.Get("assumed_stock"))
	if err != nil {
		return err
	}
	if c.Request().ContentLength == 0 {
		return fault.Invalid("feed", "send the feed file as the request body")
	}
	l, p, err := h.syncer.SaveUpload(c.Request().Context(), tenants.FromContext(c).ID, q.Get("name"), c.Request().Body, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, LinkAnswer{Link: l.View(), Preview: p})
}

// settingsFrom reads the link settings typed in a form or a query.
func settingsFrom(currency, rates, interval, stock string) (LinkInput, error) {
	in := LinkInput{Currency: currency}
	r, err := ParseRates(rates)
	if err != nil {
		return in, err
	}
	in.Rates = r
	if strings.TrimSpace(interval) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(interval))
		if err != nil {
			return in, fault.Invalid("interval_minutes", "must be a whole number of minutes")
		}
		in.IntervalMinutes = &n
	}
	if strings.TrimSpace(stock) != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(stock), 10, 64)
		if err != nil {
			return in, fault.Invalid("assumed_stock", "must be a whole number")
		}
		in.AssumedStock = &n
	}
	return in, nil
}

// RunView is a run as the API shows it.
type RunView struct {
	Run
	// Progress is the share done, 0 to 1, when it can be told.
	Progress *float64 `json:"progress,omitempty"`
	// Errors are the run's first failed products; ErrorCount counts all.
	Errors     []RunError `json:"errors,omitempty"`
	ErrorCount int64      `json:"error_count"`
}

// Percent is Progress as a whole percentage (0 when unknown).
func (v RunView) Percent() int {
	if v.Progress == nil {
		return 0
	}
	return int(*v.Progress * 100)
}

// Took is the run's active time, rounded for people.
func (r Run) Took() string {
	d := time.Duration(r.ActiveMS) * time.Millisecond
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func view(r Run) RunView {
	v := RunView{Run: r, ErrorCount: r.Counts.Failed}
	var p float64
	switch {
	case r.Status == Succeeded || r.Status == Failed:
		p = 1
	case r.BytesTotal > 0:
		p = float64(r.BytesRead) / float64(r.BytesTotal)
	case r.Total > 0:
		p = float64(r.Counts.Done()) / float64(r.Total)
	default:
		return v
	}
	p = min(max(p, 0), 1)
	if r.Status == Running && p > 0.99 {
		p = 0.99
	}
	v.Progress = &p
	return v
}

// apiSync is POST /api/v1/pcstore/sync[?wait=true].
func (h *Handlers) apiSync(c echo.Context) error {
	wait := false
	if w := c.QueryParam("wait"); w != "" {
		b, err := strconv.ParseBool(w)
		if err != nil {
			return fault.Invalid("wait", "must be true or false")
		}
		wait = b
	}
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	r, err := h.syncer.Start(ctx, t.ID, "api")
	if err != nil {
		return err
	}
	if !wait {
		return c.JSON(http.StatusAccepted, view(r))
	}
	wctx, cancel := context.WithTimeout(ctx, h.WaitLimit)
	defer cancel()
	r, err = h.syncer.Wait(wctx, t.ID, r.ID)
	if err != nil {
		return err
	}
	v := view(r)
	if r.Status == Running {
		return c.JSON(http.StatusAccepted, v) // still running: poll GET /runs/{id}
	}
	v.Errors, err = h.syncer.RunErrors(ctx, t.ID, r.ID, 0, 100)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// intQuery reads the whole-number query parameter name, def when absent;
// a value that is not a number from lo to hi is a 400 saying msg.
func intQuery(c echo.Context, name string, def, lo, hi int, msg string) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fault.Invalid(name, "%s", msg)
	}
	return n, nil
}

// RunList is the answer to GET /api/v1/pcstore/runs.
type RunList struct {
	Items []RunView `json:"items"`
}

func (h *Handlers) apiRuns(c echo.Context) error {
	limit, err := intQuery(c, "limit", 20, 1, 100, "must be between 1 and 100")
	if err != nil {
		return err
	}
	var before time.Time
	if b := c.QueryParam("before"); b != "" {
		t, err := time.Parse(time.RFC3339Nano, b)
		if err != nil {
			return fault.Invalid("before", "must be a time like 2024-06-01T10:00:00Z (a run's started_at)")
		}
		before = t
	}
	runs, err := h.syncer.Runs(c.Request().Context(), tenants.FromContext(c).ID, before, limit)
	if err != nil {
		return err
	}
	out := RunList{Items: make([]RunView, len(runs))}
	for i, r := range runs {
		out.Items[i] = view(r)
	}
	return c.JSON(http.StatusOK, out)
}

func (h *Handlers) apiRun(c echo.Context) error {
	offset, err := intQuery(c, "errors_offset", 0, 0, 10_000_000, "must be a whole number from 0")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	r, err := h.syncer.Run(ctx, t.ID, c.Param("id"))
	if err != nil {
		return err
	}
	v := view(r)
	if v.Errors, err = h.syncer.RunErrors(ctx, t.ID, r.ID, offset, 100); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
