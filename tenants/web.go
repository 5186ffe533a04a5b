package tenants

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
)

// Web serves the platform pages (home, sign-up, sign-in) and the sign-up API.
type Web struct {
	svc          *Service
	codec        *SessionCodec
	secureCookie bool
}

// NewWeb returns the platform handlers; secureCookie marks the session
// cookie Secure (set it when served over HTTPS).
func NewWeb(svc *Service, codec *SessionCodec, secureCookie bool) *Web {
	return &Web{svc: svc, codec: codec, secureCookie: secureCookie}
}

// PlatformRoutes mounts the platform's own pages (home, sign-up, sign-in)
// on g, a group at the site's root with CSRF protection.
func (w *Web) PlatformRoutes(g *echo.Group) {
	g.GET("/", w.home)
	g.GET("/signup", w.signupForm)
	g.POST("/signup", w.signup)
	g.GET("/login", w.loginForm)
	g.POST("/login", w.login)
	g.POST("/logout", w.logout)
}

// APIRoutes mounts the sign-up call on g, the unauthenticated part of
// /api/v1.
func (w *Web) APIRoutes(g *echo.Group) {
	g.POST("/tenants", w.signupAPI)
}

func (w *Web) home(c echo.Context) error { return c.Render(http.StatusOK, "home.html", nil) }

type signupPage struct {
	Form  SignUp
	Error string
}

func (w *Web) signupForm(c echo.Context) error {
	return c.Render(http.StatusOK, "signup.html", signupPage{})
}

func (w *Web) signup(c echo.Context) error {
	in := SignUp{Name: c.FormValue("name"), Slug: c.FormValue("slug"), Email: c.FormValue("email"), Password: c.FormValue("password")}
	t, u, key, err := w.svc.SignUpFrom(c.Request().Context(), in, c.RealIP())
	var fe *fault.Error
	if errors.As(err, &fe) {
		in.Normalize()
		in.Password = ""
		return c.Render(fe.Status, "signup.html", signupPage{Form: in, Error: fault.Message(c.Request().Context(), err)})
	}
	if err != nil {
		return err
	}
	if err := w.startSession(c, u); err != nil {
		return err
	}
	return c.Render(http.StatusCreated, "signup_done.html", struct {
		Shop   Tenant
		APIKey string
	}{t, key})
}

// signupAPI is POST /api/v1/tenants.
func (w *Web) signupAPI(c echo.Context) error {
	var in SignUp
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	t, _, key, err := w.svc.SignUpFrom(c.Request().Context(), in, c.RealIP())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{
		"tenant":  map[string]string{"id": t.ID, "slug": t.Slug, "name": t.Name},
		"api_key": key,
	})
}

type loginPage struct {
	Email, Next, Error string
}

func (w *Web) loginForm(c echo.Context) error {
	if _, err := w.svc.session(c, w.codec); err == nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return c.Render(http.StatusOK, "login.html", loginPage{Next: safeNext(c.QueryParam("next"))})
}

func (w *Web) login(c echo.Context) error {
	email := strings.ToLower(strings.TrimSpace(c.FormValue("email")))
	next := safeNext(c.FormValue("next"))
	u, err := w.svc.Authenticate(c.Request().Context(), email, c.FormValue("password"), c.RealIP())
	var fe *fault.Error
	if errors.As(err, &fe) {
		return c.Render(fe.Status, "login.html", loginPage{Email: email, Next: next, Error: fault.Message(c.Request().Context(), err)})
	}
	if err != nil {
		return err
	}
	if err := w.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// logout ends the request's session (its record, so the cookie is
// worthless even if kept) and clears the cookie.
func (w *Web) logout(c echo.Context) error {
	if ck, err := c.Cookie(SessionCookie); err == nil {
		if sess, err := w.codec.Decode(ck.Value, time.Now()); err == nil {
			if err := w.svc.EndSession(c.Request().Context(), sess.ID); err != nil {
				return err
			}
		}
	}
	clearSession(c, w.secureCookie)
	return c.Redirect(http.StatusSeeOther, "/login")
}

// startSession records a session of u and sets its cookie.
func (w *Web) startSession(c echo.Context, u User) error {
	sess, err := w.svc.StartSession(c.Request().Context(), u)
	if err != nil {
		return err
	}
	exp := time.Unix(sess.Expires, 0)
	c.SetCookie(&http.Cookie{
		Name:  SessionCookie,
		Value: w.codec.Encode(sess),
		Path:  "/", Expires: exp, HttpOnly: true, Secure: w.secureCookie,
		// Lax, not Strict: a merchant following a link to the console from a
		// messenger stays signed in; forms are protected by the CSRF token.
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// clearSession removes the session cookie from the browser.
func clearSession(c echo.Context, secure bool) {
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteLaxMode})
}

// safeNext keeps a post-login redirect on this site and in the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/admin") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/admin"
}
