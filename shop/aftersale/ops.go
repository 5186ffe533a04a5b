package aftersale

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// The platform operator's side: the dispute queue across every shop
// (disputes.go) and the decision, made in the dispute's shop.

// DisputeView is a dispute with its request and thread.
type DisputeView struct {
	Dispute Dispute `json:"dispute"`
	Request Detail  `json:"request"`
}

// DisputeList is the answer to GET /api/ops/v1/disputes.
type DisputeList struct {
	Items []Dispute `json:"items"`
}

// maxDisputes bounds one list of disputes.
const maxDisputes = 200

// ListDisputes lists disputes in status ("open", "decided", "" any).
func (s *Service) ListDisputes(ctx context.Context, status string) ([]Dispute, error) {
	if status != "" && status != DisputeOpen && status != DisputeDecided {
		return nil, fault.Invalid("status", "must be open or decided")
	}
	if s.disputes == nil {
		return []Dispute{}, nil
	}
	list, err := s.disputes.List(ctx, status, maxDisputes)
	if list == nil {
		list = []Dispute{}
	}
	return list, err
}

// Dispute returns dispute id with its request, read in its shop.
func (s *Service) Dispute(ctx context.Context, id string) (DisputeView, error) {
	if err := checkID(id); err != nil {
		return DisputeView{}, err
	}
	if s.disputes == nil {
		return DisputeView{}, fault.NotFound("dispute")
	}
	d, err := s.disputes.Get(ctx, id)
	if err != nil {
		return DisputeView{}, err
	}
	r, err := s.store.Get(ctx, d.TenantID, id)
	if err != nil {
		return DisputeView{}, err
	}
	detail, err := s.Detail(ctx, d.TenantID, r)
	return DisputeView{Dispute: d, Request: detail}, err
}

// DecideDispute is an operator's decision of dispute id (Decide, in its
// shop).
func (s *Service) DecideDispute(ctx context.Context, id, operatorID string, in DecideRequest) (DisputeView, error) {
	v, err := s.Dispute(ctx, id)
	if err != nil {
		return DisputeView{}, err
	}
	if _, err := s.Decide(ctx, v.Dispute.TenantID, id, operatorID, in); err != nil {
		return DisputeView{}, err
	}
	return s.Dispute(ctx, id)
}

// DisputeMessage adds an operator's message to dispute id's thread.
func (s *Service) DisputeMessage(ctx context.Context, id string, in MessageRequest) (Message, error) {
	v, err := s.Dispute(ctx, id)
	if err != nil {
		return Message{}, err
	}
	return s.AddMessage(ctx, v.Dispute.TenantID, v.Request.Request, ByOperator, in)
}

// OpsAPIRoutes mounts the operator API on g (/api/ops/v1, operator key).
func (h *Handlers) OpsAPIRoutes(g *echo.Group) {
	g.GET("/disputes", h.opsList)
	g.GET("/disputes/:id", h.opsGet)
	g.POST("/disputes/:id/decide", h.opsDecide)
	g.POST("/disputes/:id/messages", h.opsMessage)
}

// operator is the request's operator; a route reached without one (a
// mounting mistake) is refused.
func operator(c echo.Context) (tenants.Operator, error) {
	op, ok := tenants.OperatorFromContext(c)
	if !ok {
		return op, fault.Unauthorized("an operator API key is required")
	}
	return op, nil
}

func (h *Handlers) opsList(c echo.Context) error {
	if _, err := operator(c); err != nil {
		return err
	}
	list, err := h.svc.ListDisputes(c.Request().Context(), c.QueryParam("status"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, DisputeList{Items: list})
}

func (h *Handlers) opsGet(c echo.Context) error {
	if _, err := operator(c); err != nil {
		return err
	}
	v, err := h.svc.Dispute(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (h *Handlers) opsDecide(c echo.Context) error {
	op, err := operator(c)
	if err != nil {
		return err
	}
	var in DecideRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	v, err := h.svc.DecideDispute(c.Request().Context(), c.Param("id"), op.ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (h *Handlers) opsMessage(c echo.Context) error {
	if _, err := operator(c); err != nil {
		return err
	}
	var in MessageRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	m, err := h.svc.DisputeMessage(c.Request().Context(), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}
