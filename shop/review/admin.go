package review

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// adminPageSize is how many reviews the console lists per page.
const adminPageSize = 20

// AdminRoutes mounts the console's review page on g (/admin, signed in,
// CSRF-protected): the shop's reviews, newest first, and the reply form.
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/reviews", h.adminList)
	g.POST("/reviews/:id/reply", h.adminReply)
}

// AdminPage is what admin_reviews.html receives.
type AdminPage struct {
	Shop      tenants.Tenant
	ProductID string
	Reviews   []Review
	Total     int64
	Page      int
	HasMore   bool
	Error     string
	Notice    string
}

// PageURL links to another page of the same list.
func (p AdminPage) PageURL(page int) string {
	u := "/admin/reviews?page=" + strconv.Itoa(page)
	if p.ProductID != "" {
		u += "&product_id=" + p.ProductID
	}
	return u
}

// Stars writes a rating as stars.
func (p AdminPage) Stars(n int) string { return stars(n) }

func stars(n int) string {
	out := ""
	for i := 1; i <= 5; i++ {
		if i <= n {
			out += "★"
		} else {
			out += "☆"
		}
	}
	return out
}

func (h *Handlers) adminList(c echo.Context) error {
	return h.renderList(c, http.StatusOK, AdminPage{Notice: i18n.Done(c, map[string]string{"reply": "review.admin.replied"})})
}

func (h *Handlers) renderList(c echo.Context, status int, p AdminPage) error {
	ctx := c.Request().Context()
	p.Shop = tenants.FromContext(c)
	p.Page, _ = strconv.Atoi(c.QueryParam("page"))
	p.Page = max(1, min(p.Page, 10_000))
	if id := c.QueryParam("product_id"); engine.ValidID(id) {
		p.ProductID = id
	}
	list, total, err := h.svc.List(ctx, p.Shop.ID, p.ProductID, adminPageSize, (p.Page-1)*adminPageSize)
	if err != nil {
		return err
	}
	p.Reviews, p.Total, p.HasMore = list, total, int64(p.Page*adminPageSize) < total
	return c.Render(status, "admin_reviews.html", p)
}

func (h *Handlers) adminReply(c echo.Context) error {
	ctx := c.Request().Context()
	_, err := h.svc.Reply(ctx, tenants.FromContext(c).ID, c.Param("id"), c.FormValue("text"))
	if err != nil {
		if fe, ok := err.(*fault.Error); ok && fe.Status < 500 {
			return h.renderList(c, fe.Status, AdminPage{Error: fault.Message(ctx, err)})
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/reviews?done=reply")
}
