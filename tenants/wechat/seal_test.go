package wechat_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	sealing "microshop/tenants/secret"
	"microshop/tenants/wechat"
)

// sealedAccounts is one replica's accounts with secrets sealed by box, and
// its component.
func sealedAccounts(t *testing.T, e *engine.Engine, box *sealing.Box) (*wechat.Accounts, *wechat.Component) {
	t.Helper()
	a := wechat.New(wechat.SealStore(wechat.NewStore(e), box), tenants.NewStore(e), wechat.Options{Sandbox: true, Now: clock.Now,
		Log: discard, Timeout: 5 * time.Second})
	c, err := wechat.NewComponent(context.Background(), e, a, wechat.ComponentOptions{Box: box})
	if err != nil {
		t.Fatal(err)
	}
	return a, c
}

func testBox(t *testing.T, seed byte) *sealing.Box {
	t.Helper()
	key := bytes.Repeat([]byte{seed}, sealing.KeySize)
	b, err := sealing.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawPlatform reads a column of a platform record as stored.
func rawPlatform(t *testing.T, e *engine.Engine, table, idCol, id, col string) string {
	t.Helper()
	ctx := context.Background()
	if e.Kind() == engine.Mongo {
		var doc bson.M
		if err := e.PlatformMongo().Collection(table).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		v, _ := doc[col].(string)
		return v
	}
	var v string
	if err := e.PlatformSQL().QueryRowContext(ctx, `SELECT `+col+` FROM `+table+` WHERE `+idCol+` = ?`, id).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSecretsAtRest: the component's AppSecret and message key, an
// authorisation's refresh token and a shop's pasted AppSecret and message
// key are sealed in the database (not in the SQLite files either), read
// back plain; rows written plain before still read, and are sealed on
// their next write; another key is a clear error, not garbage or a panic.
func TestSecretsAtRest(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{wechat.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		box := testBox(t, 1)
		accounts, comp := sealedAccounts(t, e, box)
		gen := wechat.SandboxSettings(clock.Now())
		cfg, err := comp.SaveConfig(ctx, wechat.ComponentInput{AppID: gen.AppID, AppSecret: gen.AppSecret, Token: gen.Token,
			EncodingAESKey: gen.EncodingAESKey})
		if err != nil {
			t.Fatal(err)
		}
		for col, plain := range map[string]string{"app_secret": gen.AppSecret, "aes_key": gen.EncodingAESKey} {
			idCol := "id"
			if raw := rawPlatform(t, e, "wx_component", idCol, "component", col); !sealing.Sealed(raw) || raw == plain {
				t.Errorf("wx_component.%s stored as %q", col, raw)
			}
		}
		if got, err := comp.Config(ctx); err != nil || got.AppSecret != gen.AppSecret || got.EncodingAESKey != gen.EncodingAESKey {
			t.Fatalf("config read back: %+v %v", got, err)
		}

		// Authorise through the sandbox: the refresh token is sealed.
		q, body, err := wechat.SignComponentEvent(cfg, sim.TicketEvent(cfg.AppID, sim.ComponentTicket(cfg.AppID)), clock.Now().Unix(), "12345")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := comp.ReceiveEvent(ctx, q, body); err != nil {
			t.Fatalf("ticket push: %v", err)
		}
		tenant := newTenant(t, e)
		link, err := comp.Start(ctx, tenant, "https://shop.example/admin/wechat/connect/callback")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(link)
		redirect, _ := url.Parse(u.Query().Get("redirect_uri"))
		_, code, ok := sim.Authorize(cfg.AppID, u.Query().Get("pre_auth_code"), "admin-device-"+tenant, "")
		if !ok {
			t.Fatal("sandbox authorisation refused")
		}
		auth, err := comp.Complete(ctx, tenant, redirect.Query().Get("state"), code)
		if err != nil {
			t.Fatal(err)
		}
		raw := rawPlatform(t, e, "wx_authorizations", "tenant_id", tenant, "refresh_token")
		if !sealing.Sealed(raw) || raw == auth.RefreshToken || auth.RefreshToken == "" {
			t.Errorf("refresh token stored as %q (plain %q)", raw, auth.RefreshToken)
		}
		if got, err := comp.Authorization(ctx, tenant); err != nil || got.RefreshToken != auth.RefreshToken {
			t.Errorf("authorisation read back: %+v %v", got, err)
		}

		// A shop's pasted credentials: sealed as stored, plain as read.
		shop := newTenant(t, e)
		pasted := wechat.SandboxSettings(clock.Now())
		if _, err := accounts.Save(ctx, shop, wechat.Input{AppID: pasted.AppID, AppSecret: pasted.AppSecret, Token: pasted.Token,
			EncodingAESKey: pasted.EncodingAESKey, Mode: wechat.Safe}); err != nil {
			t.Fatal(err)
		}
		plainStore := wechat.NewStore(e)
		stored, err := plainStore.Settings(ctx, shop)
		if err != nil || !sealing.Sealed(stored.AppSecret) || !sealing.Sealed(stored.EncodingAESKey) || stored.Token != pasted.Token {
			t.Errorf("pasted settings as stored: %+v %v", stored, err)
		}
		if got, err := accounts.Settings(ctx, shop); err != nil || got.AppSecret != pasted.AppSecret || got.EncodingAESKey != pasted.EncodingAESKey {
			t.Errorf("pasted settings read back: %+v %v", got, err)
		}

		// Nothing plain in the SQLite files.
		if e.Kind() == engine.SQLite {
			var seq int
			var name, file string
			if err := e.PlatformSQL().QueryRow(`PRAGMA database_list`).Scan(&seq, &name, &file); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "*"))
			for _, f := range files {
				b, _ := os.ReadFile(f)
				for _, plain := range []string{gen.AppSecret, gen.EncodingAESKey, auth.RefreshToken, pasted.AppSecret, pasted.EncodingAESKey} {
					if bytes.Contains(b, []byte(plain)) {
						t.Errorf("%s holds a secret in plain text", filepath.Base(f))
					}
				}
			}
		}

		// A row written plain (before sealing began) still reads, and is
		// sealed on its next write.
		stored.AppSecret, stored.EncodingAESKey, stored.Rev = pasted.AppSecret, pasted.EncodingAESKey, stored.Rev+1
		if err := plainStore.SaveSettings(ctx, shop, stored); err != nil {
			t.Fatal(err)
		}
		fresh, _ := sealedAccounts(t, e, box)
		if got, err := fresh.Settings(ctx, shop); err != nil || got.AppSecret != pasted.AppSecret {
			t.Errorf("a plain row: %+v %v", got, err)
		}
		if _, err := fresh.Save(ctx, shop, wechat.Input{AppID: pasted.AppID, Token: pasted.Token, Mode: wechat.Safe, Welcome: "hi"}); err != nil {
			t.Fatal(err)
		}
		if again, err := plainStore.Settings(ctx, shop); err != nil || !sealing.Sealed(again.AppSecret) || !sealing.Sealed(again.EncodingAESKey) {
			t.Errorf("the plain row after its next write: %+v %v", again, err)
		}

		// Another key: a clear error, never another secret.
		other, otherComp := sealedAccounts(t, e, testBox(t, 2))
		if _, err := other.Settings(ctx, shop); !errors.Is(err, sealing.ErrWrongKey) {
			t.Errorf("pasted settings under another key: %v, want ErrWrongKey", err)
		}
		if _, err := otherComp.Authorization(ctx, tenant); !errors.Is(err, sealing.ErrWrongKey) {
			t.Errorf("authorisation under another key: %v, want ErrWrongKey", err)
		}
		_, err = otherComp.Config(ctx)
		var fe *fault.Error
		if !errors.Is(err, sealing.ErrWrongKey) || !errors.As(err, &fe) || fe.Status != http.StatusServiceUnavailable {
			t.Errorf("component under another key: %v, want ErrWrongKey as a 503", err)
		}

		// With the key lost, the secrets are entered again: not saving
		// without them, then sealed under the new key.
		if v, err := otherComp.View(ctx); !errors.Is(err, sealing.ErrWrongKey) || !v.Configured || v.AppID != gen.AppID || v.AppSecret != "" {
			t.Errorf("the ops view under another key: %+v %v", v, err)
		}
		if _, err := otherComp.SaveConfig(ctx, wechat.ComponentInput{AppID: gen.AppID, Token: gen.Token}); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("saving without the lost secrets: %v, want invalid", err)
		}
		if _, err := otherComp.SaveConfig(ctx, wechat.ComponentInput{AppID: gen.AppID, AppSecret: gen.AppSecret, Token: gen.Token,
			EncodingAESKey: gen.EncodingAESKey}); err != nil {
			t.Fatal(err)
		}
		if got, err := otherComp.Config(ctx); err != nil || got.AppSecret != gen.AppSecret {
			t.Errorf("the component entered again: %+v %v", got, err)
		}
		if _, err := other.Save(ctx, shop, wechat.Input{AppID: pasted.AppID, Token: pasted.Token, Mode: wechat.Safe}); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("pasted settings without the lost secrets: %v, want invalid", err)
		}
		if _, err := other.Save(ctx, shop, wechat.Input{AppID: pasted.AppID, AppSecret: pasted.AppSecret, Token: pasted.Token,
			EncodingAESKey: pasted.EncodingAESKey, Mode: wechat.Safe}); err != nil {
			t.Fatal(err)
		}
		if got, err := other.Settings(ctx, shop); err != nil || got.AppSecret != pasted.AppSecret {
			t.Errorf("pasted settings entered again: %+v %v", got, err)
		}
	})
}
