package distribution

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/distribution/ledger"
)

// ledgerFilter reads a list's ?order_id&beneficiary&status&limit&offset
// for entries of class.
func ledgerFilter(c echo.Context, class string) (ledger.Filter, error) {
	f := ledger.Filter{Class: class, OrderID: c.QueryParam("order_id"), Beneficiary: c.QueryParam("beneficiary"), Status: c.QueryParam("status")}
	var err error
	if f.Limit, f.Offset, err = page(c, 50, 200); err != nil {
		return f, err
	}
	return f, f.Check()
}

func (h *Handlers) apiCommissions(c echo.Context) error {
	f, err := ledgerFilter(c, ledger.ClassCommission)
	if err != nil {
		return err
	}
	es, err := h.svc.ledger.List(c.Request().Context(), tenantOf(c).ID, f)
	return list(c, orEmpty(es), f.Limit, f.Offset, err)
}

func (h *Handlers) apiWithdrawals(c echo.Context) error {
	f, err := ledgerFilter(c, ledger.ClassWithdrawal)
	if err != nil {
		return err
	}
	ws, err := h.svc.Withdrawals(c.Request().Context(), tenantOf(c).ID, f)
	return list(c, ws, f.Limit, f.Offset, err)
}

func (h *Handlers) apiWithdrawal(c echo.Context) error {
	w, err := byID(c, h.svc.Withdrawal)
	return reply(c, http.StatusOK, w, err)
}

func (h *Handlers) apiDecide(decision string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := byID(c, h.svc.Withdrawal); err != nil {
			return err
		}
		var in struct {
			TransferRef string `json:"transfer_ref"`
		}
		if err := decodeOptional(c, &in); err != nil {
			return err
		}
		w, err := h.svc.Decide(c.Request().Context(), tenantOf(c).ID, c.Param("id"), decision, in.TransferRef)
		return reply(c, http.StatusOK, w, err)
	}
}
