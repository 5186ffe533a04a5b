package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
)

// The fake WeChat users: a browser's device cookie names one, and each
// account sees it under an openid of its own.

// OriginalID is the account's 原始ID (gh_...), the ToUserName of pushes.
func OriginalID(appID string) string {
	h := sha256.Sum256([]byte(appID))
	return "gh_" + hex.EncodeToString(h[:6])
}

// OpenID is the openid of the fake WeChat user on device for the app:
// stable, per account, shaped like WeChat's (28 characters from "o").
func (s *Simulator) OpenID(appID, device string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(appID + "|" + device))
	return "o" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:27]
}

// DeviceCookie names the browser's fake WeChat user in the sandbox.
const DeviceCookie = "ms_sandbox_device"

// Device returns the browser's sandbox device id, giving it one if needed.
func Device(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(DeviceCookie); err == nil && len(c.Value) == 22 {
		return c.Value
	}
	id := randomToken()[:22]
	http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: id, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	r.AddCookie(&http.Cookie{Name: DeviceCookie, Value: id})
	return id
}

// NewDevice gives the browser a new fake WeChat user.
func NewDevice(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: randomToken()[:22], Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
