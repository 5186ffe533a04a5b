package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The third-party platform (open platform "component") API: the component
// verify ticket WeChat pushes every 10 minutes, the component access token
// it buys, pre-auth codes, the authorisation page (the console's sandbox
// page, where the browser's fake WeChat user plays the account's
// administrator: component_page.go), auth codes, authorisers' access and
// refresh tokens, and web OAuth on an authoriser's behalf.
//
// Each component's secret is learned from its first use, like an
// account's. An authoriser account the sandbox creates has a secret nobody
// knows, so it is reachable only through the component's tokens; and it
// is administered by the device that created it: another browser never
// sees it on the authorisation page.

// WeChat's numbers for components.
const (
	ComponentTicketEvery = 10 * time.Minute
	ComponentTicketLife  = 12 * time.Hour
	PreAuthCodeLife      = 30 * time.Minute
	AuthCodeLife         = 10 * time.Minute
)

// componentState is the simulator's components and the accounts the
// browsers' fake administrators hold. Guarded by Simulator.mu.
type componentState struct {
	components map[string]*component // by component AppID
	tokens     map[string]string     // component access token -> component AppID
	admins     map[string][]string   // device -> authoriser AppIDs it administers
}

type component struct {
	id, secret       string
	tickets          map[string]time.Time // ticket -> expiry
	token, prevToken string
	tokenExpires     time.Time
	prevUntil        time.Time
	tokenFetches     int
	preAuth          map[string]time.Time       // pre-auth code -> expiry
	authCodes        map[string]authCode        // auth code -> what it authorises
	authorizers      map[string]*authorizerInfo // by authoriser AppID
}

type authCode struct {
	appID   string
	expires time.Time
}

type authorizerInfo struct {
	appID, refresh string
	authorized     bool
	refreshes      int
}

// componentLocked returns the component with id, adding it on first use;
// s.mu is held.
func (s *Simulator) componentLocked(id string) *component {
	cs := &s.comp
	if cs.components == nil {
		cs.components, cs.tokens, cs.admins = map[string]*component{}, map[string]string{}, map[string][]string{}
	}
	c := cs.components[id]
	if c == nil {
		c = &component{id: id, tickets: map[string]time.Time{}, preAuth: map[string]time.Time{}, authCodes: map[string]authCode{},
			authorizers: map[string]*authorizerInfo{}}
		cs.components[id] = c
	}
	return c
}

// ComponentTicket issues a new verify ticket for the component, as WeChat
// does before pushing it; the earlier ones stay valid until they expire.
func (s *Simulator) ComponentTicket(componentAppID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.componentLocked(componentAppID)
	now := s.now()
	for t, exp := range c.tickets {
		if !now.Before(exp) {
			delete(c.tickets, t)
		}
	}
	t := "ticket@@@" + randomToken()[:64]
	c.tickets[t] = now.Add(ComponentTicketLife)
	return t
}

// TicketEvent is the plaintext component_verify_ticket push.
func (s *Simulator) TicketEvent(componentAppID, ticket string) []byte {
	return fmt.Appendf(nil, "<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType>"+
		"<ComponentVerifyTicket><![CDATA[%s]]></ComponentVerifyTicket></xml>", componentAppID, s.now().Unix(), ticket)
}

// Unauthorize plays the administrator cancelling the account's
// authorisation in WeChat: its refresh token and access tokens stop
// working, and the push WeChat sends the component is returned (nil when
// the account was not authorised to it).
func (s *Simulator) Unauthorize(componentAppID, appID string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.componentLocked(componentAppID)
	au := c.authorizers[appID]
	if au == nil || !au.authorized {
		return nil
	}
	au.authorized, au.refresh = false, ""
	if a := s.apps[appID]; a != nil {
		delete(s.tokens, a.token)
		delete(s.tokens, a.prevToken)
		a.token, a.prevToken = "", ""
	}
	return fmt.Appendf(nil, "<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime><InfoType><![CDATA[unauthorized]]></InfoType>"+
		"<AuthorizerAppid><![CDATA[%s]]></AuthorizerAppid></xml>", componentAppID, s.now().Unix(), appID)
}

// AuthorizerRefreshes counts the access tokens the authoriser appID was
// given through its refresh token.
func (s *Simulator) AuthorizerRefreshes(componentAppID, appID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if au := s.componentLocked(componentAppID).authorizers[appID]; au != nil {
		return au.refreshes
	}
	return 0
}

// ExpireAuthorizerToken ends the authoriser's current access tokens at once
// (as a token WeChat revoked): the next call with one gets 40001.
func (s *Simulator) ExpireAuthorizerToken(appID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[appID]; a != nil {
		delete(s.tokens, a.token)
		delete(s.tokens, a.prevToken)
	}
}

// AdminAccounts are the authoriser accounts the device administers.
func (s *Simulator) AdminAccounts(device string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.comp.admins[device])
}

