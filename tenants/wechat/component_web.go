package wechat

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
	"microshop/tenants/secret"
)

// ComponentHandlers serve the third-party platform: the operator's page
// (/ops/wechat), the console's "Connect with WeChat" (/admin/wechat/connect
// and its callback), GET /api/v1/wechat/authorization, and WeChat's
// authorisation events (/wx/component/events).
type ComponentHandlers struct {
	c       *Component
	baseURL string
}

// NewComponentHandlers returns the handlers; baseURL is the public address
// (empty: the request's).
func NewComponentHandlers(c *Component, baseURL string) *ComponentHandlers {
	return &ComponentHandlers{c: c, baseURL: strings.TrimSuffix(baseURL, "/")}
}

func (h *ComponentHandlers) base(c echo.Context) string {
	if h.baseURL != "" {
		return h.baseURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

// EventRoutes mounts WeChat's authorisation events on e.
func (h *ComponentHandlers) EventRoutes(e *echo.Echo) {
	e.POST(ComponentEventsPath, h.event)
}

// ComponentEventsPath is where WeChat pushes authorisation events; messages
// for authorised accounts go to ComponentCallbackPath with $APPID$ filled.
const (
	ComponentEventsPath   = "/wx/component/events"
	ComponentCallbackPath = "/wx/component/:appid/callback"
)

// MaxEventBody bounds an authorisation event's body.
const MaxEventBody = 64 << 10

func (h *ComponentHandlers) event(c echo.Context) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, MaxEventBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return fault.Invalid("", "the push body could not be read")
	}
	if _, err := h.c.ReceiveEvent(c.Request().Context(), c.QueryParams(), body); err != nil {
		return err
	}
	return c.String(http.StatusOK, "success")
}

// APIRoutes mounts the merchant API on g (/api/v1).
func (h *ComponentHandlers) APIRoutes(g *echo.Group) {
	g.GET("/wechat/authorization", h.apiAuthorization)
}

func (h *ComponentHandlers) apiAuthorization(c echo.Context) error {
	a, err := h.c.Authorization(c.Request().Context(), tenants.FromContext(c).ID)
	if errors.Is(err, fault.ErrNotFound) {
		return c.JSON(http.StatusOK, AuthorizationView{Status: "none"})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.View())
}

// AdminRoutes mounts the console's pages on g (/admin).
func (h *ComponentHandlers) AdminRoutes(g *echo.Group) {
	g.GET("/wechat/connect", h.connectPage)
	g.POST("/wechat/connect", h.connectStart)
	g.GET("/wechat/connect/callback", h.connectCallback)
	g.POST("/wechat/connect/disconnect", h.disconnect)
	g.POST("/wechat/connect/setup", h.setUpAgain)
}

// ConnectPage is what admin_wechat_connect.html receives.
type ConnectPage struct {
	Shop tenants.Tenant
	// Available: the platform set up its third-party platform.
	Available     bool
	Sandbox       bool
	Authorization AuthorizationView
	Connected     bool
	Notice, Error string
	// AuthorizeURL is WeChat's authorisation page the merchant is sent to
	// (a link and a script on the page: a form's redirect to another site
	// is one the page's form-action policy forbids).
	AuthorizeURL string
	// Report is what the last set-up did (nil: none kept).
	Report *SetUpResult
}

func (h *ComponentHandlers) connectPage(c echo.Context) error {
	notice := ""
	switch d := c.QueryParam("done"); d {
	case "connected", "disconnected", "setup":
		notice = i18n.T(c.Request().Context(), "wxconnect.done."+d)
	}
	return h.renderConnect(c, http.StatusOK, notice, "")
}

func (h *ComponentHandlers) renderConnect(c echo.Context, status int, notice, errMsg string) error {
	return h.renderConnectPage(c, status, ConnectPage{Notice: notice, Error: errMsg})
}

func (h *ComponentHandlers) renderConnectPage(c echo.Context, status int, p ConnectPage) error {
	ctx := c.Request().Context()
	t := tenants.FromContext(c)
	p.Shop, p.Sandbox = t, h.c.accounts.Sandbox()
	if _, err := h.c.Config(ctx); err == nil {
		p.Available = true
	} else if !errors.Is(err, fault.ErrNotFound) {
		return err
	}
	a, err := h.c.Authorization(ctx, t.ID)
	switch {
	case err == nil:
		p.Authorization, p.Connected = a.View(), a.Status == AuthAuthorized
		if r, err := h.c.SetUpReport(ctx, t.ID); err == nil && p.Connected {
			p.Report = &r
		} else if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return err
		}
	case errors.Is(err, fault.ErrNotFound):
		p.Authorization.Status = "none"
	default:
		return err
	}
	return c.Render(status, "admin_wechat_connect.html", p)
}

// failed shows a client error on the page; others go to the error handler.
func (h *ComponentHandlers) failed(c echo.Context, err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 || errors.As(err, &fe) && fe.Status == http.StatusServiceUnavailable {
		return h.renderConnect(c, fe.Status, "", fault.Message(c.Request().Context(), err))
	}
	return err
}

