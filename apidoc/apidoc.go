// Package apidoc owns the merchant API's reference: the OpenAPI 3.1
// document of every /api/v1 route (openapi.yaml, embedded in the binary, a
// file people read and review), served as JSON at GET /api/v1/openapi.json,
// and the page that renders it for people at /docs/api
// (templates/api_docs.html, in the request's language; the document's own
// summaries and descriptions are English).
//
// The document is written by hand beside the handlers it describes. The
// server's tests hold it to them: every route Echo has registered under
// /api/v1 is in it and it names no other, and every answer the server
// tests receive from /api/v1 matches its schema for that route and status.
package apidoc

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// source is the document as written (YAML): openapi.yaml holds the
// document's frame and the older routes; each area added since has a file
// of its own under areas/ (its paths, its components and its tags), merged
// into the frame when the document loads, so that people working on two
// areas never edit one file.
//
//go:embed openapi.yaml
var source []byte

//go:embed areas
var areas embed.FS

// PagePath is where the page for people is served.
const PagePath = "/docs/api"

// Load parses the embedded document. Each call returns a new copy.
func Load() (*openapi3.T, error) {
	merged, err := merge()
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(merged)
	if err != nil {
		return nil, fmt.Errorf("load the openapi document: %w", err)
	}
	return doc, nil
}

// parsed is the document parsed once: its JSON and its page.
var parsed = sync.OnceValues(func() (built, error) {
	doc, err := Load()
	if err != nil {
		return built{}, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return built{}, fmt.Errorf("encode the openapi document: %w", err)
	}
	return built{docJSON: b, view: newPage(doc)}, nil
})

type built struct {
	docJSON []byte
	view    Page
}

// Handlers serve the document and its page.
type Handlers struct{ built }

// NewHandlers returns the handlers. The document is embedded, and a test
// loads and validates it: one that does not parse is a programming error,
// and NewHandlers panics.
func NewHandlers() *Handlers {
	b, err := parsed()
	if err != nil {
		panic(err)
	}
	return &Handlers{b}
}

// APIRoutes mounts GET /openapi.json on g: /api/v1 without APIKeyAuth (the
// document is public).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.GET("/openapi.json", h.serveDocument)
}

// PageRoutes mounts the page for people (PagePath) on g, the platform's
// pages' group.
func (h *Handlers) PageRoutes(g *echo.Group) {
	g.GET(PagePath, h.servePage)
}

func (h *Handlers) serveDocument(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
	return c.JSONBlob(http.StatusOK, h.docJSON)
}

func (h *Handlers) servePage(c echo.Context) error {
	return c.Render(http.StatusOK, "api_docs.html", h.view)
}
