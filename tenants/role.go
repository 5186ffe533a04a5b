package tenants

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
)

// Roles and permissions. A request to /api/v1 or /admin acts as a
// Principal: the owner, a member of staff with a role, or an API key
// scoped to a role (a key without one acts as the owner). What a route
// requires is a Perm (server/roles.go holds the table of routes); a role
// holds a set of them. A route nobody listed requires PermManage: owner and
// manager only, so a route added later is closed to the narrow roles until
// someone opens it.

// Role is what a member of staff (or an API key) may do.
type Role string

// The roles. The owner is the person who opened the shop; the others are
// staff the owner invited.
const (
	RoleOwner   Role = "owner"
	RoleManager Role = "manager" // everything but billing and staff
	RoleService Role = "service" // customer service: fans, messages, after-sale, reviews
	RoleFinance Role = "finance" // orders, payments, refunds, withdrawals, reconciliation
	RoleGuide   Role = "guide"   // a shopping guide: their own card, funnel and customers
)

// StaffRoles are the roles the owner may give staff.
var StaffRoles = []Role{RoleManager, RoleService, RoleFinance, RoleGuide}

// KeyRoles are the roles an API key may be scoped to (a guide acts as a
// person bound to a guide record, not as a program).
var KeyRoles = []Role{RoleManager, RoleService, RoleFinance}

// Perm is what a route requires.
type Perm string

// The permissions.
const (
	// PermOwner: staff, API keys, billing and the owner's password.
	PermOwner Perm = "owner"
	// PermManage: every route no narrower permission names.
	PermManage Perm = "manage"
	// PermSelf: one's own account page, password and sessions.
	PermSelf        Perm = "self"
	PermFans        Perm = "fans"
	PermMessages    Perm = "messages"
	PermAfterSale   Perm = "after_sale"
	PermReviews     Perm = "reviews"
	PermOrdersRead  Perm = "orders_read"
	PermRefunds     Perm = "refunds"
	PermPayments    Perm = "payments"
	PermWithdrawals Perm = "withdrawals"
	// PermGuideSelf: the guide's own card, funnel and customers.
	PermGuideSelf Perm = "guide_self"
)

// rolePerms are the permissions of each role but the owner's (all) and the
// manager's (all but PermOwner).
var rolePerms = map[Role][]Perm{
	RoleService: {PermSelf, PermFans, PermMessages, PermAfterSale, PermReviews, PermOrdersRead},
	RoleFinance: {PermSelf, PermOrdersRead, PermRefunds, PermPayments, PermWithdrawals},
	RoleGuide:   {PermSelf, PermGuideSelf},
}

// Valid reports whether r is a role.
func (r Role) Valid() bool { return r == RoleOwner || slices.Contains(StaffRoles, r) }

// Can reports whether the role holds permission p.
func (r Role) Can(p Perm) bool {
	switch r {
	case RoleOwner:
		return true
	case RoleManager:
		return p != PermOwner
	}
	return slices.Contains(rolePerms[r], p)
}

// Principal is who a request acts as.
type Principal struct {
	Role Role
	// Actor names the person or program, as the audit log shows it: the
	// owner's or staff member's email, or an API key's name and prefix
	// ("erp (msk_abc123…)").
	Actor string
	// UserID is the signed-in user (a session); KeyID the API key.
	UserID, KeyID string
	// GuideID is the guide record a guide is bound to.
	GuideID string
}

const ctxPrincipal = "microshop.principal"

// SetPrincipal records who the request acts as (the authentication
// middlewares; tests).
func SetPrincipal(c echo.Context, p Principal) { c.Set(ctxPrincipal, p) }

// PrincipalFromContext is who the request acts as; false before
// authentication (public routes).
func PrincipalFromContext(c echo.Context) (Principal, bool) {
	p, ok := c.Get(ctxPrincipal).(Principal)
	return p, ok
}

// keyActor is how an API key is named in the audit log: its name and
// prefix, "erp (msk_abc123…)", or its prefix alone.
func keyActor(k APIKey) string {
	if k.Name == "" {
		return k.Prefix + "…"
	}
	return k.Name + " (" + k.Prefix + "…)"
}

// keyPrincipal is who a call with key k acts as.
func keyPrincipal(k APIKey) Principal {
	role := k.Role
	if role == "" {
		role = RoleOwner
	}
	return Principal{Role: role, Actor: keyActor(k), KeyID: k.ID}
}

// KeyInput is what POST /api/v1/api-keys takes: a name saying what the key
// is for, and the role its calls act in (none: the owner's full access).
type KeyInput struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// check checks the input and trims the name.
func (in *KeyInput) check() error {
	name, err := fault.Text("name", in.Name, 64)
	if err != nil {
		return err
	}
	in.Name = name
	if in.Role != "" && !slices.Contains(KeyRoles, in.Role) {
		return fault.Invalid("role", "must be one of manager, service, finance, or none for the owner's full access")
	}
	return nil
}

// decodeKeyInput reads POST /api/v1/api-keys's body: none (or only
// spaces) is an unnamed key with the owner's full access.
func decodeKeyInput(c echo.Context) (KeyInput, error) {
	var in KeyInput
	req := c.Request()
	if req.Body == nil {
		return in, nil
	}
	b, err := io.ReadAll(req.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return in, fault.TooLarge(tooBig.Limit)
	}
	if err != nil {
		return in, fmt.Errorf("read API key input: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return in, nil
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	return in, fault.DecodeJSON(c, &in)
}
