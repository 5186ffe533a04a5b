package i18n

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

const (
	// Cookie remembers a visitor's explicit choice of language.
	Cookie = "ms_lang"
	// Param is the query parameter of the language switch: any page
	// opened with ?lang=en (or zh-CN) sets the cookie and comes back
	// without it; ?lang=auto forgets the choice.
	Param = "lang"
	// cookieLife is how long a choice is remembered.
	cookieLife = 365 * 24 * time.Hour

	ctxExplicit = "microshop.lang.explicit" // on the Echo context: the language is the visitor's own choice
)

// Config configures the middleware (MiddlewareWithConfig).
type Config struct {
	// Skipper lets a request through without a language (static files);
	// it then speaks the default.
	Skipper func(c echo.Context) bool
	// Secure marks the cookie Secure (HTTPS deployments).
	Secure bool
}

// Middleware chooses each request's language with the default Config.
func Middleware() echo.MiddlewareFunc { return MiddlewareWithConfig(Config{}) }

// MiddlewareWithConfig chooses each request's language and puts it on the
// request's context (FromContext): the visitor's explicit choice (the
// ms_lang cookie), else the Accept-Language header, else zh-CN. On the
// storefront the shop's language comes between the two (ShopDefault).
//
// A GET for a page (not /api/, not /s/:slug/api/) carrying ?lang= is the
// language switch: it sets or clears the cookie and redirects (303) to the
// same address without the parameter, so pages stay cacheable by address
// and language.
func MiddlewareWithConfig(cfg Config) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Skipper != nil && cfg.Skipper(c) {
				return next(c)
			}
			req := c.Request()
			if q := req.URL.Query(); q.Has(Param) && (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
				!strings.Contains(req.URL.Path, "/api/") {
				setChoice(c, q.Get(Param), cfg.Secure)
				q.Del(Param)
				to := localPath(req.URL.EscapedPath())
				if len(q) > 0 {
					to += "?" + q.Encode()
				}
				return c.Redirect(http.StatusSeeOther, to)
			}
			lang, explicit := "", false
			if ck, err := req.Cookie(Cookie); err == nil {
				lang, explicit = Supported(ck.Value)
			}
			if !explicit {
				lang = Match(req.Header.Get("Accept-Language"))
			}
			c.Set(ctxExplicit, explicit)
			c.SetRequest(req.WithContext(WithLang(req.Context(), lang)))
			c.Response().Header().Add(echo.HeaderVary, "Accept-Language")
			return next(c)
		}
	}
}

// setChoice remembers value's language in the cookie, or forgets the
// choice for "auto" (and anything we do not speak).
func setChoice(c echo.Context, value string, secure bool) {
	ck := &http.Cookie{Name: Cookie, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	if lang, ok := Supported(value); ok {
		ck.Value, ck.MaxAge, ck.Expires = lang, int(cookieLife/time.Second), time.Now().Add(cookieLife)
	} else {
		ck.MaxAge = -1
	}
	c.SetCookie(ck)
}

// localPath keeps a redirect on this site: p unless it could be read as
// another host's address (//evil.example, /\evil.example).
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

// ShopDefault is the storefront's middleware (after the shop is resolved)
// that lets the shop's default language, shopLang(c) ("" for none), win
// over the visitor's Accept-Language; an explicit choice still wins over it.
// The server mounts it on the storefront with the shop's Lang setting.
func ShopDefault(shopLang func(c echo.Context) string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if explicit, _ := c.Get(ctxExplicit).(bool); !explicit {
				if lang, ok := Supported(shopLang(c)); ok {
					req := c.Request()
					c.SetRequest(req.WithContext(WithLang(req.Context(), lang)))
				}
			}
			return next(c)
		}
	}
}
