package credit

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// AdminRoutes mounts the console's credit page on g (/admin, signed in,
// CSRF-protected): the score, its factors, the formula in words, the
// penalties and their appeals.
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/credit", h.adminCredit)
	g.POST("/credit/promise", h.adminPromise)
	g.POST("/credit/penalties/:id/appeal", h.adminAppeal)
}

// AdminPage is what admin_credit.html receives.
type AdminPage struct {
	Shop      tenants.Tenant
	Credit    Credit
	Penalties []Penalty
	Rules     []Rule
	Factors   []FactorRule
	Error     string
	Notice    string
}

// Factor is the shop's factor of that name.
func (p AdminPage) Factor(name string) Factor { return p.Credit.Factors[name] }

// InForce reports whether the penalty holds now.
func (p AdminPage) InForce(pen Penalty) bool { return pen.InForce(time.Now()) }

func (h *Handlers) adminCredit(c echo.Context) error {
	p := AdminPage{Notice: i18n.Done(c, map[string]string{"promise": "credit.admin.promise_saved", "appeal": "credit.admin.appealed"})}
	return h.render(c, http.StatusOK, p)
}

func (h *Handlers) render(c echo.Context, status int, p AdminPage) error {
	ctx := c.Request().Context()
	p.Shop = tenants.FromContext(c)
	var err error
	if p.Credit, err = h.svc.Credit(ctx, p.Shop.ID); err != nil {
		return err
	}
	if p.Penalties, err = h.svc.Penalties(ctx, p.Shop.ID); err != nil {
		return err
	}
	p.Rules, p.Factors = Rules, Published.Factors
	return c.Render(status, "admin_credit.html", p)
}

// formError renders the page again with a client error, or returns err.
func (h *Handlers) formError(c echo.Context, err error) error {
	if fe, ok := err.(*fault.Error); ok && fe.Status < 500 {
		return h.render(c, fe.Status, AdminPage{Error: fault.Message(c.Request().Context(), err)})
	}
	return err
}

func (h *Handlers) adminPromise(c echo.Context) error {
	hours, err := parseHours(c.FormValue("promised_hours"))
	if err == nil {
		_, err = h.svc.SetPromise(c.Request().Context(), tenants.FromContext(c).ID, hours)
	}
	if err != nil {
		return h.formError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/credit?done=promise")
}

func (h *Handlers) adminAppeal(c echo.Context) error {
	if _, err := h.svc.Appeal(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"), c.FormValue("text")); err != nil {
		return h.formError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/credit?done=appeal")
}
