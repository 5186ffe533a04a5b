package tenants

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ db *mongo.Database }

func (s *mongoStore) CreateTenant(ctx context.Context, t Tenant) error {
	_, err := s.db.Collection("tenants").InsertOne(ctx, t)
	if engine.IsUniqueViolation(err) {
		return fault.Conflict("the shop address %q is taken; choose another", t.Slug)
	}
	return err
}

func (s *mongoStore) DeleteTenant(ctx context.Context, id string) error {
	_, err := s.db.Collection("tenants").DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	return err
}

func findOne[T any](ctx context.Context, c *mongo.Collection, f bson.D, what string) (T, error) {
	var v T
	err := c.FindOne(ctx, f).Decode(&v)
	if engine.IsNoDocuments(err) {
		return v, fault.NotFound(what)
	}
	return v, err
}

func (s *mongoStore) TenantByID(ctx context.Context, id string) (Tenant, error) {
	return findOne[Tenant](ctx, s.db.Collection("tenants"), bson.D{{Key: "_id", Value: id}}, "shop")
}

func (s *mongoStore) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	return findOne[Tenant](ctx, s.db.Collection("tenants"), bson.D{{Key: "slug", Value: slug}}, "shop")
}

func (s *mongoStore) TenantIDs(ctx context.Context) ([]string, error) {
	cur, err := s.db.Collection("tenants").Find(ctx, bson.D{},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

func (s *mongoStore) CountTenants(ctx context.Context) (int64, error) {
	// The collection's own count, not a scan: exact enough to tell an empty
	// platform from a used one.
	return s.db.Collection("tenants").EstimatedDocumentCount(ctx)
}

func (s *mongoStore) CreateUser(ctx context.Context, u User) error {
	_, err := s.db.Collection("users").InsertOne(ctx, u)
	if engine.IsUniqueViolation(err) {
		return fault.Conflict("an account with email %s already exists; sign in instead", u.Email)
	}
	return err
}

func (s *mongoStore) DeleteUser(ctx context.Context, id string) error {
	_, err := s.db.Collection("users").DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	return err
}

func (s *mongoStore) UserByEmail(ctx context.Context, email string) (User, error) {
	return findOne[User](ctx, s.db.Collection("users"), bson.D{{Key: "email", Value: email}}, "user")
}

func (s *mongoStore) UserByID(ctx context.Context, id string) (User, error) {
	return findOne[User](ctx, s.db.Collection("users"), bson.D{{Key: "_id", Value: id}}, "user")
}

func (s *mongoStore) CreateAPIKey(ctx context.Context, k APIKey) error {
	_, err := s.db.Collection("api_keys").InsertOne(ctx, k)
	return err
}

func (s *mongoStore) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	return findOne[APIKey](ctx, s.db.Collection("api_keys"), bson.D{{Key: "hash", Value: hash}}, "api key")
}

func (s *mongoStore) Secret(ctx context.Context, name string, generate func() string) (string, error) {
	// Upsert with $setOnInsert: the first writer's value stays.
	var doc struct {
		Value string `bson:"value"`
	}
	err := s.db.Collection("secrets").FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: name}},
		bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "value", Value: generate()}}}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&doc)
	if err != nil {
		return "", fmt.Errorf("store secret %s: %w", name, err)
	}
	return doc.Value, nil
}

func (s *mongoStore) TryLease(ctx context.Context, name, holder string, now, expires time.Time) (bool, error) {
	// Matches a free-to-take lease; if none matches, the upsert tries to
	// insert a second record with the same _id and loses on the unique key.
	_, err := s.db.Collection("leases").UpdateOne(ctx,
		bson.D{{Key: "_id", Value: name}, {Key: "$or", Value: bson.A{
			bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}},
			bson.D{{Key: "holder", Value: holder}},
		}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "holder", Value: holder}, {Key: "expires_at", Value: expires}}}},
		options.UpdateOne().SetUpsert(true))
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return true, nil
}

func (s *mongoStore) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.db.Collection("leases").DeleteOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "holder", Value: holder}})
	return err
}

type cacheDoc struct {
	Key     string    `bson:"_id"`
	Value   string    `bson:"value"`
	Expires time.Time `bson:"expires_at"`
}

func (s *mongoStore) CacheGet(ctx context.Context, key string, now time.Time) (string, time.Time, error) {
	var d cacheDoc
	err := s.db.Collection("cache").FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&d)
	if engine.IsNoDocuments(err) || (err == nil && !d.Expires.After(now)) {
		return "", time.Time{}, fault.NotFound("cache entry")
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("cache get %s: %w", key, err)
	}
	return d.Value, d.Expires.UTC(), nil
}

func (s *mongoStore) CachePut(ctx context.Context, key, value string, expires time.Time) error {
	_, err := s.db.Collection("cache").UpdateOne(ctx, bson.D{{Key: "_id", Value: key}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "value", Value: value}, {Key: "expires_at", Value: expires}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("cache put %s: %w", key, err)
	}
	return nil
}

func (s *mongoStore) CacheDelete(ctx context.Context, key string) error {
	_, err := s.db.Collection("cache").DeleteOne(ctx, bson.D{{Key: "_id", Value: key}})
	return err
}

func (s *mongoStore) CacheDeleteValue(ctx context.Context, key, value string) (bool, error) {
	res, err := s.db.Collection("cache").DeleteOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "value", Value: value}})
	if err != nil {
		return false, fmt.Errorf("cache delete %s: %w", key, err)
	}
	return res.DeletedCount == 1, nil
}
