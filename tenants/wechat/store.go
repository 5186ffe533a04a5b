package wechat

import (
	"context"
	"microshop/tenants/engine"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Store keeps a shop's WeChat settings and its QR codes, in the shop's own
// database. Every method takes the tenant first.
type Store interface {
	// Settings returns the shop's settings; none is ErrNotFound.
	Settings(ctx context.Context, tenantID string) (Settings, error)
	// SaveSettings writes s, whose Rev must be one more than the stored
	// revision (1 for a shop without settings); a concurrent write in
	// between is ErrConflict, so a read-modify-write never undoes another.
	SaveSettings(ctx context.Context, tenantID string, s Settings) error

	// QR returns the cached code for scene; none is ErrNotFound.
	QR(ctx context.Context, tenantID, scene string, permanent bool) (QRCode, error)
	// PutQR stores q, replacing the code cached for its scene.
	PutQR(ctx context.Context, tenantID string, q QRCode) error
	// QRCodes lists the shop's codes, newest first.
	QRCodes(ctx context.Context, tenantID string, limit int) ([]QRCode, error)
	// CountPermanentQR counts the permanent codes issued (WeChat allows
	// 100,000 per account).
	CountPermanentQR(ctx context.Context, tenantID string) (int64, error)
}

// NewStore returns the store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	if e.Kind() == engine.Mongo {
		return &mongoStore{e: e}
	}
	return &sqliteStore{e: e}
}

// QRCode is one parametric QR code issued through WeChat's QR API.
type QRCode struct {
	Scene     string    `json:"scene" bson:"scene"`
	Permanent bool      `json:"permanent" bson:"permanent"`
	Ticket    string    `json:"ticket" bson:"ticket"`
	URL       string    `json:"url" bson:"url"` // what the QR image encodes
	ExpiresAt time.Time `json:"expires_at,omitzero" bson:"expires_at"`
	CreatedAt time.Time `json:"created_at" bson:"created_at"`
}

// Schema is the WeChat tables and indexes in each tenant database.
var Schema = engine.Schema{
	Name: "wechat",
	SQLite: []string{
		`CREATE TABLE IF NOT EXISTS wechat_settings (
			tenant_id TEXT PRIMARY KEY,
			app_id TEXT NOT NULL,
			app_secret TEXT NOT NULL,
			token TEXT NOT NULL,
			aes_key TEXT NOT NULL,
			prev_aes_key TEXT NOT NULL,
			mode TEXT NOT NULL,
			welcome TEXT NOT NULL,
			sandbox INTEGER NOT NULL,
			rev INTEGER NOT NULL,
			updated_at TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS wechat_qrcodes (
			tenant_id TEXT NOT NULL,
			scene TEXT NOT NULL,
			permanent INTEGER NOT NULL,
			ticket TEXT NOT NULL,
			url TEXT NOT NULL,
			expires_at TEXT NOT NULL,
			created_at TEXT NOT NULL,
			PRIMARY KEY (tenant_id, scene, permanent))`,
		`CREATE INDEX IF NOT EXISTS wechat_qrcodes_created ON wechat_qrcodes (tenant_id, created_at)`,
		`CREATE INDEX IF NOT EXISTS wechat_qrcodes_permanent ON wechat_qrcodes (tenant_id, permanent)`,
	},
	Mongo: []engine.MongoCollection{
		{Name: "wechat_settings"},
		{Name: "wechat_qrcodes", Indexes: []engine.MongoIndex{
			{Keys: bson.D{{Key: "scene", Value: 1}, {Key: "permanent", Value: 1}}, Unique: true},
			{Keys: bson.D{{Key: "created_at", Value: -1}}},
			{Keys: bson.D{{Key: "permanent", Value: 1}}},
		}},
	},
}
