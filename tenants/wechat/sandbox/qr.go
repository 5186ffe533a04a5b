package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	qrcode "github.com/skip2/go-qrcode"
)

// Parametric QR codes: the tickets an account issues (QR_SCENE,
// QR_STR_SCENE and their permanent twins) and the image WeChat shows for
// one.

// ticket is an issued QR code.
type ticket struct {
	appID, scene string
	permanent    bool
	expires      time.Time // zero: permanent
}

// qrCreate is /cgi-bin/qrcode/create.
func (s *Simulator) qrCreate(a *app, _ *http.Request, body []byte) any {
	var req struct {
		ExpireSeconds int64  `json:"expire_seconds"`
		ActionName    string `json:"action_name"`
		ActionInfo    struct {
			Scene struct {
				SceneStr string `json:"scene_str"`
				SceneID  int64  `json:"scene_id"`
			} `json:"scene"`
		} `json:"action_info"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(47001, "data format error")
	}
	scene := req.ActionInfo.Scene.SceneStr
	permanent := false
	switch req.ActionName {
	case "QR_SCENE", "QR_LIMIT_SCENE":
		if req.ActionInfo.Scene.SceneID <= 0 || (req.ActionName == "QR_LIMIT_SCENE" && req.ActionInfo.Scene.SceneID > 100000) {
			return apiErr(40053, "invalid action info")
		}
		scene = strconv.FormatInt(req.ActionInfo.Scene.SceneID, 10)
		permanent = req.ActionName == "QR_LIMIT_SCENE"
	case "QR_STR_SCENE", "QR_LIMIT_STR_SCENE":
		if scene == "" || utf8.RuneCountInString(scene) > 64 {
			return apiErr(40053, "invalid action info: scene_str must be 1 to 64 characters")
		}
		permanent = req.ActionName == "QR_LIMIT_STR_SCENE"
	default:
		return apiErr(40054, "invalid action name")
	}
	now := s.now()
	t := &ticket{appID: a.id, scene: scene, permanent: permanent}
	expire := int64(0)
	if permanent {
		if a.permanentQR >= MaxPermanentQR {
			return apiErr(45009, "reach max permanent qrcode limit")
		}
		a.permanentQR++
	} else {
		expire = req.ExpireSeconds
		if expire <= 0 {
			expire = 60 // WeChat's default when expire_seconds is left out
		}
		if expire > MaxTempQRSeconds {
			expire = MaxTempQRSeconds
		}
		t.expires = now.Add(time.Duration(expire) * time.Second)
	}
	tk := "sandbox" + randomToken()[:40]
	s.tickets[tk] = t
	out := map[string]any{"ticket": tk, "url": "http://weixin.qq.com/q/" + tk}
	if !permanent {
		out["expire_seconds"] = expire
	}
	return out
}

// showQR is /cgi-bin/showqrcode: the code's image.
func (s *Simulator) showQR(w http.ResponseWriter, r *http.Request) {
	tk := r.URL.Query().Get("ticket")
	s.mu.Lock()
	t := s.tickets[tk]
	s.mu.Unlock()
	if t == nil || (!t.expires.IsZero() && !s.now().Before(t.expires)) {
		http.Error(w, "invalid ticket", http.StatusNotFound)
		return
	}
	png, err := qrcode.Encode("http://weixin.qq.com/q/"+tk, qrcode.Medium, 430)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg") // WeChat says jpeg; the bytes are a PNG, which browsers accept
	_, _ = w.Write(png)
}
