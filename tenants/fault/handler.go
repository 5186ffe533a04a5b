package fault

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/tenants/i18n"
)

// Page is what the HTML error page template receives.
type Page struct {
	Status  int
	Title   string
	Message string
}

// Handler returns the Echo error handler: client errors keep their message
// (in the request's language, by tenants/i18n's error catalog),
// anything else is logged with the request id and shown as a bare 500.
// JSON callers (the API and the storefront's /api calls) get
// {"error":{"code","message"}}; browsers get the "error.html" page.
func Handler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		fe := classify(err).Localized(i18n.FromContext(c.Request().Context()))
		if fe.Status >= 500 {
			log.Error("request failed", "err", err, "method", c.Request().Method,
				"path", c.Request().URL.Path, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		}
		var werr error
		switch {
		case c.Request().Method == http.MethodHead:
			werr = c.NoContent(fe.Status)
		case wantsJSON(c):
			werr = c.JSON(fe.Status, map[string]*Error{"error": fe})
		default:
			p := Page{Status: fe.Status, Title: statusTitle(c, fe.Status), Message: fe.Message}
			page, _ := c.Get(pageKey).(string)
			if page != "" {
				werr = c.Render(fe.Status, page, p)
			}
			if page == "" || (werr != nil && !c.Response().Committed) {
				werr = c.Render(fe.Status, "error.html", p)
			}
			if werr != nil && !c.Response().Committed {
				werr = c.String(fe.Status, fe.Message)
			}
		}
		if werr != nil {
			log.Error("write error response", "err", werr)
		}
	}
}

// pageKey is where ErrorPage leaves the error page of a part of the site.
const pageKey = "fault.page"

// ErrorPage makes the error handler draw a browser's error in page (a
// template taking a Page) for the routes it guards: a shop's storefront
// errors in the shop's frame, with the way back to the shop, the
// console's in the console's. Without it, or when page cannot be drawn,
// the error is the platform's "error.html".
func ErrorPage(page string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(pageKey, page)
			return next(c)
		}
	}
}

func classify(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok && s != "" {
			msg = s
		}
		if he.Code >= 500 {
			return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
		}
		return &Error{Status: he.Code, Code: codeFor(he.Code), Message: msg}
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return TooLarge(tooBig.Limit)
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

func codeFor(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusConflict:
		return "conflict"
	}
	return "bad_request"
}

// wantsJSON: the merchant API, the storefront's JSON calls, and any client
// that asks for JSON.
func wantsJSON(c echo.Context) bool {
	p := c.Request().URL.Path
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/m/api/") || (strings.HasPrefix(p, "/s/") && strings.Contains(p, "/api/")) {
		return true
	}
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), echo.MIMEApplicationJSON)
}

// statusTitle is the error page's title: the status's name in the
// request's language ("status 404" in the error catalog), else English.
func statusTitle(c echo.Context, status int) string {
	title := i18n.Phrase(i18n.FromContext(c.Request().Context()), fmt.Sprintf("status %d", status))
	if strings.HasPrefix(title, "status ") {
		return http.StatusText(status)
	}
	return title
}
