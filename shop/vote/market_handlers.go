package vote

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// MarketHandlers serve the market's rounds: the merchant's registrations
// (/api/v1/market-vote, the console's vote page), the operator's approval
// and deals (/ops/vote, /api/ops/v1/market-vote), the shoppers' page and
// votes (/m/vote, /m/api/votes) and the link of a shop's fan to the
// market shopper (/s/{slug}/vote/market → /m/vote/link).
type MarketHandlers struct {
	m     *Service // the market's
	shops *Service // the shops' (their deals)
	dir   Shops
	// visitor is the market shopper of a request (the market's cookie;
	// "" for none when create is false).
	visitor func(c echo.Context, create bool) string
	// credit is the shop's credit level and score for the operator's picks (nil: none shown).
	credit func(ctx context.Context, tenantID string) (string, int)
}

// NewMarketHandlers returns the market rounds' handlers.
func NewMarketHandlers(m, shops *Service, dir Shops, visitor func(c echo.Context, create bool) string,
	credit func(ctx context.Context, tenantID string) (string, int)) *MarketHandlers {
	return &MarketHandlers{m: m, shops: shops, dir: dir, visitor: visitor, credit: credit}
}

// APIRoutes mounts the merchant's registrations on g (/api/v1).
func (h *MarketHandlers) APIRoutes(g *echo.Group) {
	g.GET("/market-vote/products", h.apiRegistrations)
	g.POST("/market-vote/products", h.apiRegister)
}

// StorefrontRoutes mounts the link to the market on g (/s/:slug).
func (h *MarketHandlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/vote/market", h.storefrontLink)
}

// MarketRoutes mounts the shoppers' page on g (/m, CSRF on forms).
func (h *MarketHandlers) MarketRoutes(g *echo.Group) {
	g.GET("/vote", h.page)
	g.GET("/vote/link", h.link)
}

// MarketAPIRoutes mounts the shoppers' JSON on g (/m/api).
func (h *MarketHandlers) MarketAPIRoutes(g *echo.Group) {
	api := g.Group("", fan.RequireJSON)
	api.POST("/votes", h.vote)
	api.GET("/votes", h.ballots)
}

// OpsRoutes mounts the operator's pages on g (/ops).
func (h *MarketHandlers) OpsRoutes(g *echo.Group) {
	g.GET("/vote", h.opsRounds)
	g.POST("/vote", h.opsCreate)
	g.GET("/vote/:id", h.opsRound)
	g.POST("/vote/:id/products/:product", h.opsDecide)
	g.POST("/vote/:id/deals", h.opsDeal)
}

// OpsAPIRoutes mounts the operator's calls on g (/api/ops/v1).
func (h *MarketHandlers) OpsAPIRoutes(g *echo.Group) {
	g.GET("/market-vote/rounds", h.opsAPIRounds)
	g.POST("/market-vote/rounds", h.opsAPICreate)
	g.GET("/market-vote/rounds/:id/results", h.opsAPIResults)
	g.POST("/market-vote/rounds/:id/products/:product/decision", h.opsAPIDecide)
	g.POST("/market-vote/deals", h.opsAPIDeal)
}

// RegistrationList is a shop's products in the market's latest rounds.
type RegistrationList struct {
	Items []Item `json:"items"`
}

