package order

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
)

// Confirming receipt: the buyer says a shipped order arrived, and it is
// completed at once instead of after the shop's auto-complete days (the
// orders job still completes orders nobody confirms). It is the same
// conditional write as Complete (shipped → completed, the completed event
// in the same update), so a confirmation racing the job or another
// confirmation completes the order once.
//
// A second confirmation of an order already completed is answered 200 with
// the order as it is (idempotent: a retried tap or a lost answer is
// harmless); an order in any other status is a 409.

// ConfirmReceipt completes the fan's own shipped order. Anyone else's
// order is not found.
func (s *Service) ConfirmReceipt(ctx context.Context, tenantID, fanID, id string) (Order, error) {
	o, err := s.GetForFan(ctx, tenantID, fanID, id)
	if err != nil {
		return Order{}, err
	}
	if o.Status == Completed {
		return o, nil
	}
	o, err = s.Complete(ctx, tenantID, id)
	if err == nil {
		return o, nil
	}
	// Completed meanwhile (the job, another tap): the same answer.
	if cur, gerr := s.GetForFan(ctx, tenantID, fanID, id); gerr == nil && cur.Status == Completed {
		return cur, nil
	}
	return Order{}, err
}

// confirmReceipt is POST /s/{slug}/api/orders/{id}/confirm-receipt.
func (h *Handlers) confirmReceipt(c echo.Context) error {
	o, err := h.svc.ConfirmReceipt(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}
