package tenants

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

const (
	// staffInviteLife is how long an invitation link works.
	staffInviteLife = 7 * 24 * time.Hour
	// maxStaff is how many members a shop's staff may have.
	maxStaff = 100
	// staffTokenLen is an invitation token's length (5 random bits each).
	staffTokenLen = 40
)

// StaffInput is who the owner invites: an email, a role and, for a guide,
// the guide record they act as.
type StaffInput struct {
	Email   string `json:"email"`
	Role    Role   `json:"role"`
	GuideID string `json:"guide_id,omitempty"`
}

// RoleChange is a member's new role (and guide, for a guide).
type RoleChange struct {
	Role    Role   `json:"role"`
	GuideID string `json:"guide_id,omitempty"`
}

// GuideOption is one of the shop's guides, as the staff page lists them.
type GuideOption struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// StaffGuides is what staff management needs of the shop's guides (the
// guide records guide staff act as); server plugs in distribution's.
type StaffGuides interface {
	// Guide is the shop's guide id; none is fault.NotFound.
	Guide(ctx context.Context, tenantID, id string) (GuideOption, error)
	// Guides lists the shop's guides.
	Guides(ctx context.Context, tenantID string) ([]GuideOption, error)
}

// SetStaffGuides plugs in the shop's guides.
func (s *Service) SetStaffGuides(g StaffGuides) { s.guides = g }

// StaffGuideOptions lists the guides a guide member may act as (none
// without distribution).
func (s *Service) StaffGuideOptions(ctx context.Context, tenantID string) ([]GuideOption, error) {
	if s.guides == nil {
		return nil, nil
	}
	return s.guides.Guides(ctx, tenantID)
}

func errStaffTaken(email string) error {
	return fault.Conflict("%s is on the shop's staff already", email)
}

// ErrInviteGone is the answer to an invitation link that does not (or no
// longer) work: unknown, used, expired, or its member removed.
var ErrInviteGone = fault.New(http.StatusGone, "invitation_expired",
	"this invitation link has expired or was used already; ask the shop's owner for a new one")

