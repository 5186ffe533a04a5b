package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/shop/message"
	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/secret"
	"microshop/tenants/wechat"
	"microshop/tenants/wechat/sandbox"
)

// The WeChat third-party platform (tenants/wechat/component*.go): the
// operator's configuration at /ops/wechat, "Connect with WeChat" in the
// console, WeChat's authorisation events at /wx/component/events, and the
// pushes of authorised accounts at /wx/component/{appid}/callback, served
// as the shop's own push (shop/fan) once the AppID is resolved to the shop
// holding its authorisation. In sandbox mode the simulator plays WeChat:
// its authorisation page is in the console, and it pushes the verify
// ticket when the operator saves the configuration and every 10 minutes.

// wxComponent is the app's part of it.
type wxComponent struct {
	comp *wechat.Component
	// tickets pushes verify tickets in sandbox mode (nil when live).
	tickets *sandbox.TicketPusher
}

// setUpWXComponent builds the component over the platform database and
// plugs it into the accounts.
func (a *app) setUpWXComponent(ctx context.Context) error {
	opts := wechat.ComponentOptions{Box: a.wechat.box}
	if a.wechat.sim != nil {
		opts.LoginPageURL = sandbox.ComponentPagePath
	}
	comp, err := wechat.NewComponent(ctx, a.engine, a.wechat.accounts, opts)
	if err != nil {
		return err
	}
	a.wxcomp = &wxComponent{comp: comp}
	comp.SetLibraryDefaults(a.noticeLibrary())
	// A key that is not the one the secrets were sealed with is said at
	// start, not at the first WeChat call.
	if _, err := comp.Config(ctx); errors.Is(err, secret.ErrWrongKey) {
		a.log.Error("the WeChat third-party platform's secrets do not open with this process's secret key: "+
			"set MICROSHOP_SECRET_KEY (or the key file) to the key they were sealed with (or, while rotating it, give that key in MICROSHOP_SECRET_KEY_PREVIOUS), or enter them again at /ops/wechat", "key_id", a.wechat.box.ID())
	}
	return nil
}

// mountWXComponent mounts the component's routes.
func (a *app) mountWXComponent(e *echo.Echo, api, admin, storefront, opsPages *echo.Group) {
	h := wechat.NewComponentHandlers(a.wxcomp.comp, a.cfg.BaseURL)
	h.EventRoutes(e)
	h.APIRoutes(api)
	h.AdminRoutes(admin)
	h.OpsRoutes(opsPages)
	push := e.Group(wechat.ComponentCallbackPath, a.authoriserShop)
	fan.NewHandlers(a.wechat.fans, a.wechat.accounts).PushRoutes(push)
	menus := wechat.NewMenuHandlers(a.wechat.accounts) // any account's menu: authorised or pasted
	menus.APIRoutes(api)
	menus.AdminRoutes(admin)
	a.wxcomp.comp.OnAuthorized(a.setUpAuthorizedAccount)
	// Share cards: the storefront's JS-SDK signature, with the shopper's own
	// distributor code for the shared link.
	wechat.NewJSSDKHandlers(a.wechat.accounts, a.cfg.BaseURL, a.sharer).StorefrontAPIRoutes(storefront)
	sim := a.wechat.sim
	if sim == nil {
		return
	}
	sim.ComponentPageRoutes(admin)
	p := sim.NewTicketPusher(e, a.pushHost(), a.wxcomp.comp.Config)
	a.wxcomp.tickets = p
	// WeChat pushes a ticket within minutes of the platform's set-up; the
	// sandbox at once, then every 10 minutes for the process's life.
	a.wxcomp.comp.OnSaved(func(wechat.ComponentConfig) {
		p.Push(context.Background())
		p.Start(context.Background())
	})
	if _, err := a.wxcomp.comp.Config(context.Background()); err == nil {
		p.Start(context.Background())
	}
}

// pushHost is the host the sandbox's pushes are addressed to.
func (a *app) pushHost() string {
	if u, err := url.Parse(a.cfg.BaseURL); err == nil && a.cfg.BaseURL != "" {
		return u.Host
	}
	if hs := a.cfg.allowedHosts(); len(hs) > 0 {
		return hs[0]
	}
	return "localhost"
}

// authoriserShop resolves /wx/component/{appid}/callback to the shop
// holding the account's authorisation; otherwise a 404.
func (a *app) authoriserShop(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		id, err := a.wxcomp.comp.TenantForApp(ctx, c.Param("appid"))
		if errors.Is(err, fault.ErrNotFound) {
			return fault.NotFound("WeChat official account")
		}
		if err != nil {
			return err
		}
		t, err := a.tenants.TenantByID(ctx, id)
		if err != nil {
			return err
		}
		tenants.WithTenant(c, t)
		return next(c)
	}
}

