package market

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/tenants/engine"
)

// Visitor is the market shopper of a request, as the market's own pages
// know them (its visitor cookie): the identity the market's vote rounds
// (shop/vote, /m/vote) count ballots and votes by. Without a cookie it is
// "" unless create is set, when a new one is issued as the market's pages
// issue it.
func Visitor(c echo.Context, create, secure bool) string {
	if ck, err := c.Cookie(visitorCookie); err == nil && len(ck.Value) == visitorLen {
		return ck.Value
	}
	if !create {
		return ""
	}
	v := engine.NewSecret(visitorLen)
	c.SetCookie(&http.Cookie{Name: visitorCookie, Value: v, Path: "/m", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	return v
}
