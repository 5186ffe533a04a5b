package tenants

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants/engine"
)

// The platform operator's records in the platform database: operators,
// their API keys and console sessions, and the invitations that let an
// owner of a shop an operator opened set a password. None is
// tenant-scoped. The tables and indexes join the platform schema
// (Platform, store.go).

// OperatorRecord is an operator as the platform store keeps it.
type OperatorRecord struct {
	ID           string `bson:"_id"`
	Email        string `bson:"email"`
	PasswordHash string `bson:"password_hash"`
	// MustChange: the password is the one-time password `microshop
	// operator create` printed; the console asks for a new one first.
	MustChange bool      `bson:"must_change"`
	CreatedAt  time.Time `bson:"created_at"`
}

// Operator is what requests carry of the record.
func (r OperatorRecord) Operator() Operator { return Operator{ID: r.ID, Email: r.Email} }

// OperatorKey is an operator API credential (mso_…); only its SHA-256 is
// stored, as for merchant keys.
type OperatorKey struct {
	ID         string    `bson:"_id"`
	OperatorID string    `bson:"operator_id"`
	Hash       string    `bson:"hash"`
	Prefix     string    `bson:"prefix"`
	CreatedAt  time.Time `bson:"created_at"`
}

// operatorKind is the kind of every operator session, in its record and
// its signed cookie: a merchant's session has none, and the two never
// stand for each other.
const operatorKind = "operator"

// OperatorSessionRecord is one ops console session.
type OperatorSessionRecord struct {
	ID         string    `bson:"_id"`
	OperatorID string    `bson:"operator_id"`
	Kind       string    `bson:"kind"`
	CreatedAt  time.Time `bson:"created_at"`
	ExpiresAt  time.Time `bson:"expires_at"`
}

// Invitation lets the owner of a shop an operator opened set a password,
// once, before ExpiresAt. Only the SHA-256 of its token is stored.
type Invitation struct {
	Hash      string    `bson:"_id"`
	TenantID  string    `bson:"tenant_id"`
	UserID    string    `bson:"user_id"`
	Email     string    `bson:"email"`
	CreatedAt time.Time `bson:"created_at"`
	ExpiresAt time.Time `bson:"expires_at"`
	// UsedAt is when the owner set a password with it (zero: not yet;
	// stored as the zero time, which the claim's filter matches).
	UsedAt time.Time `bson:"used_at"`
}

// operatorStore is implemented by both platform stores.
type operatorStore interface {
	// CreateOperator inserts o; a taken email is a conflict.
	CreateOperator(ctx context.Context, o OperatorRecord) error
	// OperatorByEmail and OperatorByID: none is fault.NotFound.
	OperatorByEmail(ctx context.Context, email string) (OperatorRecord, error)
	OperatorByID(ctx context.Context, id string) (OperatorRecord, error)
	// SetOperatorPassword replaces the operator's password hash and its
	// must-change mark; no operator is fault.NotFound.
	SetOperatorPassword(ctx context.Context, id, hash string, mustChange bool) error

	CreateOperatorKey(ctx context.Context, k OperatorKey) error
	// OperatorKeyByHash: none is fault.NotFound.
	OperatorKeyByHash(ctx context.Context, hash string) (OperatorKey, error)
	// DeleteOperatorKeys revokes every key of the operator.
	DeleteOperatorKeys(ctx context.Context, operatorID string) error

	CreateOperatorSession(ctx context.Context, r OperatorSessionRecord) error
	// OperatorSessionByID: none is fault.NotFound.
	OperatorSessionByID(ctx context.Context, id string) (OperatorSessionRecord, error)
	DeleteOperatorSession(ctx context.Context, id string) error
	// DeleteOperatorSessions ends every session of the operator but keepID
	// ("" keeps none).
	DeleteOperatorSessions(ctx context.Context, operatorID, keepID string) error
	// DeleteExpiredOperatorSessions removes the operator's sessions expired at now.
	DeleteExpiredOperatorSessions(ctx context.Context, operatorID string, now time.Time) error

	// TenantsPage lists shops, the newest first.
	TenantsPage(ctx context.Context, limit, offset int) ([]Tenant, error)

	CreateInvitation(ctx context.Context, inv Invitation) error
	// InvitationByHash: none is fault.NotFound.
	InvitationByHash(ctx context.Context, hash string) (Invitation, error)
	// ClaimInvitation marks the invitation used at now if it is unused and
	// unexpired, and reports whether this call did.
	ClaimInvitation(ctx context.Context, hash string, now time.Time) (bool, error)
	// UnclaimInvitation undoes a claim whose password could not be saved.
	UnclaimInvitation(ctx context.Context, hash string) error
	// InvitationsOf lists the invitations of the shops, oldest first.
	InvitationsOf(ctx context.Context, tenantIDs []string) ([]Invitation, error)
}

var operatorSQLite = []string{
	`CREATE TABLE IF NOT EXISTS operators (
		id TEXT PRIMARY KEY,
		email TEXT NOT NULL UNIQUE,
		password_hash TEXT NOT NULL,
		must_change INTEGER NOT NULL DEFAULT 0,
		created_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS operator_keys (
		id TEXT PRIMARY KEY,
		operator_id TEXT NOT NULL,
		hash TEXT NOT NULL UNIQUE,
		prefix TEXT NOT NULL,
		created_at TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS operator_keys_operator ON operator_keys (operator_id)`,
	`CREATE TABLE IF NOT EXISTS operator_sessions (
		id TEXT PRIMARY KEY,
		operator_id TEXT NOT NULL,
		kind TEXT NOT NULL,
		created_at TEXT NOT NULL,
		expires_at TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS operator_sessions_operator ON operator_sessions (operator_id, expires_at)`,
	`CREATE TABLE IF NOT EXISTS invitations (
		hash TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL,
		user_id TEXT NOT NULL,
		email TEXT NOT NULL,
		created_at TEXT NOT NULL,
		expires_at TEXT NOT NULL,
		used_at TEXT NOT NULL DEFAULT '')`,
	`CREATE INDEX IF NOT EXISTS invitations_tenant ON invitations (tenant_id, created_at)`,
	// The ops console lists shops newest first.
	`CREATE INDEX IF NOT EXISTS tenants_created ON tenants (created_at, id)`,
}

var operatorMongo = []engine.MongoCollection{
	{Name: "operators", Indexes: []engine.MongoIndex{{Keys: bson.D{{Key: "email", Value: 1}}, Unique: true}}},
	{Name: "operator_keys", Indexes: []engine.MongoIndex{
		{Keys: bson.D{{Key: "hash", Value: 1}}, Unique: true},
		{Keys: bson.D{{Key: "operator_id", Value: 1}}}}},
	{Name: "operator_sessions", Indexes: []engine.MongoIndex{
		{Keys: bson.D{{Key: "operator_id", Value: 1}, {Key: "expires_at", Value: 1}}}}},
	{Name: "invitations", Indexes: []engine.MongoIndex{ // _id is the token's hash
		{Keys: bson.D{{Key: "tenant_id", Value: 1}, {Key: "created_at", Value: 1}}}}},
	{Name: "tenants", Indexes: []engine.MongoIndex{
		{Keys: bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}}}},
}
