package templates

import (
	"bytes"
	"html/template"
	"io/fs"
	"maps"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"microshop/tenants/i18n"
)

// TestOpsNav: the ops navigation marks the page's item, in the page's
// language.
func TestOpsNav(t *testing.T) {
	for _, tc := range []struct{ lang, path, want string }{
		{i18n.ZhCN, "/ops", "店铺"},
		{i18n.En, "/ops", "Shops"},
		{i18n.En, "/ops/password", ""},
	} {
		var current string
		for _, l := range (View{Lang: tc.lang, Path: tc.path}).OpsNav() {
			if l.Label == "" || l.Label == "ops.nav.shops" {
				t.Errorf("%s: label %q", tc.lang, l.Label)
			}
			if l.Current {
				current = l.Label
			}
		}
		if current != tc.want {
			t.Errorf("%s %s: current %q, want %q", tc.lang, tc.path, current, tc.want)
		}
	}
}

// TestOpsLayout renders an ops page in layout_ops.html (the frame ops_*
// pages get once layoutFor names it), so the layout stays valid.
func TestOpsLayout(t *testing.T) {
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	partials, _ := fs.Glob(files, "partial_*.html")
	funcs := maps.Clone(builtinFuncs)
	maps.Copy(funcs, langFuncs(cat, i18n.En))
	maps.Copy(funcs, testFuncs)
	tpl, err := template.New("ops_login.html").Funcs(funcs).ParseFS(files, append([]string{"layout_ops.html", "ops_login.html"}, partials...)...)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	v := View{Lang: i18n.En, Path: "/ops/login", CSRF: "tok", Data: struct{ Email, Next, Error string }{Next: "/ops"}}
	if err := tpl.ExecuteTemplate(&buf, "layout_ops.html", v); err != nil {
		t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(&buf)
	if doc.Find(`a.brand[href="/ops"]`).Length() != 1 || doc.Find(`a[href="/signup"]`).Length() != 0 ||
		doc.Find(`form[action="/ops/login"] input[name="_csrf"][value="tok"]`).Length() != 1 {
		t.Errorf("ops layout:\n%s", buf.String())
	}
}
