package templates

import (
	"html/template"
	"strings"
	"testing"

	"microshop/tenants/i18n"
)

// TestDrawnNavMatchesTemplate: the navigation and language switch drawn
// once (ConsoleNavHTML, LangSwitchHTML) are the markup the layouts' loops
// of template actions wrote, for every language, current page and role
// filter, and the same drawing again is the one kept.
func TestDrawnNavMatchesTemplate(t *testing.T) {
	loops := template.Must(template.New("nav").Parse(
		`{{range .ConsoleNav}}<a href="{{.Href}}"{{if .Current}} class="on" aria-current="page"{{end}}>{{.Label}}</a>
  {{end}}|{{- range $i, $l := $.LangLinks}}{{if $i}} / {{end}}<a href="?lang={{$l.Code}}" lang="{{$l.Code}}" hreflang="{{$l.Code}}" data-lang="{{$l.Code}}"{{if $l.Current}} aria-current="true"{{end}}>{{$l.Name}}</a>{{end -}}`))
	filters := map[string]func(string) bool{
		"all":    nil,
		"none":   func(string) bool { return false },
		"orders": func(href string) bool { return strings.HasPrefix(href, "/admin/orders") || href == "/admin/account" },
	}
	for _, lang := range append(i18n.Langs, "") {
		for _, path := range []string{"/admin", "/admin/products/new", "/admin/orders/o1", "/admin/segments", "/admin/productsx"} {
			for name, allow := range filters {
				v := View{Lang: lang, Path: path, navAllow: allow}
				var want strings.Builder
				if err := loops.Execute(&want, v); err != nil {
					t.Fatal(err)
				}
				for range 2 { // drawn, then kept
					if got := string(v.ConsoleNavHTML()) + "|" + string(v.LangSwitchHTML()); got != want.String() {
						t.Errorf("%s %s %s:\n got %s\nwant %s", lang, path, name, got, want.String())
					}
				}
			}
		}
	}
}
