package tenants

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Auditor keeps every shop's audit log: every change made through
// /api/v1 or /admin (a request other than GET and HEAD that succeeded),
// naming who made it, is one entry. Its middleware records them; its
// handlers list them to the owner and managers.
type Auditor struct {
	store AuditStore
	log   *slog.Logger
	now   func() time.Time
	money map[string]bool // "METHOD pattern" of routes that move money
}

// NewAuditor returns the auditor over store. moneyRoutes ("POST
// /api/v1/orders/:id/refund" …) are the routes whose entries carry the
// amount their body names.
func NewAuditor(store AuditStore, log *slog.Logger, moneyRoutes ...string) *Auditor {
	a := &Auditor{store: store, log: log, now: time.Now, money: map[string]bool{}}
	for _, r := range moneyRoutes {
		a.money[r] = true
	}
	return a
}

// SetClock replaces the auditor's clock (tests).
func (a *Auditor) SetClock(now func() time.Time) { a.now = now }

// maxAmountBody is how much of a money route's body is read for its
// amount (the body limit bounds it anyway).
const maxAmountBody = 64 << 10

// Record is the middleware that records changes; mount it on the
// authenticated groups, after the authentication middleware.
func (a *Auditor) Record() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions {
				return next(c)
			}
			route := req.Method + " " + c.Path()
			var body []byte
			if a.money[route] && req.Body != nil && strings.HasPrefix(req.Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
				// Read the JSON body (bounded) and put it back for the handler.
				b, err := io.ReadAll(io.LimitReader(req.Body, maxAmountBody))
				rest := req.Body
				req.Body = struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(b), rest), rest}
				if err == nil {
					body = b
				}
			}
			err := next(c)
			if err != nil || c.Response().Status >= 400 {
				return err
			}
			a.record(c, route, body)
			return nil
		}
	}
}

// record appends the entry of a change that succeeded. A failure is
// logged: the change is made and answered.
func (a *Auditor) record(c echo.Context, route string, body []byte) {
	p, ok := PrincipalFromContext(c)
	t := FromContext(c)
	if !ok || t.ID == "" {
		return
	}
	req := c.Request()
	e := AuditEntry{ID: engine.NewID(), At: a.now().UTC().Truncate(time.Millisecond), Actor: p.Actor, Role: p.Role,
		Method: req.Method, Route: c.Path(), Path: fault.Clip(req.URL.Path, 500), Target: target(c), Status: c.Response().Status}
	if a.money[route] {
		e.Amount = amountOf(c, body)
	}
	ctx := context.WithoutCancel(req.Context())
	if err := a.store.AppendAudit(ctx, t.ID, e); err != nil {
		a.log.Error("audit log", "tenant", t.ID, "route", route, "actor", p.Actor, "err", err)
	}
}

// target is the id the path names: its :id, else its last parameter.
func target(c echo.Context) string {
	if id := c.Param("id"); id != "" {
		return fault.Clip(id, 100)
	}
	names, values := c.ParamNames(), c.ParamValues()
	for i := min(len(names), len(values)) - 1; i >= 0; i-- {
		if names[i] != "slug" && values[i] != "" {
			return fault.Clip(values[i], 100)
		}
	}
	return ""
}

// amountOf is the amount a money route's request named: a JSON body's
// "amount" (fen), or a console form's "amount" (yuan, as 12.50).
func amountOf(c echo.Context, body []byte) *int64 {
	if len(body) > 0 {
		var in struct {
			Amount *int64 `json:"amount"`
		}
		if json.Unmarshal(body, &in) == nil && in.Amount != nil {
			return in.Amount
		}
		return nil
	}
	if c.Request().Form == nil { // the handler read no form
		return nil
	}
	return parseYuan(c.Request().Form.Get("amount"))
}

// parseYuan reads "12", "12.5" or "12.50" as fen; nil for anything else.
func parseYuan(s string) *int64 {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "¥"))
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || len(whole) > 12 {
		return nil
	}
	for len(frac) < 2 {
		frac += "0"
	}
	y, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || y < 0 || f < 0 {
		return nil
	}
	fen := y*100 + f
	return &fen
}

// AuditPage is a page of the log: its entries, newest first, and the key
// of the next page (the last entry's id; "" at the end).
type AuditPage struct {
	Items []AuditEntry `json:"items"`
	Next  string       `json:"next"`
}

// Log reads a page of the shop's log: up to limit (1-100, default 20)
// entries older than the entry before ("": the newest).
func (a *Auditor) Log(ctx context.Context, tenantID, before string, limit int) (AuditPage, error) {
	if err := engine.CheckPage(&limit, 0); err != nil {
		return AuditPage{}, err
	}
	if before != "" {
		if err := engine.CheckID("before", "audit entry", before); err != nil {
			return AuditPage{}, err
		}
	}
	items, err := a.store.AuditLog(ctx, tenantID, before, limit)
	if err != nil {
		return AuditPage{}, err
	}
	p := AuditPage{Items: items}
	if p.Items == nil {
		p.Items = []AuditEntry{}
	}
	if len(items) == limit {
		p.Next = items[len(items)-1].ID
	}
	return p, nil
}

// APIRoutes mounts GET /audit on g (/api/v1 behind APIKeyAuth).
func (a *Auditor) APIRoutes(g *echo.Group) { g.GET("/audit", a.apiLog) }

// AdminRoutes mounts the Audit log page on g (/admin behind SessionAuth).
func (a *Auditor) AdminRoutes(g *echo.Group) { g.GET("/audit", a.page) }

func (a *Auditor) query(c echo.Context) (AuditPage, error) {
	limit, _, err := engine.ParsePage(c.QueryParam("limit"), "")
	if err != nil {
		return AuditPage{}, err
	}
	return a.Log(c.Request().Context(), FromContext(c).ID, c.QueryParam("before"), limit)
}

func (a *Auditor) apiLog(c echo.Context) error {
	p, err := a.query(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// AuditView is what admin_audit.html receives.
type AuditView struct {
	AuditPage
	// First: this is the newest page (no "newer" link is needed).
	First bool
}

func (a *Auditor) page(c echo.Context) error {
	p, err := a.query(c)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "admin_audit.html", AuditView{AuditPage: p, First: c.QueryParam("before") == ""})
}
