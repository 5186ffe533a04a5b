package wechat_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"strings"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

func openSQLite(t *testing.T) (*engine.Engine, error) {
	e, err := tenants.OpenSQLite(t.TempDir(), wechat.Schema)
	if err == nil {
		t.Cleanup(func() { e.Close() })
	}
	return e, err
}

func newTenant(t *testing.T, e *engine.Engine) string { return enginetest.Tenant(t, e) }

func TestValidateScene(t *testing.T) {
	for scene, ok := range map[string]bool{
		"g:abc":                  true,
		"guide-7":                true,
		strings.Repeat("x", 64):  true,
		"":                       false,
		strings.Repeat("x", 65):  false,
		"with space":             false,
		"导购":                     false,
		"tab\there":              false,
		"nul\x00here":            false,
		"rlo\u202Ehere":          false,
		"d=1&u=2":                true,
		"qrscene_looks-prefixed": true,
	} {
		err := wechat.ValidateScene(scene)
		if (err == nil) != ok {
			t.Errorf("scene %q: %v", scene, err)
		}
		if fe := (*fault.Error)(nil); err != nil && (!errors.As(err, &fe) || fe.Status != 400 || fe.Field != "scene") {
			t.Errorf("scene %q: %v, want a 400 naming scene", scene, err)
		}
	}
}

func TestQRCodes(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		tenant, other := enginetest.Tenant(t, e), enginetest.Tenant(t, e)
		a := newAccounts(e, true)
		q1, err := a.QR(ctx, tenant, "guide-7", false)
		if err != nil {
			t.Fatal(err)
		}
		if q1.Permanent || q1.Ticket == "" || !strings.HasPrefix(q1.URL, "http://weixin.qq.com/q/") {
			t.Errorf("temporary code: %+v", q1)
		}
		if life := time.Until(q1.ExpiresAt); life < 29*24*time.Hour || life > 31*24*time.Hour {
			t.Errorf("temporary code lives %s, want 30 days", life)
		}
		// Cached per scene: asking again costs no API call.
		q2, err := a.QR(ctx, tenant, "guide-7", false)
		if err != nil || q2.Ticket != q1.Ticket {
			t.Errorf("second ask issued another code: %v", err)
		}
		p, err := a.QR(ctx, tenant, "guide-7", true)
		if err != nil || !p.Permanent || !p.ExpiresAt.IsZero() || p.Ticket == q1.Ticket {
			t.Errorf("permanent code: %+v %v", p, err)
		}
		// A temporary code about to expire is reissued.
		clock.advance(t, 29*24*time.Hour+time.Hour)
		q3, err := a.QR(ctx, tenant, "guide-7", false)
		if err != nil || q3.Ticket == q1.Ticket {
			t.Errorf("code a day from expiry reused: %v", err)
		}
		url, img, err := a.QRCode(ctx, tenant, "guide-7", false)
		if err != nil || url != q3.URL {
			t.Fatalf("QRCode: %v", err)
		}
		if _, err := png.Decode(bytes.NewReader(img)); err != nil {
			t.Errorf("not a PNG: %v", err)
		}
		list, err := a.QRCodes(ctx, tenant, 10)
		if err != nil || len(list) != 2 {
			t.Errorf("list: %d %v", len(list), err)
		}
		if list, _ := a.QRCodes(ctx, other, 10); len(list) != 0 {
			t.Errorf("another shop lists %d codes", len(list))
		}
		if _, err := a.QR(ctx, tenant, strings.Repeat("x", 65), false); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("65-character scene: %v", err)
		}
		if _, err := newAccounts(e, false).QR(ctx, other, "x", false); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("QR without an account on a live server: %v", err)
		}
	})
}
