package wechat

import (
	"context"
	"errors"
	"fmt"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// Setting the account up for the merchant once it is authorised: the
// custom menu (Shop, Check in, My orders), the industry, and the templates
// the shop sends picked from WeChat's template library, so the merchant
// never types a template id. What the shop sends is the server's to say
// (its notice kinds and their library templates, the check-in key): it
// plugs a SetUpper in with OnAuthorized.

// SetUp is what to set up on an account.
type SetUp struct {
	Menu Menu
	// Industry is WeChat's primary and secondary industry ids.
	Industry [2]string
	// Templates maps what the shop sends (its own kinds) to library short
	// ids; Have is the template ids the shop uses now, per kind, kept if the
	// account still has them.
	Templates map[string]string
	Have      map[string]string
}

// SetUpResult is what was set up.
type SetUpResult struct {
	Menu Menu
	// Templates maps each kind to its template id in the account.
	Templates map[string]string
}

// SetUp publishes the menu, sets the industry and makes sure the account
// holds a template for every kind (a short id used by several kinds is
// added once). It stops at the first failure, after what it did.
func (a *Account) SetUp(ctx context.Context, s SetUp) (SetUpResult, error) {
	res := SetUpResult{Templates: map[string]string{}}
	if len(s.Menu.Buttons) > 0 {
		m, err := a.SetMenu(ctx, s.Menu)
		if err != nil {
			return res, fmt.Errorf("menu: %w", err)
		}
		res.Menu = m
	}
	if len(s.Templates) == 0 {
		return res, nil
	}
	if s.Industry[0] != "" {
		if err := a.SetIndustry(ctx, s.Industry[0], s.Industry[1]); err != nil {
			return res, fmt.Errorf("industry: %w", err)
		}
	}
	held, err := a.Templates(ctx)
	if err != nil {
		return res, fmt.Errorf("templates: %w", err)
	}
	has := map[string]bool{}
	for _, t := range held {
		has[t.ID] = true
	}
	added := map[string]string{} // short id -> template id
	for kind, short := range s.Templates {
		if id := s.Have[kind]; id != "" && has[id] {
			res.Templates[kind] = id
			continue
		}
		id, ok := added[short]
		if !ok {
			if id, err = a.AddTemplate(ctx, short); err != nil {
				return res, fmt.Errorf("template %s: %w", kind, err)
			}
			added[short] = id
		}
		res.Templates[kind] = id
	}
	return res, nil
}

// SetUpper sets a newly authorised account up for its shop; base is the
// platform's public address.
type SetUpper func(ctx context.Context, t tenants.Tenant, acct *Account, base string) error

// OnAuthorized has fn set up each account a shop authorises.
func (c *Component) OnAuthorized(fn SetUpper) { c.setUp = fn }

// afterAuthorize sets the shop's newly authorised account up; a failure is
// logged (the authorisation stands; the merchant can publish the menu from
// the console).
func (c *Component) afterAuthorize(ctx context.Context, t tenants.Tenant, base string) {
	if c.setUp == nil {
		return
	}
	acct, err := c.accounts.Account(ctx, t.ID)
	if err == nil && !acct.Authorized() {
		err = errors.New("the account is not the authorised one")
	}
	if err == nil {
		err = c.setUp(ctx, t, acct, base)
	}
	if err != nil {
		c.accounts.log.Warn("set up the authorised wechat account", "tenant", t.ID, "err", err)
	}
}

// DefaultMenu is the menu a shop starts with: its storefront, the check-in
// button (checkInKey, which the check-in responder answers), the shopper's
// orders, named in the shop's language.
func DefaultMenu(ctx context.Context, t tenants.Tenant, base, checkInKey string) Menu {
	lctx := i18n.WithLang(ctx, t.Language())
	shop := base + "/s/" + t.Slug + "/"
	m := Menu{Buttons: []MenuButton{{Type: "view", Name: i18n.T(lctx, "wxconnect.menu.shop"), URL: shop}}}
	if checkInKey != "" {
		m.Buttons = append(m.Buttons, MenuButton{Type: "click", Name: i18n.T(lctx, "wxconnect.menu.checkin"), Key: checkInKey})
	}
	m.Buttons = append(m.Buttons, MenuButton{Type: "view", Name: i18n.T(lctx, "wxconnect.menu.orders"), URL: shop + "orders"})
	return m
}

// errNoAccount: the shop has no official account to act on.
func errNoAccount() error {
	return fault.Conflict("connect the shop's WeChat official account first (console → WeChat)")
}
