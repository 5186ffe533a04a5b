package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"microshop/tenants/fault"
)

// AppID ownership.
//
// An official account is one shop's, on the whole platform, live or
// sandbox. A shop's AppID is no secret (it is in its storefront's OAuth
// redirect), so a second shop entering it must be refused: it would share
// the first shop's sandbox account (its fans, its messages, its QR codes)
// and, on a live server, its access token. The platform records who owns
// each AppID (AppIDs, kept by tenants.Store); settings are saved only with
// an AppID the shop holds, generated sandbox credentials are claimed too,
// and giving an AppID up (saving another one) releases it.
//
// Settings saved before the registry existed are claimed when they are
// first read: the first shop to use an AppID keeps it, and a shop whose
// AppID another holds is told so (a 409) until it enters its own.

// AppIDs is the platform's record of which shop holds each AppID.
type AppIDs interface {
	// ClaimAppID records appID as tenantID's: a no-op if it already is, a
	// conflict if another tenant holds it.
	ClaimAppID(ctx context.Context, appID, tenantID string) error
	// ReleaseAppID removes tenantID's claim on appID, if it has one.
	ReleaseAppID(ctx context.Context, appID, tenantID string) error
	// AppIDOwner is the tenant holding appID; none is ErrNotFound.
	AppIDOwner(ctx context.Context, appID string) (string, error)
}

// errAppIDTaken is the 409 for an AppID another shop holds. It does not say
// which shop.
func errAppIDTaken() error {
	return &fault.Error{Status: http.StatusConflict, Code: "conflict", Field: "app_id",
		Message: "app_id: this AppID is connected to another shop; an official account can serve one shop only"}
}

// claim makes appID the shop's, or says another shop holds it.
func (a *Accounts) claim(ctx context.Context, tenantID, appID string) error {
	err := a.appIDs.ClaimAppID(ctx, appID, tenantID)
	if errors.Is(err, fault.ErrConflict) {
		return errAppIDTaken()
	}
	if err != nil {
		return fmt.Errorf("claim AppID %s: %w", appID, err)
	}
	return nil
}

// own checks that the shop holds the AppID its settings use, claiming it
// if nobody does (settings saved before the registry).
func (a *Accounts) own(ctx context.Context, tenantID, appID string) error {
	owner, err := a.appIDs.AppIDOwner(ctx, appID)
	switch {
	case err == nil && owner == tenantID:
		return nil
	case err == nil:
		return errAppIDTaken()
	case errors.Is(err, fault.ErrNotFound):
		return a.claim(ctx, tenantID, appID)
	default:
		return fmt.Errorf("read the owner of AppID %s: %w", appID, err)
	}
}

// release gives up the shop's claim on appID, which its settings no longer
// use, and tells the sandbox to forget the account. An AppID another shop
// holds is left alone. A failure is logged: the settings are saved, and an
// AppID left claimed only keeps other shops from entering it.
func (a *Accounts) release(ctx context.Context, tenantID, appID string) {
	if appID == "" {
		return
	}
	owner, err := a.appIDs.AppIDOwner(ctx, appID)
	if err != nil || owner != tenantID {
		return
	}
	if err := a.appIDs.ReleaseAppID(ctx, appID, tenantID); err != nil {
		a.log.Warn("release wechat AppID", "tenant", tenantID, "app_id", appID, "err", err)
		return
	}
	if a.opts.Released != nil {
		a.opts.Released(appID)
	}
}

// releaseUnused releases appID if the shop's stored settings do not use it
// (a save that claimed it and then failed).
func (a *Accounts) releaseUnused(ctx context.Context, tenantID, appID string) {
	cur, err := a.store.Settings(ctx, tenantID)
	if err == nil && cur.AppID == appID {
		return
	}
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return // unsure: keep the claim
	}
	a.release(ctx, tenantID, appID)
}
