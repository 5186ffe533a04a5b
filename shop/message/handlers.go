package message

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// fanOf resolves the :id fan of the shop: a malformed id or another shop's
// fan is a 404, before anything else is read.
func (h *Handlers) fanOf(c echo.Context) (fan.Fan, error) {
	return h.svc.Fan(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
}

// respond writes v as JSON with status, unless err.
func respond(c echo.Context, status int, v any, err error) error {
	if err != nil {
		return err
	}
	return c.JSON(status, v)
}

func queryInt(c echo.Context, name string, def int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fault.Invalid(name, "must be a whole number")
	}
	return n, nil
}

// who is the console user acting, for the campaign's record.
func who(c echo.Context) string {
	if u, ok := tenants.UserFromContext(c); ok {
		return u.Email
	}
	return "console"
}

// noStore marks a fan's own page as not to be cached.
func noStore(c echo.Context) {
	c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
}
