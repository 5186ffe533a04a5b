package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/i18n"
	"microshop/tenants/wechat"
)

// The authorisation page (WeChat's componentloginpage) as the sandbox
// plays it, in the console: the browser's fake WeChat user is the
// account's administrator, who "scans" and confirms; and the pushes WeChat
// sends the component (the verify ticket on a timer, unauthorisations).

// ComponentPagePath is where the console mounts the sandbox's
// authorisation page (WeChat's is
// https://mp.weixin.qq.com/cgi-bin/componentloginpage).
const ComponentPagePath = "/admin/wechat/connect/sandbox"

// ComponentPage is what admin_wechat_connect_sandbox.html receives.
type ComponentPage struct {
	ComponentAppID string
	PreAuthCode    string
	RedirectURI    string
	// Accounts are the official accounts the browser's fake administrator
	// holds (created on this page before).
	Accounts []string
	Error    string
}

// ComponentPageRoutes mounts the authorisation page on g (/admin).
func (s *Simulator) ComponentPageRoutes(g *echo.Group) {
	g.GET("/wechat/connect/sandbox", s.componentPage)
	g.POST("/wechat/connect/sandbox", s.componentConfirm)
}

func (s *Simulator) componentPage(c echo.Context) error {
	q := c.Request().URL.Query()
	p := ComponentPage{ComponentAppID: q.Get("component_appid"), PreAuthCode: q.Get("pre_auth_code"), RedirectURI: q.Get("redirect_uri")}
	if _, ok := s.authorizeCheck(p.ComponentAppID, p.PreAuthCode, p.RedirectURI, c.Request().Host); !ok {
		p.Error = i18n.T(c.Request().Context(), "wxconnect.sandbox.invalid")
		return c.Render(http.StatusOK, "admin_wechat_connect_sandbox.html", p) // a page saying the link is dead
	}
	p.Accounts = s.AdminAccounts(Device(c.Response(), c.Request()))
	return c.Render(http.StatusOK, "admin_wechat_connect_sandbox.html", p)
}

func (s *Simulator) componentConfirm(c echo.Context) error {
	p := ComponentPage{ComponentAppID: c.FormValue("component_appid"), PreAuthCode: c.FormValue("pre_auth_code"),
		RedirectURI: c.FormValue("redirect_uri")}
	u, ok := s.authorizeCheck(p.ComponentAppID, p.PreAuthCode, p.RedirectURI, c.Request().Host)
	var code string
	if ok {
		appID := c.FormValue("app_id")
		if appID == "new" {
			appID = ""
		}
		_, code, ok = s.Authorize(p.ComponentAppID, p.PreAuthCode, Device(c.Response(), c.Request()), appID)
	}
	if !ok {
		p.Error = i18n.T(c.Request().Context(), "wxconnect.sandbox.invalid")
		return c.Render(http.StatusBadRequest, "admin_wechat_connect_sandbox.html", p)
	}
	v := u.Query()
	v.Set("auth_code", code)
	v.Set("expires_in", strconv.Itoa(int(AuthCodeLife/time.Second)))
	u.RawQuery = v.Encode()
	return c.Redirect(http.StatusSeeOther, u.String())
}

// DeliverComponentEvent signs the plaintext authorisation event msg with
// the component's configuration and posts it to /wx/component/events
// through h (the server's router, in process), as WeChat would; it returns
// the answer's status and body.
func DeliverComponentEvent(ctx context.Context, h http.Handler, host string, cfg wechat.ComponentConfig, msg []byte, timestamp int64) (int, []byte, error) {
	q, body, err := wechat.SignComponentEvent(cfg, msg, timestamp, Nonce())
	if err != nil {
		return 0, nil, err
	}
	return post(ctx, h, host, wechat.ComponentEventsPath+"?"+q.Encode(), body)
}

// DeliverAuthorized signs the plaintext push msg for an authorised
// account with the component's settings (push: Account.PushSettings) and
// posts it to the account's /wx/component/{appid}/callback through h.
func DeliverAuthorized(ctx context.Context, h http.Handler, host, appID string, push wechat.Settings, msg []byte, timestamp int64) (int, []byte, error) {
	q, body, err := wechat.SignPush(push, msg, timestamp, Nonce())
	if err != nil {
		return 0, nil, err
	}
	return post(ctx, h, host, "/wx/component/"+appID+"/callback?"+q.Encode(), body)
}

func post(ctx context.Context, h http.Handler, host, target string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("deliver push: %w", err)
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

// TicketPusher pushes a new verify ticket to a component every
// ComponentTicketEvery, as WeChat does, and at once on Push.
type TicketPusher struct {
	sim    *Simulator
	h      http.Handler
	host   string
	config func(ctx context.Context) (wechat.ComponentConfig, error)
	once   sync.Once
}

// NewTicketPusher pushes tickets to the component config names, through h
// (the server's router) as a request for host.
func (s *Simulator) NewTicketPusher(h http.Handler, host string, config func(ctx context.Context) (wechat.ComponentConfig, error)) *TicketPusher {
	return &TicketPusher{sim: s, h: h, host: host, config: config}
}

// Push sends the component a new ticket now; false when no component is
// configured or the push was refused.
func (p *TicketPusher) Push(ctx context.Context) bool {
	cfg, err := p.config(ctx)
	if err != nil {
		return false
	}
	ticket := p.sim.ComponentTicket(cfg.AppID)
	status, body, err := DeliverComponentEvent(ctx, p.h, p.host, cfg, p.sim.TicketEvent(cfg.AppID, ticket), p.sim.now().Unix())
	if err != nil || status != http.StatusOK {
		p.sim.log.Warn("sandbox component ticket push refused", "status", status, "body", string(body), "err", err)
		return false
	}
	return true
}

// Start pushes a ticket now and then on the timer until ctx ends (once per
// pusher).
func (p *TicketPusher) Start(ctx context.Context) {
	p.once.Do(func() {
		go func() {
			p.Push(ctx)
			t := time.NewTicker(ComponentTicketEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					p.Push(ctx)
				}
			}
		}()
	})
}

// authorized is the shop's account when the shop authorised it to the
// platform: the phone then plays a fan of that account (its secrets are
// the platform's, not shown).
func (p *Phone) authorized(ctx context.Context, tenantID string) (wechat.Settings, bool) {
	acct, err := p.accounts.Account(ctx, tenantID)
	if err != nil || !acct.Authorized() {
		return wechat.Settings{}, false
	}
	s := acct.Settings
	s.Token, s.EncodingAESKey, s.PrevEncodingAESKey = "", "", ""
	return s, true
}

// deliverAny delivers the phone's push msg for the account s: an
// authorised account's to its /wx/component/{appid}/callback, signed with
// the platform's settings; any other to /wx/{slug}. It returns the
// settings the reply is opened with.
func (p *Phone) deliverAny(orig *http.Request, t tenants.Tenant, s wechat.Settings, msg []byte) (int, []byte, wechat.Settings, error) {
	if acct, err := p.accounts.Account(orig.Context(), t.ID); err == nil && acct.Authorized() && acct.Settings.AppID == s.AppID {
		push := acct.PushSettings()
		status, body, err := DeliverAuthorized(orig.Context(), p.push, orig.Host, s.AppID, push, msg, p.sim.now().Unix())
		return status, body, push, err
	}
	status, body, err := Deliver(orig.Context(), p.push, orig.Host, t.Slug, s, msg, p.sim.now().Unix())
	return status, body, s, err
}
