package sandbox

import (
	"net/http"
	"time"
)

// JS-SDK tickets: /cgi-bin/ticket/getticket?type=jsapi with an account's
// access token gives its jsapi ticket (7,200 s; a new one replaces the
// last, like WeChat's).

// jsapiAPI answers the ticket path; false: not it.
func (s *Simulator) jsapiAPI(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != "/cgi-bin/ticket/getticket" {
		return false
	}
	s.withApp(w, r, func(a *app, r *http.Request, _ []byte) any {
		if r.URL.Query().Get("type") != "jsapi" {
			return apiErr(40097, "invalid args: type must be jsapi")
		}
		a.ext.jsapiTicket = "sbxjsapi" + randomToken()[:78]
		a.ext.jsapiFetches++
		return map[string]any{"errcode": 0, "errmsg": "ok", "ticket": a.ext.jsapiTicket, "expires_in": int(TokenLife / time.Second)}
	})
	return true
}

// JSAPITicket is the account's current jsapi ticket ("" if none): tests
// check a page's signature with it.
func (s *Simulator) JSAPITicket(appID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[appID]; a != nil {
		return a.ext.jsapiTicket
	}
	return ""
}

// JSAPIFetches counts the jsapi tickets the account was given.
func (s *Simulator) JSAPIFetches(appID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[appID]; a != nil {
		return a.ext.jsapiFetches
	}
	return 0
}
