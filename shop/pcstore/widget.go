package pcstore

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// Channel is the attribution channel of shoppers who come from the PC
// store's widget: their storefront link carries ?ch=pc_store.
const Channel = "pc_store"

// StorefrontRoutes mounts the widget on g (/s/:slug, shop resolved): what
// a PC store's pages load from another site. Mount it on a group of its
// own, without the storefront's fan cookie: another site's page calls it.
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/pcstore/widget.js", h.widgetJS)
	g.GET("/pcstore/qr.png", h.widgetQR)
}

func (h *Handlers) base(c echo.Context) string {
	if h.baseURL != "" {
		return h.baseURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

// Widget is what a merchant pastes into the PC store.
type Widget struct {
	// Link is the storefront address with the pc_store channel.
	Link string `json:"link"`
	// QR is a plain PNG of the QR code of Link (?size=128..1024).
	QR string `json:"qr_url"`
	// Script is the widget's script address.
	Script string `json:"script_url"`
	// HTML is the snippet with the widget: a box saying "Follow our
	// micro-shop" with the QR code, linking to the shop.
	HTML string `json:"html"`
	// Plain is the same without JavaScript: the QR image in a link.
	Plain string `json:"plain_html"`
}

// WidgetFor returns the snippets of a shop, with base the public address,
// in the platform's default language (WidgetIn takes the shop's).
func WidgetFor(base, slug string) Widget { return WidgetIn(base, slug, i18n.Default) }

// WidgetIn returns the snippets of a shop, their texts in lang: the shop's
// language (tenants.Tenant.Language), since they show on its PC store.
func WidgetIn(base, slug, lang string) Widget {
	ctx := i18n.WithLang(context.Background(), lang)
	shop := base + "/s/" + slug
	w := Widget{Link: shop + "/?ch=" + Channel, QR: shop + "/pcstore/qr.png", Script: shop + "/pcstore/widget.js"}
	w.HTML = `<div data-microshop-follow></div>` + "\n" + `<script src="` + html.EscapeString(w.Script) + `" async></script>`
	w.Plain = `<a href="` + html.EscapeString(w.Link) + `" title="` + html.EscapeString(i18n.T(ctx, "widget.title")) + `"><img src="` + html.EscapeString(w.QR) +
		`" width="160" height="160" alt="` + html.EscapeString(i18n.T(ctx, "widget.alt")) + `"></a>`
	return w
}

func (h *Handlers) apiWidget(c echo.Context) error {
	t := tenants.FromContext(c)
	return c.JSON(http.StatusOK, WidgetIn(h.base(c), t.Slug, t.Language()))
}

// widgetScript renders the box into every [data-microshop-follow] element,
// or after its own <script> tag when there is none. Values are JSON strings
// (HTML-safe), text goes in with textContent: nothing from the page or the
// shop is parsed as HTML.
const widgetScript = `(function () {
  var d = document, cfg = %s;
  function box() {
    var a = d.createElement("a");
    a.href = cfg.link; a.target = "_blank"; a.rel = "noopener";
    a.style.cssText = "display:inline-block;font:14px/1.4 sans-serif;color:#222;text-decoration:none;text-align:center;border:1px solid #ddd;border-radius:8px;padding:12px;background:#fff;max-width:200px";
    var t = d.createElement("div");
    t.textContent = cfg.title; t.style.cssText = "font-weight:bold;margin-bottom:6px";
    var img = d.createElement("img");
    img.src = cfg.qr; img.width = 160; img.height = 160; img.alt = cfg.title;
    img.style.cssText = "display:block;margin:0 auto";
    var s = d.createElement("div");
    s.textContent = cfg.shop + " · " + cfg.hint; s.style.cssText = "font-size:12px;color:#666;margin-top:6px";
    a.appendChild(t); a.appendChild(img); a.appendChild(s);
    return a;
  }
  var slots = d.querySelectorAll("[data-microshop-follow]");
  if (slots.length) {
    for (var i = 0; i < slots.length; i++) { if (!slots[i].firstChild) slots[i].appendChild(box()); }
  } else if (d.currentScript && d.currentScript.parentNode) {
    d.currentScript.parentNode.insertBefore(box(), d.currentScript.nextSibling);
  }
})();
`

// widgetJS serves the widget's script, its texts in the shop's language
// (tenants.Tenant.Language): it shows on the shop's own PC store, whose
// visitors' language the shop knows best.
func (h *Handlers) widgetJS(c echo.Context) error {
	t := tenants.FromContext(c)
	w := WidgetFor(h.base(c), t.Slug)
	ctx := i18n.WithLang(c.Request().Context(), t.Language())
	cfg, err := json.Marshal(map[string]string{"link": w.Link, "qr": w.QR, "shop": t.Name,
		"title": i18n.T(ctx, "widget.title"), "hint": i18n.T(ctx, "widget.hint")})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	// The script runs on the merchant's own site.
	c.Response().Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	return c.Blob(http.StatusOK, "application/javascript; charset=utf-8", fmt.Appendf(nil, widgetScript, cfg))
}

// widgetQR is the QR code of the storefront with the pc_store channel.
func (h *Handlers) widgetQR(c echo.Context) error {
	size := 256
	if s := c.QueryParam("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fault.Invalid("size", "must be a whole number of pixels (128 to 1024)")
		}
		size = max(128, min(n, 1024))
	}
	png, err := qrcode.Encode(WidgetFor(h.base(c), tenants.FromContext(c).Slug).Link, qrcode.Medium, size)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	c.Response().Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	return c.Blob(http.StatusOK, "image/png", png)
}
