package catalog

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Handlers serves the catalog: merchant API, console pages and storefront.
type Handlers struct {
	catalog *Catalog
	shelf   *Shelf
	baseURL string
	// extras adds ratings and badges to the storefront (SetExtras, extras.go).
	extras Extras
	// images is the image store products' pictures go to (SetImages, images.go).
	images Images
	// lookups hears each storefront page cache lookup (SetPageLookups).
	lookups func(hit bool)
}

// SetPageLookups plugs in what hears each lookup of the storefront's page
// cache, hit or miss (the server's metrics).
func (h *Handlers) SetPageLookups(fn func(hit bool)) { h.lookups = fn }

// NewHandlers returns the catalog's handlers. baseURL is the public address
// printed in QR codes; empty means the address the request came to.
func NewHandlers(catalog *Catalog, shelf *Shelf, baseURL string) *Handlers {
	return &Handlers{catalog: catalog, shelf: shelf, baseURL: baseURL}
}

// APIRoutes mounts the merchant API on g (/api/v1, API-key protected).
func (h *Handlers) APIRoutes(g *echo.Group) {
	g.POST("/products", h.apiCreate)
	g.GET("/products", h.apiList)
	g.GET("/products/:id", h.apiGet)
	g.PATCH("/products/:id", h.apiPatch)
	g.DELETE("/products/:id", h.apiDelete)
}

func (h *Handlers) apiCreate(c echo.Context) error {
	var in Input
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := h.resolveImages(c.Request().Context(), tenants.FromContext(c), &in); err != nil {
		return err
	}
	p, err := h.catalog.Create(c.Request().Context(), tenants.FromContext(c).ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

func (h *Handlers) apiGet(c echo.Context) error {
	p, err := h.catalog.Get(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (h *Handlers) apiPatch(c echo.Context) error {
	// Resolve the product before reading the body: another shop's id is a
	// 404 whatever the body says.
	if _, err := h.catalog.Get(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id")); err != nil {
		return err
	}
	var in Input
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := h.resolveImages(c.Request().Context(), tenants.FromContext(c), &in); err != nil {
		return err
	}
	p, err := h.catalog.Patch(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (h *Handlers) apiDelete(c echo.Context) error {
	if err := h.catalog.Delete(c.Request().Context(), tenants.FromContext(c).ID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// ProductList is the answer to GET /api/v1/products. Total counts the
// matching products up to MaxCounted (a shop with more says MaxCounted);
// HasMore says whether another page follows.
type ProductList struct {
	Items   []Product `json:"items"`
	Total   int64     `json:"total"`
	HasMore bool      `json:"has_more"`
	Limit   int       `json:"limit"`
	Offset  int       `json:"offset"`
}

func (h *Handlers) apiList(c echo.Context) error {
	f, err := filterFromQuery(c)
	if err != nil {
		return err
	}
	items, total, err := h.catalog.List(c.Request().Context(), tenants.FromContext(c).ID, f)
	if err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = 20
	}
	return c.JSON(http.StatusOK, ProductList{Items: items, Total: total, HasMore: hasMore(f.Offset, len(items), f.Limit, total),
		Limit: f.Limit, Offset: f.Offset})
}

func filterFromQuery(c echo.Context) (Filter, error) {
	limit, offset, err := engine.ParsePage(c.QueryParam("limit"), c.QueryParam("offset"))
	if err != nil {
		return Filter{}, err
	}
	return Filter{Status: c.QueryParam("status"), Category: c.QueryParam("category"), Query: c.QueryParam("q"),
		Limit: limit, Offset: offset}, nil
}
