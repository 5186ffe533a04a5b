package tenants

import (
	"context"
	"slices"
	"time"

	"microshop/tenants/engine"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Store is the platform database: tenants, merchant users, API keys and
// platform secrets. It is not tenant-scoped: it is what resolves a request
// to its tenant in the first place.
type Store interface {
	// CreateTenant inserts t; a taken slug is a conflict.
	CreateTenant(ctx context.Context, t Tenant) error
	// DeleteTenant removes a tenant record (used to undo a half-done sign-up).
	DeleteTenant(ctx context.Context, id string) error
	TenantByID(ctx context.Context, id string) (Tenant, error)
	TenantBySlug(ctx context.Context, slug string) (Tenant, error)
	// TenantIDs lists every tenant id, for start-up schema checks.
	TenantIDs(ctx context.Context) ([]string, error)
	CountTenants(ctx context.Context) (int64, error)
	// UpdateTenant writes t's name, language and time zone over the
	// tenant's record; no tenant t.ID is fault.NotFound.
	UpdateTenant(ctx context.Context, t Tenant) error

	// CreateUser inserts u; a taken email is a conflict.
	CreateUser(ctx context.Context, u User) error
	// DeleteUser removes a user (used to undo a half-done sign-up).
	DeleteUser(ctx context.Context, id string) error
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	// UsersOfTenant lists the tenant's users, the first signed up first.
	UsersOfTenant(ctx context.Context, tenantID string) ([]User, error)
	// SetPasswordHash replaces the user's password hash; no user is
	// fault.NotFound.
	SetPasswordHash(ctx context.Context, userID, hash string) error

	CreateAPIKey(ctx context.Context, k APIKey) error
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	// APIKeysOf lists the tenant's keys, oldest first, with when each was
	// last used.
	APIKeysOf(ctx context.Context, tenantID string) ([]APIKey, error)
	// DeleteAPIKey removes the tenant's key id and returns it; a key of
	// another tenant, or none, is fault.NotFound.
	DeleteAPIKey(ctx context.Context, tenantID, id string) (APIKey, error)
	// TouchAPIKey records that key id was used at at.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	// Secret returns the platform secret called name, storing generate()'s
	// value if there is none yet. Replicas racing on first start all get the
	// one value that won the insert.
	Secret(ctx context.Context, name string, generate func() string) (string, error)

	leaseStore
	cacheStore
	appIDStore
	sessionStore
	operatorStore // operator_store.go
	staffStore    // staff_store.go
	windowStore   // window_store.go
}

// NewStore returns the platform store of the engine.
func NewStore(e *engine.Engine) Store {
	if e.Kind() == engine.Mongo {
		return &mongoStore{db: e.PlatformMongo()}
	}
	return &sqliteStore{db: e.PlatformSQL()}
}

// OpenSQLite opens the SQLite engine in dir with the platform schema and the
// given tenant schemas.
func OpenSQLite(dir string, schemas ...engine.Schema) (*engine.Engine, error) {
	return engine.OpenSQLite(dir, Platform, schemas...)
}

// OpenMongo opens the Mongo engine at uri with the platform schema and the
// given tenant schemas (see engine.OpenMongo).
func OpenMongo(ctx context.Context, uri, dbPrefix string, opts *options.ClientOptions, schemas ...engine.Schema) (*engine.Engine, error) {
	return engine.OpenMongo(ctx, uri, dbPrefix, opts, Platform, schemas...)
}

// Platform is the platform database's schema: tenants, users, API keys,
// sessions, secrets, leases, the shared cache and the AppID registry.
// Platform records are not tenant-scoped, so the Mongo keys carry no
// tenant_id prefix.
var Platform = engine.Platform{ // operator_store.go, staff_store.go, window_store.go
	SQLite: slices.Concat(platformSQLite, operatorSQLite, staffSQLite, windowSQLite),
	Mongo:  slices.Concat(platformMongo, operatorMongo, staffMongo, windowMongo)}

var platformSQLite = []string{
	`CREATE TABLE IF NOT EXISTS tenants (
		id TEXT PRIMARY KEY,
		slug TEXT NOT NULL UNIQUE,
		name TEXT NOT NULL,
		time_zone TEXT NOT NULL,
		created_at TEXT NOT NULL)`,
	`ALTER TABLE tenants ADD COLUMN lang TEXT NOT NULL DEFAULT ''`,
	`CREATE TABLE IF NOT EXISTS users (
		id TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL,
		email TEXT NOT NULL UNIQUE,
		password_hash TEXT NOT NULL,
		created_at TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS users_tenant ON users (tenant_id)`,
	`CREATE TABLE IF NOT EXISTS api_keys (
		id TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL,
		hash TEXT NOT NULL UNIQUE,
		prefix TEXT NOT NULL,
		created_at TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id)`,
	// When each key was last used: a table of its own, so that api_keys
	// made before it needs no new column.
	`CREATE TABLE IF NOT EXISTS api_key_uses (key_id TEXT PRIMARY KEY, last_used_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS sessions (
		id TEXT PRIMARY KEY,
		user_id TEXT NOT NULL,
		tenant_id TEXT NOT NULL,
		created_at TEXT NOT NULL,
		expires_at TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id, expires_at)`,
	`CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS app_ids (app_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, created_at TEXT NOT NULL)`,
}

var platformMongo = []engine.MongoCollection{
	{Name: "tenants", Indexes: []engine.MongoIndex{{Keys: bson.D{{Key: "slug", Value: 1}}, Unique: true}}},
	{Name: "users", Indexes: []engine.MongoIndex{
		{Keys: bson.D{{Key: "email", Value: 1}}, Unique: true},
		{Keys: bson.D{{Key: "tenant_id", Value: 1}}}}},
	{Name: "api_keys", Indexes: []engine.MongoIndex{
		{Keys: bson.D{{Key: "hash", Value: 1}}, Unique: true},
		{Keys: bson.D{{Key: "tenant_id", Value: 1}}}}},
	{Name: "secrets"}, {Name: "leases"}, {Name: "cache"},
	{Name: "app_ids"}, // _id is the AppID
	{Name: "sessions", Indexes: []engine.MongoIndex{
		{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "expires_at", Value: 1}}}}},
}
