package message

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
)

func (h *Handlers) apiSegments(c echo.Context) error {
	list, err := h.svc.Segments(c.Request().Context(), tenants.FromContext(c))
	return respond(c, http.StatusOK, map[string]any{"items": list}, err)
}

func (h *Handlers) apiCreateSegment(c echo.Context) error {
	var req SegmentRequest
	if err := fault.DecodeJSON(c, &req); err != nil {
		return err
	}
	sg, err := h.svc.CreateSegment(c.Request().Context(), tenants.FromContext(c), req)
	return respond(c, http.StatusCreated, sg, err)
}

// apiCount is the live count of a rule, before saving or sending.
func (h *Handlers) apiCount(c echo.Context) error {
	var r Rule
	if err := fault.DecodeJSON(c, &r); err != nil {
		return err
	}
	n, err := h.svc.Count(c.Request().Context(), tenants.FromContext(c), r)
	return respond(c, http.StatusOK, map[string]int64{"count": n}, err)
}

func (h *Handlers) apiSegment(c echo.Context) error {
	sg, err := h.svc.Segment(c.Request().Context(), tenants.FromContext(c), c.Param("id"))
	return respond(c, http.StatusOK, sg, err)
}

func (h *Handlers) apiDeleteSegment(c echo.Context) error {
	if err := h.svc.DeleteSegment(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *Handlers) apiCampaigns(c echo.Context) error {
	limit, err := queryInt(c, "limit", 20)
	if err != nil {
		return err
	}
	offset, err := queryInt(c, "offset", 0)
	if err != nil {
		return err
	}
	list, total, err := h.svc.Campaigns(c.Request().Context(), tenants.FromContext(c).ID, limit, offset)
	return respond(c, http.StatusOK, map[string]any{"items": list, "total": total, "limit": limit, "offset": offset}, err)
}

func (h *Handlers) apiCreateCampaign(c echo.Context) error {
	var req CampaignRequest
	if err := fault.DecodeJSON(c, &req); err != nil {
		return err
	}
	cp, err := h.svc.CreateCampaign(c.Request().Context(), tenants.FromContext(c), req, "api")
	return respond(c, http.StatusCreated, cp, err)
}

func (h *Handlers) apiCampaign(c echo.Context) error {
	cp, err := h.svc.Campaign(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	return respond(c, http.StatusOK, cp, err)
}

func (h *Handlers) apiDeliveries(c echo.Context) error {
	limit, err := queryInt(c, "limit", 50)
	if err != nil {
		return err
	}
	list, err := h.svc.Deliveries(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"), c.QueryParam("status"),
		c.QueryParam("after"), limit)
	if err != nil {
		return err
	}
	next := ""
	if len(list) == limit {
		next = list[len(list)-1].ID
	}
	return c.JSON(http.StatusOK, map[string]any{"items": list, "after": next})
}

func (h *Handlers) apiCancel(c echo.Context) error {
	cp, err := h.svc.CancelCampaign(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	return respond(c, http.StatusOK, cp, err)
}

func (h *Handlers) apiSettings(c echo.Context) error {
	st, err := h.svc.Settings(c.Request().Context(), tenants.FromContext(c).ID)
	return respond(c, http.StatusOK, st, err)
}

// apiSaveSettings decodes onto the current settings, so fields left out
// stay as they are (templates sent replace the old ones whole); rev, when
// sent, is the revision they were read at (a save overtaken since is
// refused), otherwise the save applies to the settings as they are.
func (h *Handlers) apiSaveSettings(c echo.Context) error {
	ctx, tenantID := c.Request().Context(), tenants.FromContext(c).ID
	st, err := h.svc.Settings(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := fault.DecodeJSONOnto(c, &st); err != nil {
		return err
	}
	saved, err := h.svc.SaveSettings(ctx, tenantID, st)
	return respond(c, http.StatusOK, saved, err)
}

func (h *Handlers) apiProfile(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	p, err := h.svc.Profile(c.Request().Context(), tenants.FromContext(c).ID, f.ID)
	return respond(c, http.StatusOK, p, err)
}

func (h *Handlers) apiSetTags(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	var in struct {
		Tags []string `json:"tags"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	tags, err := h.svc.SetTags(c.Request().Context(), tenants.FromContext(c).ID, f.ID, in.Tags)
	return respond(c, http.StatusOK, map[string]any{"tags": tags}, err)
}

func (h *Handlers) apiFanInbox(c echo.Context) error {
	f, err := h.fanOf(c)
	if err != nil {
		return err
	}
	before, err := inboxBefore(c)
	if err != nil {
		return err
	}
	items, err := h.svc.Inbox(c.Request().Context(), tenants.FromContext(c).ID, f.ID, before, 50)
	return respond(c, http.StatusOK, map[string]any{"items": items}, err)
}
