package sandbox

import (
	"net/http"
	"net/url"
	"time"
)

// Web OAuth: the page a browser is sent to, and the code exchange the SDK
// makes.

// oauthCode is an OAuth code handed to a browser, single use.
type oauthCode struct {
	appID, openID string
	expires       time.Time
}

// AuthorizeHandler is WeChat's web-OAuth page (the browser, not the SDK,
// goes there), silent like snsapi_base: it signs the browser's fake WeChat
// user (its device cookie) in to the app and returns to redirect_uri with a
// code and the state. The server mounts it on its own address.
func (s *Simulator) AuthorizeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		appID, redirect, state := q.Get("appid"), q.Get("redirect_uri"), q.Get("state")
		if !appIDPattern.MatchString(appID) {
			http.Error(w, "sandbox WeChat: invalid appid", http.StatusBadRequest)
			return
		}
		if q.Get("response_type") != "code" || (q.Get("scope") != "snsapi_base" && q.Get("scope") != "snsapi_userinfo") {
			http.Error(w, "sandbox WeChat: response_type must be code and scope snsapi_base or snsapi_userinfo", http.StatusBadRequest)
			return
		}
		u, err := url.Parse(redirect)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host != r.Host {
			// WeChat only returns to the account's authorized domain; the
			// sandbox only to the server it runs in.
			http.Error(w, "sandbox WeChat: redirect_uri must be on this server (redirect_uri 域名与后台配置不一致)", http.StatusBadRequest)
			return
		}
		device := Device(w, r)
		code := randomToken()[:32]
		s.mu.Lock()
		for c, oc := range s.codes {
			if !s.now().Before(oc.expires) {
				delete(s.codes, c)
			}
		}
		s.codes[code] = &oauthCode{appID: appID, openID: s.OpenID(appID, device), expires: s.now().Add(5 * time.Minute)}
		s.mu.Unlock()
		v := u.Query()
		v.Set("code", code)
		v.Set("state", state)
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
}

// oauthToken is /sns/oauth2/access_token: a code for the fan's openid.
func (s *Simulator) oauthToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID, secret, code := q.Get("appid"), q.Get("secret"), q.Get("code")
	if q.Get("grant_type") != "authorization_code" {
		writeJSON(w, apiErr(40002, "invalid grant_type"))
		return
	}
	if !appIDPattern.MatchString(appID) {
		writeJSON(w, apiErr(40013, "invalid appid"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.credentialsLocked(appID, secret); !known {
		writeJSON(w, apiErr(40125, "invalid appsecret"))
		return
	}
	oc := s.codes[code]
	if oc == nil || oc.appID != appID || !s.now().Before(oc.expires) {
		writeJSON(w, apiErr(40029, "invalid code"))
		return
	}
	delete(s.codes, code) // single use
	writeJSON(w, map[string]any{"access_token": randomToken(), "expires_in": 7200, "refresh_token": randomToken(),
		"openid": oc.openID, "scope": "snsapi_base"})
}
