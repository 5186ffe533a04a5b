package tenants

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// AccountHandlers serve the owner's account: the console's Account page
// (password, API keys, sign out everywhere) and the API keys and password
// calls of /api/v1.
type AccountHandlers struct {
	svc          *Service
	secureCookie bool
}

// NewAccountHandlers returns the account handlers; secureCookie is as for
// NewWeb (the session cookie they clear).
func NewAccountHandlers(svc *Service, secureCookie bool) *AccountHandlers {
	return &AccountHandlers{svc: svc, secureCookie: secureCookie}
}

// APIRoutes mounts the API key and password calls on g, /api/v1 behind
// APIKeyAuth.
func (h *AccountHandlers) APIRoutes(g *echo.Group) {
	g.GET("/api-keys", h.listKeys)
	g.POST("/api-keys", h.createKey)
	g.DELETE("/api-keys/:id", h.revokeKey)
	g.POST("/account/password", h.changePasswordAPI)
}

// AdminRoutes mounts the Account page and its forms on g, /admin behind
// SessionAuth and CSRF.
func (h *AccountHandlers) AdminRoutes(g *echo.Group) {
	g.GET("/account", h.page)
	g.POST("/account/password", h.changePassword)
	g.POST("/account/api-keys", h.createKeyForm)
	g.POST("/account/api-keys/:id/revoke", h.revokeKeyForm)
	g.POST("/account/sign-out-everywhere", h.signOutEverywhere)
}

// apiKeyJSON is a key as the API shows it: never the key or its hash.
type apiKeyJSON struct {
	ID         string     `json:"id"`
	Prefix     string     `json:"prefix"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"` // "": the owner's full access
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"` // null: never used
}

func keyJSON(k APIKey) apiKeyJSON {
	j := apiKeyJSON{ID: k.ID, Prefix: k.Prefix, Name: k.Name, Role: k.Role, CreatedAt: k.CreatedAt.UTC()}
	if !k.LastUsedAt.IsZero() {
		at := k.LastUsedAt.UTC()
		j.LastUsedAt = &at
	}
	return j
}

// listKeys is GET /api/v1/api-keys.
func (h *AccountHandlers) listKeys(c echo.Context) error {
	keys, err := h.svc.APIKeys(c.Request().Context(), FromContext(c).ID)
	if err != nil {
		return err
	}
	items := make([]apiKeyJSON, len(keys))
	for i, k := range keys {
		items[i] = keyJSON(k)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// createKey is POST /api/v1/api-keys {"name","role"} (no body: an unnamed
// key with the owner's full access): the key is in the answer, once.
func (h *AccountHandlers) createKey(c echo.Context) error {
	in, err := decodeKeyInput(c) // role.go
	if err != nil {
		return err
	}
	rec, key, err := h.svc.CreateScopedAPIKey(c.Request().Context(), FromContext(c).ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{"id": rec.ID, "api_key": key})
}

// revokeKey is DELETE /api/v1/api-keys/:id.
func (h *AccountHandlers) revokeKey(c echo.Context) error {
	if err := h.svc.RevokeAPIKey(c.Request().Context(), FromContext(c).ID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// changePasswordAPI is POST /api/v1/account/password {"current","new"}: the
// shop owner's password; every session of the owner ends.
func (h *AccountHandlers) changePasswordAPI(c echo.Context) error {
	var in PasswordChange
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	owner, err := h.svc.Owner(ctx, FromContext(c).ID)
	if err != nil {
		return err
	}
	if err := h.svc.ChangePassword(ctx, owner, in, c.RealIP(), ""); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// accountPage is admin_account.html's data.
type accountPage struct {
	Email  string
	Keys   []APIKey
	NewKey string // the key just created, shown once
	Notice string
	Error  string
	zone   *time.Location
}

// At shows a time in the shop's time zone.
func (p accountPage) At(t time.Time) string { return t.In(p.zone).Format("2006-01-02 15:04") }

// accountNotices are the message ids of the Account page's notices after a
// form, by ?done=.
var accountNotices = map[string]string{
	"password": "console.account.done_password",
	"revoked":  "console.account.done_revoked",
}

func (h *AccountHandlers) render(c echo.Context, status int, p accountPage) error {
	t := FromContext(c)
	u, _ := UserFromContext(c)
	keys, err := h.svc.APIKeys(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	p.Email, p.Keys, p.zone = u.Email, keys, t.Location()
	if as, ok := PrincipalFromContext(c); ok && as.Role != RoleOwner {
		// Staff change their own password and sessions; keys are the owner's.
		p.Keys = nil
		return c.Render(status, "admin_staff_account.html", p)
	}
	return c.Render(status, "admin_account.html", p)
}

// page is GET /admin/account.
func (h *AccountHandlers) page(c echo.Context) error {
	return h.render(c, http.StatusOK, accountPage{Notice: i18n.Done(c, accountNotices)})
}

// formError renders the page with err's message when it is one a client
// may see, and returns err otherwise.
func (h *AccountHandlers) formError(c echo.Context, err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return h.render(c, fe.Status, accountPage{Error: fault.Message(c.Request().Context(), fe)})
	}
	return err
}

// changePassword is POST /admin/account/password: this session stays, every
// other one ends.
func (h *AccountHandlers) changePassword(c echo.Context) error {
	u, _ := UserFromContext(c)
	in := PasswordChange{Current: c.FormValue("current"), New: c.FormValue("new")}
	if err := h.svc.ChangePassword(c.Request().Context(), u, in, c.RealIP(), sessionID(c)); err != nil {
		return h.formError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/account?done=password")
}

// createKeyForm is POST /admin/account/api-keys: the page shows the new key
// once.
func (h *AccountHandlers) createKeyForm(c echo.Context) error {
	_, key, err := h.svc.CreateAPIKey(c.Request().Context(), FromContext(c).ID)
	if err != nil {
		return h.formError(c, err)
	}
	return h.render(c, http.StatusCreated, accountPage{NewKey: key})
}

// revokeKeyForm is POST /admin/account/api-keys/:id/revoke.
func (h *AccountHandlers) revokeKeyForm(c echo.Context) error {
	if err := h.svc.RevokeAPIKey(c.Request().Context(), FromContext(c).ID, c.Param("id")); err != nil {
		return h.formError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/account?done=revoked")
}

// signOutEverywhere is POST /admin/account/sign-out-everywhere: every
// session of the user ends, this one too.
func (h *AccountHandlers) signOutEverywhere(c echo.Context) error {
	u, _ := UserFromContext(c)
	if err := h.svc.EndUserSessions(c.Request().Context(), u.ID, ""); err != nil {
		return err
	}
	clearSession(c, h.secureCookie)
	return c.Redirect(http.StatusSeeOther, "/login")
}
