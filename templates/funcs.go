package templates

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
)

// builtinFuncs are available to every template, besides those New is given.
var builtinFuncs = template.FuncMap{
	"add":   func(a, b int) int { return a + b },
	"sub":   func(a, b int) int { return a - b },
	"href":  href,
	"pager": pager,
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
