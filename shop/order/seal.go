package order

import (
	"context"
	"errors"
	"fmt"

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
