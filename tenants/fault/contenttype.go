package fault

import (
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"
)

// RequireJSONConfig configures RequireJSONWithConfig.
type RequireJSONConfig struct {
	// Skipper lets a request through unchecked (a route that takes a file
	// as its body, say).
	Skipper func(c echo.Context) bool
}

// RequireJSON refuses, with a 415, a POST, PUT or PATCH that does not say
// Content-Type: application/json, even one with no body. A cross-site form
// can post with the visitor's cookies, with an empty body or one made to
// look like JSON, but it cannot send that content type without a CORS
// preflight; JSON calls therefore need no CSRF token. Pages' own form posts
// carry one and are not mounted behind this.
func RequireJSON() echo.MiddlewareFunc { return RequireJSONWithConfig(RequireJSONConfig{}) }

// RequireJSONWithConfig is RequireJSON with a skipper.
func RequireJSONWithConfig(config RequireJSONConfig) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if config.Skipper != nil && config.Skipper(c) {
				return next(c)
			}
			switch c.Request().Method {
			case http.MethodPost, http.MethodPut, http.MethodPatch:
				if !IsJSON(c.Request()) {
					return UnsupportedMediaType()
				}
			}
			return next(c)
		}
	}
}

// IsJSON reports whether r says its body is JSON (application/json, any
// parameters).
func IsJSON(r *http.Request) bool {
	t, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	return err == nil && t == echo.MIMEApplicationJSON
}

// UnsupportedMediaType says a JSON call came without Content-Type:
// application/json.
func UnsupportedMediaType() *Error {
	return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
		Message: "send JSON with Content-Type: application/json"}
}
