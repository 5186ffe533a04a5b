package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"

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
	// Templates are the library's templates (library.go) for the notice
	// kinds the shop sends; Have is the template ids the shop uses now, per
	// kind, kept if the account still has them.
	Templates []NoticeTemplate
	Have      map[string]string
}

// What set-up did for a notice kind (TemplateOutcome.Action).
const (
	TemplateKept   = "kept"   // the shop's template is still in the account
	TemplateReused = "reused" // the account held a template with the library's title
	TemplateAdded  = "added"  // added from the library (api_add_template)
	TemplateFailed = "failed" // WeChat refused (ErrCode says why)
	TemplateNoID   = "no_id"  // nothing to reuse, and the platform set no short id
)

// TemplateOutcome is what set-up did for one notice kind.
type TemplateOutcome struct {
	Kind       string `json:"kind"`
	Title      string `json:"title"`
	Action     string `json:"action"`
	TemplateID string `json:"template_id,omitempty"`
	// ErrCode and ErrMsg are WeChat's answer when it refused.
	ErrCode int64  `json:"errcode,omitempty"`
	ErrMsg  string `json:"errmsg,omitempty"`
}

// SetUpResult is what was set up.
type SetUpResult struct {
	At   time.Time `json:"at"`
	Menu Menu      `json:"-"`
	// MenuCode is WeChat's errcode when publishing the menu failed (-1: no
	// errcode, e.g. WeChat was not reached).
	MenuCode     int64 `json:"menu_errcode,omitempty"`
	IndustryCode int64 `json:"industry_errcode,omitempty"`
	// Templates maps each kind set up to its template id in the account.
	Templates map[string]string `json:"-"`
	Outcomes  []TemplateOutcome `json:"templates"`
}

// Failed counts the kinds set-up could not give a template.
func (r SetUpResult) Failed() int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Action == TemplateFailed || o.Action == TemplateNoID {
			n++
		}
	}
	return n
}

// SetUp publishes the menu, sets the industry when the account has none,
// and makes sure the account holds a template for every kind: the shop's
// own if the account still has it, else one of the account's templates
// with the library's title (listed once, get_all_private_template), else
// one added from the library with the kind's keywords (api_add_template; a
// title several kinds share is added once). A kind WeChat refuses is
// reported with its errcode and the others go on; the error is the first
// failure.
func (a *Account) SetUp(ctx context.Context, s SetUp) (SetUpResult, error) {
	res := SetUpResult{At: a.accounts.now().UTC().Truncate(time.Second), Templates: map[string]string{}}
	var first error
	fail := func(err error) {
		if first == nil {
			first = err
		}
	}
	if len(s.Menu.Buttons) > 0 {
		m, err := a.SetMenu(ctx, s.Menu)
		if err != nil {
			res.MenuCode = codeOf(err)
			fail(fmt.Errorf("menu: %w", err))
		}
		res.Menu = m
	}
	if len(s.Templates) == 0 {
		return res, first
	}
	if s.Industry[0] != "" {
		// An account that chose its industries keeps them: changing them
		// would cost the templates of the old ones (and WeChat allows one
		// change a month).
		set, err := a.HasIndustry(ctx)
		if err == nil && !set {
			err = a.SetIndustry(ctx, s.Industry[0], s.Industry[1])
		}
		if err != nil {
			res.IndustryCode = codeOf(err)
			fail(fmt.Errorf("industry: %w", err))
		}
	}
	held, err := a.Templates(ctx)
	if err != nil {
		for _, t := range s.Templates {
			res.Outcomes = append(res.Outcomes, failedOutcome(t, err))
		}
		fail(fmt.Errorf("templates: %w", err))
		return res, first
	}
	has := map[string]bool{}
	byTitle := map[string]string{} // title -> the account's template id
	for _, t := range held {
		has[t.ID] = true
		if k := titleKey(t.Title); byTitle[k] == "" {
			byTitle[k] = t.ID
		}
	}
	for _, t := range s.Templates {
		o := TemplateOutcome{Kind: t.Kind, Title: t.Title}
		switch id := s.Have[t.Kind]; {
		case id != "" && has[id]:
			o.Action, o.TemplateID = TemplateKept, id
		case byTitle[titleKey(t.Title)] != "":
			o.Action, o.TemplateID = TemplateReused, byTitle[titleKey(t.Title)]
		case t.ShortID == "":
			o.Action = TemplateNoID
		default:
			id, err := a.AddTemplate(ctx, t.ShortID, t.Keywords)
			if err != nil {
				o = failedOutcome(t, err)
				fail(fmt.Errorf("template %s: %w", t.Kind, err))
				break
			}
			o.Action, o.TemplateID = TemplateAdded, id
			byTitle[titleKey(t.Title)] = id // a kind sharing the title reuses it
		}
		if o.TemplateID != "" {
			res.Templates[t.Kind] = o.TemplateID
		}
		res.Outcomes = append(res.Outcomes, o)
	}
	return res, first
}