// componentAPI answers the component's paths; false: not one of them.
func (s *Simulator) componentAPI(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	if s.menuAPI(w, r) || s.jsapiAPI(w, r) { // menus and the template library (menu.go), JS-SDK tickets (jsapi.go)
		return true
	}
	if path == "/sns/oauth2/component/access_token" {
		s.componentOAuth(w, r)
		return true
	}
	name, ok := strings.CutPrefix(path, "/cgi-bin/component/")
	if !ok {
		return false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, apiErr(44002, "empty post data or too large"))
		return true
	}
	var req map[string]string
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, apiErr(47001, "data format error"))
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "api_component_token" {
		writeJSON(w, s.componentToken(req))
		return true
	}
	c, errb := s.componentByToken(r.URL.Query().Get("component_access_token"))
	if errb.ErrCode == 0 && req["component_appid"] != c.id {
		errb = apiErr(61004, "component_appid does not match the component_access_token")
	}
	if errb.ErrCode != 0 {
		writeJSON(w, errb)
		return true
	}
	switch name {
	case "api_create_preauthcode":
		code := "preauthcode@@@" + randomToken()[:48]
		c.preAuth[code] = s.now().Add(PreAuthCodeLife)
		writeJSON(w, map[string]any{"pre_auth_code": code, "expires_in": int(PreAuthCodeLife / time.Second)})
	case "api_query_auth":
		writeJSON(w, s.queryAuth(c, req["authorization_code"]))
	case "api_authorizer_token":
		writeJSON(w, s.authorizerToken(c, req["authorizer_appid"], req["authorizer_refresh_token"]))
	case "api_get_authorizer_info":
		au := c.authorizers[req["authorizer_appid"]]
		if au == nil || !au.authorized {
			writeJSON(w, apiErr(61003, "component is not authorized by this account"))
			return true
		}
		writeJSON(w, map[string]any{"authorizer_info": map[string]any{"nick_name": OriginalID(au.appID), "user_name": OriginalID(au.appID),
			"service_type_info": map[string]int{"id": 2}, "verify_type_info": map[string]int{"id": 0}},
			"authorization_info": map[string]any{"authorizer_appid": au.appID, "func_info": funcInfo()}})
	default:
		writeJSON(w, apiErr(48001, "api unauthorized (the sandbox does not simulate "+path+")"))
	}
	return true
}

// componentToken is api_component_token: the component's id, secret and a
// valid verify ticket buy a token; the previous one stays valid for
// TokenOverlap.
func (s *Simulator) componentToken(req map[string]string) any {
	id, secret, ticket := req["component_appid"], req["component_appsecret"], req["component_verify_ticket"]
	if !appIDPattern.MatchString(id) {
		return apiErr(40013, "invalid appid")
	}
	c := s.componentLocked(id)
	if c.secret == "" && len(secret) == 32 {
		c.secret = secret
	}
	if secret == "" || !hmac.Equal([]byte(c.secret), []byte(secret)) {
		return apiErr(40125, "invalid appsecret")
	}
	now := s.now()
	if exp, ok := c.tickets[ticket]; !ok || !now.Before(exp) {
		return apiErr(61006, "component ticket is invalid")
	}
	c.tokenFetches++
	if c.prevToken != "" {
		delete(s.comp.tokens, c.prevToken)
	}
	c.prevToken, c.prevUntil = c.token, now.Add(TokenOverlap)
	c.token, c.tokenExpires = "ctok_"+randomToken()[:60], now.Add(TokenLife)
	s.comp.tokens[c.token] = id
	return map[string]any{"component_access_token": c.token, "expires_in": int(TokenLife / time.Second)}
}

// componentByToken is the component a component access token was issued
// to (the latest until it expires, the previous during the overlap).
func (s *Simulator) componentByToken(tok string) (*component, errBody) {
	if tok == "" {
		return nil, apiErr(41001, "component_access_token missing")
	}
	id, known := s.comp.tokens[tok]
	if !known {
		return nil, apiErr(40001, "invalid credential, component_access_token is invalid or not latest")
	}
	c := s.comp.components[id]
	now := s.now()
	switch {
	case tok == c.token && !now.Before(c.tokenExpires):
		return nil, apiErr(42001, "component_access_token expired")
	case tok == c.token, tok == c.prevToken && now.Before(c.prevUntil):
		return c, ok
	}
	return nil, apiErr(40001, "invalid credential, component_access_token is invalid or not latest")
}

// funcInfo is what an administrator grants in the sandbox: message
// management (1), user management (2), account services (3), web pages (4),
// menus (15), templates are in message management.
func funcInfo() []map[string]any {
	var out []map[string]any
	for _, id := range []int{1, 2, 3, 4, 7, 11, 15} {
		out = append(out, map[string]any{"funcscope_category": map[string]int{"id": id}})
	}
	return out
}

// queryAuth is api_query_auth: a single-use auth code for the authoriser's
// tokens.
func (s *Simulator) queryAuth(c *component, code string) any {
	ac, found := c.authCodes[code]
	if !found || !s.now().Before(ac.expires) {
		return apiErr(61010, "authorization code is expired or invalid")
	}
	delete(c.authCodes, code)
	au := c.authorizers[ac.appID]
	au.refresh = "refreshtoken@@@" + randomToken()[:48]
	au.authorized = true
	tok := s.issueAuthorizerLocked(ac.appID)
	return map[string]any{"authorization_info": map[string]any{"authorizer_appid": ac.appID, "authorizer_access_token": tok,
		"expires_in": int(TokenLife / time.Second), "authorizer_refresh_token": au.refresh, "func_info": funcInfo()}}
}

