package tenants

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ db *mongo.Database }

// insert inserts v, a what, into coll; a unique violation is taken (a
// conflict saying which value is in use).
func (s *mongoStore) insert(ctx context.Context, coll, what string, taken error, v any) error {
	_, err := s.db.Collection(coll).InsertOne(ctx, v)
	if engine.IsUniqueViolation(err) && taken != nil {
		return taken
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", what, err)
	}
	return nil
}

// set sets fields of the record with id in coll; a missing record is
// missing (nil: not an error).
func (s *mongoStore) set(ctx context.Context, coll, id string, fields bson.D, missing error) error {
	res, err := s.db.Collection(coll).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: fields}})
	return engine.Matched(res, err, missing)
}

// deleteOne deletes the record f matches in coll; doing says what it does.
func (s *mongoStore) deleteOne(ctx context.Context, coll, doing string, f bson.D) error {
	if _, err := s.db.Collection(coll).DeleteOne(ctx, f); err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return nil
}

// deleteMany deletes the records f matches in coll; doing says what it does.
func (s *mongoStore) deleteMany(ctx context.Context, coll, doing string, f bson.D) error {
	if _, err := s.db.Collection(coll).DeleteMany(ctx, f); err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return nil
}

// findAll decodes every record f matches in coll, a list of what.
func findAll[T any](ctx context.Context, s *mongoStore, coll string, f bson.D, what string) ([]T, error) {
	cur, err := s.db.Collection(coll).Find(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return out, nil
}

// findOne decodes the record f matches in coll, a what; none is
// fault.NotFound(what).
func findOne[T any](ctx context.Context, s *mongoStore, coll string, f bson.D, what string) (T, error) {
	var v T
	err := s.db.Collection(coll).FindOne(ctx, f).Decode(&v)
	if engine.IsNoDocuments(err) {
		return v, fault.NotFound(what)
	}
	if err != nil {
		return v, fmt.Errorf("read %s: %w", what, err)
	}
	return v, nil
}

func (s *mongoStore) CreateTenant(ctx context.Context, t Tenant) error {
	return s.insert(ctx, "tenants", "shop", errSlugTaken(t.Slug), t)
}

func (s *mongoStore) UpdateTenant(ctx context.Context, t Tenant) error {
	return s.set(ctx, "tenants", t.ID,
		bson.D{{Key: "name", Value: t.Name}, {Key: "lang", Value: t.Lang}, {Key: "time_zone", Value: t.TimeZone}}, fault.NotFound("shop"))
}

func (s *mongoStore) DeleteTenant(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "tenants", "delete shop "+id, bson.D{{Key: "_id", Value: id}})
}

func (s *mongoStore) TenantByID(ctx context.Context, id string) (Tenant, error) {
	return findOne[Tenant](ctx, s, "tenants", bson.D{{Key: "_id", Value: id}}, "shop")
}

func (s *mongoStore) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	return findOne[Tenant](ctx, s, "tenants", bson.D{{Key: "slug", Value: slug}}, "shop")
}

func (s *mongoStore) TenantIDs(ctx context.Context) ([]string, error) {
	ids, err := engine.MongoIDs(ctx, s.db.Collection("tenants"), bson.D{}, bson.D{{Key: "_id", Value: 1}})
	return ids, fault.Wrap(err, "list shops")
}

func (s *mongoStore) CountTenants(ctx context.Context) (int64, error) {
	// The collection's own count, not a scan: exact enough to tell an empty
	// platform from a used one.
	n, err := s.db.Collection("tenants").EstimatedDocumentCount(ctx)
	if err != nil {
		return 0, fmt.Errorf("count shops: %w", err)
	}
	return n, nil
}

func (s *mongoStore) CreateUser(ctx context.Context, u User) error {
	return s.insert(ctx, "users", "user", errEmailTaken(u.Email), u)
}

func (s *mongoStore) DeleteUser(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "users", "delete user "+id, bson.D{{Key: "_id", Value: id}})
}

func (s *mongoStore) UserByEmail(ctx context.Context, email string) (User, error) {
	return findOne[User](ctx, s, "users", bson.D{{Key: "email", Value: email}}, "user")
}

func (s *mongoStore) UserByID(ctx context.Context, id string) (User, error) {
	return findOne[User](ctx, s, "users", bson.D{{Key: "_id", Value: id}}, "user")
}

func (s *mongoStore) UsersOfTenant(ctx context.Context, tenantID string) ([]User, error) {
	users, err := findAll[User](ctx, s, "users", bson.D{{Key: "tenant_id", Value: tenantID}}, "users")
	// A shop has a user or a few: sorted here, not by an index.
	slices.SortFunc(users, func(a, b User) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)) })
	return users, err
}

func (s *mongoStore) SetPasswordHash(ctx context.Context, userID, hash string) error {
	if err := s.set(ctx, "users", userID, bson.D{{Key: "password_hash", Value: hash}}, fault.NotFound("user")); err != nil {
		return fmt.Errorf("set password of user %s: %w", userID, err)
	}
	return nil
}

