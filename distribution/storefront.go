package distribution

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/distribution/tree"
	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// StorefrontRoutes mounts the distributor centre's pages on g (/s/:slug,
// shop and fan resolved): the page and its QR code.
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/distributor", h.centrePage)
	g.GET("/distributor/qr.png", h.centreQR)
}

// StorefrontAPIRoutes mounts the distributor centre's JSON calls on g
// (/s/:slug, shop and fan resolved), under /api.
func (h *Handlers) StorefrontAPIRoutes(g *echo.Group) {
	api := g.Group("/api", jsonOnly)
	api.GET("/distributor", h.centreJSON)
	api.POST("/distributor", h.join)
	api.POST("/distributor/withdrawals", h.withdraw)
}

// jsonOnly refuses state-changing calls not sent as JSON: a cross-site
// form cannot send application/json without a CORS preflight.
func jsonOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead &&
			!strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
			return &fault.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
				Message: "send JSON with Content-Type: application/json"}
		}
		return next(c)
	}
}

// noStore marks a page or answer as one shopper's own.
func noStore(c echo.Context) { c.Response().Header().Set("Cache-Control", "private, no-store") }

// CentrePage is what shop_distributor.html receives. Shop and Query are
// what the storefront layout reads.
type CentrePage struct {
	Shop     tenants.Tenant
	Query    string
	Centre   Centre
	Settings Settings
	Now      time.Time
}

func (h *Handlers) centrePage(c echo.Context) error {
	noStore(c)
	cen, st, err := h.centre(c)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "shop_distributor.html", CentrePage{Shop: tenantOf(c), Centre: cen, Settings: st, Now: h.svc.clock()})
}

func (h *Handlers) centreJSON(c echo.Context) error {
	noStore(c)
	cen, _, err := h.centre(c)
	return reply(c, http.StatusOK, cen, err)
}

// centre is the fan's centre with their share link and code.
func (h *Handlers) centre(c echo.Context) (Centre, Settings, error) {
	cen, st, err := h.svc.Centre(c.Request().Context(), tenantOf(c).ID, fan.FromContext(c))
	if err == nil && cen.Distributor != nil && cen.Distributor.Status == tree.Active {
		cen.Link = h.link(c, "d", cen.Distributor.Code)
		cen.QRURL = "/s/" + tenantOf(c).Slug + "/distributor/qr.png"
	}
	return cen, st, err
}

// JoinAnswer is the answer to POST /s/{slug}/api/distributor.
type JoinAnswer struct {
	ID     string `json:"id"`
	Code   string `json:"code"`
	Status string `json:"status"`
	Link   string `json:"link,omitempty"`
}

func (h *Handlers) join(c echo.Context) error {
	noStore(c)
	var in struct{}
	if err := decodeOptional(c, &in); err != nil {
		return err
	}
	d, created, err := h.svc.Join(c.Request().Context(), tenantOf(c).ID, fan.FromContext(c))
	if err != nil {
		return err
	}
	a := JoinAnswer{ID: d.ID, Code: d.Code, Status: d.Status}
	if d.Status == tree.Active {
		a.Link = h.link(c, "d", d.Code)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, a)
}

func (h *Handlers) withdraw(c echo.Context) error {
	noStore(c)
	var in struct {
		Amount int64  `json:"amount"`
		Note   string `json:"note"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	w, err := h.svc.Withdraw(c.Request().Context(), tenantOf(c).ID, fan.FromContext(c), in.Amount, in.Note)
	return reply(c, http.StatusCreated, w, err)
}

// centreQR is the fan's own distributor code as a PNG.
func (h *Handlers) centreQR(c echo.Context) error {
	noStore(c)
	ctx := c.Request().Context()
	t := tenantOf(c)
	d, err := h.svc.ActiveDistributor(ctx, t.ID, fan.FromContext(c))
	if err != nil {
		return fault.NotFound("distributor")
	}
	size, err := qrSize(c)
	if err != nil {
		return err
	}
	png, _, err := h.svc.QR(ctx, t.ID, "d:"+d.Code, h.link(c, "d", d.Code), false, size)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "image/png", png)
}
