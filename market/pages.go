package market

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// HomePage is what market_home.html receives.
type HomePage struct {
	Q, Category string // empty: the search box and categories start blank
	Categories  []string
	Top         []Result // the best products across the market right now
	ForYou      ForYou   // what this visitor might like, and why
}

func (h *Handlers) home(c echo.Context) error {
	ctx := c.Request().Context()
	res, err := h.svc.Search(ctx, Query{Limit: 12})
	if err != nil {
		return err
	}
	p := HomePage{Categories: Categories, Top: res.Items}
	if ck, err := c.Cookie(visitorCookie); err == nil && len(ck.Value) == visitorLen { // nobody to recommend to on a first visit
		if p.ForYou, err = h.svc.Recommend(ctx, ck.Value); err != nil {
			return err
		}
	}
	return c.Render(http.StatusOK, "market_home.html", p)
}

// SearchPage is what market_search.html receives.
type SearchPage struct {
	Q, Category string
	Categories  []string
	Results     Results
	Error       string
}

func (h *Handlers) searchPage(c echo.Context) error {
	q := queryOf(c)
	p := SearchPage{Q: q.Text, Category: q.Category, Categories: Categories}
	res, err := h.svc.Search(c.Request().Context(), q)
	if err != nil {
		fe, ok := fault.Client(err)
		if !ok {
			return err
		}
		p.Error = fault.Message(c.Request().Context(), err)
		return c.Render(fe.Status, "market_search.html", p)
	}
	p.Results = res
	return c.Render(http.StatusOK, "market_search.html", p)
}

// RankingPage is what market_ranking.html receives.
type RankingPage struct{ Formula Formula }

// Percent shows a weight as a percentage.
func (RankingPage) Percent(w float64) int { return int(w*100 + 0.5) }

func (h *Handlers) rankingPage(c echo.Context) error {
	return c.Render(http.StatusOK, "market_ranking.html", RankingPage{Formula: PublishedFormula()})
}

// ReportPage is what market_report.html receives.
type ReportPage struct {
	Form  ReportInput
	Kinds []string
	Done  bool
	Error string
}

func (h *Handlers) reportForm(c echo.Context) error {
	return c.Render(http.StatusOK, "market_report.html", ReportPage{Kinds: ReportKinds,
		Form: ReportInput{Shop: c.QueryParam("shop"), ProductID: c.QueryParam("product_id"), Kind: "counterfeit"}})
}

func (h *Handlers) reportPost(c echo.Context) error {
	in := ReportInput{Shop: c.FormValue("shop"), ProductID: c.FormValue("product_id"), Kind: c.FormValue("kind"),
		Text: c.FormValue("text")}
	p := ReportPage{Kinds: ReportKinds, Form: in}
	if _, err := h.report(c, in); err != nil {
		fe, ok := fault.Client(err)
		if !ok {
			return err
		}
		p.Error = fault.Message(c.Request().Context(), err)
		return c.Render(fe.Status, "market_report.html", p)
	}
	p.Done = true
	return c.Render(http.StatusOK, "market_report.html", p)
}

// AdminRoutes mounts the console's market page on g (/admin).
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/market", h.adminPage)
	g.POST("/market", h.adminSave)
}

// AdminPage is what admin_market.html receives.
type AdminPage struct {
	Listing    Shop
	Categories []string
	Saved      bool
	Error      string
}

func (h *Handlers) adminPage(c echo.Context) error {
	sh, err := h.svc.Listing(c.Request().Context(), tenants.FromContext(c))
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "admin_market.html", AdminPage{Listing: sh, Categories: Categories,
		Saved: c.QueryParam("done") == "saved"})
}

func (h *Handlers) adminSave(c echo.Context) error {
	listed, category := c.FormValue("listed") == "on", c.FormValue("category")
	_, err := h.svc.SetListing(c.Request().Context(), tenants.FromContext(c), ListingInput{Listed: &listed, Category: &category})
	if err != nil {
		fe, ok := fault.Client(err)
		if !ok {
			return err
		}
		cur, _ := h.svc.Listing(c.Request().Context(), tenants.FromContext(c))
		return c.Render(fe.Status, "admin_market.html", AdminPage{Listing: cur, Categories: Categories,
			Error: fault.Message(c.Request().Context(), err)})
	}
	return c.Redirect(http.StatusSeeOther, "/admin/market?done=saved")
}

// OpsRoutes mounts the operator's market page on g (/ops).
func (h *Handlers) OpsRoutes(g *echo.Group) {
	g.GET("/market", h.opsPage)
	g.POST("/market/reports/:id/decide", h.opsDecidePost)
}

// OpsPage is what ops_market.html receives.
type OpsPage struct {
	Reports []Report
	Explain *Explain
	Q       struct{ Q, Shop, ProductID string }
	Error   string
}

func (h *Handlers) opsPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := OpsPage{}
	var err error
	if p.Reports, err = h.svc.Reports(ctx, "open"); err != nil {
		return err
	}
	p.Q.Q, p.Q.Shop, p.Q.ProductID = c.QueryParam("q"), c.QueryParam("shop"), c.QueryParam("product_id")
	if p.Q.Shop != "" {
		ex, err := h.svc.ExplainRank(ctx, p.Q.Q, p.Q.Shop, p.Q.ProductID)
		if err != nil {
			if _, ok := fault.Client(err); !ok {
				return err
			}
			p.Error = fault.Message(ctx, err)
		} else {
			p.Explain = &ex
		}
	}
	return c.Render(http.StatusOK, "ops_market.html", p)
}

func (h *Handlers) opsDecidePost(c echo.Context) error {
	op, err := operator(c)
	if err != nil {
		return err
	}
	d := Decision{Outcome: c.FormValue("outcome"), Note: c.FormValue("note")}
	if _, err := h.svc.Decide(c.Request().Context(), op, c.Param("id"), d, h.hider); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ops/market")
}
