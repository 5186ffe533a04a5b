package tenants

import (
	"context"
	"fmt"

	"microshop/tenants/fault"
)

// PasswordChange is what the owner submits to change the password.
type PasswordChange struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// Owner returns the shop's owner: the user who opened it.
func (s *Service) Owner(ctx context.Context, tenantID string) (User, error) {
	users, err := s.store.UsersOfTenant(ctx, tenantID)
	if err != nil {
		return User{}, err
	}
	if len(users) == 0 {
		return User{}, fmt.Errorf("shop %s has no user", tenantID)
	}
	return users[0], nil
}

// ChangePassword sets u's password to in.New if in.Current is the password
// now, then ends every session of u but keepSession ("" ends them all). A
// wrong current password counts as a failed sign-in of u from ip.
func (s *Service) ChangePassword(ctx context.Context, u User, in PasswordChange, ip, keepSession string) error {
	hash, err := s.newPasswordHash(u.Email, ip, u.PasswordHash, in)
	if err != nil {
		return err
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, hash); err != nil {
		return err
	}
	if err := s.store.DeleteUserSessions(ctx, u.ID, keepSession); err != nil {
		return fmt.Errorf("password changed, but ending the other sessions failed: %w", err)
	}
	s.log.Info("password changed", "tenant", u.TenantID, "user", u.ID)
	return nil
}

// newPasswordHash checks a password change against the current hash (a
// wrong current password counts as a failed sign-in of gateKey from ip)
// and returns the new password's hash. Merchants and operators share it.
func (s *Service) newPasswordHash(gateKey, ip, currentHash string, in PasswordChange) (string, error) {
	gate := s.passwordGate(gateKey, ip)
	if err := gate.check(); err != nil {
		return "", err
	}
	if in.Current == "" {
		return "", fault.Invalid("current", "is required")
	}
	if !CheckPassword(currentHash, in.Current) {
		gate.fail()
		return "", fault.Invalid("current", "is not your current password")
	}
	gate.pass()
	if err := validatePassword("new", in.New); err != nil {
		return "", err
	}
	if in.New == in.Current {
		return "", fault.Invalid("new", "must differ from the current password")
	}
	hash, err := HashPassword(in.New)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}
