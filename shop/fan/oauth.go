package fan

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

// WeChat web OAuth in the storefront.
//
// A storefront page opened inside WeChat (its browser says MicroMessenger
// in the User-Agent; ?wxoauth=1 forces it, which the sandbox phone uses)
// by a fan not yet signed in is redirected to WeChat's snsapi_base page,
// which returns silently to /s/{slug}/wx/oauth with a code and our state.
// The state is ours to generate and check (the SDK passes it through): a
// random value kept, with the page to return to and an expiry, in a cookie
// signed with the fan-cookie key; the callback accepts only the state of
// that cookie, once. The code (single use, five minutes) is exchanged for
// the openid, the browser's cookie identity is merged into the WeChat fan
// (Service.Link), and the browser returns to its page. Outside WeChat
// nothing changes: the cookie identity stays until the fan first signs in.

const (
	stateCookie = "ms_wxstate"
	stateLife   = 10 * time.Minute
	// OAuthPath is the callback, under the shop's storefront.
	OAuthPath = "wx/oauth"
)

// WeChatLogin signs storefront visitors in with their shop's WeChat
// account.
type WeChatLogin struct {
	svc      *Service
	accounts *wechat.Accounts
	baseURL  string
	log      *slog.Logger
	now      func() time.Time
}

// NewWeChatLogin returns the sign-in; baseURL is the public address the
// callback URL is built on (empty: the request's).
func NewWeChatLogin(svc *Service, accounts *wechat.Accounts, baseURL string, log *slog.Logger) *WeChatLogin {
	return &WeChatLogin{svc: svc, accounts: accounts, baseURL: strings.TrimSuffix(baseURL, "/"), log: log, now: time.Now}
}

func (w *WeChatLogin) base(c echo.Context) string {
	if w.baseURL != "" {
		return w.baseURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

// maybeStart redirects a fan inside WeChat to sign in; done says it did.
func (w *WeChatLogin) maybeStart(c echo.Context, i *Identity, t tenants.Tenant, fanID string) (bool, error) {
	r := c.Request()
	if r.Method != http.MethodGet {
		return false, nil
	}
	q := r.URL.Query()
	if q.Get("wxoauth") != "1" && !strings.Contains(r.UserAgent(), "MicroMessenger") {
		return false, nil
	}
	prefix := "/s/" + t.Slug + "/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || rest == OAuthPath || strings.HasPrefix(rest, "api/") || strings.HasSuffix(rest, ".png") {
		return false, nil
	}
	if i.signedInWithWeChat(c, t, fanID) {
		return false, nil
	}
	acct, err := w.accounts.Account(r.Context(), t.ID)
	if err != nil {
		return false, nil // no account (or an outage): the shop works without sign-in
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	state := base64.RawURLEncoding.EncodeToString(b)
	q.Del("wxoauth")
	ret := r.URL.Path
	if len(q) > 0 {
		ret += "?" + q.Encode()
	}
	payload := state + "|" + strconv.FormatInt(w.now().Add(stateLife).Unix(), 10) + "|" + ret
	c.SetCookie(&http.Cookie{Name: stateCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		i.mac("wxstate:"+t.ID+":"+payload), Path: prefix, MaxAge: int(stateLife.Seconds()), HttpOnly: true,
		Secure: i.secure, SameSite: http.SameSiteLaxMode})
	return true, c.Redirect(http.StatusFound, acct.AuthorizeURL(w.base(c)+prefix+OAuthPath, state))
}

// StorefrontRoutes mounts the WeChat sign-in callback on the storefront
// group g (/s/:slug; a no-op without WeChat sign-in).
func (i *Identity) StorefrontRoutes(g *echo.Group) {
	if i.wx != nil {
		g.GET("/"+OAuthPath, i.oauthCallback)
	}
}

var errBadState = &fault.Error{Status: http.StatusBadRequest, Code: "invalid",
	Message: "This WeChat sign-in link has expired or was opened in another browser. Open the shop again."}

func (i *Identity) oauthCallback(c echo.Context) error {
	t := tenants.FromContext(c)
	w := i.wx
	ck, err := c.Cookie(stateCookie)
	if err != nil {
		return errBadState
	}
	raw, sig, ok := strings.Cut(ck.Value, ".")
	pb, derr := base64.RawURLEncoding.DecodeString(raw)
	payload := string(pb)
	if !ok || derr != nil || subtle.ConstantTimeCompare([]byte(sig), []byte(i.mac("wxstate:"+t.ID+":"+payload))) != 1 {
		return errBadState
	}
	parts := strings.SplitN(payload, "|", 3)
	if len(parts) != 3 {
		return errBadState
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	state := c.QueryParam("state")
	if err != nil || w.now().Unix() > exp || state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(parts[0])) != 1 {
		return errBadState
	}
	// Single use: the cookie goes whatever happens next.
	c.SetCookie(&http.Cookie{Name: stateCookie, Value: "", Path: "/s/" + t.Slug + "/", MaxAge: -1, HttpOnly: true,
		Secure: i.secure, SameSite: http.SameSiteLaxMode})
	code := c.QueryParam("code")
	if code == "" || len(code) > 128 {
		return fault.Invalid("code", "WeChat sent no sign-in code; open the shop again")
	}
	ctx := c.Request().Context()
	acct, err := w.accounts.Account(ctx, t.ID)
	if err != nil {
		return fmt.Errorf("load the shop's WeChat account: %w", err)
	}
	openID, err := acct.OpenID(ctx, code)
	if err != nil {
		return fmt.Errorf("exchange the WeChat sign-in code: %w", err)
	}
	f, err := w.svc.Link(ctx, t.ID, FromContext(c), openID)
	if err != nil {
		return err
	}
	i.SetFan(c, t, f.ID, true)
	return c.Redirect(http.StatusFound, localReturn(parts[2], "/s/"+t.Slug+"/"))
}

// localReturn is ret if it is a page of the shop (prefix), else prefix: the
// callback never sends a browser elsewhere.
func localReturn(ret, prefix string) string {
	u, err := url.Parse(ret)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, prefix) ||
		strings.Contains(ret, "//") || strings.Contains(ret, `\`) {
		return prefix
	}
	return ret
}
