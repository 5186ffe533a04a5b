package tenants

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

func (s *mongoStore) CreateStaff(ctx context.Context, r StaffRecord) error {
	return s.insert(ctx, "staff", "staff", errStaffTaken(r.Email), r)
}

func (s *mongoStore) StaffByID(ctx context.Context, id string) (StaffRecord, error) {
	return findOne[StaffRecord](ctx, s, "staff", bson.D{{Key: "_id", Value: id}}, "staff member")
}

func (s *mongoStore) StaffOf(ctx context.Context, tenantID string) ([]StaffRecord, error) {
	rs, err := findAll[StaffRecord](ctx, s, "staff", bson.D{{Key: "tenant_id", Value: tenantID}}, "staff")
	// A shop has a few members: sorted here, not by an index.
	slices.SortFunc(rs, func(a, b StaffRecord) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)) })
	return rs, err
}

func (s *mongoStore) SetStaffRole(ctx context.Context, tenantID, id string, role Role, guideID string) error {
	res, err := s.db.Collection("staff").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "tenant_id", Value: tenantID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "role", Value: role}, {Key: "guide_id", Value: guideID}}}})
	return engine.Matched(res, err, fault.NotFound("staff member"))
}

func (s *mongoStore) MarkStaffJoined(ctx context.Context, id string, at time.Time) error {
	if err := s.set(ctx, "staff", id, bson.D{{Key: "joined_at", Value: at}}, nil); err != nil {
		return fmt.Errorf("mark staff member %s joined: %w", id, err)
	}
	return nil
}

func (s *mongoStore) DeleteStaff(ctx context.Context, tenantID, id string) error {
	return s.deleteOne(ctx, "staff", "remove staff member "+id, bson.D{{Key: "_id", Value: id}, {Key: "tenant_id", Value: tenantID}})
}

func (s *mongoStore) CreateStaffInvite(ctx context.Context, inv StaffInvite) error {
	return s.insert(ctx, "staff_invites", "staff invitation", nil, inv)
}

func (s *mongoStore) StaffInviteByHash(ctx context.Context, hash string) (StaffInvite, error) {
	return findOne[StaffInvite](ctx, s, "staff_invites", bson.D{{Key: "_id", Value: hash}}, "staff invitation")
}

func (s *mongoStore) TakeStaffInvite(ctx context.Context, hash string, now time.Time) (StaffInvite, error) {
	var inv StaffInvite
	err := s.db.Collection("staff_invites").FindOneAndDelete(ctx,
		bson.D{{Key: "_id", Value: hash}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}}).Decode(&inv)
	if engine.IsNoDocuments(err) {
		return StaffInvite{}, fault.NotFound("staff invitation")
	}
	if err != nil {
		return StaffInvite{}, fmt.Errorf("take invitation: %w", err)
	}
	return inv, nil
}

func (s *mongoStore) DeleteStaffInvites(ctx context.Context, staffID string) error {
	return s.deleteMany(ctx, "staff_invites", "delete invitations of staff member "+staffID, bson.D{{Key: "staff_id", Value: staffID}})
}