func (h *MarketHandlers) apiRegistrations(c echo.Context) error {
	list, err := h.m.Registrations(c.Request().Context(), tenants.FromContext(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, RegistrationList{Items: list})
}

func (h *MarketHandlers) apiRegister(c echo.Context) error {
	var in ItemInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	it, err := h.m.Register(c.Request().Context(), tenants.FromContext(c).ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, it)
}

// storefrontLink mints the fan's link token and sends the shopper to the
// market, which takes it with its own cookie.
func (h *MarketHandlers) storefrontLink(c echo.Context) error {
	token, err := h.m.LinkToken(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	to := "/m/vote/link?token=" + token
	if p := c.QueryParam("product"); engine.ValidID(p) {
		to += "&product=" + p
	}
	return c.Redirect(http.StatusSeeOther, to)
}

func (h *MarketHandlers) link(c echo.Context) error {
	ctx := c.Request().Context()
	l, err := h.m.Link(ctx, h.visitor(c, true), c.QueryParam("token"))
	if err == nil {
		err = h.m.LinkVotes(ctx, h.shops, l)
	}
	if err != nil {
		if fe, ok := err.(*fault.Error); ok && fe.Status < 500 {
			return c.Redirect(http.StatusSeeOther, "/m/vote?link_error="+fe.Code)
		}
		return err
	}
	// From a deal's link: on to the product in its shop, where the voter buys first.
	if p := c.QueryParam("product"); engine.ValidID(p) {
		if t, err := h.dir.TenantByID(ctx, l.ShopID); err == nil {
			return c.Redirect(http.StatusSeeOther, "/s/"+t.Slug+"/p/"+p)
		}
	}
	return c.Redirect(http.StatusSeeOther, "/m/vote?done=linked")
}

// MarketItem is a product of the market's round as a shopper sees it: with its shop.
type MarketItem struct {
	Item
	Shop tenants.Tenant
}

// MarketPage is what market_vote.html receives.
type MarketPage struct {
	Round   *Round
	Items   []MarketItem
	Voted   map[string]bool
	Ballots Ballots
	// Spend is what to spend for the next ballot; Links the shops counted.
	Spend       int64
	Links       []MarketLink
	BallotSpend int64
	DailyVotes  int
	// Deals are the products the shopper voted for in the market's latest
	// ended round that opened as group deals, not ended.
	Deals []MarketDeal
	// Share is the page's share card: its title and description.
	ShareTitle, ShareDesc string
	Notice, Error         string
}

// MarketDeal is a group deal on a product the shopper voted for.
type MarketDeal struct {
	DealView
	Shop tenants.Tenant
}

// MarketLink is a linked shop, by name.
type MarketLink struct {
	Shop tenants.Tenant
	At   time.Time
}

func (h *MarketHandlers) page(c echo.Context) error {
	ctx := c.Request().Context()
	visitor := h.visitor(c, true)
	p, err := h.m.Page(ctx, MarketKey, visitor)
	if err != nil {
		return err
	}
	mp := MarketPage{Round: p.Round, Voted: p.Voted, Ballots: p.Ballots, Spend: p.Spend, BallotSpend: BallotSpend, DailyVotes: DailyVotes}
	shops := map[string]tenants.Tenant{}
	shop := func(id string) (tenants.Tenant, bool) {
		if t, ok := shops[id]; ok {
			return t, t.ID != ""
		}
		t, err := h.dir.TenantByID(ctx, id)
		if err != nil {
			t = tenants.Tenant{}
		}
		shops[id] = t
		return t, t.ID != ""
	}
	for _, it := range p.Items {
		if t, ok := shop(it.ShopID); ok {
			mp.Items = append(mp.Items, MarketItem{Item: it, Shop: t})
		}
	}
	links, err := h.m.Links(ctx, visitor)
	if err != nil {
		return err
	}
	for _, l := range links {
		if t, ok := shop(l.ShopID); ok {
			mp.Links = append(mp.Links, MarketLink{Shop: t, At: l.At})
		}
	}
	if mp.Deals, err = h.votedDeals(ctx, visitor, shop); err != nil {
		return err
	}
	switch {
	case c.QueryParam("done") == "linked":
		mp.Notice = i18n.T(ctx, "vote.market.linked")
	case c.QueryParam("link_error") != "":
		mp.Error = i18n.T(ctx, "vote.market.link_error."+linkErrorCode(c.QueryParam("link_error")))
	}
	mp.ShareTitle = i18n.T(ctx, "vote.share.market_title")
	mp.ShareDesc = i18n.T(ctx, "vote.share.market_desc", "Count", len(mp.Items))
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.Render(http.StatusOK, "market_vote.html", mp)
}

// votedDeals are the deals open or coming on what visitor voted for in the
// market's latest ended round.
func (h *MarketHandlers) votedDeals(ctx context.Context, visitor string, shop func(string) (tenants.Tenant, bool)) ([]MarketDeal, error) {
	rounds, err := h.m.store.Rounds(ctx, MarketKey, 3)
	if err != nil || visitor == "" {
		return nil, err
	}
	now := h.m.clock()
	for _, r := range rounds {
		if r.State(now) != Ended {
			continue
		}
		a, err := h.m.store.Account(ctx, MarketKey, visitor, r.ID)
		if err != nil {
			return nil, err
		}
		var out []MarketDeal
		for _, productID := range a.Voted {
			it, err := h.m.store.Item(ctx, MarketKey, r.ID, productID)
			if err != nil {
				continue
			}
			t, ok := shop(it.ShopID)
			if !ok {
				continue
			}
			_, d, err := h.shops.ProductDeal(ctx, it.ShopID, productID)
			if err != nil || d == nil || d.RoundID != r.ID {
				continue
			}
			if v := (DealView{Deal: *d, State: h.shops.DealState(*d), Left: d.Left()}); v.State != DealEnded {
				out = append(out, MarketDeal{DealView: v, Shop: t})
			}
		}
		return out, nil
	}
	return nil, nil
}

// linkErrorCode keeps a link error's code to the known ones.
func linkErrorCode(code string) string {
	if code == "linked_elsewhere" {
		return code
	}
	return "link_expired"
}

func (h *MarketHandlers) vote(c echo.Context) error {
	var in VoteRequest
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	res, err := h.m.Vote(c.Request().Context(), MarketKey, h.visitor(c, false), in.ProductID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, res)
}

func (h *MarketHandlers) ballots(c echo.Context) error {
	b, err := h.m.Ballots(c.Request().Context(), MarketKey, h.visitor(c, false))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
	return c.JSON(http.StatusOK, b)
}
