package tenants

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// ShopHandlers serve the shop's own settings (name, language, time zone):
// GET and PUT /api/v1/shop, and the console's Shop settings page.
type ShopHandlers struct{ svc *Service }

// NewShopHandlers returns the shop settings handlers.
func NewShopHandlers(svc *Service) *ShopHandlers { return &ShopHandlers{svc: svc} }

// APIRoutes mounts GET and PUT /shop on g (/api/v1 behind APIKeyAuth).
func (h *ShopHandlers) APIRoutes(g *echo.Group) {
	g.GET("/shop", h.get)
	g.PUT("/shop", h.put)
}

// AdminRoutes mounts the Shop settings page and its form on g (/admin
// behind SessionAuth and CSRF).
func (h *ShopHandlers) AdminRoutes(g *echo.Group) {
	g.GET("/shop", h.page)
	g.POST("/shop", h.save)
}

func (h *ShopHandlers) get(c echo.Context) error {
	return c.JSON(http.StatusOK, shopJSON(FromContext(c)))
}

func (h *ShopHandlers) put(c echo.Context) error {
	var in ShopSettings
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	t, err := h.svc.UpdateShop(c.Request().Context(), FromContext(c).ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, shopJSON(t))
}

// shopJSON is the shop as GET /api/v1/shop shows it: its language and
// zone as they apply (the defaults filled in).
func shopJSON(t Tenant) map[string]any {
	return map[string]any{"id": t.ID, "slug": t.Slug, "name": t.Name, "lang": t.Language(),
		"time_zone": t.Location().String(), "created_at": t.CreatedAt.UTC()}
}

// ShopPage is what admin_shop.html receives.
type ShopPage struct {
	Shop      Tenant
	Form      struct{ Name, Lang, TimeZone string }
	Langs     []string
	TimeZones []string
	Notice    string // a message id
	Error     string
}

// LangName is a language's name in that language, for the select.
func (ShopPage) LangName(lang string) string { return i18n.Name(lang) }

func (h *ShopHandlers) render(c echo.Context, status int, p ShopPage) error {
	t := FromContext(c)
	p.Shop, p.Langs, p.TimeZones = t, i18n.Langs, TimeZones
	if p.Form.Name == "" && p.Form.Lang == "" {
		p.Form.Name, p.Form.Lang, p.Form.TimeZone = t.Name, t.Language(), t.Location().String()
	}
	return c.Render(status, "admin_shop.html", p)
}

func (h *ShopHandlers) page(c echo.Context) error {
	p := ShopPage{}
	if c.QueryParam("done") == "saved" {
		p.Notice = "shopsettings.saved"
	}
	return h.render(c, http.StatusOK, p)
}

func (h *ShopHandlers) save(c echo.Context) error {
	name, lang, tz := c.FormValue("name"), c.FormValue("lang"), c.FormValue("time_zone")
	_, err := h.svc.UpdateShop(c.Request().Context(), FromContext(c).ID, ShopSettings{Name: &name, Lang: &lang, TimeZone: &tz})
	var fe *fault.Error
	if errors.As(err, &fe) {
		p := ShopPage{Error: fault.Message(c.Request().Context(), err)}
		p.Form.Name, p.Form.Lang, p.Form.TimeZone = name, lang, tz
		return h.render(c, fe.Status, p)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/shop?done=saved")
}
