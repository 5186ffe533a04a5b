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
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

const (
	// Cookie is the storefront's fan cookie; its path is the shop's, so each
	// shop sees only its own.
	Cookie = "ms_fan"
	// WeChatCookie marks the fan cookie's id as signed in with WeChat OAuth
	// (so a fan inside WeChat is not sent through OAuth again).
	WeChatCookie = "ms_fanwx"
	cookieLife   = 2 * 365 * 24 * time.Hour
	ctxFan       = "microshop.fan"
)

// Identity issues and verifies fan cookies. The signature binds the fan id
// to the shop, so a cookie cannot be replayed at another shop.
type Identity struct {
	key    []byte
	secure bool
	wx     *WeChatLogin
}

// NewIdentity returns the fan identity keyed by secret; secure marks the
// cookie Secure (HTTPS).
func NewIdentity(secret []byte, secure bool) *Identity {
	return &Identity{key: secret, secure: secure}
}

// WithWeChat returns the identity that also signs fans in with the shop's
// WeChat account (web OAuth) when they open the storefront inside WeChat.
func (i *Identity) WithWeChat(w *WeChatLogin) *Identity {
	cp := *i
	cp.wx = w
	return &cp
}

func (i *Identity) sign(tenantID, fanID string) string {
	return i.mac("fan:" + tenantID + ":" + fanID)
}

// mac signs s with the identity's key.
func (i *Identity) mac(s string) string {
	m := hmac.New(sha256.New, i.key)
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// Middleware identifies the fan of every storefront request, issuing a new
// fan id to a first-time visitor. It runs after the shop is resolved. With
// WeChat sign-in, a fan inside WeChat who has not signed in yet is sent
// through web OAuth first.
func (i *Identity) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			t := tenants.FromContext(c)
			id, ok := i.fromCookie(c, t)
			if !ok {
				id = engine.NewID()
				i.SetFan(c, t, id, false)
			}
			c.Set(ctxFan, id)
			if i.wx != nil {
				if done, err := i.wx.maybeStart(c, i, t, id); done || err != nil {
					return err
				}
			}
			return next(c)
		}
	}
}

func (i *Identity) fromCookie(c echo.Context, t tenants.Tenant) (string, bool) {
	ck, err := c.Cookie(Cookie)
	if err != nil {
		return "", false
	}
	id, sig, ok := strings.Cut(ck.Value, ".")
	if ok && engine.ValidID(id) && hmac.Equal([]byte(sig), []byte(i.sign(t.ID, id))) {
		return id, true
	}
	return "", false
}

// SetFan makes id the request's fan and sets its cookie; wechat marks it
// signed in with WeChat.
func (i *Identity) SetFan(c echo.Context, t tenants.Tenant, id string, wechat bool) {
	path := "/s/" + t.Slug + "/"
	c.SetCookie(&http.Cookie{Name: Cookie, Value: id + "." + i.sign(t.ID, id), Path: path,
		MaxAge: int(cookieLife.Seconds()), HttpOnly: true, Secure: i.secure, SameSite: http.SameSiteLaxMode})
	if wechat {
		c.SetCookie(&http.Cookie{Name: WeChatCookie, Value: id + "." + i.sign(t.ID, "wx:"+id), Path: path,
			MaxAge: int(cookieLife.Seconds()), HttpOnly: true, Secure: i.secure, SameSite: http.SameSiteLaxMode})
	}
	c.Set(ctxFan, id)
}

// signedInWithWeChat reports whether the request carries the WeChat mark
// for fan id.
func (i *Identity) signedInWithWeChat(c echo.Context, t tenants.Tenant, id string) bool {
	ck, err := c.Cookie(WeChatCookie)
	if err != nil {
		return false
	}
	wid, sig, ok := strings.Cut(ck.Value, ".")
	return ok && wid == id && hmac.Equal([]byte(sig), []byte(i.sign(t.ID, "wx:"+id)))
}

// RequireJSON refuses a state-changing storefront call that carries a body
// other than JSON. The fan is known by a cookie, which a cross-site form
// would send along; such a form cannot send a JSON body without a CORS
// preflight. Mount it on a shop's storefront JSON calls (/s/:slug/api).
func RequireJSON(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.ContentLength != 0 &&
			!strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
			return &fault.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
				Message: "send JSON with Content-Type: application/json"}
		}
		return next(c)
	}
}

// FromContext returns the fan id of a storefront request.
func FromContext(c echo.Context) string {
	id, _ := c.Get(ctxFan).(string)
	return id
}

// WithFan sets the request's fan id (after WeChat OAuth merges identities).
func WithFan(c echo.Context, id string) { c.Set(ctxFan, id) }
