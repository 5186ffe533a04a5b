package tenants

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Shops an operator opens for merchants (bulk onboarding): the shop and
// its owner's account are created without a password, so nothing slow
// (no password hashing) runs on the request; the owner gets an invitation
// link, sets a password there (hashed then) and is signed in to the
// console. The link's token is shown once and stored hashed, expires after
// invitationLife and works once.

// invitationLife is how long an invitation link works.
const invitationLife = 7 * 24 * time.Hour

// invitationTokenLen characters of the id alphabet: 200 random bits.
const invitationTokenLen = 40

// The statuses of a shop in the operator's list.
const (
	// ShopActive: its owner has a password (signed up, or accepted the invitation).
	ShopActive = "active"
	// ShopInvited: opened by an operator, the invitation not yet accepted.
	ShopInvited = "invited"
	// ShopInvitationExpired: opened by an operator, the invitation expired unaccepted.
	ShopInvitationExpired = "invitation_expired"
)

// NewShop is what an operator submits to open a shop for a merchant.
type NewShop struct {
	Name  string `json:"name"`
	Slug  string `json:"slug"`
	Email string `json:"email"`
}

// validate trims, lower-cases and checks the shop as sign-up does (less
// the password, which the owner sets later).
func (n *NewShop) validate() error {
	su := SignUp{Name: n.Name, Slug: n.Slug, Email: n.Email}
	su.Normalize()
	name, err := fault.Text("name", su.Name, 64)
	if err != nil {
		return err
	}
	if name == "" {
		return fault.Invalid("name", "is required")
	}
	if err := ValidateSlug(su.Slug); err != nil {
		return err
	}
	email, err := normalizeOperatorEmail(su.Email)
	if err != nil {
		return err
	}
	n.Name, n.Slug, n.Email = name, su.Slug, email
	return nil
}

// InvitedShop is a shop an operator opened: the shop, its owner's
// invitation token (shown once) and when it expires.
type InvitedShop struct {
	Tenant    Tenant
	Token     string
	ExpiresAt time.Time
}

