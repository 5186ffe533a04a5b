package tenants

import "github.com/labstack/echo/v4"

// Operator is a platform operator: a person above every shop, who decides
// escalated disputes and reviews reports (the ops console at /ops and the
// operator API at /api/ops/v1). Operators are not merchants: a merchant's
// session or API key never carries one.
type Operator struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

const operatorKey = "ms.operator"

// WithOperator records the operator a request was authenticated as (the
// operator middleware calls it).
func WithOperator(c echo.Context, op Operator) { c.Set(operatorKey, op) }

// OperatorFromContext is the operator the request was authenticated as;
// false on any route outside /ops and /api/ops/v1.
func OperatorFromContext(c echo.Context) (Operator, bool) {
	op, ok := c.Get(operatorKey).(Operator)
	return op, ok
}
