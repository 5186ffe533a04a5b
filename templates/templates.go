// Package templates holds every HTML page (html/template files embedded in
// the binary) and the Echo renderer that executes them. Pages are parsed
// once at start-up, each with its layout, so a broken template fails the
// boot instead of a request.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed *.html
var files embed.FS

// View is what every page template receives: the handler's data plus what
// the layout needs.
type View struct {
	Data any
	CSRF string
	Path string
}

// Renderer renders named pages; it implements echo.Renderer.
type Renderer struct {
	pages map[string]*template.Template
	funcs template.FuncMap
	dir   string // when set, templates are re-read from disk on every render (development)
}

// New parses every page with its layout. funcs are available to all
// templates (the server passes the static-asset URL function). With dir
// non-empty, templates are reloaded from that directory on each render.
func New(funcs template.FuncMap, dir string) (*Renderer, error) {
	r := &Renderer{funcs: funcs, dir: dir}
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
	}
	return "layout_platform.html"
}

func (r *Renderer) parse() (map[string]*template.Template, error) {
	var fsys fs.FS = files
	if r.dir != "" {
		fsys = os.DirFS(r.dir)
	}
	names, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{}
	for k, v := range builtinFuncs {
		funcs[k] = v
	}
	for k, v := range r.funcs {
		funcs[k] = v
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		if strings.HasPrefix(name, "layout_") || strings.HasPrefix(name, "partial_") {
			continue
		}
		patterns := []string{layoutFor(name), name}
		if partials, _ := fs.Glob(fsys, "partial_*.html"); len(partials) > 0 {
			patterns = append(patterns, "partial_*.html")
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, patterns...)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
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
	t, ok := pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	v := View{Data: data}
	if c != nil {
		v.CSRF, _ = c.Get("csrf").(string)
		v.Path = c.Request().URL.Path
	}
	// Render into a buffer so a failing template never sends half a page.
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, layoutFor(name), v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

var builtinFuncs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"sub": func(a, b int) int { return a - b },
}
