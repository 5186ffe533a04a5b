package tenants

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// OpsWeb serves the platform operator's side: the ops console's sign-in,
// home (every shop) and password pages, the operator API's shop calls,
// and the invitation pages where the owner of a shop an operator opened
// sets a password.
type OpsWeb struct {
	svc          *Service
	codec        *SessionCodec
	secureCookie bool
	baseURL      string // the public address invitation links start with ("": the request's)
}

// NewOpsWeb returns the operator's handlers; secureCookie marks the
// session cookies Secure, baseURL is the configured public address.
func NewOpsWeb(svc *Service, codec *SessionCodec, secureCookie bool, baseURL string) *OpsWeb {
	return &OpsWeb{svc: svc, codec: codec, secureCookie: secureCookie, baseURL: strings.TrimSuffix(baseURL, "/")}
}

// The ops console's paths the session middleware treats apart.
const (
	opsHomePath     = "/ops"
	opsLoginPath    = "/ops/login"
	opsLogoutPath   = "/ops/logout"
	opsPasswordPath = "/ops/password"
)

// SignInRoutes mounts the ops console's sign-in page on g, a group at
// /ops without the operator's session (csrf protects the form).
func (w *OpsWeb) SignInRoutes(g *echo.Group, csrf echo.MiddlewareFunc) {
	g.GET("/login", w.loginForm, csrf)
	g.POST("/login", w.login, csrf)
}

// OpsRoutes mounts the console's pages on g, /ops behind CSRF and
// OperatorSessionAuth.
func (w *OpsWeb) OpsRoutes(g *echo.Group) {
	g.GET("", w.home)
	g.POST("/logout", w.logout)
	g.GET("/password", w.passwordForm)
	g.POST("/password", w.changePassword)
}

// OpsAPIRoutes mounts the shop calls on g, /api/ops/v1 behind
// OperatorKeyAuth.
func (w *OpsWeb) OpsAPIRoutes(g *echo.Group) {
	g.GET("/tenants", w.listTenants)
	g.POST("/tenants", w.createTenant)
	g.POST("/tenants/:id/invitation", w.reinvite)
}

// InviteRoutes mounts the invitation page on g, /invite with CSRF.
func (w *OpsWeb) InviteRoutes(g *echo.Group) {
	g.GET("/:token", w.invitationForm)
	g.POST("/:token", w.acceptInvitation)
}

// --- Sign-in -----------------------------------------------------------

// opsLoginPage is ops_login.html's data.
type opsLoginPage struct {
	Email, Next, Error string
}

// safeOpsNext keeps a post-sign-in redirect inside the ops console.
func safeOpsNext(next string) string {
	if (next == opsHomePath || strings.HasPrefix(next, opsHomePath+"/") || strings.HasPrefix(next, opsHomePath+"?")) &&
		!strings.Contains(next, "\\") && !strings.HasPrefix(next, opsLoginPath) {
		return next
	}
	return opsHomePath
}

func (w *OpsWeb) loginForm(c echo.Context) error {
	next := safeOpsNext(c.QueryParam("next"))
	if ck, err := c.Cookie(OperatorCookie); err == nil {
		if _, _, err := w.svc.operatorFromCookie(c.Request().Context(), w.codec, ck.Value); err == nil {
			return c.Redirect(http.StatusSeeOther, next)
		}
	}
	return c.Render(http.StatusOK, "ops_login.html", opsLoginPage{Next: next})
}