func (h *ComponentHandlers) connectStart(c echo.Context) error {
	u, err := h.c.Start(c.Request().Context(), tenants.FromContext(c).ID, h.base(c)+"/admin/wechat/connect/callback")
	if err != nil {
		return h.failed(c, err)
	}
	return h.renderConnectPage(c, http.StatusOK, ConnectPage{AuthorizeURL: u})
}

func (h *ComponentHandlers) connectCallback(c echo.Context) error {
	_, err := h.c.Complete(c.Request().Context(), tenants.FromContext(c).ID, c.QueryParam("state"), c.QueryParam("auth_code"))
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status == http.StatusBadRequest {
		// A link used up, expired or cut short: the page says so and offers
		// to connect again.
		return h.renderConnect(c, http.StatusOK, "", fault.Message(c.Request().Context(), err))
	}
	if err != nil {
		return h.failed(c, err)
	}
	h.c.afterAuthorize(c.Request().Context(), tenants.FromContext(c), h.base(c))
	return c.Redirect(http.StatusSeeOther, "/admin/wechat/connect?done=connected")
}

// setUpAgain sets the authorised account up again (menu, industry,
// templates): the page shows what it did, kind by kind.
func (h *ComponentHandlers) setUpAgain(c echo.Context) error {
	res, err := h.c.SetUpAgain(c.Request().Context(), tenants.FromContext(c), h.base(c))
	if err != nil && res.At.IsZero() {
		return h.failed(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/wechat/connect?done=setup")
}

func (h *ComponentHandlers) disconnect(c echo.Context) error {
	if err := h.c.End(c.Request().Context(), tenants.FromContext(c).ID, "", ReasonDisconnected); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/wechat/connect?done=disconnected")
}

// OpsRoutes mounts the operator's page on g (/ops).
func (h *ComponentHandlers) OpsRoutes(g *echo.Group) {
	g.GET("/wechat", h.opsPage)
	g.POST("/wechat", h.opsSave)
	g.POST("/wechat/library", h.opsSaveLibrary)
}

// OpsPage is what ops_wechat.html receives.
type OpsPage struct {
	Component     ComponentView
	Form          ComponentInput
	EventURL      string
	MessageURL    string
	Notice, Error string
	Sandbox       bool
	// Library is the template library set-up picks from (library.go).
	Library []NoticeTemplate
}

func (h *ComponentHandlers) opsPage(c echo.Context) error {
	notice := ""
	switch d := c.QueryParam("done"); d {
	case "saved", "library":
		notice = i18n.T(c.Request().Context(), "wxconnect.done."+d)
	}
	return h.renderOps(c, http.StatusOK, ComponentInput{}, notice, "")
}

func (h *ComponentHandlers) renderOps(c echo.Context, status int, form ComponentInput, notice, errMsg string) error {
	v, err := h.c.View(c.Request().Context())
	if errors.Is(err, secret.ErrWrongKey) && errMsg == "" {
		errMsg = fault.Message(c.Request().Context(), err) // enter the secrets again
	} else if err != nil && !errors.Is(err, secret.ErrWrongKey) {
		return err
	}
	if form == (ComponentInput{}) {
		form.AppID = v.AppID
	}
	lib, err := h.c.Library(c.Request().Context())
	if err != nil {
		return err
	}
	base := h.base(c)
	return c.Render(status, "ops_wechat.html", OpsPage{Component: v, Form: form, Notice: notice, Error: errMsg,
		EventURL: base + ComponentEventsPath, MessageURL: base + "/wx/component/$APPID$/callback", Sandbox: h.c.accounts.Sandbox(),
		Library: lib})
}

// opsSaveLibrary saves the template library from the ops page's form: per
// kind, <kind>.title, <kind>.short_id and <kind>.keywords (separated by
// commas).
func (h *ComponentHandlers) opsSaveLibrary(c echo.Context) error {
	ctx := c.Request().Context()
	cur, err := h.c.Library(ctx)
	if err != nil {
		return err
	}
	in := make([]NoticeTemplate, 0, len(cur))
	for _, t := range cur {
		in = append(in, NoticeTemplate{Kind: t.Kind, Title: c.FormValue(t.Kind + ".title"), ShortID: c.FormValue(t.Kind + ".short_id"),
			Keywords: splitKeywords(c.FormValue(t.Kind + ".keywords"))})
	}
	_, err = h.c.SaveLibrary(ctx, in)
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		return h.renderOps(c, fe.Status, ComponentInput{}, "", fault.Message(ctx, err))
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ops/wechat?done=library")
}

// splitKeywords splits a form's keyword list at commas (ASCII or
// full-width) and 、.
func splitKeywords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == '、' || r == '\n' })
}

func (h *ComponentHandlers) opsSave(c echo.Context) error {
	in := ComponentInput{AppID: c.FormValue("app_id"), AppSecret: c.FormValue("app_secret"), Token: c.FormValue("token"),
		EncodingAESKey: c.FormValue("encoding_aes_key")}
	cfg, err := h.c.SaveConfig(c.Request().Context(), in)
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		return h.renderOps(c, fe.Status, ComponentInput{AppID: in.AppID}, "", fault.Message(c.Request().Context(), err))
	}
	if err != nil {
		return err
	}
	if h.c.saved != nil {
		h.c.saved(cfg)
	}
	return c.Redirect(http.StatusSeeOther, "/ops/wechat?done=saved")
}
