package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
)

// WeChat's API over HTTP: the paths the simulator answers, its JSON
// answers, and the access-token check of the calls that need one.

// ServeHTTP is WeChat's API.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	switch r.URL.Path {
	case "/cgi-bin/token":
		s.token(w, r)
	case "/cgi-bin/qrcode/create":
		s.withApp(w, r, s.qrCreate)
	case "/cgi-bin/showqrcode":
		s.showQR(w, r)
	case "/cgi-bin/message/custom/send":
		s.withApp(w, r, s.customSend)
	case "/cgi-bin/message/template/send":
		s.withApp(w, r, s.templateSend)
	case "/cgi-bin/template/get_all_private_template":
		s.withApp(w, r, s.templateList)
	case "/cgi-bin/message/mass/send", "/cgi-bin/message/mass/sendall":
		s.withApp(w, r, s.massSend)
	case "/cgi-bin/user/info":
		s.withApp(w, r, s.userInfo)
	case "/sns/oauth2/access_token":
		s.oauthToken(w, r)
	default:
		if s.componentAPI(w, r) { // the third-party platform (component.go)
			return
		}
		writeJSON(w, apiErr(48001, "api unauthorized (the sandbox does not simulate "+r.URL.Path+")"))
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

type errBody struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func apiErr(code int, msg string) errBody { return errBody{ErrCode: code, ErrMsg: msg} }

var ok = errBody{ErrCode: 0, ErrMsg: "ok"}

// withApp resolves access_token to its app, as WeChat checks it, and runs
// fn with the simulator locked.
func (s *Simulator) withApp(w http.ResponseWriter, r *http.Request, fn func(a *app, r *http.Request, body []byte) any) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, apiErr(44002, "empty post data or too large"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, errb := s.appByToken(r.URL.Query().Get("access_token"))
	if errb.ErrCode != 0 {
		writeJSON(w, errb)
		return
	}
	writeJSON(w, fn(a, r, body))
}
