package wechat

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// The JS-SDK: a storefront page inside WeChat calls wx.config with a
// signature over the page's address made with the account's jsapi ticket,
// then sets what a share shows (title, description, image, link). The
// ticket lives 7,200 s and is rate-limited like access tokens, so it is
// kept like them (token.go): in the shared cache, refreshed before expiry
// by one replica at a time, fetched with the account's access token (whose
// staleness Account.call handles).
//
// GET /s/{slug}/api/wx-config?url=… answers {appId, timestamp, nonceStr,
// signature} for a page of the shop, and the sharer's link parameter when
// the shopper has one (a distributor's code), for the share's link.

// jsapiTicketURL is WeChat's ticket endpoint.
const jsapiTicketURL = "https://api.weixin.qq.com/cgi-bin/ticket/getticket?type=jsapi&access_token="

// jsapiTickets is the account's jsapi-ticket source.
func (a *Account) jsapiTickets() *tokenSource {
	t := &tokenSource{a: a.accounts, key: "wechat:jsapi_ticket:" + a.TenantID + ":" + a.Settings.AppID, appID: a.Settings.AppID}
	t.fetch = func(ctx context.Context) (credential.ResAccessToken, error) {
		var res struct {
			util.CommonError
			Ticket    string `json:"ticket"`
			ExpiresIn int64  `json:"expires_in"`
		}
		err := a.call(ctx, "get the JS-SDK ticket", func() error {
			tok, err := a.token(ctx)
			if err != nil {
				return err
			}
			return getJSON(ctx, jsapiTicketURL+url.QueryEscape(tok), &res)
		})
		return credential.ResAccessToken{AccessToken: res.Ticket, ExpiresIn: res.ExpiresIn}, err
	}
	return t
}

// JSConfig is what wx.config takes.
type JSConfig struct {
	AppID     string `json:"appId"`
	Timestamp int64  `json:"timestamp"`
	NonceStr  string `json:"nonceStr"`
	Signature string `json:"signature"`
}

// JSSignature is WeChat's JS-SDK signature: the SHA-1 of
// jsapi_ticket=…&noncestr=…&timestamp=…&url=… with the page's address
// without its # part.
func JSSignature(ticket, nonce string, timestamp int64, pageURL string) string {
	pageURL, _, _ = strings.Cut(pageURL, "#")
	h := sha1.Sum([]byte("jsapi_ticket=" + ticket + "&noncestr=" + nonce + "&timestamp=" + strconv.FormatInt(timestamp, 10) + "&url=" + pageURL))
	return hex.EncodeToString(h[:])
}

// JSConfig signs pageURL for wx.config.
func (a *Account) JSConfig(ctx context.Context, pageURL string) (JSConfig, error) {
	ctx, cancel := context.WithTimeout(ctx, a.accounts.opts.Timeout)
	defer cancel()
	ticket, err := a.jsapiTickets().GetAccessTokenContext(ctx)
	if err != nil {
		return JSConfig{}, err
	}
	ts := a.accounts.now().Unix()
	nonce := randomAlnum(16)
	return JSConfig{AppID: a.Settings.AppID, Timestamp: ts, NonceStr: nonce, Signature: JSSignature(ticket, nonce, ts, pageURL)}, nil
}

// JSSDKHandlers serve the storefront's wx-config.
type JSSDKHandlers struct {
	accounts *Accounts
	baseURL  string
	sharer   func(c echo.Context) (param, code string)
}

// NewJSSDKHandlers returns the handlers; sharer, if set, names the
// shopper's own link parameter and code (a distributor's ?d=), which the
// shared link carries.
func NewJSSDKHandlers(accounts *Accounts, baseURL string, sharer func(c echo.Context) (param, code string)) *JSSDKHandlers {
	return &JSSDKHandlers{accounts: accounts, baseURL: strings.TrimSuffix(baseURL, "/"), sharer: sharer}
}

// StorefrontAPIRoutes mounts wx-config on g (/s/:slug).
func (h *JSSDKHandlers) StorefrontAPIRoutes(g *echo.Group) {
	g.GET("/api/wx-config", h.config)
}

// WXConfig is the answer of /s/{slug}/api/wx-config.
type WXConfig struct {
	JSConfig
	// ShareParam and ShareCode are the query parameter and code the shared
	// link carries (empty: the shopper has none).
	ShareParam string `json:"shareParam,omitempty"`
	ShareCode  string `json:"shareCode,omitempty"`
}

func (h *JSSDKHandlers) config(c echo.Context) error {
	t := tenants.FromContext(c)
	raw := c.QueryParam("url")
	u, err := url.Parse(raw)
	base := h.baseURL
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	b, _ := url.Parse(base)
	if raw == "" || len(raw) > 2048 || err != nil || (u.Scheme != "http" && u.Scheme != "https") || b == nil || u.Host != b.Host ||
		!strings.HasPrefix(u.Path, "/s/"+t.Slug+"/") {
		return fault.Invalid("url", "must be the address of one of this shop's pages")
	}
	acct, err := h.accounts.Account(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	cfg, err := acct.JSConfig(c.Request().Context(), raw)
	if err != nil {
		return err
	}
	out := WXConfig{JSConfig: cfg}
	if h.sharer != nil {
		out.ShareParam, out.ShareCode = h.sharer(c)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}
