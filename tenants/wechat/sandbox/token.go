package sandbox

import (
	"crypto/hmac"
	"net/http"
	"regexp"
	"time"
)

// Access tokens: an app's id and secret buy a token (TokenFetchesPerDay a
// day); each new one leaves the one before it valid for TokenOverlap.

// appIDPattern is the shape of an AppID. The simulator checks it itself
// rather than through package wechat: it plays WeChat, not the client.
var appIDPattern = regexp.MustCompile(`^wx[0-9A-Za-z]{16}$`)

// token is /cgi-bin/token.
func (s *Simulator) token(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("grant_type") != "client_credential" {
		writeJSON(w, apiErr(40002, "invalid grant_type"))
		return
	}
	appID, secret := q.Get("appid"), q.Get("secret")
	if !appIDPattern.MatchString(appID) {
		writeJSON(w, apiErr(40013, "invalid appid"))
		return
	}
	if len(secret) != 32 {
		writeJSON(w, apiErr(40125, "invalid appsecret"))
		return
	}
	tok, life, errb := s.issueToken(appID, secret)
	if errb.ErrCode != 0 {
		writeJSON(w, errb)
		return
	}
	writeJSON(w, map[string]any{"access_token": tok, "expires_in": int(life / time.Second)})
}

// issueToken issues a new token for the app: the previous one stays valid
// for TokenOverlap, any older one is invalid from now on.
func (s *Simulator) issueToken(appID, secret string) (string, time.Duration, errBody) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a, known := s.credentialsLocked(appID, secret)
	if !known {
		return "", 0, apiErr(40125, "invalid appsecret")
	}
	day := now.In(china).Format("2006-01-02")
	if a.fetchDay != day {
		a.fetchDay, a.fetches = day, 0
	}
	if a.fetches >= TokenFetchesPerDay {
		return "", 0, apiErr(45009, "reach max api daily quota limit")
	}
	a.fetches++
	a.issued++
	return s.rotateTokenLocked(a, appID, now), TokenLife, ok
}

// credentialsLocked returns the app with appID if secret is its AppSecret:
// WeChat gives each account its secret, the sandbox learns it from the
// account's first use (the platform lets one shop only enter an AppID, and
// the server has the sandbox forget an AppID its shop gives up, so the
// first use is the owner's). s.mu is held.
func (s *Simulator) credentialsLocked(appID, secret string) (*app, bool) {
	a := s.appLocked(appID)
	if a.secret == "" {
		a.secret = secret
	}
	return a, secret != "" && hmac.Equal([]byte(a.secret), []byte(secret))
}

// Owns reports whether secret is the AppSecret of the app with appID (an
// app not used yet takes it): the console shows an account's messages and
// acts for its fans only with its credentials.
func (s *Simulator) Owns(appID, secret string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.credentialsLocked(appID, secret)
	return ok
}

// TokenFetches counts the tokens issued to the app since the simulator
// started (not the day's quota count, which starts over at midnight).
func (s *Simulator) TokenFetches(appID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[appID]; a != nil {
		return a.issued
	}
	return 0
}

// appByToken is the app an access token was issued to, as WeChat checks
// it: the latest token until it expires, the one before it during the
// overlap; anything else is an error body.
func (s *Simulator) appByToken(tok string) (*app, errBody) {
	invalid := apiErr(40001, "invalid credential, access_token is invalid or not latest")
	if tok == "" {
		return nil, apiErr(41001, "access_token missing")
	}
	appID, known := s.tokens[tok]
	if !known {
		return nil, invalid
	}
	a := s.apps[appID]
	now := s.now()
	switch {
	case tok == a.token && !now.Before(a.tokenExpires):
		return nil, apiErr(42001, "access_token expired")
	case tok == a.token, tok == a.prevToken && now.Before(a.prevUntil):
		return a, ok
	}
	return nil, invalid
}
