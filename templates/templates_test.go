package templates

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"microshop/tenants/i18n"
)

var testFuncs = template.FuncMap{
	"static": func(name string) string { return "/static/" + name },
	"yuan":   func(fen any) string { return "0.00" },
}

// render renders page as a request for target (CSRF token "tok") would and
// parses the result.
func render(t *testing.T, r *Renderer, page, target string, data any) *goquery.Document {
	t.Helper()
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, target, nil), httptest.NewRecorder())
	c.Set("csrf", "tok")
	var buf bytes.Buffer
	if err := r.Render(&buf, page, data, c); err != nil {
		t.Fatalf("render %s: %v", page, err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func newRenderer(t *testing.T, opts ...Option) *Renderer {
	t.Helper()
	r, err := New(testFuncs, "", opts...)
	if err != nil {
		t.Fatalf("parse templates: %v", err)
	}
	return r
}

type testShop struct{ Name, Slug string }

func TestViewShop(t *testing.T) {
	type home struct { // admin_home.html's fields, without Shop
		StorefrontURL string
		Total, OnSale int
		Dashboard     any // nil: the page leaves the dashboard out
	}
	t.Run("given WithShop, a page struct without Shop still shows the shop", func(t *testing.T) {
		r := newRenderer(t, WithShop(func(echo.Context) any { return testShop{Name: "Tea House", Slug: "tea"} }))
		doc := render(t, r, "admin_home.html", "/admin", home{})
		if got := doc.Find("h1").Text(); got != "Tea House" {
			t.Errorf("h1 = %q, want the shop's name", got)
		}
		if _, ok := doc.Find(`a[href="/s/tea/"][target=_blank]`).Attr("href"); !ok {
			t.Error("no storefront link in the console navigation")
		}
	})
	t.Run("without WithShop, the page data's Shop", func(t *testing.T) {
		data := struct {
			Shop testShop
			home
		}{Shop: testShop{Name: "Data Shop", Slug: "data"}}
		doc := render(t, newRenderer(t), "admin_home.html", "/admin", &data)
		if got := doc.Find("h1").Text(); got != "Data Shop" {
			t.Errorf("h1 = %q, want the data's shop name", got)
		}
	})
	t.Run("no shop anywhere", func(t *testing.T) {
		if v := newRenderer(t).view(struct{ Title string }{}, nil); v.Shop != nil {
			t.Errorf("Shop = %v, want nil", v.Shop)
		}
	})
}

func TestConsoleNav(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/admin", ""},
		{"/admin/products", "Products"},
		{"/admin/products/p1/edit", "Products"},
		{"/admin/products/new", "New product"},
		{"/admin/productsx", ""},
		{"/admin/order-settings", "Orders"},
		{"/admin/orders/o1", "Orders"},
		{"/admin/stores/s1", "Guides"},
		{"/admin/segments", "Messages"},
		{"/admin/audience/f1", "Messages"},
		{"/admin/wechat/phone", "WeChat"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got := ""
			for _, l := range (View{Path: tc.path, Lang: i18n.En}).ConsoleNav() {
				if l.Current {
					if got != "" {
						t.Fatalf("both %s and %s current", got, l.Label)
					}
					got = l.Label
				}
			}
			if got != tc.want {
				t.Errorf("current = %q, want %q", got, tc.want)
			}
		})
	}

	doc := render(t, newRenderer(t, WithShop(func(echo.Context) any { return testShop{Slug: "tea"} })),
		"admin_home.html", "/admin/products/new", struct {
			StorefrontURL string
			Total, OnSale int
			Dashboard     any
		}{})
	if n := doc.Find(".topbar a").Not(".lang-switch a").Length(); n != len(consoleNav)+2 { // + brand and storefront
		t.Errorf("%d links in the top bar, want %d", n, len(consoleNav)+2)
	}
	// A request without a language gets the default, Chinese.
	if cur := doc.Find(`.topbar a.on[aria-current=page]`); cur.Length() != 1 || cur.Text() != "发布商品" {
		t.Errorf("current item %q (%d), want 发布商品 (New product)", cur.Text(), cur.Length())
	}
	if n := doc.Find(`.topbar .lang-switch a[href^="?lang="]`).Length(); n != len(i18n.Langs) {
		t.Errorf("%d links in the language switch, want %d", n, len(i18n.Langs))
	}
}

