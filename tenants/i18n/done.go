package i18n

import "github.com/labstack/echo/v4"

// Done is the notice a console page shows when its form has redirected
// back with ?done=NAME: the message ids holds for NAME, in the request's
// language; "" when ids has none (or there is no ?done=).
func Done(c echo.Context, ids map[string]string) string {
	id, ok := ids[c.QueryParam("done")]
	if !ok {
		return ""
	}
	return T(c.Request().Context(), id)
}
