package distribution

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
)

func (h *Handlers) apiCustomer(c echo.Context) error {
	cu, err := byID(c, h.svc.Customer)
	return reply(c, http.StatusOK, cu, err)
}

func (h *Handlers) apiRebind(c echo.Context) error {
	_, err := edit(c, found(h.svc.Customer), func(ctx context.Context, tenantID, id string, in struct {
		Slot string `json:"slot"`
		ID   string `json:"id"`
	}) (Binding, error) {
		return h.svc.Reassign(ctx, tenantID, id, in.Slot, in.ID, "api")
	})
	if err != nil {
		return err
	}
	return h.apiCustomer(c)
}