func (s *mongoStore) CreateAPIKey(ctx context.Context, k APIKey) error {
	return s.insert(ctx, "api_keys", "api key", nil, k)
}

func (s *mongoStore) APIKeyByHash(ctx context.Context, hash string) (APIKey, error) {
	return findOne[APIKey](ctx, s, "api_keys", bson.D{{Key: "hash", Value: hash}}, "api key")
}

func (s *mongoStore) APIKeysOf(ctx context.Context, tenantID string) ([]APIKey, error) {
	keys, err := findAll[APIKey](ctx, s, "api_keys", bson.D{{Key: "tenant_id", Value: tenantID}}, "api keys")
	// A shop has a few keys (maxAPIKeys): sorted here, not by an index.
	slices.SortFunc(keys, func(a, b APIKey) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)) })
	return keys, err
}

func (s *mongoStore) DeleteAPIKey(ctx context.Context, tenantID, id string) (APIKey, error) {
	var k APIKey
	err := s.db.Collection("api_keys").FindOneAndDelete(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "tenant_id", Value: tenantID}}).Decode(&k)
	if engine.IsNoDocuments(err) {
		return APIKey{}, fault.NotFound("API key")
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("delete api key %s: %w", id, err)
	}
	return k, nil
}

func (s *mongoStore) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	if err := s.set(ctx, "api_keys", id, bson.D{{Key: "last_used_at", Value: at}}, nil); err != nil {
		return fmt.Errorf("record use of api key %s: %w", id, err)
	}
	return nil
}

func (s *mongoStore) CreateSession(ctx context.Context, r SessionRecord) error {
	return s.insert(ctx, "sessions", "session", nil, r)
}

func (s *mongoStore) SessionByID(ctx context.Context, id string) (SessionRecord, error) {
	return findOne[SessionRecord](ctx, s, "sessions", bson.D{{Key: "_id", Value: id}}, "session")
}

func (s *mongoStore) DeleteSession(ctx context.Context, id string) error {
	return s.deleteOne(ctx, "sessions", "end session", bson.D{{Key: "_id", Value: id}})
}

func (s *mongoStore) DeleteUserSessions(ctx context.Context, userID, keepID string) error {
	return s.deleteMany(ctx, "sessions", "end sessions of user "+userID,
		bson.D{{Key: "user_id", Value: userID}, {Key: "_id", Value: bson.D{{Key: "$ne", Value: keepID}}}})
}

func (s *mongoStore) DeleteExpiredSessions(ctx context.Context, userID string, now time.Time) error {
	return s.deleteMany(ctx, "sessions", "remove expired sessions of user "+userID,
		bson.D{{Key: "user_id", Value: userID}, {Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}})
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
	return s.deleteOne(ctx, "leases", "release lease "+name, bson.D{{Key: "_id", Value: name}, {Key: "holder", Value: holder}})
}

type cacheDoc struct {
	Key     string    `bson:"_id"`
	Value   string    `bson:"value"`
	Expires time.Time `bson:"expires_at"`
}

func (s *mongoStore) CacheGet(ctx context.Context, key string, now time.Time) (string, time.Time, error) {
	d, err := findOne[cacheDoc](ctx, s, "cache", bson.D{{Key: "_id", Value: key}}, "cache entry")
	if err != nil {
		return "", time.Time{}, err
	}
	if !d.Expires.After(now) {
		return "", time.Time{}, fault.NotFound("cache entry")
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
	return s.deleteOne(ctx, "cache", "cache delete "+key, bson.D{{Key: "_id", Value: key}})
}

func (s *mongoStore) CacheDeleteValue(ctx context.Context, key, value string) (bool, error) {
	res, err := s.db.Collection("cache").DeleteOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "value", Value: value}})
	if err != nil {
		return false, fmt.Errorf("cache delete %s: %w", key, err)
	}
	return res.DeletedCount == 1, nil
}

type appIDDoc struct {
	AppID     string    `bson:"_id"`
	TenantID  string    `bson:"tenant_id"`
	CreatedAt time.Time `bson:"created_at"`
}

func (s *mongoStore) ClaimAppID(ctx context.Context, appID, tenantID string) error {
	return claimAppID(ctx, appID, tenantID, func() error {
		// The unique _id picks one winner; a losing insert is not an error.
		_, err := s.db.Collection("app_ids").InsertOne(ctx, appIDDoc{AppID: appID, TenantID: tenantID, CreatedAt: time.Now().UTC()})
		if engine.IsUniqueViolation(err) {
			return nil
		}
		return err
	}, s.AppIDOwner)
}

func (s *mongoStore) ReleaseAppID(ctx context.Context, appID, tenantID string) error {
	return s.deleteOne(ctx, "app_ids", "release AppID "+appID,
		bson.D{{Key: "_id", Value: appID}, {Key: "tenant_id", Value: tenantID}})
}

func (s *mongoStore) AppIDOwner(ctx context.Context, appID string) (string, error) {
	d, err := findOne[appIDDoc](ctx, s, "app_ids", bson.D{{Key: "_id", Value: appID}}, "AppID")
	return d.TenantID, err
}
