// Package templates holds every HTML page (html/template files embedded in
// the binary) and the Echo renderer that executes them. Pages are parsed
// once at start-up, each with its layout and every partial, so a broken
// template fails the boot instead of a request.
//
// Files: layout_*.html frame the pages (layout_admin for admin_*, layout_shop
// for shop_*, layout_ops for the platform operators' ops_*, layout_market
// for the market's market_*, layout_platform
// for the rest); partial_*.html hold the parts
// pages share (notice and error blocks, the CSRF field, the pager); every
// other file is a page defining "content" and optionally "title". Each page
// receives a View (view.go).
//
// Pages speak the request's language (tenants/i18n): each page is parsed
// once per language, with that language's functions (funcs.go: t, date,
// datetime …), and a request gets the set of its language.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"maps"
	"os"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"microshop/tenants/i18n"
)

//go:embed *.html
var files embed.FS

// Renderer renders named pages; it implements echo.Renderer.
type Renderer struct {
	pages   map[string]map[string]*template.Template // language → page name → page
	catalog *i18n.Catalog
	funcs   template.FuncMap
	dir     string                  // when set, templates are re-read from disk on every render (development)
	shopOf  func(echo.Context) any  // the request's shop for View.Shop; see WithShop
	sharing func(echo.Context) bool // whether the request's shop runs distribution; see WithSharing
}

// Option configures a Renderer made by New.
type Option func(*Renderer)

// WithShop tells the renderer how to find the request's shop, which every
// page reads as View.Shop. The server passes the tenant middleware's lookup:
//
//	templates.WithShop(func(c echo.Context) any { return tenants.FromContext(c) })
//
// Without it View.Shop is the page data's Shop field, if it has one.
func WithShop(shopOf func(echo.Context) any) Option {
	return func(r *Renderer) { r.shopOf = shopOf }
}

// WithSharing tells the renderer whether the request's shop runs
// distribution, which the storefront's layout reads as View.Sharing (its
// invitation to share and earn). Without it View.Sharing is false.
func WithSharing(sharing func(echo.Context) bool) Option {
	return func(r *Renderer) { r.sharing = sharing }
}

// New parses every page with its layout and the partials, once per
// language. funcs are available to all templates (the server passes the
// static-asset URL function). With dir non-empty, templates are reloaded
// from that directory on each render. The message catalogs are the
// embedded ones (i18n.Embedded); a broken catalog fails like a broken
// template.
func New(funcs template.FuncMap, dir string, opts ...Option) (*Renderer, error) {
	catalog, err := i18n.Embedded()
	if err != nil {
		return nil, fmt.Errorf("message catalogs: %w", err)
	}
	r := &Renderer{funcs: funcs, dir: dir, catalog: catalog}
	for _, o := range opts {
		o(r)
	}
	pages, err := r.parse()
	if err != nil {
		return nil, err
	}
	r.pages = pages
	return r, nil
}

// layoutFor picks a page's layout by its name's prefix.
func layoutFor(page string) string {
	switch {
	case strings.HasPrefix(page, "admin_"):
		return "layout_admin.html"
	case strings.HasPrefix(page, "shop_"):
		return "layout_shop.html"
	case strings.HasPrefix(page, "ops_"):
		return "layout_ops.html"
	case strings.HasPrefix(page, "market_"):
		return "layout_market.html"
	}
	return "layout_platform.html"
}

func (r *Renderer) parse() (map[string]map[string]*template.Template, error) {
	var fsys fs.FS = files
	if r.dir != "" {
		fsys = os.DirFS(r.dir)
	}
	names, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return nil, err
	}
	partials, err := fs.Glob(fsys, "partial_*.html")
	if err != nil {
		return nil, err
	}
	byLang := map[string]map[string]*template.Template{}
	for _, lang := range i18n.Langs {
		funcs := maps.Clone(builtinFuncs)
		maps.Copy(funcs, langFuncs(r.catalog, lang))
		maps.Copy(funcs, r.funcs)
		pages := map[string]*template.Template{}
		for _, name := range names {
			if strings.HasPrefix(name, "layout_") || strings.HasPrefix(name, "partial_") {
				continue
			}
			patterns := append([]string{layoutFor(name), name}, partials...)
			t, err := template.New(name).Funcs(funcs).ParseFS(fsys, patterns...)
			if err != nil {
				return nil, fmt.Errorf("parse template %s: %w", name, err)
			}
			pages[name] = t
		}
		byLang[lang] = pages
	}
	return byLang, nil
}

// Render executes the named page inside its layout.
func (r *Renderer) Render(w io.Writer, name string, data any, c echo.Context) error {
	pages := r.pages
	if r.dir != "" {
		var err error
		if pages, err = r.parse(); err != nil {
			return err
		}
	}
	v := r.view(data, c)
	t, ok := pages[v.Lang][name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	// Render into a buffer so a failing template never sends half a page.
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := t.ExecuteTemplate(buf, layoutFor(name), v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// renderBuffers are the buffers pages render into, reused: a page written
// into a fresh buffer grows it from nothing, allocating and copying about
// twice its size (a console page is 20–50 KB).
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putRenderBuffer returns buf to the pool, unless it grew unusually large.
func putRenderBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 1<<20 {
		return
	}
	buf.Reset()
	renderBuffers.Put(buf)
}
