package catalog

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// storefrontPageSize is how many products one storefront page lists.
const storefrontPageSize = 24

// StorefrontRoutes mounts the consumer pages on g (/s/:slug, shop resolved).
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/", h.shopHome)
	g.GET("/p/:id", h.shopProduct)
	g.GET("/qr.png", h.storefrontQR)
}

// ShopPage is what the storefront templates receive.
type ShopPage struct {
	Shop       tenants.Tenant
	Query      string
	Category   string
	Categories []string
	Products   []Product
	Page       int
	HasMore    bool
	Product    Product
	// Extra is what other domains show on the page (Extras): a
	// product's rating and reviews, the shop's credit badge; nil for none.
	Extra any
	// categoryNames are the categories' names in the page's language,
	// where products translate them.
	categoryNames map[string]string
}

// CategoryName is category as the page's language names it.
func (p ShopPage) CategoryName(category string) string {
	if name := p.categoryNames[category]; name != "" {
		return name
	}
	return category
}

// PageURL links to another page of the same listing.
func (p ShopPage) PageURL(page int) string {
	v := make([]string, 0, 3)
	if p.Category != "" {
		v = append(v, "c="+urlQuery(p.Category))
	}
	if p.Query != "" {
		v = append(v, "q="+urlQuery(p.Query))
	}
	if page > 1 {
		v = append(v, "page="+strconv.Itoa(page))
	}
	u := "/s/" + p.Shop.Slug + "/"
	for i, s := range v {
		if i == 0 {
			u += "?" + s
		} else {
			u += "&" + s
		}
	}
	return u
}

func (h *Handlers) shopHome(c echo.Context) error {
	t := tenants.FromContext(c)
	d, err := h.shelf.Get(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(1, min(page, 10_000))
	p := ShopPage{Shop: t, Query: fault.Clip(q.Get("q"), 100), Category: fault.Clip(q.Get("c"), MaxCategory),
		Categories: d.Categories, Page: page}
	version, extra, err := h.shopExtras(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	key := "home|" + p.Category + "|" + p.Query + "|" + strconv.Itoa(page) + "|" + version
	lang := i18n.FromContext(c.Request().Context())
	return h.cachedPage(c, d, key, "shop_home.html", func() ShopPage {
		p.Extra = extra()
		p.Products, p.HasMore = d.Select(p.Category, p.Query, (page-1)*storefrontPageSize, storefrontPageSize)
		for i := range p.Products {
			p.Products[i] = p.Products[i].In(lang)
		}
		p.categoryNames = d.CategoryNames(lang)
		return p
	})
}

func (h *Handlers) shopProduct(c echo.Context) error {
	t := tenants.FromContext(c)
	d, err := h.shelf.Get(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	prod, ok := d.Product(c.Param("id"))
	if !ok {
		return fault.NotFound("product")
	}
	version, extra, err := h.productExtras(c.Request().Context(), t.ID, prod.ID)
	if err != nil {
		return err
	}
	lang := i18n.FromContext(c.Request().Context())
	return h.cachedPage(c, d, "p|"+prod.ID+"|"+version, "shop_product.html", func() ShopPage {
		return ShopPage{Shop: t, Product: prod.In(lang), Categories: d.Categories, categoryNames: d.CategoryNames(lang), Extra: extra()}
	})
}

// cachedPage serves a rendered page from the shop's display, rendering it
// once per catalog change. Storefront pages carry nothing personal, so one
// rendering serves every visitor.
func (h *Handlers) cachedPage(c echo.Context, d *Display, key, tmpl string, data func() ShopPage) error {
	c.Response().Header().Set("Cache-Control", "no-cache")
	// The page shows the shop's name and dates in its zone, and its own
	// language is the default: a renamed shop must not be served as before.
	t := tenants.FromContext(c)
	key = i18n.FromContext(c.Request().Context()) + "|" + t.Name + "|" + t.Lang + "|" + t.TimeZone + "|" + key
	b, ok := d.Page(key)
	if h.lookups != nil {
		h.lookups(ok)
	}
	if ok {
		return c.HTMLBlob(http.StatusOK, b)
	}
	var buf bytes.Buffer
	if err := c.Echo().Renderer.Render(&buf, tmpl, data(), c); err != nil {
		return err
	}
	b = buf.Bytes()
	d.KeepPage(key, b)
	return c.HTMLBlob(http.StatusOK, b)
}
