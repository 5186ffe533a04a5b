package wechat

import (
	"context"
	_ "embed"
	"time"

	"microshop/tenants/engine"
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
	return engine.ByKind[Store](e, &sqliteStore{e: e}, &mongoStore{e: e})
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
var Schema = engine.NewSchema("wechat", schemaSQL,
	engine.Coll("wechat_settings"),
	engine.Coll("wechat_qrcodes",
		engine.Unique("scene", "permanent"), engine.Index("-created_at"), engine.Index("permanent")),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string
