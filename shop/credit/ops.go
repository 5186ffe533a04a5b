package credit

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// OpsAPIRoutes mounts the operators' API on g (/api/ops/v1, operator keys
// only): every shop's credit and penalties, and the appeals' decisions.
func (h *Handlers) OpsAPIRoutes(g *echo.Group) {
	g.GET("/credit", h.opsCreditList)
	g.GET("/penalties", h.opsPenalties)
	g.POST("/penalties/:id/appeal/decide", h.opsDecide)
}

// OpsRoutes mounts the ops console's credit page on g (/ops, operator
// sessions only, CSRF-protected).
func (h *Handlers) OpsRoutes(g *echo.Group) {
	g.GET("/credit", h.opsPage)
	g.POST("/credit/penalties/:id/decide", h.opsPageDecide)
}

// ShopList is every shop's credit.
type ShopList struct {
	Items []ShopCredit `json:"items"`
}

// ShopPenaltyList is penalties across shops.
type ShopPenaltyList struct {
	Items []ShopPenalty `json:"items"`
}

// DecideRequest is an operator's answer to an appeal.
type DecideRequest struct {
	Decision string `json:"decision"` // uphold or revoke
	Note     string `json:"note"`
}

func operatorOf(c echo.Context) string {
	if op, ok := tenants.OperatorFromContext(c); ok {
		return op.Email
	}
	return ""
}

func (h *Handlers) opsCreditList(c echo.Context) error {
	list, err := h.svc.All(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ShopList{Items: list})
}

func (h *Handlers) opsPenalties(c echo.Context) error {
	appealed := false
	switch c.QueryParam("status") {
	case "", "all":
	case "appealed":
		appealed = true
	default:
		return fault.Invalid("status", "must be appealed or all")
	}
	list, err := h.svc.AllPenalties(c.Request().Context(), appealed)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ShopPenaltyList{Items: list})
}

func (h *Handlers) opsDecide(c echo.Context) error {
	var in DecideRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	p, err := h.svc.Decide(c.Request().Context(), c.Param("id"), in.Decision, in.Note, operatorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// OpsPage is what ops_credit.html receives.
type OpsPage struct {
	Shops   []ShopCredit
	Appeals []ShopPenalty
	Rules   []Rule
	Error   string
	Notice  string
}

func (h *Handlers) opsPage(c echo.Context) error {
	return h.renderOps(c, http.StatusOK, OpsPage{Notice: i18n.Done(c, map[string]string{"decided": "credit.ops.decided"})})
}

func (h *Handlers) renderOps(c echo.Context, status int, p OpsPage) error {
	ctx := c.Request().Context()
	var err error
	if p.Shops, err = h.svc.All(ctx); err != nil {
		return err
	}
	if p.Appeals, err = h.svc.AllPenalties(ctx, true); err != nil {
		return err
	}
	p.Rules = Rules
	return c.Render(status, "ops_credit.html", p)
}

func (h *Handlers) opsPageDecide(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.svc.Decide(ctx, c.Param("id"), c.FormValue("decision"), c.FormValue("note"), operatorOf(c)); err != nil {
		if fe, ok := err.(*fault.Error); ok && fe.Status < 500 {
			return h.renderOps(c, fe.Status, OpsPage{Error: fault.Message(ctx, err)})
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ops/credit?done=decided")
}

// parseHours reads the promise form's hours.
func parseHours(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fault.Invalid("promised_hours", "must be a whole number of hours")
	}
	return n, nil
}