// TestTemplatesUseKnownMessages: every message id the templates (console,
// storefront, platform) and the console's navigation name literally
// ({{t "console.orders.title"}}) is in both catalogs, and every id they
// build or look up
// ({{t (print "console.products.status." .Status)}}, {{known "order.reason" …}})
// has messages under its prefix.
func TestTemplatesUseKnownMessages(t *testing.T) {
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	literal := regexp.MustCompile(`[({]\s*t\s+"([^"]+)"`)
	built := regexp.MustCompile(`\(\s*t\s+\(print\s+"([^"]+)"`)
	known := regexp.MustCompile(`known\s+"([^"]+)"`)
	// Every page: the console's, the storefront's, the platform's.
	names, _ := fs.Glob(files, "*.html")
	n := 0
	check := func(where, id string) {
		n++
		for _, lang := range i18n.Langs {
			if !cat.Has(lang, id) {
				t.Errorf("%s: %q is not in the %s catalog", where, id, lang)
			}
		}
	}
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			check(name, m[1])
		}
		for _, re := range []*regexp.Regexp{built, known} {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				prefix := strings.TrimSuffix(m[1], ".") + "."
				for _, lang := range i18n.Langs {
					if !slices.ContainsFunc(cat.IDs(lang), func(id string) bool { return strings.HasPrefix(id, prefix) }) {
						t.Errorf("%s: no %s message under %q", name, lang, prefix)
					}
				}
			}
		}
	}
	for _, it := range consoleNav {
		check("consoleNav", it.id)
	}
	if n < 300 {
		t.Errorf("found %d literal message ids in the console's templates: is the pattern still right?", n)
	}
}

// TestConsoleStatusNames: the codes the console shows by name have a name
// in every language.
func TestConsoleStatusNames(t *testing.T) {
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{
		"console.products.status.on_sale", "console.products.status.off_sale",
		"console.fans.source.wechat_qr", "console.fans.source.wechat_follow", "console.fans.source.wechat_message",
		"console.fans.source.wechat_oauth", "console.fans.source.share_link", "console.fans.source.direct",
		"console.fans.window.not_following", "console.fans.window.unfollowed", "console.fans.window.used_up",
		"console.fans.window.never_wrote", "console.fans.window.closed",
		"console.pcstore.run_status.running", "console.pcstore.run_status.succeeded", "console.pcstore.run_status.failed",
		"console.pcstore.trigger.schedule", "console.pcstore.trigger.manual", "console.pcstore.trigger.api", "console.pcstore.trigger.script",
		"console.pcstore.type.shopify", "console.pcstore.type.woocommerce", "console.pcstore.type.feed",
		"console.points.streak.1_day", "console.points.streak.3–6_days", "console.points.streak.30+_days",
		"console.orders.end_reason.cancelled_by_the_shop",
	} {
		for _, lang := range i18n.Langs {
			if !cat.Has(lang, id) {
				t.Errorf("%s is not in the %s catalog", id, lang)
			}
		}
	}
	if got := cat.T(i18n.ZhCN, "console.products.status.on_sale"); got != "出售中" {
		t.Errorf("on_sale in Chinese = %q", got)
	}
}

func TestPartials(t *testing.T) {
	login := struct{ Email, Next, Error string }{Error: "wrong email or password"}
	doc := render(t, newRenderer(t), "login.html", "/login", login)
	if v, _ := doc.Find(`form[action="/login"] input[type=hidden][name=_csrf]`).Attr("value"); v != "tok" {
		t.Errorf("csrf field value %q, want tok", v)
	}
	if e := doc.Find(`.error[role=alert]`); e.Length() != 1 || e.Text() != login.Error {
		t.Errorf("error block %q (%d)", e.Text(), e.Length())
	}
	login.Error = ""
	if n := render(t, newRenderer(t), "login.html", "/login", login).Find(".error").Length(); n != 0 {
		t.Errorf("%d error blocks without an error", n)
	}
}

func TestPager(t *testing.T) {
	tmpl := template.Must(template.New("t").Funcs(builtinFuncs).ParseFS(files, "partial_pager.html"))
	tmpl = template.Must(tmpl.New("page").Parse(
		`{{template "pager" (pager (gt .Offset 0) (href "/admin/products" "q" .Q "status" "" "offset" (sub .Offset 50)) "Previous" .More (href "/admin/products" "q" .Q "offset" (add .Offset 50)) "Next")}}`))
	for _, tc := range []struct {
		name   string
		offset int
		more   bool
		want   []string
	}{
		{"first page, more", 0, true, []string{"Next /admin/products?q=green+tea%26co&offset=50"}},
		{"middle", 50, true, []string{"Previous /admin/products?q=green+tea%26co&offset=0", "Next /admin/products?q=green+tea%26co&offset=100"}},
		{"only page", 0, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf strings.Builder
			if err := tmpl.ExecuteTemplate(&buf, "page", map[string]any{"Offset": tc.offset, "More": tc.more, "Q": "green tea&co"}); err != nil {
				t.Fatal(err)
			}
			doc, _ := goquery.NewDocumentFromReader(strings.NewReader(buf.String()))
			var got []string
			doc.Find(".pager a.btn").Each(func(_ int, a *goquery.Selection) {
				h, _ := a.Attr("href")
				got = append(got, a.Text()+" "+h)
			})
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("links %q, want %q", got, tc.want)
			}
			if tc.want == nil && doc.Find(".pager").Length() != 0 {
				t.Error("an empty pager is drawn")
			}
		})
	}
}

func TestHref(t *testing.T) {
	if _, err := href("/x", "a"); err == nil {
		t.Error("odd pairs: no error")
	}
	if got, _ := href("", "before", "2026-01-02T03:04:05+08:00"); got != "?before=2026-01-02T03%3A04%3A05%2B08%3A00" {
		t.Errorf("href = %q", got)
	}
}
