package templates

import (
	"strings"

	"microshop/tenants/i18n"
)

// opsNav is the ops console's navigation (the platform operator's pages
// at /ops), in the order partial_ops.html draws it: a domain with a queue
// for operators (disputes, appeals, reports …) adds its entry here, its
// label in its own catalog. A page belongs to the item whose path is the
// longest prefix of the page's path (the shops item, /ops, to itself only).
var opsNav = []navItem{
	{id: "ops.nav.shops", href: "/ops"},
	{id: "ops.nav.disputes", href: "/ops/disputes"},
	{id: "credit.nav", href: "/ops/credit"},
	{id: "ops.nav.market", href: "/ops/market"},
	{id: "vote.ops.nav", href: "/ops/vote"},
	{id: "wxconnect.ops.title", href: "/ops/wechat"},
}

// OpsNav is the ops console's navigation in the page's language, the
// current page's item marked.
func (v View) OpsNav() []NavLink {
	cat, err := i18n.Embedded()
	links := make([]NavLink, len(opsNav))
	best, longest := -1, 0
	for i, it := range opsNav {
		links[i] = NavLink{Label: it.id, Href: it.href}
		if err == nil {
			links[i].Label = cat.T(v.Lang, it.id)
		}
		for _, p := range append([]string{it.href}, it.also...) {
			// The console's root (/ops) is its own page only, not every page's.
			under := p != "/ops" && strings.HasPrefix(v.Path, p+"/")
			if (v.Path == p || under) && len(p) >= longest {
				best, longest = i, len(p)
			}
		}
	}
	if best >= 0 {
		links[best].Current = true
	}
	return links
}
