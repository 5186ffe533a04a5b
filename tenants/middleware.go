package tenants

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
)

const (
	ctxTenant  = "microshop.tenant"
	ctxUser    = "microshop.user"
	ctxSession = "microshop.session" // the session's id
	// SessionCookie is the merchant console's session cookie.
	SessionCookie = "ms_session"
	sessionLife   = 7 * 24 * time.Hour
)

// FromContext returns the tenant the request was resolved to by one of the
// middlewares below; handlers behind them can rely on it.
func FromContext(c echo.Context) Tenant {
	t, _ := c.Get(ctxTenant).(Tenant)
	return t
}

// UserFromContext returns the signed-in merchant user, if any.
func UserFromContext(c echo.Context) (User, bool) {
	u, ok := c.Get(ctxUser).(User)
	return u, ok
}

// WithTenant stores t as the request's tenant (for middlewares and tests).
func WithTenant(c echo.Context, t Tenant) { c.Set(ctxTenant, t) }

// APIKeyAuth resolves "Authorization: Bearer <key>" to its tenant.
func (s *Service) APIKeyAuth() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			key, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || strings.TrimSpace(key) == "" {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="microshop"`)
				return fault.Unauthorized("send your API key as: Authorization: Bearer <key>")
			}
			t, k, err := s.resolveAPIKey(c.Request().Context(), strings.TrimSpace(key))
			if errors.Is(err, ErrNotFound) {
				return fault.Unauthorized("unknown API key")
			}
			if err != nil {
				return err
			}
			WithTenant(c, t)
			SetPrincipal(c, keyPrincipal(k)) // role.go
			return next(c)
		}
	}
}

// SessionAuth requires a signed-in merchant: browsers asking for a page are
// sent to the sign-in page, other requests get a 401.
func (s *Service) SessionAuth(codec *SessionCodec) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sess, err := s.session(c, codec)
			if err != nil && !errors.Is(err, errBadSession) {
				return err // the platform store is unreachable: not a reason to sign in again
			}
			if err != nil {
				if c.Request().Method == http.MethodGet {
					return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
				}
				return fault.Unauthorized("sign in first")
			}
			c.Set(ctxUser, sess.user)
			c.Set(ctxSession, sess.id)
			WithTenant(c, sess.tenant)
			SetPrincipal(c, sess.as) // role.go
			return next(c)
		}
	}
}

type signedIn struct {
	id     string // the session's
	user   User
	tenant Tenant
	as     Principal // the owner, or staff in their role (staff.go)
}

// session reads the request's session cookie and checks it against its
// record in the platform store, on every request: a session ended on any
// replica is refused at once. Any reason to sign in again is
// errBadSession; other errors are outages.
func (s *Service) session(c echo.Context, codec *SessionCodec) (signedIn, error) {
	ck, err := c.Cookie(SessionCookie)
	if err != nil {
		return signedIn{}, errBadSession
	}
	sess, err := codec.Decode(ck.Value, s.now())
	if err != nil {
		return signedIn{}, err
	}
	ctx := c.Request().Context()
	if err := s.liveSession(ctx, sess); err != nil {
		return signedIn{}, err
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil || u.TenantID != sess.TenantID {
		return signedIn{}, badSession(err)
	}
	t, err := s.store.TenantByID(ctx, sess.TenantID)
	if err != nil {
		return signedIn{}, badSession(err)
	}
	as, err := s.principalOf(ctx, u)
	if err != nil {
		return signedIn{}, err
	}
	return signedIn{id: sess.ID, user: u, tenant: t, as: as}, nil
}

// badSession is errBadSession for a record that is gone (or nil err: one
// that does not match), err itself for an outage.
func badSession(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return errBadSession
	}
	return err
}

// sessionID is the id of the request's session (SessionAuth sets it).
func sessionID(c echo.Context) string {
	id, _ := c.Get(ctxSession).(string)
	return id
}

// ShopBySlug resolves the :slug path parameter to its tenant; an unknown
// shop is a 404.
func (s *Service) ShopBySlug() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			slug := c.Param("slug")
			if ValidateSlug(slug) != nil {
				return fault.NotFound("shop")
			}
			t, err := s.TenantBySlug(c.Request().Context(), slug)
			if err != nil {
				return err
			}
			WithTenant(c, t)
			return next(c)
		}
	}
}
