package fan

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// Store keeps a shop's fans.
type Store interface {
	// Ensure creates the fan record if it does not exist yet (first source
	// wins) and returns the stored fan.
	Ensure(ctx context.Context, tenantID, fanID, source string, now time.Time) (Fan, error)
	Get(ctx context.Context, tenantID, fanID string) (Fan, error)
}

// NewStore returns the fan store on the engine's kind.
func NewStore(e *tenants.Engine) Store {
	if e.Kind() == tenants.Mongo {
		return &mongoStore{e: e}
	}
	return &sqliteStore{e: e}
}

// Schema is the fans' table and indexes in each tenant database.
var Schema = tenants.Schema{
	Name: "fan",
	SQLite: []string{
		`CREATE TABLE IF NOT EXISTS fans (
			tenant_id TEXT NOT NULL,
			id TEXT NOT NULL,
			openid TEXT NOT NULL DEFAULT '',
			subscribed INTEGER NOT NULL DEFAULT 0,
			source TEXT NOT NULL DEFAULT '',
			created_at TEXT NOT NULL,
			PRIMARY KEY (tenant_id, id))`,
		`CREATE INDEX IF NOT EXISTS fans_openid ON fans (tenant_id, openid)`,
	},
	Mongo: []tenants.MongoCollection{
		{Name: "fans", Indexes: []tenants.MongoIndex{{Keys: bson.D{{Key: "openid", Value: 1}}}}},
	},
}

type sqliteStore struct{ e *tenants.Engine }

func (s *sqliteStore) Ensure(ctx context.Context, tenantID, fanID, source string, now time.Time) (Fan, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Fan{}, err
	}
	// INSERT OR IGNORE: a replay, or two first actions racing, insert once.
	if _, err := db.Exec(ctx, `INSERT OR IGNORE INTO fans (tenant_id, id, source, created_at) VALUES (?, ?, ?, ?)`,
		fanID, source, tenants.TimeText(now)); err != nil {
		return Fan{}, err
	}
	return s.Get(ctx, tenantID, fanID)
}

func (s *sqliteStore) Get(ctx context.Context, tenantID, fanID string) (Fan, error) {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return Fan{}, err
	}
	var f Fan
	var created string
	err = db.QueryRow(ctx, `SELECT id, openid, subscribed, source, created_at FROM fans WHERE tenant_id = ? AND id = ?`, fanID).
		Scan(&f.ID, &f.OpenID, &f.Subscribed, &f.Source, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Fan{}, fault.NotFound("fan")
	}
	f.CreatedAt = tenants.ParseTimeText(created)
	return f, err
}

type mongoStore struct{ e *tenants.Engine }

type fanDoc struct {
	ID         string    `bson:"_id"`
	OpenID     string    `bson:"openid"`
	Subscribed bool      `bson:"subscribed"`
	Source     string    `bson:"source"`
	CreatedAt  time.Time `bson:"created_at"`
}

func (s *mongoStore) Ensure(ctx context.Context, tenantID, fanID, source string, now time.Time) (Fan, error) {
	err := s.e.Mongo(tenantID).C("fans").InsertOne(ctx, fanDoc{ID: fanID, Source: source, CreatedAt: now})
	if err != nil && !tenants.IsUniqueViolation(err) {
		return Fan{}, err
	}
	return s.Get(ctx, tenantID, fanID)
}

func (s *mongoStore) Get(ctx context.Context, tenantID, fanID string) (Fan, error) {
	var d fanDoc
	err := s.e.Mongo(tenantID).C("fans").FindOne(ctx, bson.D{{Key: "_id", Value: fanID}}).Decode(&d)
	if tenants.IsNoDocuments(err) {
		return Fan{}, fault.NotFound("fan")
	}
	return Fan{ID: d.ID, OpenID: d.OpenID, Subscribed: d.Subscribed, Source: d.Source, CreatedAt: d.CreatedAt.UTC()}, err
}
