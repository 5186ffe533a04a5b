package vote

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// The operator's side of the market's rounds: approving registrations,
// results, opening deals (pages under /ops/vote, calls under
// /api/ops/v1/market-vote).

// OpsRoundsPage is what ops_vote.html receives.
type OpsRoundsPage struct {
	Rounds []RoundView
	// Next is the round taking registrations (nil: none yet), with them.
	Next    *RoundView
	Pending []OpsItem
	// NextStart, NextEnd: the default window a new round takes.
	NextStart, NextEnd time.Time
	Notice, Error      string
}

// RoundsBase is where the rounds' pages are (partial_vote_rounds.html).
func (OpsRoundsPage) RoundsBase() string { return "/ops/vote" }

// OpsItem is a market round's product with its shop, stock and the shop's
// credit (what the operator weighs).
type OpsItem struct {
	Result
	Shop        tenants.Tenant
	Stock       int64
	CreditLevel string
	CreditScore int
	Deal        *DealView
}

// OpsRoundPage is what ops_vote_round.html receives.
type OpsRoundPage struct {
	Round   RoundView
	Items   []OpsItem // listed, most votes first
	Out     []OpsItem // pending, rejected, removed
	Flags   []Flag
	CanDeal bool
	// DealEnds is the deal form's default end (3 days on, China time).
	DealEnds      string
	Notice, Error string
}

func (h *MarketHandlers) view(r Round) RoundView { return h.m.View(r) }

func (h *MarketHandlers) opsRounds(c echo.Context) error {
	p := OpsRoundsPage{}
	switch c.QueryParam("done") {
	case "created":
		p.Notice = i18n.T(c.Request().Context(), "vote.admin.created")
	}
	return h.renderRounds(c, http.StatusOK, p)
}

func (h *MarketHandlers) renderRounds(c echo.Context, status int, p OpsRoundsPage) error {
	ctx := c.Request().Context()
	list, err := h.m.Rounds(ctx, MarketKey)
	if err != nil {
		return err
	}
	now := h.m.clock()
	for _, r := range list {
		p.Rounds = append(p.Rounds, h.view(r))
		if r.takesProducts(now) && (p.Next == nil || r.StartsAt.Before(p.Next.StartsAt)) {
			v := h.view(r)
			p.Next = &v
		}
	}
	if p.Next != nil {
		items, err := h.m.store.Items(ctx, MarketKey, p.Next.ID)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.State == ItemPending {
				p.Pending = append(p.Pending, h.opsItem(ctx, Result{Item: it}, nil))
			}
		}
	}
	p.NextStart, p.NextEnd = Window(now)
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Render(status, "ops_vote.html", p)
}

// opsItem adds the product's shop, stock and credit to a result.
func (h *MarketHandlers) opsItem(ctx context.Context, r Result, deals map[string]DealView) OpsItem {
	oi := OpsItem{Result: r}
	if t, err := h.dir.TenantByID(ctx, r.ShopID); err == nil {
		oi.Shop = t
	}
	if p, err := h.shops.products.Get(ctx, r.ShopID, r.ProductID); err == nil {
		oi.Stock = p.Stock
	}
	if h.credit != nil {
		oi.CreditLevel, oi.CreditScore = h.credit(ctx, r.ShopID)
	}
	if d, ok := deals[r.ProductID]; ok {
		oi.Deal = &d
	}
	return oi
}

