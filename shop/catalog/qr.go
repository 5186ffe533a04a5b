package catalog

import (
	"net/http"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"microshop/tenants"
)

// storefrontURL is the absolute address of the shop's storefront.
func (h *Handlers) storefrontURL(c echo.Context, slug string) string {
	base := h.baseURL
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return base + "/s/" + slug + "/"
}

// storefrontQR is GET /s/{slug}/qr.png: the storefront's address as a QR
// code, ready to print or send in a messenger (size 128-1024 px).
func (h *Handlers) storefrontQR(c echo.Context) error {
	size, err := intParam("size", c.QueryParam("size"))
	if err != nil {
		return err
	}
	if size == 0 {
		size = 320
	}
	size = max(128, min(size, 1024))
	png, err := qrcode.Encode(h.storefrontURL(c, tenants.FromContext(c).Slug), qrcode.Medium, size)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, "image/png", png)
}
