package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/secret"
)

// Secrets at rest: the shops' pasted AppSecret and message keys, the
// authorisations' refresh tokens and the component's AppSecret and message
// keys are sealed (tenants/secret) where they are written and opened where
// they are read, by the stores below wrapping the plain ones. A row written
// before sealing began reads as it is and is sealed on its next write.

// SealStore is store with the settings' AppSecret and message keys sealed
// by box at rest; a nil box is store itself.
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
	if err := openAll(s.box, &st.AppSecret, &st.EncodingAESKey, &st.PrevEncodingAESKey); err != nil {
		return st, fmt.Errorf("wechat settings of shop %s: %w", tenantID, err)
	}
	return st, nil
}

func (s sealedStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	if err := sealAll(s.box, &st.AppSecret, &st.EncodingAESKey, &st.PrevEncodingAESKey); err != nil {
		return err
	}
	return s.Store.SaveSettings(ctx, tenantID, st)
}

// sealedComponentStore is the component's store with the secrets sealed.
type sealedComponentStore struct {
	componentStore
	box *secret.Box
}

func (s sealedComponentStore) Config(ctx context.Context) (ComponentConfig, error) {
	c, err := s.componentStore.Config(ctx)
	if err != nil {
		return c, err
	}
	if err := openAll(s.box, &c.AppSecret, &c.EncodingAESKey, &c.PrevEncodingAESKey); err != nil {
		return c, fmt.Errorf("the wechat third-party platform's settings: %w", err)
	}
	return c, nil
}

func (s sealedComponentStore) SaveConfig(ctx context.Context, c ComponentConfig) error {
	if err := sealAll(s.box, &c.AppSecret, &c.EncodingAESKey, &c.PrevEncodingAESKey); err != nil {
		return err
	}
	return s.componentStore.SaveConfig(ctx, c)
}

func (s sealedComponentStore) Authorization(ctx context.Context, tenantID string) (Authorization, error) {
	a, err := s.componentStore.Authorization(ctx, tenantID)
	if err != nil {
		return a, err
	}
	if err := openAll(s.box, &a.RefreshToken); err != nil {
		return a, fmt.Errorf("the wechat authorisation of shop %s: %w", tenantID, err)
	}
	return a, nil
}

func (s sealedComponentStore) SaveAuthorization(ctx context.Context, a Authorization) error {
	if err := sealAll(s.box, &a.RefreshToken); err != nil {
		return err
	}
	return s.componentStore.SaveAuthorization(ctx, a)
}

func sealAll(box *secret.Box, vs ...*string) error { return box.SealAll(vs...) }

// openAll opens the values in place (secret.Box.OpenAll); one the key does
// not open is emptied and the error is a wrongKeyError (a 503 saying why).
func openAll(box *secret.Box, vs ...*string) error {
	err := box.OpenAll(vs...)
	if errors.Is(err, secret.ErrWrongKey) {
		return wrongKeyError{}
	}
	return err
}

// wrongKeyError is a stored secret the platform's key does not open: it is
// secret.ErrWrongKey, and a 503 whose message (which the error handler
// shows) says what to do.
type wrongKeyError struct{}

func (wrongKeyError) Error() string { return secret.ErrWrongKey.Error() }

func (wrongKeyError) Unwrap() []error {
	return []error{secret.ErrWrongKey, fault.New(http.StatusServiceUnavailable, "secret_key",
		"a stored WeChat secret does not open with the platform's secret key (MICROSHOP_SECRET_KEY or its key file changed); "+
			"restore the key, or connect the account and enter the secrets again")}
}

// Resealer moves the WeChat secrets at rest to the current key of its box
// after a key rotation (`microshop secret reseal`): a record holding a
// value sealed with a previous key, or not sealed yet, is written again
// with it sealed with the current key. It reads and writes the plain
// stores (what the database holds) with the stores' conditional writes: a
// record written in between is read again, never overwritten.
type Resealer struct {
	box       *secret.Box
	settings  Store
	component componentStore
}

// NewResealer is a Resealer over the engine's WeChat records, sealing with
// box's current key (and opening with its previous keys).
func NewResealer(ctx context.Context, e *engine.Engine, box *secret.Box) (*Resealer, error) {
	if box == nil {
		return nil, errors.New("reseal the wechat secrets: no key")
	}
	comp, err := newComponentStore(ctx, e)
	if err != nil {
		return nil, err
	}
	return &Resealer{box: box, settings: NewStore(e), component: comp}, nil
}

// Settings reseals the shop's WeChat settings (AppSecret, message keys);
// with dryRun it only tells what it would do. A shop without settings is
// secret.NoSecret; a value no key opens is secret.ErrWrongKey and the
// settings are left as they are.
func (r *Resealer) Settings(ctx context.Context, tenantID string, dryRun bool) (secret.Outcome, error) {
	out, err := resealRecord(r.box, dryRun, func() ([]*string, func() error, error) {
		st, err := r.settings.Settings(ctx, tenantID)
		st.Rev++
		return []*string{&st.AppSecret, &st.EncodingAESKey, &st.PrevEncodingAESKey},
			func() error { return r.settings.SaveSettings(ctx, tenantID, st) }, err
	})
	if err != nil {
		return out, fmt.Errorf("reseal the wechat settings of shop %s: %w", tenantID, err)
	}
	return out, nil
}

// Authorization reseals the refresh token of the shop's authorisation, as
// Settings does the settings.
func (r *Resealer) Authorization(ctx context.Context, tenantID string, dryRun bool) (secret.Outcome, error) {
	out, err := resealRecord(r.box, dryRun, func() ([]*string, func() error, error) {
		a, err := r.component.Authorization(ctx, tenantID)
		a.Rev++
		return []*string{&a.RefreshToken}, func() error { return r.component.SaveAuthorization(ctx, a) }, err
	})
	if err != nil {
		return out, fmt.Errorf("reseal the wechat authorisation of shop %s: %w", tenantID, err)
	}
	return out, nil
}

// Component reseals the third-party platform's configuration (AppSecret,
// message keys), as Settings does a shop's settings.
func (r *Resealer) Component(ctx context.Context, dryRun bool) (secret.Outcome, error) {
	out, err := resealRecord(r.box, dryRun, func() ([]*string, func() error, error) {
		c, err := r.component.Config(ctx)
		c.Rev++
		return []*string{&c.AppSecret, &c.EncodingAESKey, &c.PrevEncodingAESKey},
			func() error { return r.component.SaveConfig(ctx, c) }, err
	})
	if err != nil {
		return out, fmt.Errorf("reseal the wechat third-party platform's settings: %w", err)
	}
	return out, nil
}

// resealRecord reseals one record (secret.Box.ResealRecord): read loads
// it (ErrNotFound: there is none) and gives its secret values and how to
// write it back with the next revision; a write another took first
// (ErrConflict) is read again.
func resealRecord(box *secret.Box, dryRun bool, read func() ([]*string, func() error, error)) (secret.Outcome, error) {
	return box.ResealRecord(dryRun, func(err error) bool { return errors.Is(err, fault.ErrConflict) },
		func() ([]*string, func() error, error) {
			vs, write, err := read()
			if errors.Is(err, fault.ErrNotFound) {
				return nil, nil, nil
			}
			return vs, write, err
		})
}
