package pcstore

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"io"
	"time"

	"microshop/shop/pcstore/source"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Link is a shop's PC store: where its catalog is read from, and when.
// Its bson names are those of its MongoDB document.
type Link struct {
	Type       string `bson:"type"`       // source.Shopify, source.WooCommerce or source.Feed
	URL        string `bson:"url"`        // the store's (or the feed's) address; "" for an uploaded feed
	Key        string `bson:"api_key"`    // WooCommerce consumer key
	Secret     string `bson:"api_secret"` // WooCommerce consumer secret; never shown again
	UploadID   string `bson:"upload_id"`  // the uploaded feed, when the feed is an upload
	UploadName string `bson:"upload_name"`
	// Currency is what the store's prices are in, known before anything
	// is imported: stated by the store when the link was saved
	// (CurrencyFromStore), or set by the merchant for a store that states
	// none. A sync checks it again before reading a price, and fails
	// without changing one when it cannot confirm it. For a feed it is the
	// currency of prices that name none ("" : such prices are refused).
	Currency          string `bson:"currency"`
	CurrencyFromStore bool   `bson:"currency_from_store"`
	// Rates are yuan per unit of the foreign currencies the shop accepts.
	Rates map[string]source.Rate `bson:"rates"`
	// IntervalMinutes is how often the catalog is synced (0: never on
	// schedule, as for an uploaded feed).
	IntervalMinutes int `bson:"interval_minutes"`
	// AssumedStock is the stock of an item the store shows as available
	// without a count.
	AssumedStock int64     `bson:"assumed_stock"`
	CreatedAt    time.Time `bson:"created_at"`
	UpdatedAt    time.Time `bson:"updated_at"`

	// Schedule, kept by the syncer (SetLinkRun and FinishLinkRun): never
	// written by PutLink, so a merchant's edit and a sync never undo each
	// other.
	NextRunAt  time.Time `bson:"next_run_at"`
	CurrentRun string    `bson:"current_run"` // the run in progress (or interrupted, to resume)
	LastRunID  string    `bson:"last_run_id"`
	LastCount  int64     `bson:"last_count"` // products seen by the last finished run
}

// Spec is what a run reads: the link at the time the run started, less the
// secret (which stays in the link).
type Spec struct {
	Type       string `json:"type" bson:"type"`
	URL        string `json:"url,omitempty" bson:"url,omitempty"`
	Key        string `json:"-" bson:"key,omitempty"`
	UploadID   string `json:"upload_id,omitempty" bson:"upload_id,omitempty"`
	UploadName string `json:"upload_name,omitempty" bson:"upload_name,omitempty"`
	SourceKey  string `json:"-" bson:"source_key"`
}

// Run statuses.
const (
	Running   = "running"
	Succeeded = "succeeded"
	Failed    = "failed"
)

// Counts are a run's outcomes, one per product.
type Counts struct {
	Created   int64 `json:"created" bson:"created"`
	Updated   int64 `json:"updated" bson:"updated"`
	Unchanged int64 `json:"unchanged" bson:"unchanged"`
	OffSale   int64 `json:"off_sale" bson:"off_sale"`
	Failed    int64 `json:"failed" bson:"failed"`
}

// Done is how many products the run has dealt with.
func (c Counts) Done() int64 { return c.Created + c.Updated + c.Unchanged + c.Failed }

// add counts n mappings left with outcome (failures are counted from the
// run's errors instead).
func (c *Counts) add(outcome string, n int64) {
	switch outcome {
	case outCreated:
		c.Created += n
	case outUpdated:
		c.Updated += n
	case outUnchanged:
		c.Unchanged += n
	case outOffSale:
		c.OffSale += n
	}
}

