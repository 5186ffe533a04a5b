package wechat

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
	"microshop/tenants/secret"
)

// Handlers serves the WeChat settings and QR codes: merchant API and
// console.
type Handlers struct {
	accounts *Accounts
	baseURL  string
}

// NewHandlers returns the handlers; baseURL is the public address shown in
// the push URL (empty: the request's).
func NewHandlers(accounts *Accounts, baseURL string) *Handlers {
	return &Handlers{accounts: accounts, baseURL: strings.TrimSuffix(baseURL, "/")}
}

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/wechat", h.apiGet)
	g.PUT("/wechat", h.apiPut)
	g.GET("/wechat/qrcodes", h.apiQRList)
	g.POST("/wechat/qrcodes", h.apiQRCreate)
	g.GET("/wechat/qrcode.png", h.qrPNG)
}

// AdminRoutes mounts the console pages on g (/admin, signed in, CSRF).
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/wechat", h.adminPage)
	g.POST("/wechat", h.adminSave)
	g.POST("/wechat/qrcodes", h.adminQR)
	g.GET("/wechat/qrcode.png", h.qrPNG)
}

func (h *Handlers) base(c echo.Context) string {
	if h.baseURL != "" {
		return h.baseURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

func (h *Handlers) serverMode() string {
	if h.accounts.Sandbox() {
		return "sandbox"
	}
	return "live"
}

// view is the shop's settings for the API: masked, with the push URL.
func (h *Handlers) view(c echo.Context, t tenants.Tenant) (View, error) {
	s, err := h.accounts.Settings(c.Request().Context(), t.ID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) && !errors.Is(err, secret.ErrWrongKey) { // a lost key: entered again
		return View{}, err
	}
	v := s.View()
	v.ServerMode, v.PushURL = h.serverMode(), h.pushURL(c, t)
	return v, nil
}

// pushURL is the address WeChat pushes the shop's events to.
func (h *Handlers) pushURL(c echo.Context, t tenants.Tenant) string {
	return h.base(c) + "/wx/" + t.Slug
}

func (h *Handlers) apiGet(c echo.Context) error {
	v, err := h.view(c, tenants.FromContext(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (h *Handlers) apiPut(c echo.Context) error {
	var in Input
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	if _, err := h.accounts.Save(c.Request().Context(), tenants.FromContext(c).ID, in); err != nil {
		return err
	}
	return h.apiGet(c)
}

// QRView is a QR code as the API shows it.
type QRView struct {
	QRCode
	Image string `json:"image"` // the PNG, on this server
}

func qrView(q QRCode) QRView {
	return QRView{QRCode: q, Image: "/api/v1/wechat/qrcode.png?scene=" + url.QueryEscape(q.Scene) + "&permanent=" + strconv.FormatBool(q.Permanent)}
}

func (h *Handlers) apiQRList(c echo.Context) error {
	qs, err := h.accounts.QRCodes(c.Request().Context(), tenants.FromContext(c).ID, 100)
	if err != nil {
		return err
	}
	items := make([]QRView, len(qs))
	for i, q := range qs {
		items[i] = qrView(q)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (h *Handlers) apiQRCreate(c echo.Context) error {
	var in struct {
		Scene     string `json:"scene"`
		Permanent bool   `json:"permanent"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	q, err := h.accounts.QR(c.Request().Context(), tenants.FromContext(c).ID, in.Scene, in.Permanent)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, qrView(q))
}

// qrPNG is the shop's code for ?scene= as a PNG (?permanent=true, ?size=).
func (h *Handlers) qrPNG(c echo.Context) error {
	permanent, err := boolParam("permanent", c.QueryParam("permanent"))
	if err != nil {
		return err
	}
	size := QRSize
	if v := c.QueryParam("size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 128 || size > 1024 {
			return fault.Invalid("size", "must be a whole number of pixels from 128 to 1024")
		}
	}
	q, err := h.accounts.QR(c.Request().Context(), tenants.FromContext(c).ID, c.QueryParam("scene"), permanent)
	if err != nil {
		return err
	}
	png, err := PNG(q.URL, size)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=3600")
	return c.Blob(http.StatusOK, "image/png", png)
}

func boolParam(name, v string) (bool, error) {
	switch v {
	case "", "0", "false", "off":
		return false, nil
	case "1", "true", "on":
		return true, nil
	}
	return false, fault.Invalid(name, "must be true or false")
}

// AdminPage is what admin_wechat.html receives.
type AdminPage struct {
	Shop     tenants.Tenant
	Settings View
	// Unusable: the stored settings are sandbox credentials on a live server.
	Unusable bool
	Form     Input
	Codes    []QRCode
	Error    string
	Notice   string
	QRError  string
}

func (h *Handlers) adminPage(c echo.Context) error {
	return h.renderAdmin(c, http.StatusOK, Input{}, "", noticeFor(c, c.QueryParam("done")), "")
}

// noticeFor is the notice for ?done= after a form, in the request's
// language.
func noticeFor(c echo.Context, done string) string {
	switch done {
	case "saved", "qr":
		return i18n.T(c.Request().Context(), "wechat.done."+done)
	}
	return ""
}

func (h *Handlers) renderAdmin(c echo.Context, status int, form Input, errMsg, notice, qrErr string) error {
	t := tenants.FromContext(c)
	ctx := c.Request().Context()
	v, err := h.view(c, t)
	if errors.Is(err, fault.ErrConflict) {
		// Another shop holds the AppID stored here (saved before AppIDs
		// were claimed): show the form, so the merchant can enter the
		// shop's own account.
		v, err = View{ServerMode: h.serverMode(), PushURL: h.pushURL(c, t)}, nil
		if errMsg == "" {
			errMsg = i18n.T(ctx, "wechat.appid_elsewhere")
		}
	}
	if err != nil {
		return err
	}
	p := AdminPage{Shop: t, Settings: v, Form: form, Error: errMsg, Notice: notice, QRError: qrErr}
	if !v.Configured {
		p.Unusable = h.accounts.Unusable(ctx, t.ID)
	}
	if form == (Input{}) {
		p.Form = Input{AppID: v.AppID, Mode: v.Mode, Welcome: v.Welcome}
	}
	if v.Configured {
		if p.Codes, err = h.accounts.QRCodes(ctx, t.ID, 50); err != nil {
			return err
		}
	}
	return c.Render(status, "admin_wechat.html", p)
}

func (h *Handlers) adminSave(c echo.Context) error {
	in := Input{AppID: c.FormValue("app_id"), AppSecret: c.FormValue("app_secret"), Token: c.FormValue("token"),
		EncodingAESKey: c.FormValue("encoding_aes_key"), Mode: Mode(c.FormValue("mode")), Welcome: c.FormValue("welcome")}
	_, err := h.accounts.Save(c.Request().Context(), tenants.FromContext(c).ID, in)
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		in.AppSecret, in.Token, in.EncodingAESKey = "", "", ""
		return h.renderAdmin(c, fe.Status, in, fault.Message(c.Request().Context(), err), "", "")
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/wechat?done=saved")
}

func (h *Handlers) adminQR(c echo.Context) error {
	scene := strings.TrimSpace(c.FormValue("scene"))
	permanent := c.FormValue("permanent") != ""
	_, err := h.accounts.QR(c.Request().Context(), tenants.FromContext(c).ID, scene, permanent)
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status != http.StatusNotFound {
		if c.FormValue("back") == "phone" {
			return c.Redirect(http.StatusSeeOther, "/admin/wechat/phone?error=qr")
		}
		return h.renderAdmin(c, fe.Status, Input{}, "", "", fault.Message(c.Request().Context(), err))
	}
	if err != nil {
		return err
	}
	if c.FormValue("back") == "phone" {
		return c.Redirect(http.StatusSeeOther, "/admin/wechat/phone?done=qr")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/wechat?done=qr#qrcodes")
}
