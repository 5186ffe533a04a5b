package fan

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
)

const (
	// Cookie is the storefront's fan cookie; its path is the shop's, so each
	// shop sees only its own.
	Cookie     = "ms_fan"
	cookieLife = 2 * 365 * 24 * time.Hour
	ctxFan     = "microshop.fan"
)

// Identity issues and verifies fan cookies. The signature binds the fan id
// to the shop, so a cookie cannot be replayed at another shop.
type Identity struct {
	key    []byte
	secure bool
}

// NewIdentity returns the fan identity keyed by secret; secure marks the
// cookie Secure (HTTPS).
func NewIdentity(secret []byte, secure bool) *Identity {
	return &Identity{key: secret, secure: secure}
}

func (i *Identity) sign(tenantID, fanID string) string {
	m := hmac.New(sha256.New, i.key)
	m.Write([]byte("fan:" + tenantID + ":" + fanID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// Middleware identifies the fan of every storefront request, issuing a new
// fan id to a first-time visitor. It runs after the shop is resolved.
func (i *Identity) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			t := tenants.FromContext(c)
			if ck, err := c.Cookie(Cookie); err == nil {
				id, sig, ok := strings.Cut(ck.Value, ".")
				if ok && tenants.ValidID(id) && hmac.Equal([]byte(sig), []byte(i.sign(t.ID, id))) {
					c.Set(ctxFan, id)
					return next(c)
				}
			}
			id := tenants.NewID()
			c.SetCookie(&http.Cookie{Name: Cookie, Value: id + "." + i.sign(t.ID, id), Path: "/s/" + t.Slug + "/",
				MaxAge: int(cookieLife.Seconds()), HttpOnly: true, Secure: i.secure, SameSite: http.SameSiteLaxMode})
			c.Set(ctxFan, id)
			return next(c)
		}
	}
}

// FromContext returns the fan id of a storefront request.
func FromContext(c echo.Context) string {
	id, _ := c.Get(ctxFan).(string)
	return id
}

// WithFan sets the request's fan id (after WeChat OAuth merges identities).
func WithFan(c echo.Context, id string) { c.Set(ctxFan, id) }
