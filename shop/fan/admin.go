package fan

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// adminPageSize is how many fans a console page lists.
const adminPageSize = 50

// AdminRoutes mounts the console's fan pages on g (/admin, signed in, CSRF).
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/fans", h.adminList)
	g.GET("/fans/:id", h.adminFan)
	g.POST("/fans/:id/reply", h.adminReply)
}

// AdminPage is what admin_fans.html and admin_fans_view.html receive.
type AdminPage struct {
	Shop       tenants.Tenant
	Fans       []Fan
	Total      int64
	Filter     Filter
	Subscribed string // the filter as typed: "", "true", "false"
	HasMore    bool
	Detail     Detail
	Reply      string
	Error      string
	Notice     string
	loc        *time.Location
}

// At formats a time in the shop's zone ("" for none).
func (p AdminPage) At(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(p.loc).Format("2006-01-02 15:04")
}

// PageURL links to another page of the same list.
func (p AdminPage) PageURL(offset int) string {
	v := url.Values{}
	if p.Filter.OpenID != "" {
		v.Set("openid", p.Filter.OpenID)
	}
	if p.Subscribed != "" {
		v.Set("subscribed", p.Subscribed)
	}
	if p.Filter.Source != "" {
		v.Set("source", p.Filter.Source)
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	return "/admin/fans?" + v.Encode()
}

// Prev and Next are the neighbouring pages' offsets.
func (p AdminPage) Prev() int { return max(0, p.Filter.Offset-adminPageSize) }

// Next is the next page's offset.
func (p AdminPage) Next() int { return p.Filter.Offset + adminPageSize }

func (h *Handlers) adminList(c echo.Context) error {
	t := tenants.FromContext(c)
	f, err := filterFromQuery(c)
	if err != nil {
		return err
	}
	f.Limit = adminPageSize
	fans, total, err := h.svc.List(c.Request().Context(), t.ID, f)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "admin_fans.html", AdminPage{Shop: t, Fans: fans, Total: total, Filter: f,
		Subscribed: c.QueryParam("subscribed"), HasMore: int64(f.Offset+len(fans)) < total, loc: location(t)})
}

func (h *Handlers) adminFan(c echo.Context) error {
	t, d, err := h.detail(c)
	if err != nil {
		return err
	}
	p := AdminPage{Shop: t, Detail: d, loc: location(t)}
	if c.QueryParam("done") == "sent" {
		p.Notice = "Message sent."
	}
	return c.Render(http.StatusOK, "admin_fans_view.html", p)
}

func (h *Handlers) adminReply(c echo.Context) error {
	t := tenants.FromContext(c)
	text := c.FormValue("text")
	_, err := h.svc.Reply(c.Request().Context(), t, c.Param("id"), text)
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status != http.StatusNotFound {
		_, d, derr := h.detail(c)
		if derr != nil {
			return derr
		}
		return c.Render(fe.Status, "admin_fans_view.html", AdminPage{Shop: t, Detail: d, Reply: text, Error: fe.Message, loc: location(t)})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/fans/"+c.Param("id")+"?done=sent")
}

// Sources are the first sources the list can filter by.
func (p AdminPage) Sources() []string {
	return []string{SourceWeChatQR, SourceWeChatFollow, SourceWeChatMessage, SourceWeChatOAuth, "share_link", "direct"}
}
