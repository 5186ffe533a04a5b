package credit

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// Handlers serve credit and penalties: the merchant API and console, the
// operators' API and console.
type Handlers struct{ svc *Service }

// NewHandlers returns the credit handlers.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/credit", h.apiCredit)
	g.PUT("/credit/promise", h.apiPromise)
	g.GET("/penalties", h.apiPenalties)
	g.POST("/penalties/:id/appeal", h.apiAppeal)
}

// PenaltyList is a list of penalties.
type PenaltyList struct {
	Items []Penalty `json:"items"`
}

func (h *Handlers) apiCredit(c echo.Context) error {
	cr, err := h.svc.Credit(c.Request().Context(), tenants.FromContext(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cr)
}

// PromiseRequest sets the shop's shipping promise.
type PromiseRequest struct {
	PromisedHours int `json:"promised_hours"`
}

func (h *Handlers) apiPromise(c echo.Context) error {
	var in PromiseRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	cr, err := h.svc.SetPromise(c.Request().Context(), tenants.FromContext(c).ID, in.PromisedHours)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cr)
}

func (h *Handlers) apiPenalties(c echo.Context) error {
	ps, err := h.svc.Penalties(c.Request().Context(), tenants.FromContext(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, PenaltyList{Items: ps})
}

// AppealRequest is the merchant's appeal.
type AppealRequest struct {
	Text string `json:"text"`
}

func (h *Handlers) apiAppeal(c echo.Context) error {
	// Another shop's penalty is a 404 before the body is read.
	if t, ok := splitID(c.Param("id")); !ok || t != tenants.FromContext(c).ID {
		return fault.NotFound("penalty")
	}
	var in AppealRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	p, err := h.svc.Appeal(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"), in.Text)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}