// Run is one sync of a shop's catalog with its PC store. Its bson names
// are those of its MongoDB document.
type Run struct {
	ID      string `json:"id" bson:"_id"`
	Status  string `json:"status" bson:"status"`
	Trigger string `json:"trigger" bson:"trigger"` // schedule, manual, api, script, taobao (a Taobao package's import)
	Spec    Spec   `json:"source" bson:"spec"`
	Counts  Counts `json:"counts" bson:"counts"`
	// Total is how many products the source is expected to hold (from the
	// source, or the last run), 0 when unknown; BytesRead/BytesTotal are a
	// feed's download progress.
	Total      int64 `json:"total" bson:"total"`
	BytesRead  int64 `json:"bytes_read" bson:"bytes_read"`
	BytesTotal int64 `json:"bytes_total" bson:"bytes_total"`
	// Page is the last page of a paginated source whose products are all
	// applied: a resumed run reads on after it.
	Page        int       `json:"page" bson:"page"`
	Resumes     int       `json:"resumes" bson:"resumes"`
	Error       string    `json:"error,omitempty" bson:"error"`
	Notes       []string  `json:"notes,omitempty" bson:"notes"`
	StartedAt   time.Time `json:"started_at" bson:"started_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero" bson:"finished_at"`
	HeartbeatAt time.Time `json:"heartbeat_at" bson:"heartbeat_at"`
	// ActiveMS is the time spent syncing, without the time an interrupted
	// run waited to be resumed.
	ActiveMS int64 `json:"duration_ms" bson:"active_ms"`
}

// tidy gives a run read back from either engine one form: times in UTC,
// an unfinished run's FinishedAt zero (MongoDB may hand the zero time back
// as the epoch), no empty notes.
func (r Run) tidy() Run {
	r.StartedAt, r.HeartbeatAt = r.StartedAt.UTC(), r.HeartbeatAt.UTC()
	if r.FinishedAt.IsZero() || r.FinishedAt.Unix() <= 0 {
		r.FinishedAt = time.Time{}
	} else {
		r.FinishedAt = r.FinishedAt.UTC()
	}
	if len(r.Notes) == 0 {
		r.Notes = nil
	}
	return r
}

// RunError is why one product failed in a run.
type RunError struct {
	RunID      string    `json:"-"`
	Ref        string    `json:"ref"` // where in the source ("item 12", "line 40")
	ExternalID string    `json:"external_id,omitempty"`
	Title      string    `json:"title,omitempty"`
	Message    string    `json:"message"`
	At         time.Time `json:"at"`
}

// Mapping ties a product of the PC store to the micro-shop product made
// from it.
type Mapping struct {
	Source     string            // the source's Key()
	ExternalID string            // the product's id in the PC store
	ProductID  string            // "" while claimed but not yet created
	SKUs       map[string]string // variant's external id -> SKU id
	Run        string            // the last run that dealt with it
	Outcome    string            // what that run did: created, updated, unchanged, off_sale, failed; "" while claimed
	Gone       bool              // taken off sale because the source no longer lists it
	UpdatedAt  time.Time
}

// Mapping outcomes.
const (
	outCreated   = "created"
	outUpdated   = "updated"
	outUnchanged = "unchanged"
	outOffSale   = "off_sale"
	outFailed    = "failed"  // listed but not importable this time: kept as it is
	outDropped   = "dropped" // a claim that never got its product, no longer listed
)

// Upload is a feed file a merchant uploaded, kept in chunks so any replica
// can read it (and resume a run that reads it).
type Upload struct {
	ID        string
	Name      string
	Size      int64
	CreatedAt time.Time
}

