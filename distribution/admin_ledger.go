package distribution

import (
	"context"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"

	"microshop/distribution/ledger"
	"microshop/tenants/fault"
)

// renderLedger draws the commission entries (?order_id&beneficiary&status)
// and the withdrawals with one status (?withdrawals=, requested first).
func (h *Handlers) renderLedger(c echo.Context, status int, p *AdminPage) error {
	ctx := c.Request().Context()
	p.start(c)
	f, err := ledgerFilter(c, ledger.ClassCommission)
	if err != nil {
		p.Error = fault.Message(ctx, err)
		f = ledger.Filter{Class: ledger.ClassCommission, Limit: 50}
	}
	p.Filter = f
	if p.Entries, err = h.svc.ledger.List(ctx, p.Shop.ID, f); err != nil {
		return err
	}
	p.WStatus = c.QueryParam("withdrawals")
	if !slices.Contains(ledger.Statuses(ledger.ClassWithdrawal), p.WStatus) {
		p.WStatus = ledger.Requested
	}
	if p.Withdrawals, err = h.svc.Withdrawals(ctx, p.Shop.ID, ledger.Filter{Status: p.WStatus, Limit: 100}); err != nil {
		return err
	}
	return c.Render(status, "admin_distribution_ledger.html", p)
}

func (h *Handlers) adminDecide(decision string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := byID(c, h.svc.Withdrawal); err != nil {
			return err
		}
		to := "/admin/distribution/ledger?done=" + decision + "&withdrawals=" + url.QueryEscape(c.FormValue("back"))
		return h.submit(c, to, h.renderLedger, func(ctx context.Context, tenantID string) error {
			_, err := h.svc.Decide(ctx, tenantID, c.Param("id"), decision, c.FormValue("transfer_ref"))
			return err
		})
	}
}
