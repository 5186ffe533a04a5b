package vote

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// Handlers serve the vote: the merchant API and console, the storefront's
// page and JSON calls.
type Handlers struct {
	svc *Service
	// market is the market's rounds, registered from the console's vote page (nil: none).
	market *Service
}

// SetMarket shows the market's rounds on the console's vote page.
func (h *Handlers) SetMarket(m *Service) { h.market = m }

// NewHandlers returns the vote handlers.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/vote-rounds", h.apiRounds)
	g.POST("/vote-rounds", h.apiCreateRound)
	g.GET("/vote-rounds/:id", h.apiRound)
	g.POST("/vote-rounds/:id/extend", h.apiExtend)
	g.GET("/vote-rounds/:id/products", h.apiItems)
	g.POST("/vote-rounds/:id/products", h.apiAddItem)
	g.GET("/vote-rounds/:id/results", h.apiResults)
	g.GET("/vote-rounds/:id/flags", h.apiFlags)
	g.GET("/group-deals", h.apiDeals)
	g.POST("/group-deals", h.apiCreateDeal)
	g.GET("/group-deals/:id", h.apiDeal)
}

// StorefrontRoutes mounts the shopper's vote page on g (/s/:slug).
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/vote", h.page)
}

// StorefrontAPIRoutes mounts the shopper's JSON calls on g (/s/:slug),
// under /api.
func (h *Handlers) StorefrontAPIRoutes(g *echo.Group) {
	api := g.Group("/api", fan.RequireJSON)
	api.POST("/votes", h.vote)
	api.GET("/votes", h.ballots)
}

// RoundView is a round with its state now.
type RoundView struct {
	Round
	State string `json:"state"`
}

// View is r with its state now.
func (s *Service) View(r Round) RoundView { return RoundView{Round: r, State: r.State(s.clock())} }

// RoundList is the scope's (a shop's, or MarketKey) latest rounds with
// their states now.
func (s *Service) RoundList(ctx context.Context, scope string) (RoundList, error) {
	list, err := s.Rounds(ctx, scope)
	if err != nil {
		return RoundList{}, err
	}
	out := RoundList{Items: make([]RoundView, 0, len(list))}
	for _, r := range list {
		out.Items = append(out.Items, s.View(r))
	}
	return out, nil
}

func (h *Handlers) view(r Round) RoundView { return h.svc.View(r) }

// RoundList is the shop's latest rounds.
type RoundList struct {
	Items []RoundView `json:"items"`
}

// ItemList is a round's products.
type ItemList struct {
	Items []Item `json:"items"`
}

func (h *Handlers) apiRounds(c echo.Context) error {
	out, err := h.svc.RoundList(c.Request().Context(), tenants.FromContext(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (h *Handlers) apiCreateRound(c echo.Context) error {
	var in RoundInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.CreateRound(c.Request().Context(), tenants.FromContext(c).ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h.view(r))
}

func (h *Handlers) apiRound(c echo.Context) error {
	r, err := h.svc.Round(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.view(r))
}

// ExtendRequest moves a round's end.
type ExtendRequest struct {
	EndsAt time.Time `json:"ends_at"`
}

func (h *Handlers) apiExtend(c echo.Context) error {
	ctx, tenantID := c.Request().Context(), tenants.FromContext(c).ID
	if _, err := h.svc.Round(ctx, tenantID, c.Param("id")); err != nil {
		return err
	}
	var in ExtendRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.Extend(ctx, tenantID, c.Param("id"), in.EndsAt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.view(r))
}

func (h *Handlers) apiItems(c echo.Context) error {
	list, err := h.svc.Items(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ItemList{Items: list})
}

func (h *Handlers) apiAddItem(c echo.Context) error {
	ctx, tenantID := c.Request().Context(), tenants.FromContext(c).ID
	// The round first: another shop's id is a 404 whatever the body.
	if _, err := h.svc.Round(ctx, tenantID, c.Param("id")); err != nil {
		return err
	}
	var in ItemInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	it, err := h.svc.AddItem(ctx, tenantID, c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, it)
}

func (h *Handlers) apiResults(c echo.Context) error {
	res, err := h.svc.Results(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// FlagList is a round's brushing flags.
type FlagList struct {
	Items []Flag `json:"items"`
}

func (h *Handlers) apiFlags(c echo.Context) error {
	list, err := h.svc.Flags(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, FlagList{Items: list})
}

// DealView is a deal with its state now and what is left.
type DealView struct {
	Deal
	State string `json:"state"`
	Left  int64  `json:"left"`
}

func (h *Handlers) dealView(d Deal) DealView {
	return DealView{Deal: d, State: d.State(h.svc.clock()), Left: d.Left()}
}

// DealList is the shop's latest deals.
type DealList struct {
	Items []DealView `json:"items"`
}

func (h *Handlers) apiDeals(c echo.Context) error {
	list, err := h.svc.Deals(c.Request().Context(), tenants.FromContext(c).ID)
	if err != nil {
		return err
	}
	out := DealList{Items: make([]DealView, 0, len(list))}
	for _, d := range list {
		out.Items = append(out.Items, h.dealView(d))
	}
	return c.JSON(http.StatusOK, out)
}

func (h *Handlers) apiCreateDeal(c echo.Context) error {
	var in DealInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	d, err := h.svc.CreateDeal(c.Request().Context(), tenants.FromContext(c).ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h.dealView(d))
}

func (h *Handlers) apiDeal(c echo.Context) error {
	d, err := h.svc.Deal(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.dealView(d))
}

// VoteRequest is a shopper's vote.
type VoteRequest struct {
	ProductID string `json:"product_id"`
}

func (h *Handlers) vote(c echo.Context) error {
	var in VoteRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	res, err := h.svc.Vote(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), in.ProductID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, res)
}

func (h *Handlers) ballots(c echo.Context) error {
	b, err := h.svc.Ballots(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.JSON(http.StatusOK, b)
}

// StorePage is what shop_vote.html receives.
type StorePage struct {
	Shop tenants.Tenant
	Page
	// BallotSpend is the spending of one ballot (fen).
	BallotSpend int64
	DailyVotes  int
	// Deals are the shop's group deals not ended, with their state.
	Deals []DealView
}

func (h *Handlers) page(c echo.Context) error {
	t := tenants.FromContext(c)
	p, err := h.svc.Page(c.Request().Context(), t.ID, fan.FromContext(c))
	if err != nil {
		return err
	}
	deals, err := h.svc.Deals(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	sp := StorePage{Shop: t, Page: p, BallotSpend: BallotSpend, DailyVotes: DailyVotes}
	for _, d := range deals {
		if v := h.dealView(d); v.State != DealEnded {
			sp.Deals = append(sp.Deals, v)
		}
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.Render(http.StatusOK, "shop_vote.html", sp)
}
