package templates

import (
	"html/template"
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
	// Sharing: the request's shop runs distribution, so its storefront
	// invites shoppers to share and earn (WithSharing).
	Sharing bool
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
		if r.sharing != nil {
			v.Sharing = r.sharing(c)
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

// Page data may draw its content once and serve it to many requests (the
// console home does, per dashboard read): ContentOnly asks a layout for the
// page's "content" alone, and Content is the content drawn already, which
// a layout writes instead of executing "content" (layout_admin.html).
type contentCache interface {
	ContentOnly() bool
	Content() template.HTML
}

// ContentOnly reports whether the page data asks for its content without
// the layout.
func (v View) ContentOnly() bool {
	cc, ok := v.Data.(contentCache)
	return ok && cc.ContentOnly()
}

// Content is the page's content drawn already, "" when the layout is to
// execute the page's "content".
func (v View) Content() template.HTML {
	if cc, ok := v.Data.(contentCache); ok && !cc.ContentOnly() {
		return cc.Content()
	}
	return ""
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

// langSwitch keeps LangSwitchHTML's drawings, one per page language.
var langSwitch sync.Map // lang → template.HTML

// LangSwitchHTML is the language switch's links as every layout
// writes them (LangLinks, with a data-lang attribute),
// drawn once per page language rather than by a loop of template actions
// on every page.
func (v View) LangSwitchHTML() template.HTML {
	if h, ok := langSwitch.Load(v.Lang); ok {
		return h.(template.HTML)
	}
	var b strings.Builder
	for i, l := range v.LangLinks() {
		if i > 0 {
			b.WriteString(" / ")
		}
		code := navEscaper.Replace(url.QueryEscape(l.Code))
		b.WriteString(`<a href="?lang=` + code + `" lang="` + code + `" hreflang="` + code + `" data-lang="` + code + `"`)
		if l.Current {
			b.WriteString(` aria-current="true"`)
		}
		b.WriteString(`>` + navEscaper.Replace(l.Name) + `</a>`)
	}
	h := template.HTML(b.String())
	langSwitch.Store(v.Lang, h)
	return h
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
	{id: "vote.nav", href: "/admin/vote"},
	{id: "console.nav.messages", href: "/admin/messages", also: []string{"/admin/message-settings", "/admin/segments", "/admin/audience"}},
	{id: "console.nav.wechat", href: "/admin/wechat"},
	{id: "wxconnect.nav", href: "/admin/wechat/connect", also: []string{"/admin/wechat/menu"}},
	{id: "review.nav", href: "/admin/reviews"},
	{id: "credit.nav", href: "/admin/credit"},
	{id: "market.nav", href: "/admin/market"},
	{id: "console.nav.shop", href: "/admin/shop"},
	{id: "staff.nav.guide_me", href: "/admin/guide/me"},
	{id: "staff.nav.staff", href: "/admin/staff"},
	{id: "staff.nav.audit", href: "/admin/audit"},
	{id: "console.nav.account", href: "/admin/account"},
}

// ConsoleNav is the console navigation in the page's language (the
// default for a View without one), the current page's item marked.
func (v View) ConsoleNav() []NavLink {
	labels := navLabels(v.Lang)
	current := navCurrent(v.Path)
	links := make([]NavLink, 0, len(consoleNav))
	for i, it := range consoleNav {
		if v.navAllow != nil && !v.navAllow(it.href) { // the role's items only (NavAllowKey)
			continue
		}
		links = append(links, NavLink{Label: labels[i], Href: it.href, Current: i == current})
	}
	return links
}

// navCurrent is the index of the console navigation item path belongs to:
// the one whose path (or one of its also paths) is the longest prefix of
// it; -1 for none.
func navCurrent(path string) int {
	best, longest := -1, 0
	for i, it := range consoleNav {
		for j := -1; j < len(it.also); j++ {
			p := it.href
			if j >= 0 {
				p = it.also[j]
			}
			if len(p) > longest && (path == p || strings.HasPrefix(path, p) && strings.HasPrefix(path[len(p):], "/")) {
				best, longest = i, len(p)
			}
		}
	}
	return best
}

// navLabelsByLang holds each language's console navigation labels, read
// from the catalog once: the catalog is embedded and never changes, and a
// console page would otherwise look up every label on every request.
var navLabelsByLang sync.Map // lang → []string

// navLabels is the console navigation's labels in lang (the message ids
// when the catalog does not load).
func navLabels(lang string) []string {
	if l, ok := navLabelsByLang.Load(lang); ok {
		return l.([]string)
	}
	cat, err := i18n.Embedded()
	labels := make([]string, len(consoleNav))
	for i, it := range consoleNav {
		labels[i] = it.id
		if err == nil {
			labels[i] = cat.T(lang, it.id)
		}
	}
	navLabelsByLang.Store(lang, labels)
	return labels
}

// navHTMLKey names one drawing of the console navigation: the language,
// the current item and the items the role shows (a bit each).
type navHTMLKey struct {
	lang    string
	current int
	shown   uint64
}

// navHTML keeps the drawings of the console navigation (a few per
// language: one per current item and role).
var navHTML sync.Map // navHTMLKey → template.HTML

// navEscaper escapes text as html/template does in HTML text and quoted
// attributes.
var navEscaper = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// ConsoleNavHTML is ConsoleNav as layout_admin.html writes it, each link
// followed by a new line: the same markup its loop of template actions
// wrote, drawn once per language, current item and role, so a console page
// spends one action on its navigation rather than a hundred.
func (v View) ConsoleNavHTML() template.HTML {
	key := navHTMLKey{lang: v.Lang, current: navCurrent(v.Path)}
	for i, it := range consoleNav {
		if i < 64 && (v.navAllow == nil || v.navAllow(it.href)) {
			key.shown |= 1 << i
		}
	}
	if len(consoleNav) > 64 { // more items than a key holds: drawn every time
		return drawNav(v.ConsoleNav())
	}
	if h, ok := navHTML.Load(key); ok {
		return h.(template.HTML)
	}
	labels := navLabels(v.Lang)
	var links []NavLink
	for i, it := range consoleNav {
		if key.shown&(1<<i) != 0 {
			links = append(links, NavLink{Label: labels[i], Href: it.href, Current: i == key.current})
		}
	}
	h := drawNav(links)
	navHTML.Store(key, h)
	return h
}

// drawNav writes links as the layout's navigation.
func drawNav(links []NavLink) template.HTML {
	var b strings.Builder
	for _, l := range links {
		b.WriteString(`<a href="` + navEscaper.Replace(l.Href) + `"`)
		if l.Current {
			b.WriteString(` class="on" aria-current="page"`)
		}
		b.WriteString(`>` + navEscaper.Replace(l.Label) + "</a>\n  ")
	}
	return template.HTML(b.String())
}
