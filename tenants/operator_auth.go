package tenants

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
)

// ctxOperatorSession holds the id of the request's ops console session.
const ctxOperatorSession = "ms.operator.session"

// ctxOperatorRecord holds the operator's record (its password hash, for
// the password page).
const ctxOperatorRecord = "ms.operator.record"

// OperatorKeyAuth authenticates /api/ops/v1 by an operator API key
// (Authorization: Bearer mso_…) and records the operator (WithOperator).
// Anything else, a merchant's msk_ key among them, is a 401.
func (s *Service) OperatorKeyAuth() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
			key = strings.TrimSpace(key)
			if !ok || key == "" {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="microshop-ops"`)
				return fault.New(http.StatusUnauthorized, "unauthorized", "an operator API key is required")
			}
			rec, err := s.OperatorByKey(c.Request().Context(), key)
			if errors.Is(err, errBadOperator) {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="microshop-ops"`)
				return fault.New(http.StatusUnauthorized, "unauthorized", "an operator API key is required")
			}
			if err != nil {
				return err
			}
			WithOperator(c, rec.Operator())
			return next(c)
		}
	}
}

// OperatorSessionAuth authenticates the ops console (/ops) by an
// operator's session cookie (OperatorCookie). Without one, a page asked
// for answers 401 with the sign-in form (a merchant's session is no
// operator's); other requests get a plain 401. An operator still holding
// the one-time password is sent to change it first.
func (s *Service) OperatorSessionAuth(codec *SessionCodec) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ck, err := c.Cookie(OperatorCookie)
			if err != nil {
				return s.operatorSignInFirst(c)
			}
			id, rec, err := s.operatorFromCookie(c.Request().Context(), codec, ck.Value)
			if errors.Is(err, errBadOperator) {
				return s.operatorSignInFirst(c)
			}
			if err != nil {
				return err // the platform store is unreachable: not a reason to sign in again
			}
			if rec.MustChange && c.Path() != opsPasswordPath && c.Path() != opsLogoutPath {
				if c.Request().Method == http.MethodGet {
					return c.Redirect(http.StatusSeeOther, opsPasswordPath)
				}
				return fault.Forbidden("change your one-time password first")
			}
			WithOperator(c, rec.Operator())
			c.Set(ctxOperatorSession, id)
			c.Set(ctxOperatorRecord, rec)
			return next(c)
		}
	}
}

// operatorSignInFirst answers a request to the ops console without an
// operator's session: a page gets the sign-in form with a 401, the rest a
// 401.
func (s *Service) operatorSignInFirst(c echo.Context) error {
	if c.Request().Method == http.MethodGet {
		return c.Render(http.StatusUnauthorized, "ops_login.html", opsLoginPage{Next: safeOpsNext(c.Request().URL.RequestURI())})
	}
	return fault.Unauthorized("sign in first")
}
