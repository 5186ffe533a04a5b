package templates

import (
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants/i18n"
)

// View is what every page template receives: the handler's data plus what
// every page needs, filled by the renderer from the request so that no page
// struct has to carry it. In a page, `.` is the View until `{{with .Data}}`;
// `$` is the View everywhere (`{{template "csrf" $}}`, `$.Shop.Slug`).
type View struct {
	Data any
	// CSRF is the request's CSRF token; forms write it with {{template "csrf" $}}.
	CSRF string
	// Path is the request's URL path (the console navigation marks the current item by it).
	Path string
	// Query is the request's query. Storefront pages that are rendered once
	// per language and served to every visitor (shop_home, shop_product,
	// and the shop layout around them) must not show it: the first
	// visitor's parameters would reach everyone; they show what their page
	// data says instead.
	Query url.Values
	// Shop is the request's shop (a tenants.Tenant in practice): the one the
	// storefront's address or the console's session resolved to. It is the
	// page data's Shop field when the renderer was built without WithShop.
	// Platform pages (sign-up, sign-in, errors) have no shop.
	Shop any
	// Lang is the language the page speaks ("zh-CN", "en"): the one the
	// i18n middleware chose for the request (i18n.FromContext), the
	// default without a request. Layouts write it as <html lang>.
	Lang string
	// Zone is the shop's time zone (its TimeZone; Asia/Shanghai when it
	// sets none, or without a shop): pages show times in it
	// ({{datetime .At $.Zone}}).
	Zone *time.Location
	// navAllow says which console navigation items the person signed in
	// may open (NavAllowKey); nil shows them all.
	navAllow func(href string) bool
}

// NavAllowKey is the echo.Context key of the console navigation's filter,
// a func(href string) bool: the role middleware (server/roles.go) sets it,
// and ConsoleNav leaves out the items it refuses.
const NavAllowKey = "microshop.nav_allow"

// view builds the View of one rendering.
func (r *Renderer) view(data any, c echo.Context) View {
	v := View{Data: data, Lang: i18n.Default}
	if c != nil {
		if lang, ok := i18n.Supported(i18n.FromContext(c.Request().Context())); ok {
			v.Lang = lang
		}
		v.CSRF, _ = c.Get("csrf").(string) // set by Echo's CSRF middleware under its default key
		v.Path = c.Request().URL.Path
		v.Query = c.QueryParams()
		v.navAllow, _ = c.Get(NavAllowKey).(func(string) bool)
		if r.shopOf != nil {
			v.Shop = r.shopOf(c)
		}
	}
	if v.Shop == nil {
		v.Shop = shopField(data)
	}
	v.Zone = zone(stringField(v.Shop, "TimeZone"))
	return v
}

// defaultZone is the zone of a shop that sets none (tenants.DefaultTimeZone).
const defaultZone = "Asia/Shanghai"

var zones sync.Map // zone name → *time.Location: LoadLocation reads a file each call

// zone returns the named zone, the default zone for "" or a name it does
// not know.
func zone(name string) *time.Location {
	if name == "" {
		name = defaultZone
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		if name == defaultZone {
			return time.FixedZone("CST", 8*3600)
		}
		return zone(defaultZone)
	}
	zones.Store(name, loc)
	return loc
}

// LangLink is one entry of a language switch.
type LangLink struct {
	Code, Name string
	Current    bool // the page speaks it
}

// LangLinks is the language switch: every language, each named in itself,
// the page's marked. A link to "?lang=CODE" sets the choice
// (i18n.MiddlewareWithConfig) and comes back to the page.
func (v View) LangLinks() []LangLink {
	links := make([]LangLink, len(i18n.Langs))
	for i, l := range i18n.Langs {
		links[i] = LangLink{Code: l, Name: i18n.Name(l), Current: l == v.Lang}
	}
	return links
}

// stringField returns v's exported string field name, or "".
func stringField(v any, name string) string {
	d := reflect.ValueOf(v)
	for d.Kind() == reflect.Pointer || d.Kind() == reflect.Interface {
		if d.IsNil() {
			return ""
		}
		d = d.Elem()
	}
	if d.Kind() != reflect.Struct {
		return ""
	}
	f := d.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.String {
		return ""
	}
	if sf, _ := d.Type().FieldByName(name); !sf.IsExported() {
		return ""
	}
	return f.String()
}

// shopField returns data's exported Shop field, or nil.
func shopField(data any) any {
	d := reflect.ValueOf(data)
	for d.Kind() == reflect.Pointer || d.Kind() == reflect.Interface {
		if d.IsNil() {
			return nil
		}
		d = d.Elem()
	}
	if d.Kind() != reflect.Struct {
		return nil
	}
	if f, ok := d.Type().FieldByName("Shop"); !ok || !f.IsExported() {
		return nil
	}
	return d.FieldByName("Shop").Interface()
}

// NavLink is one item of the console navigation.
type NavLink struct {
	Label, Href string // Label is in the page's language
	Current     bool   // the page shown is this item's (or under it)
}

// navItem is an entry of consoleNav: its label's message id, and other
// paths whose pages belong to the item.
type navItem struct {
	id, href string
	also     []string
}

// consoleNav is the merchant console's navigation, in the order
// layout_admin.html draws it. A console page belongs to the item whose path
// (or one of its also paths) is the longest prefix of the page's path.
var consoleNav = []navItem{
	{id: "console.nav.products", href: "/admin/products"},
	{id: "console.nav.new_product", href: "/admin/products/new"},
	{id: "console.nav.orders", href: "/admin/orders", also: []string{"/admin/order-settings"}},
	{id: "aftersale.nav", href: "/admin/after-sales"},
	{id: "console.nav.pcstore", href: "/admin/pcstore"},
	{id: "console.nav.guides", href: "/admin/guides", also: []string{"/admin/stores"}},
	{id: "console.nav.distribution", href: "/admin/distribution"},
	{id: "console.nav.fans", href: "/admin/fans"},
	{id: "console.nav.points", href: "/admin/points"},
	{id: "console.nav.messages", href: "/admin/messages", also: []string{"/admin/message-settings", "/admin/segments", "/admin/audience"}},
	{id: "console.nav.wechat", href: "/admin/wechat"},
	{id: "review.nav", href: "/admin/reviews"},
	{id: "credit.nav", href: "/admin/credit"},
	{id: "console.nav.shop", href: "/admin/shop"},
	{id: "staff.nav.guide_me", href: "/admin/guide/me"},
	{id: "staff.nav.staff", href: "/admin/staff"},
	{id: "staff.nav.audit", href: "/admin/audit"},
	{id: "console.nav.account", href: "/admin/account"},
}

// ConsoleNav is the console navigation in the page's language (the
// default for a View without one), the current page's item marked.
func (v View) ConsoleNav() []NavLink {
	cat, err := i18n.Embedded()
	links := make([]NavLink, len(consoleNav))
	best, longest := -1, 0
	for i, it := range consoleNav {
		links[i] = NavLink{Label: it.id, Href: it.href}
		if err == nil {
			links[i].Label = cat.T(v.Lang, it.id)
		}
		for _, p := range append([]string{it.href}, it.also...) {
			if (v.Path == p || strings.HasPrefix(v.Path, p+"/")) && len(p) > longest {
				best, longest = i, len(p)
			}
		}
	}
	if best >= 0 {
		links[best].Current = true
	}
	if v.navAllow != nil { // the role's items only (NavAllowKey)
		shown := links[:0]
		for _, l := range links {
			if v.navAllow(l.Href) {
				shown = append(shown, l)
			}
		}
		links = shown
	}
	return links
}
