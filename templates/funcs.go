package templates

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"sync"
	"time"

	"microshop/tenants/i18n"
)

// builtinFuncs are available to every template, besides those New is given.
var builtinFuncs = template.FuncMap{
	"add":        func(a, b int) int { return a + b },
	"sub":        func(a, b int) int { return a - b },
	"href":       href,
	"pager":      pager,
	"hasPrefix":  strings.HasPrefix,
	"trimPrefix": strings.TrimPrefix,
}

// langFuncs are the functions of one language's set of pages:
//
//	{{t "cart.title"}}                                 a message (tenants/i18n/locales)
//	{{t "orders.items" "Count" .ItemCount}}            with placeholders; "Count" picks the plural form
//	{{t (print "order.status." .Status)}}              an id made from a code
//	{{known "order.reason" .CancelReason}}             a fixed text the system stored, translated if the
//	                                                   catalog knows it (order.reason.not_paid_in_time), else as is
//	{{date .At $.Zone}} {{datetime .At $.Zone}}        2026年12月5日 (15:04) in Chinese, 2026-12-05 (15:04) in English
//	{{month "2026-12"}}                                2026年12月, 2026-12
//	{{localTime .When}}                                a "2006-01-02 15:04" text domain code formatted, the language's way
//	{{jsMessages}}                                     the messages under js., for the page's scripts
//
// Dates take the zone to show them in ($.Zone is the shop's); a zero or nil
// time is "".
func langFuncs(c *i18n.Catalog, lang string) template.FuncMap {
	js := c.JS(lang, "js.") // read only, shared by every rendering
	// A message without placeholders is the same every time: kept after its
	// first lookup (a catalog never changes once loaded), so a page's dozens
	// of labels cost a map read each rather than a localization.
	var plain sync.Map // message id → text
	return template.FuncMap{
		"t": func(id string, pairs ...any) string {
			if len(pairs) > 0 {
				return c.T(lang, id, pairs...)
			}
			if s, ok := plain.Load(id); ok {
				return s.(string)
			}
			s := c.T(lang, id)
			if c.Has(lang, id) { // only the catalog's ids: a made-up id is not kept
				plain.Store(id, s)
			}
			return s
		},
		"known": func(prefix, text string) string {
			id := prefix + "." + strings.ReplaceAll(strings.ToLower(strings.TrimSpace(text)), " ", "_")
			if c.Has(lang, id) {
				return c.T(lang, id)
			}
			return text
		},
		"date":     func(t any, loc *time.Location) string { return i18n.FormatDate(lang, timeOf(t), loc) },
		"datetime": func(t any, loc *time.Location) string { return i18n.FormatDateTime(lang, timeOf(t), loc) },
		"month": func(s string) string {
			m, err := time.Parse("2006-01", s)
			if err != nil {
				return s
			}
			return i18n.FormatMonth(lang, m, time.UTC)
		},
		"localTime": func(s string) string {
			t, err := time.Parse("2006-01-02 15:04", s)
			if err != nil {
				return s
			}
			return i18n.FormatDateTime(lang, t, time.UTC)
		},
		"jsMessages": func() map[string]any { return js },
	}
}

// timeOf reads a time.Time or *time.Time (nil: the zero time).
func timeOf(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case *time.Time:
		if t != nil {
			return *t
		}
	}
	return time.Time{}
}

// href returns path with a query made of the key/value pairs that follow,
// in that order, each value escaped and empty ones left out:
//
//	href "/admin/products" "q" .Filter.Query "offset" 50  →  /admin/products?q=green+tea&offset=50
func href(path string, pairs ...any) (string, error) {
	if len(pairs)%2 != 0 {
		return "", fmt.Errorf("href %s: keys and values do not pair up", path)
	}
	var b strings.Builder
	b.WriteString(path)
	sep := "?"
	for i := 0; i < len(pairs); i += 2 {
		v := fmt.Sprint(pairs[i+1])
		if v == "" {
			continue
		}
		b.WriteString(sep + url.QueryEscape(fmt.Sprint(pairs[i])) + "=" + url.QueryEscape(v))
		sep = "&"
	}
	return b.String(), nil
}

// PageLink is a link of a pager (partial_pager.html).
type PageLink struct{ URL, Label string }

// pager gathers the links of a pager from triples SHOW URL LABEL, keeping
// those whose SHOW is true (in the template sense: non-zero):
//
//	{{template "pager" (pager (gt .Page 1) (.PageURL (sub .Page 1)) "Previous" .HasMore (.PageURL (add .Page 1)) "More")}}
func pager(args ...any) ([]PageLink, error) {
	if len(args)%3 != 0 {
		return nil, fmt.Errorf("pager: want SHOW URL LABEL triples, got %d arguments", len(args))
	}
	var links []PageLink
	for i := 0; i < len(args); i += 3 {
		if show, _ := template.IsTrue(args[i]); !show {
			continue
		}
		links = append(links, PageLink{URL: fmt.Sprint(args[i+1]), Label: fmt.Sprint(args[i+2])})
	}
	return links, nil
}
