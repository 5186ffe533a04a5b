package tenants

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
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

	// CreateUser inserts u; a taken email is a conflict.
	CreateUser(ctx context.Context, u User) error
	// DeleteUser removes a user (used to undo a half-done sign-up).
	DeleteUser(ctx context.Context, id string) error
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)

	CreateAPIKey(ctx context.Context, k APIKey) error
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)

	// Secret returns the platform secret called name, storing generate()'s
	// value if there is none yet. Replicas racing on first start all get the
	// one value that won the insert.
	Secret(ctx context.Context, name string, generate func() string) (string, error)

	leaseStore
	cacheStore
}

// NewStore returns the platform store of the engine.
func NewStore(e *Engine) Store {
	if e.kind == Mongo {
		return &mongoStore{db: e.client.Database(e.dbPrefix)}
	}
	return &sqliteStore{db: e.platform}
}

// platformSQLite is the platform database's schema.
var platformSQLite = []string{
	`CREATE TABLE IF NOT EXISTS tenants (
		id TEXT PRIMARY KEY,
		slug TEXT NOT NULL UNIQUE,
		name TEXT NOT NULL,
		time_zone TEXT NOT NULL,
		created_at TEXT NOT NULL)`,
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
	`CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at TEXT NOT NULL)`,
}

// PlatformMongo declares the platform database's collections and indexes
// (platform records are not tenant-scoped, so no tenant_id prefix).
var PlatformMongo = map[string][]bson.D{
	"tenants":  {{{Key: "slug", Value: 1}}},
	"users":    {{{Key: "email", Value: 1}}, {{Key: "tenant_id", Value: 1}}},
	"api_keys": {{{Key: "hash", Value: 1}}, {{Key: "tenant_id", Value: 1}}},
	"secrets":  {},
	"leases":   {},
	"cache":    {},
}

// uniquePlatform lists the platform indexes that are unique (by collection
// and first key).
var uniquePlatform = map[string]string{"tenants": "slug", "users": "email", "api_keys": "hash"}