func (h *MarketHandlers) opsCreate(c echo.Context) error {
	in := RoundInput{StartNow: c.FormValue("when") == "now"}
	r, err := h.m.CreateRound(c.Request().Context(), MarketKey, in)
	if err != nil {
		if fe, ok := err.(*fault.Error); ok && fe.Status < 500 {
			return h.renderRounds(c, fe.Status, OpsRoundsPage{Error: fault.Message(c.Request().Context(), err)})
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ops/vote/"+r.ID+"?done=created")
}

func (h *MarketHandlers) opsRound(c echo.Context) error {
	p := OpsRoundPage{}
	ctx := c.Request().Context()
	switch c.QueryParam("done") {
	case "created":
		p.Notice = i18n.T(ctx, "vote.admin.created")
	case "decided":
		p.Notice = i18n.T(ctx, "vote.ops.decided")
	case "deal":
		p.Notice = i18n.T(ctx, "vote.admin.deal_created")
	}
	return h.renderRound(c, http.StatusOK, p)
}

func (h *MarketHandlers) renderRound(c echo.Context, status int, p OpsRoundPage) error {
	ctx := c.Request().Context()
	// The checks first: a product they flag leaves the round (flag.go).
	var err error
	if p.Flags, err = h.m.Flags(ctx, MarketKey, c.Param("id")); err != nil {
		return err
	}
	res, err := h.m.Results(ctx, MarketKey, c.Param("id"))
	if err != nil {
		return err
	}
	p.Round = h.view(res.Round)
	p.CanDeal = res.State == Ended
	now := h.m.clock()
	p.DealEnds = now.Add(72 * time.Hour).In(China).Format("2006-01-02T15:04")
	deals := map[string]DealView{}
	if p.CanDeal {
		shops := map[string]bool{}
		for _, r := range res.Items {
			if shops[r.ShopID] {
				continue
			}
			shops[r.ShopID] = true
			list, err := h.shops.Deals(ctx, r.ShopID)
			if err != nil {
				continue // a shop gone: its products show without deals
			}
			for _, d := range list {
				if d.RoundID == res.Round.ID {
					deals[d.ProductID] = DealView{Deal: d, State: d.State(now), Left: d.Left()}
				}
			}
		}
	}
	for _, r := range res.Items {
		p.Items = append(p.Items, h.opsItem(ctx, r, deals))
	}
	for _, r := range res.Out {
		p.Out = append(p.Out, h.opsItem(ctx, r, nil))
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Render(status, "ops_vote_round.html", p)
}

func (h *MarketHandlers) opsDecide(c echo.Context) error {
	ctx := c.Request().Context()
	_, err := h.m.Decide(ctx, c.Param("id"), c.Param("product"), c.FormValue("decision") == "approve", c.FormValue("note"))
	if err != nil {
		if fe, ok := err.(*fault.Error); ok && fe.Status < 500 && !errors.Is(err, fault.ErrNotFound) {
			return h.renderRound(c, fe.Status, OpsRoundPage{Error: fault.Message(ctx, err)})
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ops/vote/"+c.Param("id")+"?done=decided")
}

func (h *MarketHandlers) opsDeal(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := h.m.Round(ctx, MarketKey, c.Param("id"))
	if err != nil {
		return err
	}
	in, err := dealForm(c, r.ID)
	if err == nil {
		_, err = h.m.OpenMarketDeal(ctx, h.shops, in)
	}
	if err != nil {
		if fe, ok := err.(*fault.Error); ok && fe.Status < 500 {
			return h.renderRound(c, fe.Status, OpsRoundPage{Error: fault.Message(ctx, err)})
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ops/vote/"+r.ID+"?done=deal")
}

func (h *MarketHandlers) opsAPIRounds(c echo.Context) error {
	out, err := h.m.RoundList(c.Request().Context(), MarketKey)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (h *MarketHandlers) opsAPICreate(c echo.Context) error {
	var in RoundInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.m.CreateRound(c.Request().Context(), MarketKey, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h.view(r))
}

func (h *MarketHandlers) opsAPIResults(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.m.Flags(ctx, MarketKey, c.Param("id")); err != nil { // removes what is flagged first
		return err
	}
	res, err := h.m.Results(ctx, MarketKey, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// DecisionRequest is the operator's approval or rejection of a registration.
type DecisionRequest struct {
	Approve bool   `json:"approve"`
	Note    string `json:"note"`
}

func (h *MarketHandlers) opsAPIDecide(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.m.Round(ctx, MarketKey, c.Param("id")); err != nil {
		return err
	}
	var in DecisionRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	it, err := h.m.Decide(ctx, c.Param("id"), c.Param("product"), in.Approve, in.Note)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, it)
}

func (h *MarketHandlers) opsAPIDeal(c echo.Context) error {
	var in DealInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	d, err := h.m.OpenMarketDeal(c.Request().Context(), h.shops, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, DealView{Deal: d, State: d.State(h.m.clock()), Left: d.Left()})
}