// OpenInvitedShop opens a shop for a merchant: tenant record, its
// database, the owner's account without a password, and an invitation.
// A taken slug or email is a conflict; a half-done opening is undone.
func (s *Service) OpenInvitedShop(ctx context.Context, in NewShop) (InvitedShop, error) {
	if err := in.validate(); err != nil {
		return InvitedShop{}, err
	}
	if err := s.emailFree(ctx, in.Email); err != nil {
		return InvitedShop{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	t := Tenant{ID: engine.NewID(), Slug: in.Slug, Name: in.Name, TimeZone: DefaultTimeZone, CreatedAt: now}
	u := User{ID: engine.NewID(), TenantID: t.ID, Email: in.Email, CreatedAt: now} // no password until the owner sets one
	var token string
	var expires time.Time
	if err := s.openShop(ctx, t, u, "invited shop", func() (err error) {
		token, expires, err = s.invite(ctx, u, now)
		return err
	}); err != nil {
		return InvitedShop{}, err
	}
	s.log.Info("shop opened by an operator", "tenant", t.ID, "slug", t.Slug)
	return InvitedShop{Tenant: t, Token: token, ExpiresAt: expires}, nil
}

// invite records a new invitation of owner u and returns its token.
func (s *Service) invite(ctx context.Context, u User, now time.Time) (string, time.Time, error) {
	token := engine.NewSecret(invitationTokenLen)
	inv := Invitation{Hash: HashAPIKey(token), TenantID: u.TenantID, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(invitationLife)}
	if err := s.store.CreateInvitation(ctx, inv); err != nil {
		return "", time.Time{}, err
	}
	return token, inv.ExpiresAt, nil
}

// Reinvite gives the owner of a shop an operator opened a new invitation
// (the earlier ones keep working until they expire). A shop whose owner
// has a password is a conflict: the owner signs in, or changes it.
func (s *Service) Reinvite(ctx context.Context, tenantID string) (InvitedShop, error) {
	if err := engine.CheckID("id", "shop", tenantID); err != nil {
		return InvitedShop{}, err
	}
	t, err := s.store.TenantByID(ctx, tenantID)
	if err != nil {
		return InvitedShop{}, err
	}
	owner, err := s.Owner(ctx, tenantID)
	if err != nil {
		return InvitedShop{}, err
	}
	if owner.PasswordHash != "" {
		return InvitedShop{}, fault.Conflict("the owner of this shop has set a password already")
	}
	token, expires, err := s.invite(ctx, owner, s.now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return InvitedShop{}, err
	}
	return InvitedShop{Tenant: t, Token: token, ExpiresAt: expires}, nil
}

// errInvitationUsed and errInvitationExpired say why a link no longer works.
var (
	errInvitationUsed = fault.Conflict("this invitation has been used; sign in with your password")
	errInvitationGone = fault.New(http.StatusGone, "expired", "this invitation has expired; ask the platform for a new one")
)

// Invitation returns the live invitation of token and its shop: an
// unknown token is fault.NotFound, a used one a conflict, an expired one
// 410 Gone.
func (s *Service) Invitation(ctx context.Context, token string) (Invitation, Tenant, error) {
	if len(token) != invitationTokenLen || strings.Trim(token, "234567abcdefghijklmnopqrstuvwxyz") != "" {
		return Invitation{}, Tenant{}, fault.NotFound("invitation link")
	}
	inv, err := s.store.InvitationByHash(ctx, HashAPIKey(token))
	if err != nil {
		return Invitation{}, Tenant{}, err
	}
	switch {
	case !inv.UsedAt.IsZero():
		return Invitation{}, Tenant{}, errInvitationUsed
	case !s.now().Before(inv.ExpiresAt):
		return Invitation{}, Tenant{}, errInvitationGone
	}
	t, err := s.store.TenantByID(ctx, inv.TenantID)
	if err != nil {
		return Invitation{}, Tenant{}, err
	}
	return inv, t, nil
}

// AcceptInvitation sets the owner's password through the invitation of
// token, once: of two racing acceptances one wins, the other is a
// conflict. It returns the owner, to sign in.
func (s *Service) AcceptInvitation(ctx context.Context, token, password string) (User, error) {
	inv, _, err := s.Invitation(ctx, token)
	if err != nil {
		return User{}, err
	}
	if err := validatePassword("password", password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	ok, err := s.store.ClaimInvitation(ctx, inv.Hash, s.now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return User{}, err
	}
	if !ok {
		if _, _, err := s.Invitation(ctx, token); err != nil {
			return User{}, err // used or expired meanwhile
		}
		return User{}, errInvitationUsed
	}
	if err := s.store.SetPasswordHash(ctx, inv.UserID, hash); err != nil {
		if uerr := s.store.UnclaimInvitation(context.WithoutCancel(ctx), inv.Hash); uerr != nil {
			s.log.Error("release invitation", "tenant", inv.TenantID, "err", uerr)
		}
		return User{}, err
	}
	u, err := s.store.UserByID(ctx, inv.UserID)
	if err != nil {
		return User{}, err
	}
	s.log.Info("invitation accepted", "tenant", inv.TenantID, "user", u.ID)
	return u, nil
}

// ShopListing is a shop as the operator's list shows it.
type ShopListing struct {
	Tenant
	// Status is ShopActive, ShopInvited or ShopInvitationExpired.
	Status string
}

// ListShops lists shops for operators, the newest first, with their
// status and the number of shops in all.
func (s *Service) ListShops(ctx context.Context, limit, offset int) ([]ShopListing, int64, error) {
	if err := engine.CheckPage(&limit, offset); err != nil {
		return nil, 0, err
	}
	ts, err := s.store.TenantsPage(ctx, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	total, err := s.store.CountTenants(ctx)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	invs, err := s.store.InvitationsOf(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	// A shop's status is its invitations': accepted (or none: signed up)
	// is active; else invited while one is unexpired.
	now := s.now()
	status := map[string]string{}
	for _, inv := range invs {
		switch {
		case !inv.UsedAt.IsZero() || status[inv.TenantID] == ShopActive:
			status[inv.TenantID] = ShopActive
		case now.Before(inv.ExpiresAt):
			status[inv.TenantID] = ShopInvited
		case status[inv.TenantID] != ShopInvited:
			status[inv.TenantID] = ShopInvitationExpired
		}
	}
	out := make([]ShopListing, len(ts))
	for i, t := range ts {
		out[i] = ShopListing{Tenant: t, Status: cmp.Or(status[t.ID], ShopActive)}
	}
	return out, total, nil
}
