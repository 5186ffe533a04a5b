package main

import (
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"microshop/distribution"
	"microshop/templates"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// What each role may do is decided here, for every route under /api/v1
// and /admin: the policy lists route patterns and the permission each
// requires (tenants/role.go says which roles hold which permission), and
// one middleware, mounted on both groups after authentication, refuses
// the others with a 403. A route the policy does not list requires
// tenants.PermManage (owner and manager only): a route added later is
// closed to service, finance and guide staff until it is listed here.

// policyRule is one line of the policy: requests of method ("" for any)
// whose route pattern is pattern (or, for a pattern ending in "*", starts
// with what precedes it) require perm.
type policyRule struct {
	method, pattern string
	perm            tenants.Perm
}

// guideMePath is the guide staff's own page (distribution/guide_me.go).
const guideMePath = distribution.GuideMePath

// policy is the table, read top down: the first rule that matches decides.
var policy = []policyRule{
	// The owner's alone: staff, API keys, billing, the owner's password.
	{"", "/api/v1/staff*", tenants.PermOwner},
	{"", "/admin/staff*", tenants.PermOwner},
	{"", "/api/v1/api-keys*", tenants.PermOwner},
	{"", "/admin/account/api-keys*", tenants.PermOwner},
	{"", "/api/v1/account/password", tenants.PermOwner}, // the owner's, whoever's key calls it
	{"", "/api/v1/billing*", tenants.PermOwner},
	{"", "/admin/billing*", tenants.PermOwner},

	// Everyone's own account page, password and sessions.
	{http.MethodGet, "/admin/account", tenants.PermSelf},
	{http.MethodPost, "/admin/account/password", tenants.PermSelf},
	{http.MethodPost, "/admin/account/sign-out-everywhere", tenants.PermSelf},

	// A guide's own card, funnel and customers.
	{"", guideMePath + "*", tenants.PermGuideSelf},

	// Customer service: fans and their conversations, messages,
	// after-sale and reviews (and reading orders, to answer about them).
	{"", "/api/v1/fans/:id/points*", tenants.PermManage},
	{"", "/api/v1/fans/:id/audience", tenants.PermMessages},
	{"", "/api/v1/fans/:id/inbox", tenants.PermMessages},
	{"", "/api/v1/fans/:id/tags", tenants.PermMessages},
	{"", "/api/v1/fans*", tenants.PermFans},
	{"", "/admin/fans*", tenants.PermFans},
	{"", "/api/v1/segments*", tenants.PermMessages},
	{"", "/api/v1/campaigns*", tenants.PermMessages},
	{"", "/admin/messages*", tenants.PermMessages},
	{"", "/admin/segments*", tenants.PermMessages},
	{"", "/admin/audience*", tenants.PermMessages},
	{"", "/api/v1/after-sale-settings", tenants.PermManage},
	{http.MethodPost, "/admin/after-sales/settings", tenants.PermManage},
	{"", "/api/v1/after-sale*", tenants.PermAfterSale},
	{"", "/admin/after-sale*", tenants.PermAfterSale},
	{"", "/api/v1/reviews*", tenants.PermReviews},
	{"", "/admin/reviews*", tenants.PermReviews},

	// Finance: refunds, payments and reconciliation, withdrawals and
	// commissions, and reading orders.
	{http.MethodPost, "/api/v1/orders/:id/refund", tenants.PermRefunds},
	{http.MethodPost, "/api/v1/orders/:id/payments/refunded", tenants.PermRefunds},
	{http.MethodPost, "/admin/orders/:id/refund", tenants.PermRefunds},
	{http.MethodPost, "/admin/orders/:id/payments/refunded", tenants.PermRefunds},
	{"", "/api/v1/payments*", tenants.PermPayments},
	{"", "/admin/orders/reconciliation", tenants.PermPayments},
	{http.MethodGet, "/api/v1/orders*", tenants.PermOrdersRead},
	{http.MethodGet, "/admin/orders*", tenants.PermOrdersRead},
	{"", "/api/v1/withdrawals*", tenants.PermWithdrawals},
	{"", "/admin/distribution/withdrawals*", tenants.PermWithdrawals},
	{http.MethodGet, "/api/v1/commissions", tenants.PermWithdrawals},
	{http.MethodGet, "/admin/distribution/ledger", tenants.PermWithdrawals},
}

// moneyRoutes are the routes whose audit entries carry the amount their
// body names (tenants.Auditor).
var moneyRoutes = []string{
	"POST /api/v1/orders/:id/refund", "POST /admin/orders/:id/refund",
	"POST /api/v1/orders/:id/payments/refunded", "POST /admin/orders/:id/payments/refunded",
	"POST /api/v1/after-sales/:id/approve", "POST /admin/after-sales/:id/approve", // may refund
}

// requiredKnown keeps required's answers: every request asks it (and a
// console page once more per navigation item), and its questions are the
// registered routes' patterns.
var requiredKnown sync.Map // routeKey → tenants.Perm

type routeKey struct{ method, pattern string }

// required is the permission a request of method to the route pattern
// requires.
func required(method, pattern string) tenants.Perm {
	k := routeKey{method, pattern}
	if p, ok := requiredKnown.Load(k); ok {
		return p.(tenants.Perm)
	}
	p := lookUpPolicy(method, pattern)
	switch method { // the methods routes are registered for: a made-up one is not kept
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		requiredKnown.Store(k, p)
	}
	return p
}

// lookUpPolicy reads the policy top down for the rule that decides.
func lookUpPolicy(method, pattern string) tenants.Perm {
	for _, r := range policy {
		if r.method != "" && r.method != method {
			continue
		}
		if prefix, ok := strings.CutSuffix(r.pattern, "*"); ok {
			if strings.HasPrefix(pattern, prefix) {
				return r.perm
			}
		} else if pattern == r.pattern {
			return r.perm
		}
	}
	return tenants.PermManage
}

// allowed reports whether who may send method to the route pattern.
func allowed(who tenants.Principal, method, pattern string) bool {
	return who.Role.Can(required(method, pattern))
}

// landing is where the console opens for a role the home page is not
// for: its first page.
var landing = map[tenants.Role]string{
	tenants.RoleService: "/admin/fans",
	tenants.RoleFinance: "/admin/orders",
	tenants.RoleGuide:   guideMePath,
}

// enforceRoles is the middleware that applies the policy to every route of
// the group it is mounted on (after authentication), and gives console
// pages the navigation filter of the person signed in.
func enforceRoles(group string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			pattern, method := c.Path(), c.Request().Method
			if pattern == group+"/*" {
				return next(c) // no route: the router's own 404
			}
			who, ok := tenants.PrincipalFromContext(c)
			if !ok {
				return fault.Forbidden("your role does not allow this; ask the shop's owner")
			}
			if group == "/admin" {
				c.Set(templates.NavAllowKey, func(href string) bool {
					if href == guideMePath {
						return who.GuideID != "" && allowed(who, http.MethodGet, href)
					}
					return allowed(who, http.MethodGet, href)
				})
			}
			if allowed(who, method, pattern) {
				return next(c)
			}
			if method == http.MethodGet && pattern == "/admin" {
				if to, ok := landing[who.Role]; ok {
					return c.Redirect(http.StatusSeeOther, to)
				}
			}
			return fault.Forbidden("your role does not allow this; ask the shop's owner")
		}
	}
}
