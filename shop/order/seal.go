package order

import (
	"context"
	"errors"
	"fmt"

	"microshop/tenants/engine"
	"microshop/tenants/secret"
)

// SealStore is store with the shop's WeChat Pay API v3 key and private key
// sealed by box at rest (tenants/secret), as the WeChat secrets are; a nil
// box is store itself. A row written before sealing began reads as it is
// and is sealed on its next save. A secret that no longer opens (the
// platform's key changed) reads as missing: the shop's WeChat Pay is then
// not set up until the merchant enters the keys again, rather than every
// order of the shop failing.
func SealStore(store Store, box *secret.Box) Store {
	if box == nil {
		return store
	}
	return sealedStore{Store: store, box: box}
}

type sealedStore struct {
	Store
	box *secret.Box
}

func (s sealedStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	st, err := s.Store.Settings(ctx, tenantID)
	if err != nil {
		return st, err
	}
	// A key another platform key sealed reads as "" (see above).
	if err := s.box.OpenAll(&st.WeChatPay.APIv3Key, &st.WeChatPay.PrivateKey); err != nil && !errors.Is(err, secret.ErrWrongKey) {
		return st, fmt.Errorf("open the wechat pay keys of shop %s: %w", tenantID, err)
	}
	return st, nil
}

func (s sealedStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	if err := s.box.SealAll(&st.WeChatPay.APIv3Key, &st.WeChatPay.PrivateKey); err != nil {
		return fmt.Errorf("seal the wechat pay keys of shop %s: %w", tenantID, err)
	}
	return s.Store.SaveSettings(ctx, tenantID, st)
}

// Reseal moves the shop's WeChat Pay keys to box's current key after a
// key rotation (`microshop secret reseal`): when one is sealed with a
// previous key of box, or not sealed yet, the settings are written again
// with both sealed with the current key; with dryRun it only tells what it
// would do. It reads and writes the plain store (what the database
// holds). A key no key of box opens is secret.ErrWrongKey and the settings
// are left as they are (never saved with the keys emptied). The write is
// conditional on the revision read (Settings.Rev): a merchant's save in
// between is never undone; the settings are read again, a few times.
func Reseal(ctx context.Context, e *engine.Engine, box *secret.Box, tenantID string, dryRun bool) (secret.Outcome, error) {
	if box == nil {
		return secret.NoSecret, errors.New("reseal the wechat pay keys: no key")
	}
	store := NewStore(e)
	out, err := box.ResealRecord(dryRun, func(err error) bool { return errors.Is(err, errSettingsChanged) },
		func() ([]*string, func() error, error) {
			st, err := store.Settings(ctx, tenantID)
			return []*string{&st.WeChatPay.APIv3Key, &st.WeChatPay.PrivateKey},
				func() error { return store.SaveSettings(ctx, tenantID, st) }, err
		})
	if err != nil {
		return out, fmt.Errorf("reseal the wechat pay keys of shop %s: %w", tenantID, err)
	}
	return out, nil
}
