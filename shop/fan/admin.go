package fan

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
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
		Subscribed: c.QueryParam("subscribed"), HasMore: int64(f.Offset+len(fans)) < total, loc: t.Location()})
}

func (h *Handlers) adminFan(c echo.Context) error {
	t, d, err := h.detail(c)
	if err != nil {
		return err
	}
	p := AdminPage{Shop: t, Detail: d, loc: t.Location()}
	if c.QueryParam("done") == "sent" {
		p.Notice = i18n.T(c.Request().Context(), "console.fans.sent")
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
		return c.Render(fe.Status, "admin_fans_view.html", AdminPage{Shop: t, Detail: d, Reply: text,
			Error: fault.Message(c.Request().Context(), fe), loc: t.Location()})
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

// Shut says why the reply window is shut (Why names a message under
// console.fans.window.), with the times and count the message shows; the
// page words it in its language from this rather than showing
// ReplyWindow.Reason, which is English.
type Shut struct {
	Why        string // not_following, unfollowed, used_up, never_wrote, closed
	At, Closed time.Time
	Replies    int
}

// Shut is why the fan's reply window is shut (ReplyWindow tells, in the
// same order of cases).
func (p AdminPage) Shut() Shut {
	d := p.Detail
	switch {
	case d.OpenID == "":
		return Shut{Why: "not_following"}
	case !d.Subscribed:
		return Shut{Why: "unfollowed", At: d.UnsubscribedAt}
	case strings.HasPrefix(d.ReplyWindow.Reason, "You have sent"): // within the window, every reply used
		return Shut{Why: "used_up", At: d.LastMessageAt, Replies: MessageReplies}
	case d.LastMessageAt.IsZero():
		return Shut{Why: "never_wrote"}
	}
	return Shut{Why: "closed", At: d.LastMessageAt, Closed: d.LastMessageAt.Add(MessageWindow)}
}

// msgKinds are the kinds of message a fan sends that Content starts with
// in brackets ("[image] https://…"): the page names the kind in its
// language and shows the rest.
var msgKinds = []string{"image", "voice", "video", "location", "link"}

// Tag is the bracketed kind m's content starts with ("image"), or "".
func (p AdminPage) Tag(m Message) string {
	if m.Kind == "text" {
		return ""
	}
	for _, k := range msgKinds {
		if strings.HasPrefix(m.Content, "["+k+"]") {
			return k
		}
	}
	return ""
}

// Body is m's content after its bracketed kind (Tag).
func (p AdminPage) Body(m Message) string {
	if k := p.Tag(m); k != "" {
		return strings.TrimPrefix(m.Content, "["+k+"]")
	}
	return m.Content
}