// authorizerToken is api_authorizer_token: the refresh token buys the
// authoriser a new access token.
func (s *Simulator) authorizerToken(c *component, appID, refresh string) any {
	au := c.authorizers[appID]
	if au == nil || !au.authorized {
		return apiErr(61003, "component is not authorized by this account")
	}
	if refresh == "" || !hmac.Equal([]byte(au.refresh), []byte(refresh)) {
		return apiErr(61023, "refresh_token is invalid")
	}
	au.refreshes++
	tok := s.issueAuthorizerLocked(appID)
	return map[string]any{"authorizer_access_token": tok, "expires_in": int(TokenLife / time.Second), "authorizer_refresh_token": au.refresh}
}

// issueAuthorizerLocked gives the authoriser's account a new access token
// (the previous one valid for TokenOverlap), as an account's own fetch
// does; s.mu is held.
func (s *Simulator) issueAuthorizerLocked(appID string) string {
	return s.rotateTokenLocked(s.appLocked(appID), appID, s.now())
}

// rotateTokenLocked gives a a new access token: the previous one stays
// valid for TokenOverlap (or until it expires), any older one is invalid
// from now on; s.mu is held.
func (s *Simulator) rotateTokenLocked(a *app, appID string, now time.Time) string {
	if a.prevToken != "" {
		delete(s.tokens, a.prevToken)
	}
	a.prevToken, a.prevUntil = a.token, now.Add(TokenOverlap)
	if a.tokenExpires.Before(a.prevUntil) {
		a.prevUntil = a.tokenExpires
	}
	a.token, a.tokenExpires = randomToken(), now.Add(TokenLife)
	s.tokens[a.token] = appID
	return a.token
}

// componentOAuth is /sns/oauth2/component/access_token: a fan's OAuth code
// for the openid, on the authoriser's behalf.
func (s *Simulator) componentOAuth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("grant_type") != "authorization_code" {
		writeJSON(w, apiErr(40002, "invalid grant_type"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, errb := s.componentByToken(q.Get("component_access_token"))
	if errb.ErrCode == 0 && q.Get("component_appid") != c.id {
		errb = apiErr(61004, "component_appid does not match the component_access_token")
	}
	if errb.ErrCode != 0 {
		writeJSON(w, errb)
		return
	}
	appID := q.Get("appid")
	if au := c.authorizers[appID]; au == nil || !au.authorized {
		writeJSON(w, apiErr(61003, "component is not authorized by this account"))
		return
	}
	oc := s.codes[q.Get("code")]
	if oc == nil || oc.appID != appID || !s.now().Before(oc.expires) {
		writeJSON(w, apiErr(40029, "invalid code"))
		return
	}
	delete(s.codes, q.Get("code"))
	writeJSON(w, map[string]any{"access_token": randomToken(), "expires_in": 7200, "refresh_token": randomToken(),
		"openid": oc.openID, "scope": "snsapi_base"})
}

// authorizeCheck checks a request for the authorisation page: the
// component, a live pre-auth code of it, and a redirect to the server
// itself (WeChat returns only to the platform's registered domain).
func (s *Simulator) authorizeCheck(componentAppID, preAuthCode, redirectURI, host string) (*url.URL, bool) {
	u, err := url.Parse(redirectURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host != host {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.comp.components[componentAppID]
	if c == nil {
		return nil, false
	}
	exp, found := c.preAuth[preAuthCode]
	return u, found && s.now().Before(exp)
}

// Authorize plays the administrator on device confirming the authorisation
// page: the account appID (one the device administers; "" creates a new
// sandbox account for it) is authorised to the component, the pre-auth
// code is used up, and the returned auth code goes back to the platform.
func (s *Simulator) Authorize(componentAppID, preAuthCode, device, appID string) (string, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.comp.components[componentAppID]
	if c == nil {
		return "", "", false
	}
	exp, found := c.preAuth[preAuthCode]
	if !found || !s.now().Before(exp) {
		return "", "", false
	}
	if appID == "" {
		appID = "wx" + randomHex(8)
		a := s.appLocked(appID)
		a.secret = randomToken()[:32] // nobody's: the account is reached through the component only
		s.comp.admins[device] = append(s.comp.admins[device], appID)
	} else if !slices.Contains(s.comp.admins[device], appID) {
		return "", "", false
	}
	delete(c.preAuth, preAuthCode)
	if c.authorizers[appID] == nil {
		c.authorizers[appID] = &authorizerInfo{appID: appID}
	}
	code := "queryauthcode@@@" + randomToken()[:48]
	c.authCodes[code] = authCode{appID: appID, expires: s.now().Add(AuthCodeLife)}
	return appID, code, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