// titleKey is a template title as titles are matched: without spaces.
func titleKey(title string) string { return strings.Join(strings.Fields(title), "") }

func failedOutcome(t NoticeTemplate, err error) TemplateOutcome {
	o := TemplateOutcome{Kind: t.Kind, Title: t.Title, Action: TemplateFailed, ErrCode: codeOf(err)}
	var api *APIError
	var ce *util.CommonError
	if errors.As(err, &api) && errors.As(api.Cause, &ce) || errors.As(err, &ce) {
		o.ErrMsg = fault.Clip(ce.ErrMsg, 120)
	}
	return o
}

// codeOf is WeChat's errcode for err, or -1 when WeChat gave none (not
// reached, no answer).
func codeOf(err error) int64 {
	if c := ErrCode(err); c != 0 {
		return c
	}
	return -1
}

// SetUpper sets a newly authorised account up for its shop; base is the
// platform's public address.
type SetUpper func(ctx context.Context, t tenants.Tenant, acct *Account, base string) (SetUpResult, error)

// OnAuthorized has fn set up each account a shop authorises.
func (c *Component) OnAuthorized(fn SetUpper) { c.setUp = fn }

// setUpReportLife is how long the console shows the last set-up's report.
const setUpReportLife = 90 * 24 * time.Hour

func setUpReportKey(tenantID string) string { return "wechat:setup_report:" + tenantID }

// afterAuthorize sets the shop's newly authorised account up and keeps
// what it did for the console; a failure is logged too (the authorisation
// stands; the merchant can set up again or publish the menu from the
// console).
func (c *Component) afterAuthorize(ctx context.Context, t tenants.Tenant, base string) {
	if _, err := c.SetUpAgain(ctx, t, base); err != nil {
		c.accounts.log.Warn("set up the authorised wechat account", "tenant", t.ID, "err", err)
	}
}

// SetUpAgain sets the shop's authorised account up (menu, industry,
// templates) and keeps the report the console shows.
func (c *Component) SetUpAgain(ctx context.Context, t tenants.Tenant, base string) (SetUpResult, error) {
	if c.setUp == nil {
		return SetUpResult{}, nil
	}
	acct, err := c.accounts.Account(ctx, t.ID)
	if errors.Is(err, fault.ErrNotFound) || err == nil && !acct.Authorized() {
		return SetUpResult{}, errNoAccount()
	}
	if err != nil {
		return SetUpResult{}, err
	}
	res, err := c.setUp(ctx, t, acct, base)
	if raw, merr := json.Marshal(res); merr == nil && !res.At.IsZero() {
		if perr := c.accounts.platform.CachePut(ctx, setUpReportKey(t.ID), string(raw), c.accounts.now().Add(setUpReportLife)); perr != nil {
			c.accounts.log.Warn("keep the wechat set-up report", "tenant", t.ID, "err", perr)
		}
	}
	return res, err
}

// SetUpReport is the shop's last set-up report; none is ErrNotFound.
func (c *Component) SetUpReport(ctx context.Context, tenantID string) (SetUpResult, error) {
	raw, _, err := c.accounts.platform.CacheGet(ctx, setUpReportKey(tenantID), c.accounts.now())
	if err != nil {
		return SetUpResult{}, err
	}
	var r SetUpResult
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return SetUpResult{}, fmt.Errorf("read the wechat set-up report: %w", err)
	}
	return r, nil
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
