package vote

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/catalog"
	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// AdminRoutes mounts the console's vote pages on g (/admin, signed in,
// CSRF-protected): the rounds and a new one, a round's products, live
// results and adding a product.
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/vote", h.adminRounds)
	g.POST("/vote", h.adminCreate)
	g.GET("/vote/:id", h.adminRound)
	g.POST("/vote/:id/products", h.adminAddItem)
	g.POST("/vote/:id/deals", h.adminCreateDeal)
	g.POST("/vote/market", h.adminMarket)
}

// adminMarket registers one of the shop's products for the market's next round.
func (h *Handlers) adminMarket(c echo.Context) error {
	if h.market == nil {
		return fault.NotFound("market round")
	}
	ctx := c.Request().Context()
	price, err := catalog.ParseYuan("expected_price", strings.TrimSpace(c.FormValue("expected_price")))
	var target int64
	if err == nil && c.FormValue("target_votes") != "" {
		if target, err = strconv.ParseInt(c.FormValue("target_votes"), 10, 64); err != nil {
			err = fault.Invalid("target_votes", "must be from 0 to 1000000")
		}
	}
	if err == nil {
		_, err = h.market.Register(ctx, tenants.FromContext(c).ID, ItemInput{ProductID: c.FormValue("product_id"), ExpectedPrice: price, TargetVotes: target})
	}
	if err != nil {
		if fe, ok := err.(*fault.Error); ok && fe.Status < 500 {
			return h.renderRounds(c, fe.Status, AdminRoundsPage{Error: fault.Message(ctx, err)})
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/vote?done=market")
}

// AdminRoundsPage is what admin_vote.html receives.
type AdminRoundsPage struct {
	Shop   tenants.Tenant
	Rounds []RoundView
	// Next is the default window a new round takes.
	NextStart, NextEnd time.Time
	// Deals are the shop's latest group deals.
	Deals []DealView
	// Bar is the platform's bar of the shop from votes, if one is in force.
	Bar *Bar
	// Market: the market's rounds are on (SetMarket); Registrations are
	// the shop's products in its latest rounds, MarketProducts those it
	// may register.
	Market         bool
	Registrations  []Item
	MarketProducts []catalog.Product
	Error, Notice  string
}

// RoundsBase is where the rounds' pages are (partial_vote_rounds.html).
func (AdminRoundsPage) RoundsBase() string { return "/admin/vote" }

// AdminRoundPage is what admin_vote_round.html receives.
type AdminRoundPage struct {
	Shop     tenants.Tenant
	Round    RoundView
	Results  Results
	Products []catalog.Product // the shop's products to pick from
	// CanAdd: the round still takes products.
	CanAdd bool
	// CanDeal: the round has ended, its voted products may open as deals
	// (Deals: those that did, by product).
	CanDeal bool
	Deals   map[string]DealView
	// DealEnds is the deal form's default end (3 days on, China time).
	DealEnds string
	// Flags are the round's brushing flags with their evidence.
	Flags         []Flag
	Total         int64
	Error, Notice string
}

// Bar is a result's share of the leader's votes, in percent (the bar's width).
func (p AdminRoundPage) Bar(votes int64) int {
	top := int64(0)
	for _, r := range p.Results.Items {
		top = max(top, r.Votes)
	}
	if top == 0 {
		return 0
	}
	return int(votes * 100 / top)
}

// Reached says whether a product has its target votes.
func (AdminRoundPage) Reached(r Result) bool { return r.TargetVotes > 0 && r.Votes >= r.TargetVotes }

// Hours writes a product's votes per hour ("12-08 10:00 +3 · 12-08 11:00 +1"), in the shop's time.
func (p AdminRoundPage) Hours(r Result) string {
	parts := make([]string, 0, len(r.Series))
	for _, pt := range r.Series {
		parts = append(parts, pt.At.In(p.Shop.Location()).Format("01-02 15:00")+" +"+strconv.FormatInt(pt.Votes, 10))
	}
	return strings.Join(parts, " · ")
}

func (h *Handlers) adminRounds(c echo.Context) error {
	p := AdminRoundsPage{}
	ctx := c.Request().Context()
	if c.QueryParam("done") == "market" {
		p.Notice = i18n.T(ctx, "vote.admin.market_registered")
	}

	return h.renderRounds(c, http.StatusOK, p)
}

func (h *Handlers) renderRounds(c echo.Context, status int, p AdminRoundsPage) error {
	p.Shop = tenants.FromContext(c)
	list, err := h.svc.Rounds(c.Request().Context(), p.Shop.ID)
	if err != nil {
		return err
	}
	for _, r := range list {
		p.Rounds = append(p.Rounds, h.view(r))
	}
	p.NextStart, p.NextEnd = Window(h.svc.clock())
	if b, ok, err := h.svc.Barred(c.Request().Context(), p.Shop.ID); err != nil {
		return err
	} else if ok {
		p.Bar = &b
	}
	deals, err := h.svc.Deals(c.Request().Context(), p.Shop.ID)
	if err != nil {
		return err
	}
	for _, d := range deals {
		p.Deals = append(p.Deals, h.dealView(d))
	}
	if h.market != nil {
		p.Market = true
		if p.Registrations, err = h.market.Registrations(c.Request().Context(), p.Shop.ID); err != nil {
			return err
		}
		var in []Result
		for _, it := range p.Registrations {
			in = append(in, Result{Item: it})
		}
		if p.MarketProducts, err = h.svc.pickable(c.Request().Context(), p.Shop.ID, in); err != nil {
			return err
		}
	}
	return c.Render(status, "admin_vote.html", p)
}

// formTime reads a datetime-local field in China time ("" is nil).
func formTime(field, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", v, China)
	if err != nil {
		return nil, fault.Invalid(field, "must be a date and time like 2026-12-08T08:00")
	}
	return &t, nil
}

func (h *Handlers) adminCreate(c echo.Context) error {
	ctx := c.Request().Context()
	in := RoundInput{StartNow: c.FormValue("when") == "now"}
	var err error
	if c.FormValue("when") == "custom" {
		if in.StartsAt, err = formTime("starts_at", c.FormValue("starts_at")); err == nil {
			in.EndsAt, err = formTime("ends_at", c.FormValue("ends_at"))
		}
		if err == nil && in.StartsAt == nil {
			err = fault.Invalid("starts_at", "must be a date and time like 2026-12-08T08:00")
		}
	}
	var r Round
	if err == nil {
		r, err = h.svc.CreateRound(ctx, tenants.FromContext(c).ID, in)
	}
	if err != nil {
		if fe, ok := err.(*fault.Error); ok && fe.Status < 500 {
			return h.renderRounds(c, fe.Status, AdminRoundsPage{Error: fault.Message(ctx, err)})
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/vote/"+r.ID+"?done=created")
}

func (h *Handlers) adminRound(c echo.Context) error {
	p := AdminRoundPage{}
	switch c.QueryParam("done") {
	case "created":
		p.Notice = i18n.T(c.Request().Context(), "vote.admin.created")
	case "added":
		p.Notice = i18n.T(c.Request().Context(), "vote.admin.added")
	case "deal":
		p.Notice = i18n.T(c.Request().Context(), "vote.admin.deal_created")
	}
	return h.renderRound(c, http.StatusOK, p)
}

// pickable is how many of the shop's products the add form offers.
const pickable = 100

func (h *Handlers) renderRound(c echo.Context, status int, p AdminRoundPage) error {
	ctx := c.Request().Context()
	p.Shop = tenants.FromContext(c)
	// The checks first: a product they flag leaves the round (flag.go).
	var err error
	if p.Flags, err = h.svc.Flags(ctx, p.Shop.ID, c.Param("id")); err != nil {
		return err
	}
	res, err := h.svc.Results(ctx, p.Shop.ID, c.Param("id"))
	if err != nil {
		return err
	}
	p.Results, p.Round = res, h.view(res.Round)
	for _, r := range res.Items {
		p.Total += r.Votes
	}
	now := h.svc.clock()
	p.CanAdd = res.Round.takesProducts(now)
	p.CanDeal = res.State == Ended
	p.DealEnds = now.Add(72 * time.Hour).In(China).Format("2006-01-02T15:04")
	p.Deals = map[string]DealView{}
	deals, err := h.svc.Deals(ctx, p.Shop.ID)
	if err != nil {
		return err
	}
	for _, d := range deals {
		if d.RoundID == res.Round.ID {
			p.Deals[d.ProductID] = h.dealView(d)
		}
	}
	if p.CanAdd {
		if p.Products, err = h.svc.pickable(ctx, p.Shop.ID, res.Items); err != nil {
			return err
		}
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Render(status, "admin_vote_round.html", p)
}

func (h *Handlers) adminAddItem(c echo.Context) error {
	ctx := c.Request().Context()
	tenantID := tenants.FromContext(c).ID
	if _, err := h.svc.Round(ctx, tenantID, c.Param("id")); err != nil {
		return err
	}
	price, err := catalog.ParseYuan("expected_price", strings.TrimSpace(c.FormValue("expected_price")))
	var target int64
	if err == nil && c.FormValue("target_votes") != "" {
		target, err = strconv.ParseInt(c.FormValue("target_votes"), 10, 64)
		if err != nil {
			err = fault.Invalid("target_votes", "must be from 0 to 1000000")
		}
	}
	if err == nil {
		_, err = h.svc.AddItem(ctx, tenantID, c.Param("id"), ItemInput{ProductID: c.FormValue("product_id"), ExpectedPrice: price, TargetVotes: target})
	}
	if err != nil {
		if fe, ok := err.(*fault.Error); ok && fe.Status < 500 {
			return h.renderRound(c, fe.Status, AdminRoundPage{Error: fault.Message(ctx, err)})
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/vote/"+c.Param("id")+"?done=added")
}

func (h *Handlers) adminCreateDeal(c echo.Context) error {
	ctx := c.Request().Context()
	tenantID := tenants.FromContext(c).ID
	r, err := h.svc.Round(ctx, tenantID, c.Param("id"))
	if err != nil {
		return err
	}
	in, err := dealForm(c, r.ID)
	if err == nil {
		_, err = h.svc.CreateDeal(ctx, tenantID, in)
	}
	if err != nil {
		if fe, ok := err.(*fault.Error); ok && fe.Status < 500 {
			return h.renderRound(c, fe.Status, AdminRoundPage{Error: fault.Message(ctx, err)})
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/vote/"+r.ID+"?done=deal")
}

// dealForm reads the console's and the operator's deal form: the price in
// yuan, the quantity, the voters' head start in minutes and the end.
func dealForm(c echo.Context, roundID string) (DealInput, error) {
	in := DealInput{RoundID: roundID, ProductID: c.FormValue("product_id")}
	var err error
	if in.Price, err = catalog.ParseYuan("price", strings.TrimSpace(c.FormValue("price"))); err != nil {
		return in, err
	}
	if in.Quantity, err = strconv.ParseInt(c.FormValue("quantity"), 10, 64); err != nil {
		return in, fault.Invalid("quantity", "must be from 1 to %d", MaxDealQuantity)
	}
	head, err := strconv.Atoi(c.FormValue("head_start_minutes"))
	if err != nil {
		return in, fault.Invalid("head_start_minutes", "must be from 0 to %d", int(MaxHeadStart.Minutes()))
	}
	in.HeadStartMinutes = &head
	end, err := formTime("ends_at", c.FormValue("ends_at"))
	if err != nil {
		return in, err
	}
	if end == nil {
		return in, fault.Invalid("ends_at", "must be a date and time like 2026-12-08T08:00")
	}
	in.EndsAt = *end
	return in, nil
}
