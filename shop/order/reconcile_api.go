package order

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// The reconciliation in the merchant API and the console.

// apiReconciliation answers GET /api/v1/payments/reconciliation?date=.
func (h *Handlers) apiReconciliation(c echo.Context) error {
	date := c.QueryParam("date")
	if date == "" {
		return fault.Invalid("date", "is required (YYYY-MM-DD, China time)")
	}
	r, err := h.svc.Reconciliation(c.Request().Context(), tenants.FromContext(c).ID, date)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// ReconPage is the console's reconciliation page.
type ReconPage struct {
	Shop  tenants.Tenant
	Date  string
	Recon *Reconciliation
	Error string
}

// adminReconciliation shows the reconciliation of ?date= (default: the
// previous China day).
func (h *Handlers) adminReconciliation(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	p := ReconPage{Shop: t, Date: strings.TrimSpace(c.QueryParam("date"))}
	if p.Date == "" {
		p.Date = h.svc.clock().In(chinaTime).AddDate(0, 0, -1).Format(time.DateOnly)
	}
	r, err := h.svc.Reconciliation(ctx, t.ID, p.Date)
	var fe *fault.Error
	switch {
	case err == nil:
		p.Recon = &r
	case errors.As(err, &fe) && fe.Status < 500:
		p.Error = pageError(ctx, fe)
	default:
		return err
	}
	return c.Render(http.StatusOK, "admin_reconciliation.html", p)
}
