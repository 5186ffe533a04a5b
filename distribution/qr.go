package distribution

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"microshop/tenants/fault"
)

// QR codes. A guide's code is a permanent WeChat parametric QR (scene
// g:<code>) when the shop has an official account, so scanning and
// following attributes the fan too; a distributor's is a temporary one
// (scene d:<code>; permanent codes are capped at 100,000 an account, and a
// shop may have more distributors than that). Without an account, or when
// WeChat fails, the code encodes the storefront link (?g= or ?d=), which
// attributes the same way on the first visit.

// qrSize reads ?size= (128-1024 pixels, default 320).
func qrSize(c echo.Context) (int, error) {
	v := c.QueryParam("size")
	if v == "" {
		return 320, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fault.Invalid("size", "must be a number of pixels")
	}
	return max(128, min(n, 1024)), nil
}

// QR renders the code for scene (through WeChat when possible) or link,
// and says what it encodes.
func (s *Service) QR(ctx context.Context, tenantID, scene, link string, permanent bool, size int) ([]byte, string, error) {
	content := link
	if s.wechat != nil {
		if url, _, err := s.wechat.QRCode(ctx, tenantID, scene, permanent); err == nil && url != "" {
			content = url
		} else if err != nil {
			s.log.Debug("wechat qr unavailable, using the storefront link", "tenant", tenantID, "scene", scene, "err", err)
		}
	}
	png, err := qrcode.Encode(content, qrcode.Medium, size)
	return png, content, err
}

// guideQR is GET .../guides/:id/qr.png.
func (h *Handlers) guideQR(c echo.Context) error {
	g, err := byID(c, h.svc.guides.Guide)
	if err != nil {
		return err
	}
	size, err := qrSize(c)
	if err != nil {
		return err
	}
	png, _, err := h.svc.QR(c.Request().Context(), tenantOf(c).ID, "g:"+g.Code, h.link(c, "g", g.Code), true, size)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=300")
	return c.Blob(http.StatusOK, "image/png", png)
}
