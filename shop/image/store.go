package image

import (
	"context"
	_ "embed"

	"microshop/tenants/engine"
)

// Store keeps a shop's image records and their bytes. Every method takes
// the tenant first.
type Store interface {
	// Insert stores img with its bytes, data, and its thumbnail's, thumb
	// (unused when img is its own thumbnail), unless the shop holds an
	// image with the same SHA256 already: it returns the stored image
	// (that one, then) and whether it inserted.
	Insert(ctx context.Context, tenantID string, img Image, data, thumb []byte) (Image, bool, error)
	// Get returns the image with id; ErrNotFound if none.
	Get(ctx context.Context, tenantID, id string) (Image, error)
	// BySHA256 returns the image whose stored bytes hash to sum; ErrNotFound if none.
	BySHA256(ctx context.Context, tenantID, sum string) (Image, error)
	// BySource returns an image made from an upload hashing to sum;
	// ErrNotFound if none.
	BySource(ctx context.Context, tenantID, sum string) (Image, error)
	// Bytes returns the stored bytes named blobID (an image's ID or
	// ThumbID); ErrNotFound if none.
	Bytes(ctx context.Context, tenantID, blobID string) ([]byte, error)
	// Existing returns which of ids name images of the shop.
	Existing(ctx context.Context, tenantID string, ids []string) (map[string]bool, error)
	// Delete removes the image and its bytes; ErrNotFound if none.
	Delete(ctx context.Context, tenantID, id string) error
}

// NewStore returns the image store for e's engine.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{e: e}, &mongoStore{e: e})
}

// Collections of the Mongo engine: records, and the bytes in chunks of
// chunkSize (a document holds at most 16 MB).
const (
	imagesColl = "images"
	chunksColl = "image_chunks"
)

// chunkSize is the size of one chunk document's bytes (GridFS's default).
const chunkSize = 255 << 10

// Schema is the image store's tables and indexes in each tenant database.
var Schema = engine.NewSchema("image", schemaSQL,
	engine.Coll(imagesColl, engine.Unique("sha256"), engine.Index("source_sha256")),
	engine.Coll(chunksColl, engine.Unique("blob_id", "n")),
)

//go:embed schema.sql
var schemaSQL string