func (w *OpsWeb) login(c echo.Context) error {
	ctx := c.Request().Context()
	email := strings.ToLower(strings.TrimSpace(c.FormValue("email")))
	next := safeOpsNext(c.FormValue("next"))
	rec, err := w.svc.AuthenticateOperator(ctx, email, c.FormValue("password"), c.RealIP())
	var fe *fault.Error
	if errors.As(err, &fe) {
		return c.Render(fe.Status, "ops_login.html", opsLoginPage{Email: email, Next: next, Error: fault.Message(ctx, err)})
	}
	if err != nil {
		return err
	}
	value, expires, err := w.svc.startOperatorSession(ctx, w.codec, rec)
	if err != nil {
		return err
	}
	c.SetCookie(w.cookie(value, expires))
	if rec.MustChange {
		next = opsPasswordPath
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// cookie is the ops console's session cookie: sent to /ops only, never to
// the merchant console.
func (w *OpsWeb) cookie(value string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{Name: OperatorCookie, Value: value, Path: opsHomePath, Expires: expires, HttpOnly: true,
		Secure: w.secureCookie, SameSite: http.SameSiteLaxMode}
	if value == "" {
		ck.Expires, ck.MaxAge = time.Time{}, -1
	}
	return ck
}

func (w *OpsWeb) logout(c echo.Context) error {
	id, _ := c.Get(ctxOperatorSession).(string)
	if err := w.svc.EndOperatorSession(c.Request().Context(), id); err != nil {
		return err
	}
	c.SetCookie(w.cookie("", time.Time{}))
	return c.Redirect(http.StatusSeeOther, opsLoginPath)
}

// --- Password ----------------------------------------------------------

// opsPasswordPage is ops_password.html's data.
type opsPasswordPage struct {
	Email      string
	MustChange bool
	Error      string
}

func operatorRecord(c echo.Context) OperatorRecord {
	rec, _ := c.Get(ctxOperatorRecord).(OperatorRecord)
	return rec
}

func (w *OpsWeb) passwordForm(c echo.Context) error {
	rec := operatorRecord(c)
	return c.Render(http.StatusOK, "ops_password.html", opsPasswordPage{Email: rec.Email, MustChange: rec.MustChange})
}

func (w *OpsWeb) changePassword(c echo.Context) error {
	ctx := c.Request().Context()
	rec := operatorRecord(c)
	id, _ := c.Get(ctxOperatorSession).(string)
	in := PasswordChange{Current: c.FormValue("current"), New: c.FormValue("new")}
	err := w.svc.ChangeOperatorPassword(ctx, rec, in, c.RealIP(), id)
	var fe *fault.Error
	if errors.As(err, &fe) {
		return c.Render(fe.Status, "ops_password.html",
			opsPasswordPage{Email: rec.Email, MustChange: rec.MustChange, Error: fault.Message(ctx, err)})
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, opsHomePath+"?done=password")
}

// --- Home: every shop --------------------------------------------------

// opsHomePageSize is how many shops the console's list shows at once.
const opsHomePageSize = 50

// opsHomePage is ops_home.html's data.
type opsHomePage struct {
	Email  string
	Shops  []ShopListing
	Total  int64
	Offset int
	// From and To number the shops shown (1-based).
	From, To int
	HasMore  bool
	Notice   string
}

// PageURL is the list's address at offset.
func (p opsHomePage) PageURL(offset int) string {
	if offset <= 0 {
		return opsHomePath
	}
	return opsHomePath + "?offset=" + strconv.Itoa(offset)
}

// Prev and Next are the neighbouring pages' offsets.
func (p opsHomePage) Prev() int { return max(p.Offset-opsHomePageSize, 0) }

// Next is the next page's offset.
func (p opsHomePage) Next() int { return p.Offset + opsHomePageSize }

func (w *OpsWeb) home(c echo.Context) error {
	offset, err := engine.ParseOptInt("offset", c.QueryParam("offset"))
	if err != nil {
		return err
	}
	shops, total, err := w.svc.ListShops(c.Request().Context(), opsHomePageSize, offset)
	if err != nil {
		return err
	}
	op, _ := OperatorFromContext(c)
	p := opsHomePage{Email: op.Email, Shops: shops, Total: total, Offset: offset,
		HasMore: int64(offset+len(shops)) < total}
	if len(shops) > 0 {
		p.From, p.To = offset+1, offset+len(shops)
	}
	p.Notice = i18n.Done(c, map[string]string{"password": "ops.password.done"})
	return c.Render(http.StatusOK, "ops_home.html", p)
}

// --- The operator API: shops -------------------------------------------

// opsTenantJSON is a shop as the operator API shows it.
type opsTenantJSON struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	TimeZone  string    `json:"time_zone"`
	Lang      string    `json:"lang"`
	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"status"`
}

func tenantJSON(t Tenant, status string) opsTenantJSON {
	return opsTenantJSON{ID: t.ID, Slug: t.Slug, Name: t.Name, TimeZone: t.TimeZone, Lang: t.Lang,
		CreatedAt: t.CreatedAt.UTC(), Status: status}
}

// listTenants is GET /api/ops/v1/tenants?limit=&offset=: every shop, the
// newest first.
func (w *OpsWeb) listTenants(c echo.Context) error {
	limit, offset, err := engine.ParsePage(c.QueryParam("limit"), c.QueryParam("offset"))
	if err != nil {
		return err
	}
	shops, total, err := w.svc.ListShops(c.Request().Context(), limit, offset)
	if err != nil {
		return err
	}
	items := make([]opsTenantJSON, len(shops))
	for i, s := range shops {
		items[i] = tenantJSON(s.Tenant, s.Status)
	}
	if limit == 0 {
		limit = engine.DefaultLimit
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "total": total, "limit": limit, "offset": offset})
}

// invitationAnswer is what opening a shop or inviting its owner again
// answers: the shop and the owner's link (shown once).
func (w *OpsWeb) invitationAnswer(c echo.Context, status int, s InvitedShop) error {
	return c.JSON(status, map[string]any{
		"tenant":         tenantJSON(s.Tenant, ShopInvited),
		"invitation_url": w.origin(c) + "/invite/" + s.Token,
		"expires_at":     s.ExpiresAt.UTC(),
	})
}

// origin is the public address links start with.
func (w *OpsWeb) origin(c echo.Context) string {
	if w.baseURL != "" {
		return w.baseURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

// createTenant is POST /api/ops/v1/tenants {"name","slug","email"}.
func (w *OpsWeb) createTenant(c echo.Context) error {
	var in NewShop
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	s, err := w.svc.OpenInvitedShop(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return w.invitationAnswer(c, http.StatusCreated, s)
}

// reinvite is POST /api/ops/v1/tenants/:id/invitation: a new link for an
// owner who has not set a password yet.
func (w *OpsWeb) reinvite(c echo.Context) error {
	s, err := w.svc.Reinvite(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return w.invitationAnswer(c, http.StatusCreated, s)
}

// --- The invitation page -----------------------------------------------

// invitePage is platform_invite.html's data.
type invitePage struct {
	Token string
	Shop  Tenant
	Email string
	Error string
	// Gone says why the link no longer works ("" while it does).
	Gone string
}

// invitationError renders the page saying why the link does not work, or
// returns err when it is no client's business.
func (w *OpsWeb) invitationError(c echo.Context, err error) error {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return err
	}
	return c.Render(fe.Status, "platform_invite.html", invitePage{Gone: fault.Message(c.Request().Context(), err)})
}

func (w *OpsWeb) invitationForm(c echo.Context) error {
	token := c.Param("token")
	inv, t, err := w.svc.Invitation(c.Request().Context(), token)
	if err != nil {
		return w.invitationError(c, err)
	}
	return c.Render(http.StatusOK, "platform_invite.html", invitePage{Token: token, Shop: t, Email: inv.Email})
}

func (w *OpsWeb) acceptInvitation(c echo.Context) error {
	ctx := c.Request().Context()
	token := c.Param("token")
	inv, t, err := w.svc.Invitation(ctx, token)
	if err != nil {
		return w.invitationError(c, err)
	}
	u, err := w.svc.AcceptInvitation(ctx, token, c.FormValue("password"))
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Field != "" { // a password to type again
		return c.Render(fe.Status, "platform_invite.html",
			invitePage{Token: token, Shop: t, Email: inv.Email, Error: fault.Message(ctx, err)})
	}
	if err != nil {
		return w.invitationError(c, err)
	}
	web := &Web{svc: w.svc, codec: w.codec, secureCookie: w.secureCookie}
	if err := web.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin")
}
