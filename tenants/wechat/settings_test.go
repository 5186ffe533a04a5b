package wechat_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
)

const (
	appID  = "wx1234567890abcdef"
	secret = "0123456789abcdef0123456789abcdef"
	aesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

func TestSettingsValidation(t *testing.T) {
	valid := wechat.Input{AppID: appID, AppSecret: secret, Token: "tok3n", Mode: wechat.Plaintext}
	for _, tc := range []struct {
		given string
		when  func(in *wechat.Input)
		field string
	}{
		{"no app id", func(in *wechat.Input) { in.AppID = "" }, "app_id"},
		{"an app id not starting with wx", func(in *wechat.Input) { in.AppID = "ab1234567890abcdef" }, "app_id"},
		{"a short app id", func(in *wechat.Input) { in.AppID = "wx1234" }, "app_id"},
		{"no secret for a new account", func(in *wechat.Input) { in.AppSecret = "" }, "app_secret"},
		{"a secret of 31 characters", func(in *wechat.Input) { in.AppSecret = secret[1:] }, "app_secret"},
		{"no token", func(in *wechat.Input) { in.Token = "" }, "token"},
		{"a token with a space", func(in *wechat.Input) { in.Token = "to ken" }, "token"},
		{"a token of 2 characters", func(in *wechat.Input) { in.Token = "ab" }, "token"},
		{"safe mode without a key", func(in *wechat.Input) { in.Mode = wechat.Safe }, "encoding_aes_key"},
		{"a key of 42 characters", func(in *wechat.Input) { in.EncodingAESKey = aesKey[1:] }, "encoding_aes_key"},
		{"a key with punctuation", func(in *wechat.Input) { in.EncodingAESKey = strings.Repeat("a", 42) + "+" }, "encoding_aes_key"},
		{"an unknown mode", func(in *wechat.Input) { in.Mode = "secret" }, "mode"},
		{"a welcome of 601 characters", func(in *wechat.Input) { in.Welcome = strings.Repeat("好", 601) }, "welcome"},
		{"a welcome with a NUL", func(in *wechat.Input) { in.Welcome = "Welcome\x00!" }, "welcome"},
		{"a welcome with a right-to-left override", func(in *wechat.Input) { in.Welcome = "Welcome \u202Eemoclew" }, "welcome"},
		{"a welcome with a lone CR", func(in *wechat.Input) { in.Welcome = "Welcome\rto the shop" }, "welcome"},
	} {
		t.Run(tc.given, func(t *testing.T) {
			e, err := tenants.OpenSQLite(t.TempDir(), wechat.Schema)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			tenant := enginetest.Tenant(t, e)
			in := valid
			tc.when(&in)
			_, err = newAccounts(e, false).Save(context.Background(), tenant, in)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Status != 400 || fe.Field != tc.field {
				t.Errorf("expect a 400 on %s, got %v", tc.field, err)
			}
		})
	}
}

func TestSettingsStore(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		tenant, other := enginetest.Tenant(t, e), enginetest.Tenant(t, e)
		live := newAccounts(e, false)
		if _, err := live.Settings(ctx, tenant); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("live settings before any: %v", err)
		}
		s, err := live.Save(ctx, tenant, wechat.Input{AppID: appID, AppSecret: secret, Token: "tok3n", EncodingAESKey: aesKey})
		if err != nil {
			t.Fatal(err)
		}
		if s.Mode != wechat.Safe || s.Rev != 1 {
			t.Errorf("a key without a mode means safe mode: %+v", s)
		}
		// Secrets left empty keep their values; a new key keeps the old one
		// as the previous key.
		newKey := strings.Repeat("B", 42) + "A"
		s, err = live.Save(ctx, tenant, wechat.Input{AppID: appID, EncodingAESKey: newKey, Mode: wechat.Compatible, Welcome: "Hi"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := live.Settings(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if got.AppSecret != secret || got.Token != "tok3n" || got.EncodingAESKey != newKey || got.PrevEncodingAESKey != aesKey ||
			got.Mode != wechat.Compatible || got.Welcome != "Hi" || got.Rev != 2 {
			t.Errorf("after a partial save: %+v", got)
		}
		v := got.View()
		for _, shown := range []string{v.AppSecret, v.Token, v.EncodingAESKey} {
			for _, full := range []string{secret, "tok3n", newKey, aesKey} {
				if strings.Contains(shown, full) {
					t.Errorf("view shows a secret: %q", shown)
				}
			}
		}
		if v.AppSecret != "••••cdef" {
			t.Errorf("masked secret = %q", v.AppSecret)
		}
		// Another account needs its own secret.
		if _, err := live.Save(ctx, tenant, wechat.Input{AppID: "wx00000000000000ff", Token: "tok3n"}); err == nil {
			t.Error("another app id kept the old secret")
		}
		if _, err := live.Settings(ctx, other); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("another shop sees the settings: %v", err)
		}

		// Sandbox: a shop without settings gets generated ones, once.
		sb := newAccounts(e, true)
		a, err := sb.Settings(ctx, other)
		if err != nil || !a.Sandbox || a.Mode != wechat.Safe || len(a.EncodingAESKey) != 43 {
			t.Fatalf("sandbox settings: %+v %v", a, err)
		}
		b, err := newAccounts(e, true).Settings(ctx, other)
		if err != nil || b.AppID != a.AppID || b.AppSecret != a.AppSecret {
			t.Errorf("sandbox settings generated twice: %v %v", a.AppID, b.AppID)
		}
		// A live server does not use sandbox credentials.
		if _, err := live.Settings(ctx, other); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("live server uses sandbox credentials: %v", err)
		}
		if _, err := live.Account(ctx, other); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("live account from sandbox credentials: %v", err)
		}
	})
}

// TestWelcomeLines: the welcome may span lines; a textarea's CRLF is kept
// as LF.
func TestWelcomeLines(t *testing.T) {
	e, err := tenants.OpenSQLite(t.TempDir(), wechat.Schema)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	in := wechat.Input{AppID: appID, AppSecret: secret, Token: "tok3n", Welcome: " Thanks for following!\r\n\r\nTap the menu. "}
	s, err := newAccounts(e, false).Save(context.Background(), enginetest.Tenant(t, e), in)
	if err != nil || s.Welcome != "Thanks for following!\n\nTap the menu." {
		t.Fatalf("saved welcome %q, %v", s.Welcome, err)
	}
}
