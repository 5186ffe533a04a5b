package market

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
)

// peopleRoutes mounts the shopper's own market pages (with MarketRoutes).
func (h *Handlers) peopleRoutes(g *echo.Group) {
	g.GET("/go/:shop/:product", h.goProduct)
	g.POST("/fav", h.favourite)
	g.GET("/me", h.mePage)
	g.POST("/me/share", h.share)
	g.POST("/me/invite", h.invite)
	g.POST("/me/friends/:i/remove", h.unfriend)
	g.GET("/friends/accept/:token", h.acceptPage)
	g.POST("/friends/accept/:token", h.accept)
}

// goProduct records a market visitor's view, then opens the product in
// its shop under the market channel.
func (h *Handlers) goProduct(c echo.Context) error {
	it, sh, ok := h.svc.itemBySlug(c.Param("shop"), c.Param("product"))
	if !ok {
		return fault.NotFound("product")
	}
	if err := h.svc.Viewed(c.Request().Context(), h.visitor(c), it.ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/s/"+sh.Slug+"/p/"+it.ProductID+"?ch=market")
}

func (h *Handlers) favourite(c echo.Context) error {
	on := c.FormValue("on") != "false"
	if err := h.svc.SetFavourite(c.Request().Context(), h.visitor(c), c.FormValue("shop"), c.FormValue("product_id"), on); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/m/me")
}

// MePage is what market_me.html receives.
type MePage struct {
	ForYou ForYou
	Favs   []Result
	Invite string // an invitation link just made
	Error  string
}

func (h *Handlers) mePage(c echo.Context) error {
	return h.renderMe(c, http.StatusOK, MePage{})
}

func (h *Handlers) renderMe(c echo.Context, status int, p MePage) error {
	ctx := c.Request().Context()
	fy, err := h.svc.Recommend(ctx, h.visitor(c))
	if err != nil {
		return err
	}
	p.ForYou = fy
	s := h.svc
	s.mu.RLock()
	listed, factors := s.listed, s.factors
	s.mu.RUnlock()
	for _, f := range fy.Person.Favs {
		if hit, ok := s.hit(f.Item, listed, factors); ok {
			p.Favs = append(p.Favs, s.result(hit, listed, factors, s.clock()))
		}
	}
	return c.Render(status, "market_me.html", p)
}

func (h *Handlers) share(c echo.Context) error {
	_, err := h.svc.SetSharing(c.Request().Context(), h.visitor(c), c.FormValue("share") == "on", c.FormValue("nickname"))
	if fe, ok := fault.Client(err); ok {
		return h.renderMe(c, fe.Status, MePage{Error: fault.Message(c.Request().Context(), err)})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/m/me")
}

func (h *Handlers) invite(c echo.Context) error {
	token, err := h.svc.Invite(c.Request().Context(), h.visitor(c))
	if fe, ok := fault.Client(err); ok {
		return h.renderMe(c, fe.Status, MePage{Error: fault.Message(c.Request().Context(), err)})
	}
	if err != nil {
		return err
	}
	return h.renderMe(c, http.StatusOK, MePage{Invite: c.Scheme() + "://" + c.Request().Host + "/m/friends/accept/" + token})
}

func (h *Handlers) unfriend(c echo.Context) error {
	i, err := strconv.Atoi(c.Param("i"))
	if err != nil {
		return fault.NotFound("friend")
	}
	if err := h.svc.Unfriend(c.Request().Context(), h.visitor(c), i); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/m/me")
}

// AcceptPage is what market_accept.html receives.
type AcceptPage struct {
	Token string
	Error string
}

func (h *Handlers) acceptPage(c echo.Context) error {
	return c.Render(http.StatusOK, "market_accept.html", AcceptPage{Token: c.Param("token")})
}

func (h *Handlers) accept(c echo.Context) error {
	err := h.svc.Accept(c.Request().Context(), h.visitor(c), c.Param("token"), c.FormValue("nickname"))
	if fe, ok := fault.Client(err); ok {
		return c.Render(fe.Status, "market_accept.html", AcceptPage{Token: c.Param("token"), Error: fault.Message(c.Request().Context(), err)})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/m/me")
}
