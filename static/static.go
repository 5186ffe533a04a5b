// Package static holds the CSS, JavaScript and images of every page,
// embedded in the binary and served under content-hash URLs so browsers and
// proxies may cache them forever. Nothing is loaded from a CDN.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed css js demo data/regions.json icon.png
var files embed.FS

// Assets serves the embedded files and names them by content hash.
type Assets struct {
	hashes map[string]string // file name -> short content hash
}

// New hashes every embedded file.
func New() (*Assets, error) {
	a := &Assets{hashes: map[string]string{}}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.hashes[p] = hex.EncodeToString(sum[:6])
		return nil
	})
	return a, err
}

// URL returns the cache-busting URL of an embedded file, e.g.
// URL("css/app.css") = "/static/css/app.css?v=1a2b3c4d5e6f".
func (a *Assets) URL(name string) string {
	if h, ok := a.hashes[name]; ok {
		return "/static/" + name + "?v=" + h
	}
	return "/static/" + name
}

// Handler serves /static/*: immutable caching when the URL carries the
// current hash, a short cache otherwise.
func (a *Assets) Handler(c echo.Context) error {
	name := strings.TrimPrefix(path.Clean("/"+c.Param("*")), "/")
	h, ok := a.hashes[name]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no such file")
	}
	b, err := files.ReadFile(name)
	if err != nil {
		return err
	}
	if c.QueryParam("v") == h {
		c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
	}
	c.Response().Header().Set("ETag", `"`+h+`"`)
	if c.Request().Header.Get("If-None-Match") == `"`+h+`"` {
		return c.NoContent(http.StatusNotModified)
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = http.DetectContentType(b)
	}
	return c.Blob(http.StatusOK, ct, b)
}

// Favicon serves /favicon.ico, which browsers ask for whatever the page
// says: the site's icon (a PNG, which every browser takes there), cached
// for a day.
func (a *Assets) Favicon(c echo.Context) error {
	b, err := files.ReadFile("icon.png")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Blob(http.StatusOK, "image/png", b)
}
