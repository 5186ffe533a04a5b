package tenants

import (
	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
)

// OperatorKeyAuth authenticates /api/ops/v1 by an operator API key
// (Authorization: Bearer mso_…) and records the operator (WithOperator).
// Until operators exist every call is refused.
func (s *Service) OperatorKeyAuth() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			return fault.New(401, "unauthorized", "an operator API key is required")
		}
	}
}

// OperatorSessionAuth authenticates the ops console (/ops) by an
// operator's session cookie. Until operators exist every page is refused.
func (s *Service) OperatorSessionAuth(codec *SessionCodec) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			return fault.New(401, "unauthorized", "an operator API key is required")
		}
	}
}