// checkRole checks a role given to staff (field role) and its guide.
func (s *Service) checkRole(ctx context.Context, tenantID, memberID string, role Role, guideID string) error {
	if !slices.Contains(StaffRoles, role) {
		return fault.Invalid("role", "must be one of manager, service, finance, guide")
	}
	if role != RoleGuide {
		if guideID != "" {
			return fault.Invalid("guide_id", "is only for the guide role")
		}
		return nil
	}
	if guideID == "" {
		return fault.Invalid("guide_id", "is required for the guide role: the guide record this person acts as")
	}
	if err := engine.CheckID("guide_id", "guide", guideID); err != nil {
		return err
	}
	if s.guides != nil {
		if _, err := s.guides.Guide(ctx, tenantID, guideID); err != nil {
			if errors.Is(err, ErrNotFound) {
				return fault.Invalid("guide_id", "is not a guide of this shop")
			}
			return err
		}
	}
	staff, err := s.store.StaffOf(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, m := range staff {
		if m.ID != memberID && m.Role == RoleGuide && m.GuideID == guideID {
			return fault.Conflict("the guide is bound to %s already", m.Email)
		}
	}
	return nil
}

// Staff lists the shop's staff, the first invited first.
func (s *Service) Staff(ctx context.Context, tenantID string) ([]StaffRecord, error) {
	return s.store.StaffOf(ctx, tenantID)
}

// StaffMember is the shop's member id; another shop's, or none, is
// fault.NotFound.
func (s *Service) StaffMember(ctx context.Context, tenantID, id string) (StaffRecord, error) {
	if err := engine.CheckID("id", "staff", id); err != nil {
		return StaffRecord{}, err
	}
	r, err := s.store.StaffByID(ctx, id)
	if err == nil && r.TenantID != tenantID {
		err = fault.NotFound("staff member")
	}
	return r, err
}

// InviteStaff invites in.Email to the shop's staff in in.Role, by the
// owner by: the member's record and the invitation link's token, shown
// once (only its hash is stored).
func (s *Service) InviteStaff(ctx context.Context, tenantID, by string, in StaffInput) (StaffRecord, string, error) {
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if email == "" {
		return StaffRecord{}, "", fault.Invalid("email", "is required")
	}
	if len(email) > 254 {
		return StaffRecord{}, "", fault.Invalid("email", "must be at most 254 characters")
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return StaffRecord{}, "", fault.Invalid("email", "is not a valid email address")
	}
	if err := s.checkRole(ctx, tenantID, "", in.Role, in.GuideID); err != nil {
		return StaffRecord{}, "", err
	}
	if _, err := s.store.UserByEmail(ctx, email); err == nil {
		return StaffRecord{}, "", fault.Conflict("%s has an account already; invite another email", email)
	} else if !errors.Is(err, ErrNotFound) {
		return StaffRecord{}, "", err
	}
	staff, err := s.store.StaffOf(ctx, tenantID)
	if err != nil {
		return StaffRecord{}, "", err
	}
	if len(staff) >= maxStaff {
		return StaffRecord{}, "", fault.Conflict("a shop can have at most %d staff; remove someone first", maxStaff)
	}
	r := StaffRecord{ID: engine.NewID(), TenantID: tenantID, Email: email, Role: in.Role, GuideID: in.GuideID,
		InvitedBy: by, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if err := s.store.CreateStaff(ctx, r); err != nil {
		return StaffRecord{}, "", err
	}
	token, err := s.newStaffInvite(ctx, r)
	if err != nil {
		return StaffRecord{}, "", err
	}
	s.log.Info("staff invited", "tenant", tenantID, "staff", r.ID, "role", r.Role)
	return r, token, nil
}

// newStaffInvite stores a new invitation of r and returns its token.
func (s *Service) newStaffInvite(ctx context.Context, r StaffRecord) (string, error) {
	token := engine.NewSecret(staffTokenLen)
	inv := StaffInvite{Hash: HashAPIKey(token), StaffID: r.ID, TenantID: r.TenantID,
		ExpiresAt: s.now().UTC().Truncate(time.Millisecond).Add(staffInviteLife)}
	if err := s.store.CreateStaffInvite(ctx, inv); err != nil {
		return "", fmt.Errorf("invite staff member %s: %w", r.ID, err)
	}
	return token, nil
}

// ReinviteStaff replaces the invitation of a member who has not joined
// yet with a new link (the old one stops working) and returns its token.
func (s *Service) ReinviteStaff(ctx context.Context, tenantID, id string) (StaffRecord, string, error) {
	r, err := s.StaffMember(ctx, tenantID, id)
	if err != nil {
		return StaffRecord{}, "", err
	}
	if !r.JoinedAt.IsZero() {
		return StaffRecord{}, "", fault.Conflict("%s has joined already", r.Email)
	}
	if err := s.store.DeleteStaffInvites(ctx, r.ID); err != nil {
		return StaffRecord{}, "", err
	}
	token, err := s.newStaffInvite(ctx, r)
	return r, token, err
}

// StaffInvitation is the member and shop an invitation token is for; an
// unknown, used or expired token is ErrInviteGone.
func (s *Service) StaffInvitation(ctx context.Context, token string) (StaffRecord, Tenant, error) {
	if len(token) != staffTokenLen {
		return StaffRecord{}, Tenant{}, ErrInviteGone
	}
	inv, err := s.store.StaffInviteByHash(ctx, HashAPIKey(token))
	if errors.Is(err, ErrNotFound) || (err == nil && !s.now().Before(inv.ExpiresAt)) {
		return StaffRecord{}, Tenant{}, ErrInviteGone
	}
	if err != nil {
		return StaffRecord{}, Tenant{}, err
	}
	r, err := s.store.StaffByID(ctx, inv.StaffID)
	if errors.Is(err, ErrNotFound) {
		return StaffRecord{}, Tenant{}, ErrInviteGone // removed meanwhile
	}
	if err != nil {
		return StaffRecord{}, Tenant{}, err
	}
	t, err := s.store.TenantByID(ctx, r.TenantID)
	return r, t, err
}

// AcceptStaff sets the invited member's password with the invitation's
// token: the member's user, who may sign in from now on. The token works
// once: of racing accepts one succeeds.
func (s *Service) AcceptStaff(ctx context.Context, token, password string) (User, error) {
	r, _, err := s.StaffInvitation(ctx, token)
	if err != nil {
		return User{}, err
	}
	if err := validatePassword("password", password); err != nil {
		return User{}, err
	}
	if _, err := s.store.UserByEmail(ctx, r.Email); err == nil {
		return User{}, fault.Conflict("%s has an account already; invite another email", r.Email)
	} else if !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if _, err := s.store.TakeStaffInvite(ctx, HashAPIKey(token), now); errors.Is(err, ErrNotFound) {
		return User{}, ErrInviteGone
	} else if err != nil {
		return User{}, err
	}
	u := User{ID: r.ID, TenantID: r.TenantID, Email: r.Email, PasswordHash: hash, CreatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, err
	}
	// Removed while joining: the user must not stay (a user without a
	// staff record would be nobody's; principalOf refuses it anyway).
	if _, err := s.store.StaffByID(ctx, r.ID); err != nil {
		if derr := s.store.DeleteUser(context.WithoutCancel(ctx), u.ID); derr != nil {
			s.log.Error("undo join of removed staff", "staff", r.ID, "err", derr)
		}
		if errors.Is(err, ErrNotFound) {
			return User{}, ErrInviteGone
		}
		return User{}, err
	}
	if err := s.store.MarkStaffJoined(ctx, r.ID, now); err != nil {
		s.log.Warn("mark staff joined", "staff", r.ID, "err", err)
	}
	s.log.Info("staff joined", "tenant", r.TenantID, "staff", r.ID, "role", r.Role)
	return u, nil
}

// ChangeStaffRole gives the shop's member id another role; it applies to
// their next request.
func (s *Service) ChangeStaffRole(ctx context.Context, tenantID, id string, in RoleChange) (StaffRecord, error) {
	r, err := s.StaffMember(ctx, tenantID, id)
	if err != nil {
		return StaffRecord{}, err
	}
	if err := s.checkRole(ctx, tenantID, r.ID, in.Role, in.GuideID); err != nil {
		return StaffRecord{}, err
	}
	if err := s.store.SetStaffRole(ctx, tenantID, id, in.Role, in.GuideID); err != nil {
		return StaffRecord{}, err
	}
	r.Role, r.GuideID = in.Role, in.GuideID
	s.log.Info("staff role changed", "tenant", tenantID, "staff", id, "role", in.Role)
	return r, nil
}

// RemoveStaff removes the shop's member id: their sessions end at once,
// they can no longer sign in, their invitation stops working. The user
// goes before the staff record (a user without one would be taken for
// the owner's, were principalOf less careful).
func (s *Service) RemoveStaff(ctx context.Context, tenantID, id string) error {
	r, err := s.StaffMember(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteUserSessions(ctx, r.ID, ""); err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, r.ID); err != nil {
		return err
	}
	if err := s.store.DeleteStaffInvites(ctx, r.ID); err != nil {
		return err
	}
	if err := s.store.DeleteStaff(ctx, tenantID, r.ID); err != nil {
		return err
	}
	s.log.Info("staff removed", "tenant", tenantID, "staff", id)
	return nil
}

// principalOf is who a signed-in user acts as: a member of staff in their
// role, or the shop's owner. A user who is neither (a member removed
// while joining) is errBadSession.
func (s *Service) principalOf(ctx context.Context, u User) (Principal, error) {
	if id, ok := ownerIDs.Load(ownerKey{s, u.TenantID}); ok && id.(string) == u.ID {
		// The owner, known already: a shop's owner is never its staff
		// (members join as users of their own).
		return Principal{Role: RoleOwner, Actor: u.Email, UserID: u.ID}, nil
	}
	r, err := s.store.StaffByID(ctx, u.ID)
	if err == nil {
		if r.TenantID != u.TenantID || !r.Role.Valid() {
			return Principal{}, errBadSession
		}
		return Principal{Role: r.Role, Actor: u.Email, UserID: u.ID, GuideID: r.GuideID}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Principal{}, err
	}
	ownerID, err := s.ownerID(ctx, u.TenantID)
	if err != nil {
		return Principal{}, err
	}
	if ownerID != u.ID {
		return Principal{}, errBadSession
	}
	return Principal{Role: RoleOwner, Actor: u.Email, UserID: u.ID}, nil
}

// ownerIDs keeps each shop's owner's user id once read: the owner is the
// shop's first user and never changes, and every console request of the
// owner asks (principalOf), which would otherwise list the shop's users.
var ownerIDs struct {
	sync.Map // ownerKey → user id
	n        atomic.Int64
}

type ownerKey struct {
	s        *Service
	tenantID string
}

// maxOwnerIDs bounds ownerIDs (about 100 bytes an entry); past it the
// cache starts again.
const maxOwnerIDs = 100_000

// ownerID is the id of the shop's owner (Owner's).
func (s *Service) ownerID(ctx context.Context, tenantID string) (string, error) {
	k := ownerKey{s, tenantID}
	if id, ok := ownerIDs.Load(k); ok {
		return id.(string), nil
	}
	owner, err := s.Owner(ctx, tenantID)
	if err != nil {
		return "", err
	}
	if ownerIDs.n.Add(1) > maxOwnerIDs {
		ownerIDs.Clear()
		ownerIDs.n.Store(1)
	}
	ownerIDs.Store(k, owner.ID)
	return owner.ID, nil
}