// noticeLibrary is the template library the platform starts with (the
// operator changes it at /ops/wechat): for each notice the shop sends as
// a template message, the template's title in WeChat's library, its short
// id and the keywords the shop fills, in the order of its keyword1,
// keyword2, … (shop/message, server/vote.go).
//
// The short ids are the ones public code uses for WeChat's industry
// library (IT科技 / 互联网|电子商务): order paid OPENTM201752540, shipped
// OPENTM200565259, commission OPENTM207112032. For the points, check-in
// and group-deal notices no public id was found: a live platform reuses an
// account template with the title, else reports "no library id" until the
// operator fills one in; the sandbox's library has its own ids for them.
// The keyword names follow the shop's fields and are the operator's to
// check against the library.
func (a *app) noticeLibrary() []wechat.NoticeTemplate {
	sbx := func(id string) string {
		if a.wechat.sim == nil {
			return ""
		}
		return id
	}
	commission := wechat.NoticeTemplate{Title: "佣金提醒", ShortID: "OPENTM207112032", Keywords: []string{"佣金金额", "订单编号"}}
	byKind := map[string]wechat.NoticeTemplate{
		message.NoticeOrderPaid:          {Title: "订单支付成功通知", ShortID: "OPENTM201752540", Keywords: []string{"订单编号", "支付金额", "支付时间"}},
		message.NoticeOrderShipped:       {Title: "订单发货提醒", ShortID: "OPENTM200565259", Keywords: []string{"订单编号", "物流公司", "物流单号"}},
		message.NoticeOrderRefunded:      {Title: "退款通知", ShortID: "TM00004", Keywords: []string{"退款原因", "退款金额"}},
		message.NoticeCommissionCredited: commission,
		message.NoticeCommissionReversed: commission,
		message.NoticePointsExpiring:     {Title: "积分到期提醒", ShortID: sbx("OPENTM_SBX_POINTS"), Keywords: []string{"积分变动", "到期积分"}},
		message.NoticeCheckinReminder:    {Title: "签到提醒", ShortID: sbx("OPENTM_SBX_CHECKIN"), Keywords: []string{"签到内容", "日期"}},
		message.NoticeGroupDeal:          {Title: "团购开团提醒", ShortID: sbx("OPENTM_SBX_GROUP_DEAL"), Keywords: []string{"商品名称", "团购价", "截止时间"}},
	}
	var out []wechat.NoticeTemplate
	for _, kind := range message.NoticeKinds { // the kinds the shop sends
		if t, ok := byKind[kind]; ok {
			t.Kind = kind
			out = append(out, t)
		}
	}
	return out
}

// setUpAuthorizedAccount sets a newly authorised account up for its shop:
// the menu (the storefront, the check-in button with the shop's key while
// check-in is on, the shopper's orders), the industry, and a template from
// the library for every notice the shop sends, recorded in the shop's
// message settings.
func (a *app) setUpAuthorizedAccount(ctx context.Context, t tenants.Tenant, acct *wechat.Account, base string) (wechat.SetUpResult, error) {
	key := ""
	if rules, err := a.points.Rules(ctx, t.ID); err == nil && rules.Enabled {
		key = rules.MenuKey
	}
	st, err := a.msgs.Settings(ctx, t.ID)
	if err != nil {
		return wechat.SetUpResult{}, err
	}
	lib, err := a.wxcomp.comp.Library(ctx)
	if err != nil {
		return wechat.SetUpResult{}, err
	}
	res, err := acct.SetUp(ctx, wechat.SetUp{Menu: wechat.DefaultMenu(ctx, t, base, key), Industry: [2]string{"1", "2"},
		Templates: lib, Have: st.Templates})
	changed := false
	for kind, id := range res.Templates {
		if st.Templates[kind] != id {
			changed = true
		}
	}
	if changed {
		if st.Templates == nil {
			st.Templates = map[string]string{}
		}
		maps.Copy(st.Templates, res.Templates)
		if _, serr := a.msgs.SaveSettings(ctx, t.ID, st); serr != nil {
			return res, fmt.Errorf("keep the templates: %w", serr)
		}
	}
	return res, err
}

// sharer is the shopper's own link parameter and code for a shared link:
// an active distributor's ?d=.
func (a *app) sharer(c echo.Context) (string, string) {
	d, err := a.dist.ActiveDistributor(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c))
	if err != nil || d.Code == "" {
		return "", ""
	}
	return "d", d.Code
}

// wechatAuthorizationPass keeps a shop's authorised account's token fresh:
// a pass over a shop without an authorisation does nothing.
func (a *app) wechatAuthorizationPass(ctx context.Context, tenantID string) (any, error) {
	var r struct{ Authorized, Checked int }
	auth, err := a.wxcomp.comp.Authorization(ctx, tenantID)
	if errors.Is(err, fault.ErrNotFound) || (err == nil && auth.Status != wechat.AuthAuthorized) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	r.Authorized = 1
	acct, err := a.wechat.accounts.Account(ctx, tenantID)
	if err != nil || !acct.Authorized() {
		return r, err
	}
	if _, err := acct.AccessToken(ctx); err != nil {
		return r, fmt.Errorf("refresh the authorised account's token: %w", err)
	}
	r.Checked = 1
	return r, nil
}
