package distribution

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/distribution/guide"
	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// AdminRoutes mounts the console pages on g (/admin, signed in,
// CSRF-protected).
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/guides", h.show(h.renderGuides))
	g.GET("/guides/report.csv", h.reportCSV)
	g.POST("/stores", h.adminCreateStore)
	g.POST("/stores/:id", h.adminUpdateStore)
	g.POST("/guides", h.adminCreateGuide)
	g.POST("/guides/:id", h.adminUpdateGuide)
	g.POST("/guides/:id/handover", h.adminHandover)
	g.GET("/guides/:id/qr.png", h.guideQR)
	g.GET("/guides/:id/card", h.adminGuideCard)
	g.GET("/distribution", h.show(h.renderDistribution))
	g.POST("/distribution/settings", h.adminSaveSettings)
	g.GET("/distribution/distributors/:id", h.show(h.renderDistributor))
	g.POST("/distribution/distributors/:id/move", h.adminMove)
	g.POST("/distribution/distributors/:id/approve", h.adminApplication(true))
	g.POST("/distribution/distributors/:id/reject", h.adminApplication(false))
	g.GET("/distribution/ledger", h.show(h.renderLedger))
	for _, decision := range decisions {
		g.POST("/distribution/withdrawals/:id/"+decision, h.adminDecide(decision))
	}
}

// AdminPage is what the console's distribution templates receive. Shop is
// what the console layout reads.
type AdminPage struct {
	Shop   tenants.Tenant
	Notice string
	Error  string

	// Guides page.
	Stores    []guide.Location
	Guides    []GuideJSON
	StoreName map[string]string
	Report    Report
	Query     ReportQuery
	CSVURL    string

	// Guide card.
	Guide     GuideJSON
	GuideShop string

	// Distribution page.
	Settings     Settings
	SettingsForm SettingsForm
	Warning      string
	TopSales     []tree.View
	TopSize      []tree.View
	Roots        []tree.View
	Applications []tree.Distributor
	OrderQuery   string
	OrderPath    *OrderPath

	// Distributor page.
	Distributor *DistributorJSON
	Ancestors   []tree.Distributor
	Children    []tree.View
	History     []ledger.Entry

	// Ledger page.
	Filter      ledger.Filter
	Entries     []ledger.Entry
	Withdrawals []Withdrawal
	WStatus     string
}

// start fills in what every page shows: the shop, and the notice of what
// the last form did (?done=).
func (p *AdminPage) start(c echo.Context) {
	p.Shop = tenantOf(c)
	if p.Notice == "" {
		p.Notice = i18n.Done(c, notices)
	}
}

// notices say what the last form did, by the ?done= it comes back with
// (distribution.done.* and guides.done.* in the growth catalogs).
var notices = map[string]string{"store": "guides.done.store", "guide": "guides.done.guide", "handover": "guides.done.handover",
	"settings": "distribution.done.settings", "moved": "distribution.done.moved", "approved": "distribution.done.approved",
	"rejected": "distribution.done.rejected", "approve": "distribution.done.approve", "reject": "distribution.done.reject",
	"pay": "distribution.done.pay"}

// render draws a page with status.
type render func(c echo.Context, status int, p *AdminPage) error

// show is the GET of a page.
func (h *Handlers) show(r render) echo.HandlerFunc {
	return func(c echo.Context) error { return r(c, http.StatusOK, &AdminPage{}) }
}

// submit runs a form's action: then back to the page at to, or, for a
// client error, the page again (drawn by again) with the problem; a
// not-found or a server error goes to the error handler.
func (h *Handlers) submit(c echo.Context, to string, again render, act func(ctx context.Context, tenantID string) error) error {
	err := act(c.Request().Context(), tenantOf(c).ID)
	var fe *fault.Error
	switch {
	case err == nil:
		return c.Redirect(http.StatusSeeOther, to)
	case !errors.As(err, &fe) || fe.Status == http.StatusNotFound || fe.Status >= 500:
		return err
	}
	return again(c, fe.Status, &AdminPage{Error: fault.Message(c.Request().Context(), err)})
}

// formPtr is a form field, nil when the form does not have it.
func formPtr(c echo.Context, name string) *string {
	_ = c.Request().ParseForm()
	if _, ok := c.Request().PostForm[name]; !ok {
		return nil
	}
	v := c.FormValue(name)
	return &v
}

func formBool(c echo.Context, name string) *bool {
	v := c.FormValue(name) == "on" || c.FormValue(name) == "true"
	return &v
}
