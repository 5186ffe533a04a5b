package tenants

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants/engine"
)

// A shop's staff in the platform database. A member of staff is invited
// (a StaffRecord and a StaffInvite, whose token only the owner's link
// carries), then joins: a User with the staff record's id, so signing in,
// sessions and password changes are the owner's own code. A user with a
// staff record acts in its role; a user without one is the shop's owner.
// That is why removing staff deletes the user before the staff record.

// StaffRecord is one member of a shop's staff.
type StaffRecord struct {
	// ID is also the id of the member's User once they joined.
	ID       string `bson:"_id"`
	TenantID string `bson:"tenant_id"`
	Email    string `bson:"email"`
	Role     Role   `bson:"role"`
	// GuideID is the guide record a guide is bound to (role guide only).
	GuideID string `bson:"guide_id,omitempty"`
	// InvitedBy is the email of who invited them.
	InvitedBy string    `bson:"invited_by"`
	CreatedAt time.Time `bson:"created_at"`
	// JoinedAt is when they set their password (zero: invited only).
	JoinedAt time.Time `bson:"joined_at,omitempty"`
}

// StaffInvite is an invitation link's record: the SHA-256 of its token,
// valid once until ExpiresAt.
type StaffInvite struct {
	Hash      string    `bson:"_id"`
	StaffID   string    `bson:"staff_id"`
	TenantID  string    `bson:"tenant_id"`
	ExpiresAt time.Time `bson:"expires_at"`
}

// staffStore is implemented by both platform stores.
type staffStore interface {
	// CreateStaff inserts r; an email already on the shop's staff is a
	// conflict.
	CreateStaff(ctx context.Context, r StaffRecord) error
	// StaffByID: none is fault.NotFound.
	StaffByID(ctx context.Context, id string) (StaffRecord, error)
	// StaffOf lists the shop's staff, the first invited first.
	StaffOf(ctx context.Context, tenantID string) ([]StaffRecord, error)
	// SetStaffRole sets the role and guide of the shop's member id; none
	// is fault.NotFound.
	SetStaffRole(ctx context.Context, tenantID, id string, role Role, guideID string) error
	// MarkStaffJoined records when the member set their password.
	MarkStaffJoined(ctx context.Context, id string, at time.Time) error
	// DeleteStaff removes the shop's member id (none is not an error).
	DeleteStaff(ctx context.Context, tenantID, id string) error

	CreateStaffInvite(ctx context.Context, inv StaffInvite) error
	// StaffInviteByHash: none is fault.NotFound (expired ones are found).
	StaffInviteByHash(ctx context.Context, hash string) (StaffInvite, error)
	// TakeStaffInvite deletes the invitation if it has not expired at now
	// and returns it: of racing takers one gets it, the others
	// fault.NotFound.
	TakeStaffInvite(ctx context.Context, hash string, now time.Time) (StaffInvite, error)
	// DeleteStaffInvites removes every invitation of the member.
	DeleteStaffInvites(ctx context.Context, staffID string) error
}

// staffSQLite are the staff tables and the API keys' name and role, joined
// to the platform schema (Platform, store.go).
var staffSQLite = []string{
	`ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT ''`,
	`CREATE TABLE IF NOT EXISTS staff (
		id TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL,
		email TEXT NOT NULL,
		role TEXT NOT NULL,
		guide_id TEXT NOT NULL DEFAULT '',
		invited_by TEXT NOT NULL,
		created_at TEXT NOT NULL,
		joined_at TEXT NOT NULL DEFAULT '',
		UNIQUE (tenant_id, email))`,
	`CREATE TABLE IF NOT EXISTS staff_invites (
		hash TEXT PRIMARY KEY,
		staff_id TEXT NOT NULL,
		tenant_id TEXT NOT NULL,
		expires_at TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS staff_invites_staff ON staff_invites (staff_id)`,
}

var staffMongo = []engine.MongoCollection{
	{Name: "staff", Indexes: []engine.MongoIndex{
		{Keys: bson.D{{Key: "tenant_id", Value: 1}, {Key: "email", Value: 1}}, Unique: true}}},
	{Name: "staff_invites", Indexes: []engine.MongoIndex{ // _id is the token's hash
		{Keys: bson.D{{Key: "staff_id", Value: 1}}}}},
}
