package tenants_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// staffShop opens a shop for the staff tests and returns the service and
// the shop's owner.
func staffShop(t *testing.T, e *engine.Engine, slug string) (*tenants.Service, tenants.Tenant, tenants.User) {
	t.Helper()
	svc := newService(e)
	tn, owner, _, err := svc.SignUp(context.Background(), validSignUp(slug))
	if err != nil {
		t.Fatal(err)
	}
	return svc, tn, owner
}

// The staff contract on both engines: invite, the invitation read and
// taken once, join, role change, removal (the user goes, the owner stays).
func TestStaffLifecycle(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		svc, tn, owner := staffShop(t, e, "staff-shop")

		_, _, err := svc.InviteStaff(ctx, tn.ID, owner.Email, tenants.StaffInput{Email: "x@example.com", Role: "boss"})
		wantStatus(t, err, fault.ErrInvalid, 400)
		_, _, err = svc.InviteStaff(ctx, tn.ID, owner.Email, tenants.StaffInput{Email: "x@example.com", Role: tenants.RoleGuide})
		wantStatus(t, err, fault.ErrInvalid, 400) // a guide needs a guide record
		_, _, err = svc.InviteStaff(ctx, tn.ID, owner.Email, tenants.StaffInput{Email: owner.Email, Role: tenants.RoleManager})
		wantStatus(t, err, fault.ErrConflict, 409) // the owner has an account

		m, token, err := svc.InviteStaff(ctx, tn.ID, owner.Email, tenants.StaffInput{Email: " Wang@Example.com ", Role: tenants.RoleFinance})
		if err != nil || m.Email != "wang@example.com" || m.Role != tenants.RoleFinance || len(token) != 40 {
			t.Fatalf("invite = %+v %q %v", m, token, err)
		}
		_, _, err = svc.InviteStaff(ctx, tn.ID, owner.Email, tenants.StaffInput{Email: "wang@example.com", Role: tenants.RoleService})
		wantStatus(t, err, fault.ErrConflict, 409)

		got, shop, err := svc.StaffInvitation(ctx, token)
		if err != nil || got.ID != m.ID || shop.ID != tn.ID {
			t.Fatalf("invitation = %+v %+v %v", got, shop, err)
		}
		wrong := token[:39] + "2"
		if wrong == token {
			wrong = token[:39] + "3"
		}
		if _, _, err := svc.StaffInvitation(ctx, wrong); err == nil {
			t.Fatal("a wrong token is an invitation")
		}
		if _, err := svc.AcceptStaff(ctx, token, "short"); !errors.Is(err, fault.ErrInvalid) {
			t.Fatalf("short password: %v", err)
		}
		u, err := svc.AcceptStaff(ctx, token, "a good password")
		if err != nil || u.ID != m.ID || u.TenantID != tn.ID {
			t.Fatalf("accept = %+v %v", u, err)
		}
		if _, err := svc.AcceptStaff(ctx, token, "a good password"); err == nil {
			t.Fatal("the invitation worked twice")
		}
		if _, err := svc.Authenticate(ctx, "wang@example.com", "a good password", "198.51.100.1"); err != nil {
			t.Fatalf("sign in: %v", err)
		}
		if _, _, err := svc.ReinviteStaff(ctx, tn.ID, m.ID); !errors.Is(err, fault.ErrConflict) {
			t.Fatalf("reinvite a joined member: %v", err)
		}

		list, err := svc.Staff(ctx, tn.ID)
		if err != nil || len(list) != 1 || list[0].JoinedAt.IsZero() {
			t.Fatalf("staff = %+v %v", list, err)
		}
		if _, err := svc.ChangeStaffRole(ctx, tn.ID, m.ID, tenants.RoleChange{Role: tenants.RoleService}); err != nil {
			t.Fatal(err)
		}
		if r, err := svc.StaffMember(ctx, tn.ID, m.ID); err != nil || r.Role != tenants.RoleService {
			t.Fatalf("after the change: %+v %v", r, err)
		}

		// Another shop sees none of it.
		svcB, tnB, _ := staffShop(t, e, "other-shop")
		if _, err := svcB.StaffMember(ctx, tnB.ID, m.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("B reads A's member: %v", err)
		}
		if err := svcB.RemoveStaff(ctx, tnB.ID, m.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("B removes A's member: %v", err)
		}

		sess, err := svc.StartSession(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.RemoveStaff(ctx, tn.ID, m.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Store().SessionByID(ctx, sess.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("the removed member's session: %v", err)
		}
		if _, err := svc.Authenticate(ctx, "wang@example.com", "a good password", "198.51.100.2"); err == nil {
			t.Fatal("a removed member signs in")
		}
		if o, err := svc.Owner(ctx, tn.ID); err != nil || o.ID != owner.ID {
			t.Fatalf("owner = %+v %v", o, err)
		}

		// An invitation expires after 7 days, and a new link replaces it.
		m2, token2, err := svc.InviteStaff(ctx, tn.ID, owner.Email, tenants.StaffInput{Email: "li@example.com", Role: tenants.RoleManager})
		if err != nil {
			t.Fatal(err)
		}
		svc.SetClock(func() time.Time { return time.Now().Add(7*24*time.Hour + time.Minute) })
		if _, err := svc.AcceptStaff(ctx, token2, "a good password"); !errors.Is(err, tenants.ErrInviteGone) {
			t.Fatalf("an expired invitation: %v", err)
		}
		_, token3, err := svc.ReinviteStaff(ctx, tn.ID, m2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.StaffInvitation(ctx, token2); err == nil {
			t.Fatal("the replaced link still works")
		}
		if _, err := svc.AcceptStaff(ctx, token3, "a good password"); err != nil {
			t.Fatalf("the new link: %v", err)
		}
	})
}

// Many people open one invitation link at once: exactly one joins, the
// others are told the link was used (the invitation is taken by one
// conditional delete).
func TestStaffInvitationOnce(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		svc, tn, owner := staffShop(t, e, "race-shop")
		_, token, err := svc.InviteStaff(ctx, tn.ID, owner.Email, tenants.StaffInput{Email: "race@example.com", Role: tenants.RoleService})
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = svc.AcceptStaff(ctx, token, "a good password")
			})
		}
		close(start)
		wg.Wait()
		joined := 0
		for i, err := range errs {
			switch {
			case err == nil:
				joined++
			case errors.Is(err, tenants.ErrInviteGone), errors.Is(err, fault.ErrConflict):
			default:
				t.Errorf("accept %d: %v", i, err)
			}
		}
		if joined != 1 {
			t.Fatalf("%d joined, want 1", joined)
		}
		users, err := svc.Store().UsersOfTenant(ctx, tn.ID)
		if err != nil || len(users) != 2 {
			t.Fatalf("users = %d %v, want the owner and one member", len(users), err)
		}
	})
}
