package tenants

import (
	"context"
	"errors"
	"fmt"

	"microshop/tenants/fault"
)

// The AppID registry records which shop each WeChat AppID belongs to, on the
// whole platform, live or sandbox: an official account is one shop's, and a
// second shop entering the same AppID (it is visible in a storefront's OAuth
// redirect) must not reach the first shop's sandbox state or messages. A
// claim is one insert on the AppID's unique key, so two shops racing for it
// get one winner on every engine and replica.

// errAppIDTaken is the conflict of a shop entering an AppID another shop has.
func errAppIDTaken() error {
	return fault.Conflict("this AppID is connected to another shop")
}

// appIDStore is implemented by both platform stores.
type appIDStore interface {
	// ClaimAppID records appID as tenantID's. Claiming an AppID the tenant
	// already has is a no-op; one another tenant has is a conflict.
	ClaimAppID(ctx context.Context, appID, tenantID string) error
	// ReleaseAppID removes tenantID's claim on appID; a claim of another
	// tenant, or none, is left as it is.
	ReleaseAppID(ctx context.Context, appID, tenantID string) error
	// AppIDOwner returns the tenant that claimed appID; none is
	// fault.NotFound.
	AppIDOwner(ctx context.Context, appID string) (tenantID string, err error)
}

// claimAppID is ClaimAppID on either engine: insert (a no-op when the AppID
// is taken) then read who has it. A claim released between the two reads
// as missing, and is tried again.
func claimAppID(ctx context.Context, appID, tenantID string, insert func() error, owner func(context.Context, string) (string, error)) error {
	if err := checkAppID(appID, tenantID); err != nil {
		return err
	}
	for range 3 {
		if err := insert(); err != nil {
			return fmt.Errorf("claim AppID %s: %w", appID, err)
		}
		got, err := owner(ctx, appID)
		if errors.Is(err, fault.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("claim AppID %s: %w", appID, err)
		}
		if got != tenantID {
			return errAppIDTaken()
		}
		return nil
	}
	return fmt.Errorf("claim AppID %s: released while being claimed, three times", appID)
}

// checkAppID refuses an empty AppID (a shop without an account claims
// nothing).
func checkAppID(appID, tenantID string) error {
	if appID == "" {
		return fault.Invalid("app_id", "is required")
	}
	if tenantID == "" {
		return fault.Invalid("tenant_id", "is required")
	}
	return nil
}
