package tenants

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/fault"
)

// The operator's records on MongoDB (operator_store.go).

func (s *mongoStore) CreateOperator(ctx context.Context, o OperatorRecord) error {
	return s.insert(ctx, "operators", "operator", errOperatorTaken(o.Email), o)
}

func (s *mongoStore) OperatorByEmail(ctx context.Context, email string) (OperatorRecord, error) {
	return findOne[OperatorRecord](ctx, s, "operators", bson.D{{Key: "email", Value: email}}, "operator")
}

func (s *mongoStore) OperatorByID(ctx context.Context, id string) (OperatorRecord, error) {
	return findOne[OperatorRecord](ctx, s, "operators", bson.D{{Key: "_id", Value: id}}, "operator")
}

func (s *mongoStore) SetOperatorPassword(ctx context.Context, id, hash string, mustChange bool) error {
	err := s.set(ctx, "operators", id, bson.D{{Key: "password_hash", Value: hash}, {Key: "must_change", Value: mustChange}},
		fault.NotFound("operator"))
	if err != nil {
		return fmt.Errorf("set password of operator %s: %w", id, err)
	}
	return nil
}

func (s *mongoStore) CreateOperatorKey(ctx context.Context, k OperatorKey) error {
	return s.insert(ctx, "operator_keys", "operator key", nil, k)
}

func (s *mongoStore) OperatorKeyByHash(ctx context.Context, hash string) (OperatorKey, error) {
	return findOne[OperatorKey](ctx, s, "operator_keys", bson.D{{Key: "hash", Value: hash}}, "operator key")
}

func (s *mongoStore) DeleteOperatorKeys(ctx context.Context, operatorID string) error {
	return s.deleteMany(ctx, "operator_keys", "revoke keys of operator "+operatorID, bson.D{{Key: "operator_id", Value: operatorID}})
}

func (s *mongoStore) CreateOperatorSession(ctx context.Context, r OperatorSessionRecord) error {
	return s.insert(ctx, "operator_sessions", "operator session", nil, r)
}

func (s *mongoStore) OperatorSessionByID(ctx context.Context, id string) (OperatorSessionRecord, error) {
	return findOne[OperatorSessionRecord](ctx, s, "operator_sessions", bson.D{{Key: "_id", Value: id}}, "operator session")
}

func (s *mongoStore) DeleteOperatorSession(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "operator_sessions", "end operator session", bson.D{{Key: "_id", Value: id}})
}

func (s *mongoStore) DeleteOperatorSessions(ctx context.Context, operatorID, keepID string) error {
	return s.deleteMany(ctx, "operator_sessions", "end sessions of operator "+operatorID,
		bson.D{{Key: "operator_id", Value: operatorID}, {Key: "_id", Value: bson.D{{Key: "$ne", Value: keepID}}}})
}

func (s *mongoStore) DeleteExpiredOperatorSessions(ctx context.Context, operatorID string, now time.Time) error {
	return s.deleteMany(ctx, "operator_sessions", "remove expired sessions of operator "+operatorID,
		bson.D{{Key: "operator_id", Value: operatorID}, {Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}})
}

func (s *mongoStore) TenantsPage(ctx context.Context, limit, offset int) ([]Tenant, error) {
	cur, err := s.db.Collection("tenants").Find(ctx, bson.D{}, options.Find().
		SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetSkip(int64(offset)).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("list shops: %w", err)
	}
	var out []Tenant
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("list shops: %w", err)
	}
	return out, nil
}

func (s *mongoStore) CreateInvitation(ctx context.Context, inv Invitation) error {
	return s.insert(ctx, "invitations", "invitation", nil, inv)
}

func (s *mongoStore) InvitationByHash(ctx context.Context, hash string) (Invitation, error) {
	return findOne[Invitation](ctx, s, "invitations", bson.D{{Key: "_id", Value: hash}}, "invitation link")
}

func (s *mongoStore) ClaimInvitation(ctx context.Context, hash string, now time.Time) (bool, error) {
	res, err := s.db.Collection("invitations").UpdateOne(ctx,
		bson.D{{Key: "_id", Value: hash}, {Key: "used_at", Value: time.Time{}},
			{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "used_at", Value: now}}}})
	if err != nil {
		return false, fmt.Errorf("claim invitation: %w", err)
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) UnclaimInvitation(ctx context.Context, hash string) error {
	_, err := s.db.Collection("invitations").UpdateOne(ctx, bson.D{{Key: "_id", Value: hash}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "used_at", Value: time.Time{}}}}})
	if err != nil {
		return fmt.Errorf("release invitation: %w", err)
	}
	return nil
}

func (s *mongoStore) InvitationsOf(ctx context.Context, tenantIDs []string) ([]Invitation, error) {
	if len(tenantIDs) == 0 {
		return nil, nil
	}
	invs, err := findAll[Invitation](ctx, s, "invitations",
		bson.D{{Key: "tenant_id", Value: bson.D{{Key: "$in", Value: tenantIDs}}}}, "invitations")
	// A shop has an invitation or a few: sorted here.
	slices.SortFunc(invs, func(a, b Invitation) int {
		return cmp.Or(cmp.Compare(a.TenantID, b.TenantID), a.CreatedAt.Compare(b.CreatedAt))
	})
	return invs, err
}