// Store keeps a shop's PC store link, its id mappings, runs and uploads in
// the tenant's database. Every method takes the tenant first.
//
// Exactly-once rests on unique keys, never on transactions: a mapping is
// claimed by inserting (source, external id) before its product is made, so
// of two writers only one creates the product; a run error is keyed by (run,
// ref), so a resumed run does not count it twice.
type Store interface {
	GetLink(ctx context.Context, tenantID string) (Link, error)
	// PutLink writes the link's settings (not its schedule fields),
	// creating it if needed.
	PutLink(ctx context.Context, tenantID string, l Link) error
	DeleteLink(ctx context.Context, tenantID string) error
	// SetLinkRun records the run in progress.
	SetLinkRun(ctx context.Context, tenantID, runID string) error
	// FinishLinkRun clears the run in progress if it is runID and records
	// the next scheduled time.
	FinishLinkRun(ctx context.Context, tenantID, runID string, next time.Time, lastCount int64) error

	// Mappings returns the mappings of ids from source, by external id.
	Mappings(ctx context.Context, tenantID, source string, ids []string) (map[string]Mapping, error)
	// ClaimMappings inserts the mappings that do not exist yet (by source
	// and external id); existing ones are left as they are.
	ClaimMappings(ctx context.Context, tenantID string, ms []Mapping) error
	// SaveMapping updates a claimed mapping.
	SaveMapping(ctx context.Context, tenantID string, m Mapping) error
	// MarkSeen records that run dealt with ids, with outcome (unchanged,
	// or failed: still listed, so not to be taken off sale).
	MarkSeen(ctx context.Context, tenantID, source, runID, outcome string, ids []string) error
	// StaleMappings returns up to limit mappings of source that run has not
	// seen and that are not gone yet.
	StaleMappings(ctx context.Context, tenantID, source, runID string, limit int) ([]Mapping, error)
	// CountOutcomes counts the mappings run dealt with, by outcome.
	CountOutcomes(ctx context.Context, tenantID, runID string) (Counts, error)

	CreateRun(ctx context.Context, tenantID string, r Run) error
	GetRun(ctx context.Context, tenantID, id string) (Run, error)
	// SaveRun writes a run's progress and status.
	SaveRun(ctx context.Context, tenantID string, r Run) error
	// ListRuns returns up to limit runs, newest first, started before
	// before (zero: any).
	ListRuns(ctx context.Context, tenantID string, before time.Time, limit int) ([]Run, error)
	// AddRunError records an item's failure; false if the run already has
	// one for that ref.
	AddRunError(ctx context.Context, tenantID string, e RunError) (bool, error)
	RunErrors(ctx context.Context, tenantID, runID string, offset, limit int) ([]RunError, error)
	CountRunErrors(ctx context.Context, tenantID, runID string) (int64, error)

	// PutUpload stores r (at most max bytes) as upload u and returns its size.
	PutUpload(ctx context.Context, tenantID string, u Upload, r io.Reader, max int64) (int64, error)
	// OpenUpload reads an upload back, chunk by chunk.
	OpenUpload(ctx context.Context, tenantID, id string) (io.ReadCloser, int64, error)
	// DeleteUploads removes every upload but keep.
	DeleteUploads(ctx context.Context, tenantID string, keep ...string) error

	// ImageCopies returns the copies of the images at urls, by URL.
	ImageCopies(ctx context.Context, tenantID string, urls []string) (map[string]ImageCopy, error)
	// SaveImageCopy records (or replaces) the copy of the image at c.URL.
	SaveImageCopy(ctx context.Context, tenantID string, c ImageCopy) error
}

// ImageCopy is the copy in the shop's image store of an image a PC store
// serves at URL; it is copied again only when the image there changed.
type ImageCopy struct {
	URL string
	// ETag and LastModified are what the store sent with the image, for a
	// conditional request (304: unchanged).
	ETag         string
	LastModified string
	SHA256       string    // of the bytes downloaded: the same bytes again are not copied again
	Stored       string    // the copy's address, as products reference it
	CheckedAt    time.Time // when the store was last asked
}

// imageKey is the key of an image copy: the hash of its address (which may
// be long).
func imageKey(url string) string {
	h := sha256.Sum256([]byte(url))
	return hex.EncodeToString(h[:])
}

// NewStore returns the store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{e: e}, &mongoStore{e: e})
}

// The helpers below serve both engines' stores.

func errNoLink() error { return fault.NotFound("PC store link") }

func errNoUpload() error { return fault.NotFound("uploaded feed") }

// orEmpty is m, or an empty map when m is nil: stored as {}, never null.
func orEmpty[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return M{}
	}
	return m
}

// orNone is l, or an empty list when l is nil: stored as [], never null.
func orNone[L ~[]E, E any](l L) L {
	if l == nil {
		return L{}
	}
	return l
}

// byExternalID indexes mappings by their external id.
func byExternalID(ms []Mapping) map[string]Mapping {
	out := make(map[string]Mapping, len(ms))
	for _, m := range ms {
		out[m.ExternalID] = m
	}
	return out
}

// Schema is pcstore's tables and indexes in each tenant database.
var Schema = engine.NewSchema("pcstore", schemaSQL,
	engine.Coll("pcstore_links"), // one document per tenant, _id "link:<tenant>"
	engine.Coll("pcstore_mappings",
		engine.Unique("source", "external_id"), engine.Index("run", "outcome"),
		engine.Index("source", "gone")),
	engine.Coll("pcstore_runs", engine.Index("-started_at", "-_id")),
	engine.Coll("pcstore_run_errors", engine.Unique("run_id", "ref"), engine.Index("run_id", "seq")),
	engine.Coll("pcstore_uploads", engine.Index("created_at")),
	engine.Coll("pcstore_upload_chunks", engine.Unique("upload_id", "seq")),
	engine.Coll("pcstore_images", engine.Unique("key")),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string
