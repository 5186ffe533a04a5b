package aftersale

import (
	"context"
	_ "embed"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Store keeps a shop's after-sale requests, the order lines they hold,
// their threads and the shop's settings. Every method takes the tenant
// first.
type Store interface {
	// Insert records r and claims its order lines for it, atomically: false
	// (nothing written) when an open request holds one of them.
	Insert(ctx context.Context, tenantID string, r Request) (bool, error)
	// Get returns a request; fault.NotFound if none.
	Get(ctx context.Context, tenantID, id string) (Request, error)
	// Update writes r over the stored request if that is still at revision
	// rev (r.Rev is the new revision); false otherwise. A request that is no
	// longer open gives its order lines back.
	Update(ctx context.Context, tenantID string, r Request, rev int64) (bool, error)
	// ByOrder lists an order's requests, oldest first.
	ByOrder(ctx context.Context, tenantID, orderID string) ([]Request, error)
	// List lists requests in status ("" any), newest first, and counts them.
	List(ctx context.Context, tenantID, status string, limit, offset int) ([]Request, int64, error)
	// Between lists up to limit requests created from from (inclusive) to
	// to (exclusive), oldest first, skipping offset.
	Between(ctx context.Context, tenantID string, from, to time.Time, limit, offset int) ([]Request, error)
	// Due lists up to limit requests whose deadline is at or before now,
	// earliest first.
	Due(ctx context.Context, tenantID string, now time.Time, limit int) ([]Request, error)
	// Stuck lists up to limit requests whose refund has been sending since
	// before before (the process that sent it died).
	Stuck(ctx context.Context, tenantID string, before time.Time, limit int) ([]Request, error)
	// Unqueued lists up to limit escalated requests not yet in the
	// platform's dispute queue.
	Unqueued(ctx context.Context, tenantID string, limit int) ([]Request, error)

	AddMessage(ctx context.Context, tenantID string, m Message) error
	// Messages lists a request's thread, oldest first, up to limit.
	Messages(ctx context.Context, tenantID, requestID string, limit int) ([]Message, error)

	Settings(ctx context.Context, tenantID string) (Settings, error)
	// SaveSettings saves s, as revision s.Rev+1, if the stored settings
	// are still at s.Rev (the revision they were read at); otherwise it
	// changes nothing and is a conflict (409).
	SaveSettings(ctx context.Context, tenantID string, s Settings) error
	// StoredSettings is Settings and whether the shop ever saved them.
	StoredSettings(ctx context.Context, tenantID string) (Settings, bool, error)
	// AdoptSettings saves s unless the shop saved settings already (then
	// it changes nothing): a migration never overwrites the merchant's.
	AdoptSettings(ctx context.Context, tenantID string, s Settings) error
}

// NewStore returns the after-sale store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	d := docStore{e, engine.Doc{Table: "aftersale_settings"}}
	return engine.ByKind[Store](e, &sqliteStore{e: e, docStore: d}, &mongoStore{e: e, docStore: d})
}

// docStore keeps the settings document the same way on both engines.
type docStore struct {
	e   *engine.Engine
	doc engine.Doc
}

func (d docStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	s := DefaultSettings()
	if _, err := d.e.LoadDoc(ctx, tenantID, d.doc, &s); err != nil {
		return Settings{}, err
	}
	return s, nil
}

func (d docStore) StoredSettings(ctx context.Context, tenantID string) (Settings, bool, error) {
	s := DefaultSettings()
	found, err := d.e.LoadDoc(ctx, tenantID, d.doc, &s)
	if err != nil {
		return Settings{}, false, err
	}
	return s, found, nil
}

func (d docStore) SaveSettings(ctx context.Context, tenantID string, s Settings) error {
	return d.e.SaveDocNext(ctx, tenantID, d.doc, &s, &s.Rev, errSettingsChanged)
}

// errSettingsChanged: settings saved from a read another save overtook.
var errSettingsChanged = fault.Conflict("the after-sale settings were changed meanwhile (in another tab, or by someone else): reload them and save again").
	WithCode(fault.CodeSettingsChanged)

// Schema is the after-sale tables and indexes in each tenant database.
var Schema = engine.NewSchema("aftersale", schemaSQL,
	engine.Coll("aftersales",
		engine.Index("order_id"), engine.Index("status", "-created_at"), engine.Index("-created_at"),
		engine.Index("due_at"), engine.Index("refund_status", "updated_at"), engine.Index("status", "queued")),
	engine.Coll("aftersale_claims"),
	engine.Coll("aftersale_messages", engine.Index("request_id", "at")),
	engine.Coll("aftersale_settings"),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string
