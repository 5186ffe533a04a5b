package distribution

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
)

// SettingsJSON is the settings with what the merchant should know.
type SettingsJSON struct {
	Settings
	Warning string `json:"warning,omitempty"`
}

func (h *Handlers) apiSettings(c echo.Context) error {
	st, err := h.svc.Settings(c.Request().Context(), tenantOf(c).ID)
	return reply(c, http.StatusOK, SettingsJSON{Settings: st, Warning: st.Warning()}, err)
}

func (h *Handlers) apiSaveSettings(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := h.svc.Settings(ctx, tenantOf(c).ID)
	if err != nil {
		return err
	}
	// Onto the current settings: fields left out stay as they are, and
	// the product rules sent replace the old ones whole.
	if err := fault.DecodeJSONOnto(c, &st); err != nil {
		return err
	}
	if err = h.svc.SaveSettings(ctx, tenantOf(c).ID, st); err == nil {
		st, err = h.svc.Settings(ctx, tenantOf(c).ID) // as stored: the new revision
	}
	return reply(c, http.StatusOK, SettingsJSON{Settings: st, Warning: st.Warning()}, err)
}

func (h *Handlers) apiOrderPath(c echo.Context) error {
	p, err := byID(c, h.svc.OrderPath)
	return reply(c, http.StatusOK, p, err)
}

func (h *Handlers) apiRebuild(c echo.Context) error {
	r, err := h.svc.Rebuild(c.Request().Context(), tenantOf(c).ID)
	return reply(c, http.StatusOK, r, err)
}

func (h *Handlers) apiDistributors(c echo.Context) error {
	limit, offset, err := page(c, 50, 200)
	if err != nil {
		return err
	}
	items, err := h.svc.Distributors(c.Request().Context(), tenantOf(c).ID, DistributorQuery{Top: c.QueryParam("top"),
		Status: c.QueryParam("status"), ParentID: c.QueryParam("parent_id"), Limit: limit, Offset: offset})
	return list(c, items, limit, offset, err)
}

func (h *Handlers) apiDistributor(c echo.Context) error {
	d, err := byID(c, h.svc.Distributor)
	return reply(c, http.StatusOK, d, err)
}

func (h *Handlers) apiChildren(c echo.Context) error {
	if _, err := byID(c, h.svc.Distributor); err != nil {
		return err
	}
	limit, offset, err := page(c, 50, 200)
	if err != nil {
		return err
	}
	items, err := h.svc.Distributors(c.Request().Context(), tenantOf(c).ID, DistributorQuery{ParentID: c.Param("id"),
		Limit: limit, Offset: offset})
	return list(c, items, limit, offset, err)
}

// apiApplication approves or rejects an application and answers the
// distributor.
func (h *Handlers) apiApplication(approve bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := byID(c, h.svc.Distributor); err != nil {
			return err
		}
		if _, err := h.svc.tree.Decide(c.Request().Context(), tenantOf(c).ID, c.Param("id"), approve); err != nil {
			return err
		}
		return h.apiDistributor(c)
	}
}

func (h *Handlers) apiMove(c echo.Context) error {
	_, err := edit(c, found(h.svc.Distributor), func(ctx context.Context, tenantID, id string, in struct {
		ParentID string `json:"parent_id"`
	}) (any, error) {
		return h.svc.Move(ctx, tenantID, id, in.ParentID)
	})
	if err != nil {
		return err
	}
	return h.apiDistributor(c)
}
