package sandbox

import (
	"encoding/xml"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
	"microshop/tenants/wechat"
)

// Phone is the console's "sandbox phone": the browser plays a fake WeChat
// user (its device cookie) who scans the shop's QR codes, follows,
// unfollows and writes. Each action becomes the push WeChat would send,
// signed (and in safe mode encrypted) with the shop's settings, delivered
// to the shop's real /wx/{slug} endpoint through the server's own handler;
// a passive reply (the welcome message) comes back to the phone.
type Phone struct {
	sim      *Simulator
	accounts *wechat.Accounts
	push     http.Handler
	log      *slog.Logger
}

// NewPhone returns the phone; pushes go through push (the server's router).
func NewPhone(sim *Simulator, accounts *wechat.Accounts, push http.Handler, log *slog.Logger) *Phone {
	return &Phone{sim: sim, accounts: accounts, push: push, log: log}
}

// AdminRoutes mounts the phone and the outbox on g (/admin, signed in,
// CSRF-protected).
func (p *Phone) AdminRoutes(g *echo.Group) {
	g.GET("/wechat/phone", p.page)
	for _, a := range phoneActions {
		g.POST("/wechat/phone/"+a.name, p.action(a))
	}
	g.POST("/wechat/phone/new", p.newPhone)
	g.GET("/wechat/outbox", p.outbox)
}

// PhonePage is what admin_wechat_phone.html receives.
type PhonePage struct {
	Shop     tenants.Tenant
	Settings wechat.View
	Fan      FanState
	Codes    []wechat.QRCode
	Done     string
	Status   int
	Error    string
	ShopURL  string
}

// OutboxPage is what admin_wechat_outbox.html receives.
type OutboxPage struct {
	Shop     tenants.Tenant
	Settings wechat.View
	Sent     []Sent
}

// settings is the requesting shop's account, which the phone and the
// outbox show only with its own credentials: Accounts.Settings refuses an
// AppID another shop holds, and the simulator an AppSecret that is not the
// app's.
func (p *Phone) settings(c echo.Context) (tenants.Tenant, wechat.Settings, error) {
	t := tenants.FromContext(c)
	if s, ok := p.authorized(c.Request().Context(), t.ID); ok {
		return t, s, nil // an account the shop authorised to the platform (component_page.go)
	}
	s, err := p.accounts.Settings(c.Request().Context(), t.ID)
	if err != nil {
		return t, wechat.Settings{}, err
	}
	if !p.sim.Owns(s.AppID, s.AppSecret) {
		return t, wechat.Settings{}, fault.Conflict("the sandbox WeChat knows AppID %s with another AppSecret, "+
			"so it shows nothing of that account here; the sandbox forgets its accounts when the server restarts", s.AppID)
	}
	return t, s, nil
}

func (p *Phone) page(c echo.Context) error {
	t, s, err := p.settings(c)
	if err != nil {
		return err
	}
	codes, err := p.accounts.QRCodes(c.Request().Context(), t.ID, 50)
	if err != nil {
		return err
	}
	openID := p.sim.OpenID(s.AppID, Device(c.Response(), c.Request()))
	pg := PhonePage{Shop: t, Settings: s.View(), Fan: p.sim.Fan(s.AppID, openID), Codes: codes,
		Done: c.QueryParam("done"), ShopURL: "/s/" + t.Slug + "/?wxoauth=1"}
	pg.Status, _ = strconv.Atoi(c.QueryParam("status"))
	switch e := c.QueryParam("error"); e {
	case "":
	case "ticket", "following", "not_following":
		pg.Error = i18n.T(c.Request().Context(), "phone.error."+e)
	default:
		pg.Error = i18n.T(c.Request().Context(), "phone.error.failed")
	}
	return c.Render(http.StatusOK, "admin_wechat_phone.html", pg)
}

// phoneAction is one thing the phone's fan can do: POST
// /wechat/phone/{name}.
type phoneAction struct {
	name string
	// input reads and checks the form (nil: the action takes none).
	input func(c echo.Context) (string, error)
	// do is the action on the simulator: the push WeChat sends, or nil
	// when the action is refused, which the phone shows as refused.
	do      func(sim *Simulator, appID, openID, in string) []byte
	refused string
}

var phoneActions = []phoneAction{
	{name: "follow", refused: "following", do: func(sim *Simulator, appID, openID, _ string) []byte {
		return sim.Follow(appID, openID)
	}},
	{name: "unfollow", refused: "not_following", do: func(sim *Simulator, appID, openID, _ string) []byte {
		return sim.Unfollow(appID, openID)
	}},
	{name: "scan", refused: "ticket",
		input: func(c echo.Context) (string, error) { return c.FormValue("ticket"), nil },
		do: func(sim *Simulator, appID, openID, ticket string) []byte {
			msg, _ := sim.Scan(appID, openID, ticket) // nil exactly when the ticket is bad
			return msg
		}},
	{name: "text", refused: "not_following", input: textInput, do: (*Simulator).Text},
}

// textInput is what the phone's fan writes: one line (the phone's input
// box), checked as fault.Text.
func textInput(c echo.Context) (string, error) {
	text, err := fault.Text("text", c.FormValue("text"), 600)
	if err == nil && text == "" {
		err = fault.Invalid("text", "type a message first")
	}
	return text, err
}

// action runs a fan action and delivers its push, then shows the phone
// again.
func (p *Phone) action(a phoneAction) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in string
		if a.input != nil {
			var err error
			if in, err = a.input(c); err != nil {
				return err
			}
		}
		t, s, err := p.settings(c)
		if err != nil {
			return err
		}
		openID := p.sim.OpenID(s.AppID, Device(c.Response(), c.Request()))
		back := url.Values{}
		msg := a.do(p.sim, s.AppID, openID, in)
		if msg == nil {
			back.Set("error", a.refused)
			return c.Redirect(http.StatusSeeOther, "/admin/wechat/phone?"+back.Encode())
		}
		status, err := p.deliver(c.Request(), t, s, openID, msg)
		if err != nil {
			return err
		}
		back.Set("done", a.name)
		back.Set("status", strconv.Itoa(status))
		return c.Redirect(http.StatusSeeOther, "/admin/wechat/phone?"+back.Encode())
	}
}

func (p *Phone) newPhone(c echo.Context) error {
	NewDevice(c.Response())
	return c.Redirect(http.StatusSeeOther, "/admin/wechat/phone?done=new")
}

func (p *Phone) outbox(c echo.Context) error {
	t, s, err := p.settings(c)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "admin_wechat_outbox.html", OutboxPage{Shop: t, Settings: s.View(), Sent: p.sim.Outbox(s.AppID)})
}

// deliver sends msg to the shop's push endpoint the way WeChat does and
// hands a passive reply to the fan. It returns the endpoint's status.
func (p *Phone) deliver(orig *http.Request, t tenants.Tenant, s wechat.Settings, openID string, msg []byte) (int, error) {
	status, body, push, err := p.deliverAny(orig, t, s, msg) // to /wx/{slug}, or an authorised account's callback
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		p.log.Warn("sandbox push refused", "tenant", t.ID, "status", status, "body", string(body))
		return status, nil
	}
	raw, err := wechat.OpenReply(push, body)
	if err != nil {
		p.log.Warn("sandbox push reply unreadable", "tenant", t.ID, "err", err)
		return status, nil
	}
	if raw != nil {
		var r struct {
			MsgType string `xml:"MsgType"`
			Content string `xml:"Content"`
		}
		if xml.Unmarshal(raw, &r) == nil && r.MsgType == "text" {
			p.sim.Received(s.AppID, openID, r.Content)
		}
	}
	return status, nil
}
