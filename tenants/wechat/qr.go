package wechat

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/basic"
	qrcode "github.com/skip2/go-qrcode"

	"microshop/tenants/fault"
)

// Parametric QR codes. A fan who scans one and follows sends a subscribe
// with EventKey qrscene_<scene>; a follower sends SCAN with <scene>.
//
// WeChat's limits, which the SDK does not check: scene_str is 1 to 64
// characters; a temporary code lives at most 30 days; an account may issue
// at most 100,000 permanent codes, ever. So temporary codes are the default
// (issued for the full 30 days and reused until a day before they expire),
// permanent ones are for codes printed to last (a guide's badge), and each
// scene's code is cached so asking again costs no API call or quota.

const (
	// MaxScene is the longest scene string WeChat accepts.
	MaxScene = 64
	// TempQRLife is how long a temporary code lives (WeChat's maximum).
	TempQRLife = 30 * 24 * time.Hour
	// MaxPermanentQR is WeChat's lifetime cap on permanent codes.
	MaxPermanentQR = 100_000
	// qrReuseMargin: a cached temporary code is reissued this long before
	// it expires, so a code handed out is good for at least as long.
	qrReuseMargin = 24 * time.Hour
	// QRSize is the default PNG size in pixels.
	QRSize = 320
)

// ValidateScene says what is wrong with a scene string, or nil: 1 to 64
// printable ASCII characters without spaces (WeChat echoes it back in
// EventKey, so nothing that needs escaping).
func ValidateScene(scene string) error {
	if scene == "" {
		return fault.Invalid("scene", "is required")
	}
	if len(scene) > MaxScene {
		return fault.Invalid("scene", "must be at most %d characters, got %d", MaxScene, utf8.RuneCountInString(scene))
	}
	for i := 0; i < len(scene); i++ {
		if c := scene[i]; c <= ' ' || c > '~' {
			return fault.Invalid("scene", "may contain only printable ASCII characters without spaces")
		}
	}
	return nil
}

// QR returns the shop's code for scene, issuing it through the QR API if
// none is cached (or the cached temporary one is about to expire).
func (a *Accounts) QR(ctx context.Context, tenantID, scene string, permanent bool) (QRCode, error) {
	if err := ValidateScene(scene); err != nil {
		return QRCode{}, err
	}
	acct, err := a.Account(ctx, tenantID)
	if err != nil {
		return QRCode{}, err
	}
	fresh := func(q QRCode) bool {
		return q.Permanent || a.now().Add(qrReuseMargin).Before(q.ExpiresAt)
	}
	q, err := a.store.QR(ctx, tenantID, scene, permanent)
	if err == nil && fresh(q) {
		return q, nil
	}
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return QRCode{}, err
	}
	mu := a.lock(fmt.Sprintf("qr:%s:%t:%s", tenantID, permanent, scene))
	mu.Lock()
	defer mu.Unlock()
	if q, err := a.store.QR(ctx, tenantID, scene, permanent); err == nil && fresh(q) {
		return q, nil
	}
	if permanent {
		n, err := a.store.CountPermanentQR(ctx, tenantID)
		if err != nil {
			return QRCode{}, err
		}
		if n >= MaxPermanentQR {
			return QRCode{}, fault.Conflict("this account has issued WeChat's maximum of %d permanent QR codes; use temporary codes", MaxPermanentQR)
		}
	}
	req := &basic.Request{ActionName: "QR_STR_SCENE", ExpireSeconds: int64(TempQRLife / time.Second)}
	if permanent {
		req = &basic.Request{ActionName: "QR_LIMIT_STR_SCENE"}
	}
	req.ActionInfo.Scene.SceneStr = scene
	var t *basic.Ticket
	err = acct.call(ctx, "issue the QR code", func() error {
		var err error
		t, err = acct.oa.GetBasic().GetQRTicket(req)
		return err
	})
	if err != nil {
		return QRCode{}, err
	}
	now := a.now().UTC().Truncate(time.Millisecond)
	q = QRCode{Scene: scene, Permanent: permanent, Ticket: t.Ticket, URL: t.URL, CreatedAt: now}
	if !permanent {
		life := time.Duration(t.ExpireSeconds) * time.Second
		if life <= 0 || life > TempQRLife {
			life = TempQRLife
		}
		q.ExpiresAt = now.Add(life)
	}
	if q.URL == "" {
		q.URL = basic.ShowQRCode(t) // the image URL still encodes the code
	}
	if err := a.store.PutQR(ctx, tenantID, q); err != nil {
		return QRCode{}, err
	}
	return q, nil
}

// QRCode returns the URL the shop's code for scene encodes and the code as
// a PNG, rendered here from that URL. Other packages (guides' codes) call
// it.
func (a *Accounts) QRCode(ctx context.Context, tenantID, scene string, permanent bool) (string, []byte, error) {
	q, err := a.QR(ctx, tenantID, scene, permanent)
	if err != nil {
		return "", nil, err
	}
	png, err := PNG(q.URL, QRSize)
	return q.URL, png, err
}

// QRCodes lists the shop's codes, newest first.
func (a *Accounts) QRCodes(ctx context.Context, tenantID string, limit int) ([]QRCode, error) {
	return a.store.QRCodes(ctx, tenantID, limit)
}

// PNG renders content as a QR code of size pixels (128 to 1024).
func PNG(content string, size int) ([]byte, error) {
	size = max(128, min(size, 1024))
	png, err := qrcode.Encode(content, qrcode.Medium, size)
	if err != nil {
		return nil, fmt.Errorf("render qr code: %w", err)
	}
	return png, nil
}
