package distribution

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/distribution/ledger"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// Handlers serves distribution over HTTP: the merchant API, the console
// pages and the storefront's distributor centre. They decode, call the
// service and encode; the rules live in the service.
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
	g.POST("/distributors/:id/approve", h.apiApplication(true))
	g.POST("/distributors/:id/reject", h.apiApplication(false))
	g.POST("/distributors/:id/move", h.apiMove)
	g.GET("/commissions", h.apiCommissions)
	g.GET("/withdrawals", h.apiWithdrawals)
	g.GET("/withdrawals/:id", h.apiWithdrawal)
	for _, decision := range decisions {
		g.POST("/withdrawals/:id/"+decision, h.apiDecide(decision))
	}
	g.GET("/customers/:id", h.apiCustomer)
	g.PUT("/customers/:id/binding", h.apiRebind)
}

// decisions are a merchant's decisions on a withdrawal, each the last
// segment of its route.
var decisions = []string{ledger.Approve, ledger.Reject, ledger.Pay}

func tenantOf(c echo.Context) tenants.Tenant { return tenants.FromContext(c) }

// reply answers v as JSON with status, unless err says otherwise.
func reply(c echo.Context, status int, v any, err error) error {
	if err != nil {
		return err
	}
	return c.JSON(status, v)
}

// byID calls get for the shop and the :id of the path.
func byID[T any](c echo.Context, get func(ctx context.Context, tenantID, id string) (T, error)) (T, error) {
	return get(c.Request().Context(), tenantOf(c).ID, c.Param("id"))
}

// found turns a lookup into a check that the thing exists.
func found[T any](get func(ctx context.Context, tenantID, id string) (T, error)) func(ctx context.Context, tenantID, id string) error {
	return func(ctx context.Context, tenantID, id string) error {
		_, err := get(ctx, tenantID, id)
		return err
	}
}

// edit is a change to the thing at :id: a 404 when exists says there is
// none (before a bad body's 400), else the JSON body handed to do.
func edit[In, Out any](c echo.Context, exists func(ctx context.Context, tenantID, id string) error,
	do func(ctx context.Context, tenantID, id string, in In) (Out, error)) (Out, error) {
	ctx, tenantID, id := c.Request().Context(), tenantOf(c).ID, c.Param("id")
	var in In
	var out Out
	if err := exists(ctx, tenantID, id); err != nil {
		return out, err
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return out, err
	}
	return do(ctx, tenantID, id, in)
}

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

// page reads ?limit (def, at most max) and ?offset.
func page(c echo.Context, def, max int) (limit, offset int, err error) {
	if limit, err = queryInt(c, "limit", def, 1, max); err != nil {
		return 0, 0, err
	}
	offset, err = queryInt(c, "offset", 0, 0, 1_000_000)
	return limit, offset, err
}

// list answers a page of items.
func list(c echo.Context, items any, limit, offset int, err error) error {
	return reply(c, http.StatusOK, map[string]any{"items": items, "limit": limit, "offset": offset}, err)
}

// base is the public address for links and QR codes.
func (h *Handlers) base(c echo.Context) string {
	if h.svc.baseURL != "" {
		return strings.TrimSuffix(h.svc.baseURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

// link is the storefront link that attributes a visit to a guide ("g")
// or a distributor ("d") by their code.
func (h *Handlers) link(c echo.Context, kind, code string) string {
	return h.base(c) + "/s/" + tenantOf(c).Slug + "/?" + kind + "=" + code
}
