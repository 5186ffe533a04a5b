package order

import (
	"bytes"
	"context"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/secret"
)

// TestWeChatPayKeysSealed: the API v3 key and the private key are stored
// sealed and read plain; a row from before sealing reads and is sealed on
// its next save; under another platform key they read as missing, not as
// an error that would stop the shop's orders.
func TestWeChatPayKeysSealed(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		shop := enginetest.Tenant(t, e)
		plain := NewStore(e)
		box, err := secret.New(bytes.Repeat([]byte{7}, secret.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		sealed := SealStore(plain, box)
		st := DefaultSettings()
		st.WeChatPay.MchID, st.WeChatPay.APIv3Key, st.WeChatPay.PrivateKey = "1900000109", "0123456789abcdef0123456789abcdef", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"

		// Written before sealing began: read as it is, sealed when saved.
		if err := plain.SaveSettings(ctx, shop, st); err != nil {
			t.Fatal(err)
		}
		if got, err := sealed.Settings(ctx, shop); err != nil || got.WeChatPay.APIv3Key != st.WeChatPay.APIv3Key {
			t.Fatalf("a plain row through the sealed store: %v %q", err, got.WeChatPay.APIv3Key)
		}
		st.Rev++ // saved once
		if err := sealed.SaveSettings(ctx, shop, st); err != nil {
			t.Fatal(err)
		}
		raw, err := plain.Settings(ctx, shop)
		if err != nil {
			t.Fatal(err)
		}
		if !secret.Sealed(raw.WeChatPay.APIv3Key) || !secret.Sealed(raw.WeChatPay.PrivateKey) || raw.WeChatPay.MchID != st.WeChatPay.MchID {
			t.Errorf("stored %+v, want both keys sealed and the rest plain", raw.WeChatPay)
		}
		got, err := sealed.Settings(ctx, shop)
		if err != nil || got.WeChatPay != st.WeChatPay {
			t.Errorf("read back %+v %v, want %+v", got.WeChatPay, err, st.WeChatPay)
		}

		other, _ := secret.New(bytes.Repeat([]byte{9}, secret.KeySize))
		got, err = SealStore(plain, other).Settings(ctx, shop)
		if err != nil || got.WeChatPay.APIv3Key != "" || got.WeChatPay.PrivateKey != "" || got.WeChatPay.MchID != st.WeChatPay.MchID {
			t.Errorf("under another key: %+v %v, want the keys missing and no error", got.WeChatPay, err)
		}
	})
}
