package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
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
	g.POST("/wechat/phone/follow", p.follow)
	g.POST("/wechat/phone/unfollow", p.unfollow)
	g.POST("/wechat/phone/scan", p.scan)
	g.POST("/wechat/phone/text", p.text)
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

func (p *Phone) settings(c echo.Context) (tenants.Tenant, wechat.Settings, error) {
	t := tenants.FromContext(c)
	s, err := p.accounts.Settings(c.Request().Context(), t.ID)
	return t, s, err
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
	switch c.QueryParam("error") {
	case "":
	case "ticket":
		pg.Error = ErrBadTicket.Error() + "."
	case "following":
		pg.Error = "This phone already follows the account."
	case "not_following":
		pg.Error = "This phone does not follow the account."
	default:
		pg.Error = "That did not work; try again."
	}
	return c.Render(http.StatusOK, "admin_wechat_phone.html", pg)
}

// act runs a fan action and delivers its push, then shows the phone again.
func (p *Phone) act(c echo.Context, done string, fn func(appID, openID string) ([]byte, string)) error {
	t, s, err := p.settings(c)
	if err != nil {
		return err
	}
	openID := p.sim.OpenID(s.AppID, Device(c.Response(), c.Request()))
	msg, problem := fn(s.AppID, openID)
	back := url.Values{}
	if problem != "" {
		back.Set("error", problem)
		return c.Redirect(http.StatusSeeOther, "/admin/wechat/phone?"+back.Encode())
	}
	status, err := p.deliver(c.Request(), t, s, openID, msg)
	if err != nil {
		return err
	}
	back.Set("done", done)
	back.Set("status", strconv.Itoa(status))
	return c.Redirect(http.StatusSeeOther, "/admin/wechat/phone?"+back.Encode())
}

func (p *Phone) follow(c echo.Context) error {
	return p.act(c, "follow", func(appID, openID string) ([]byte, string) {
		if msg := p.sim.Follow(appID, openID); msg != nil {
			return msg, ""
		}
		return nil, "following"
	})
}

func (p *Phone) unfollow(c echo.Context) error {
	return p.act(c, "unfollow", func(appID, openID string) ([]byte, string) {
		if msg := p.sim.Unfollow(appID, openID); msg != nil {
			return msg, ""
		}
		return nil, "not_following"
	})
}

func (p *Phone) scan(c echo.Context) error {
	tk := c.FormValue("ticket")
	return p.act(c, "scan", func(appID, openID string) ([]byte, string) {
		msg, err := p.sim.Scan(appID, openID, tk)
		if err != nil {
			return nil, "ticket"
		}
		return msg, ""
	})
}

func (p *Phone) text(c echo.Context) error {
	text := strings.TrimSpace(c.FormValue("text"))
	if text == "" {
		return fault.Invalid("text", "type a message first")
	}
	if utf8.RuneCountInString(text) > 600 {
		return fault.Invalid("text", "must be at most 600 characters")
	}
	return p.act(c, "text", func(appID, openID string) ([]byte, string) {
		if msg := p.sim.Text(appID, openID, text); msg != nil {
			return msg, ""
		}
		return nil, "not_following"
	})
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
	status, body, err := Deliver(orig.Context(), p.push, orig.Host, t.Slug, s, msg, p.sim.now().Unix())
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		p.log.Warn("sandbox push refused", "tenant", t.ID, "status", status, "body", string(body))
		return status, nil
	}
	raw, err := wechat.OpenReply(s, body)
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

// Deliver signs the plaintext push msg with the shop's settings s and sends
// it to /wx/{slug} through h (the server's router, in process) as WeChat
// would, returning the answer's status and body.
func Deliver(ctx context.Context, h http.Handler, host, slug string, s wechat.Settings, msg []byte, timestamp int64) (int, []byte, error) {
	q, body, err := wechat.SignPush(s, msg, timestamp, Nonce())
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/wx/"+slug+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Host = host
	req.RemoteAddr = "127.0.0.1:1"
	req.RequestURI = req.URL.RequestURI()
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0 (sandbox WeChat push)")
	rec := &responseRecorder{header: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(rec, req)
	return rec.status, rec.body.Bytes(), nil
}

// Nonce is a random number string, like WeChat's.
func Nonce() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000))
	return fmt.Sprintf("%d", n.Int64()+1_000_000_000)
}

type responseRecorder struct {
	header      http.Header
	body        bytes.Buffer
	status      int
	wroteHeader bool
}

func (r *responseRecorder) Header() http.Header { return r.header }

func (r *responseRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.body.Write(b)
}

func (r *responseRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
}
