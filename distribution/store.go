package distribution

import (
	"context"
	_ "embed"

	"microshop/distribution/guide"
	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Store keeps the shop's distribution settings, customer bindings and
// their audit log, sales and markers.
type Store interface {
	Settings(ctx context.Context, tenantID string) (Settings, error)
	// SaveSettings saves s, as revision s.Rev+1, if the stored settings
	// are still at s.Rev (the revision they were read at); otherwise it
	// changes nothing and is a conflict (409).
	SaveSettings(ctx context.Context, tenantID string, s Settings) error

	// Binding returns the fan's binding, or fault.ErrNotFound.
	Binding(ctx context.Context, tenantID, fanID string) (Binding, error)
	// InsertBinding creates the fan's binding (Rev 1); a second one for
	// the same fan is a unique violation.
	InsertBinding(ctx context.Context, tenantID string, b Binding) error
	// UpdateBinding writes b's slots, channel and referrer if the stored
	// revision is still b.Rev, bumping it; false when it changed meanwhile.
	UpdateBinding(ctx context.Context, tenantID string, b Binding) (bool, error)
	// BoundTo lists bindings whose slot ("guide" or "distributor") is id,
	// newest first.
	BoundTo(ctx context.Context, tenantID, slot, id string, limit, offset int) ([]Binding, error)

	// Log appends to a fan's binding audit trail; History reads it,
	// newest first.
	Log(ctx context.Context, tenantID string, e LogEntry) error
	History(ctx context.Context, tenantID, fanID string, limit int) ([]LogEntry, error)

	// RecordSale records a paid order once and, that once, counts it in
	// the fan's paid orders (creating the fan's record), saying how many
	// the fan had paid before; first is false, and nothing changes, when
	// the sale was recorded.
	RecordSale(ctx context.Context, tenantID string, s Sale) (first bool, paidBefore int64, err error)
	// AddSaleRefund adds a refund to a sale.
	AddSaleRefund(ctx context.Context, tenantID, orderID string, amount, base int64) error
	// Sales lists the sales of a distributor, newest first.
	Sales(ctx context.Context, tenantID, distributorID string, limit, offset int) ([]Sale, error)
	// AllSales pages through every sale by order id (the rebuild).
	AllSales(ctx context.Context, tenantID, afterOrderID string, limit int) ([]Sale, error)

	// Mark inserts a marker key once: true the first time. Counter side
	// effects of an event are applied only by the delivery that inserted
	// the event's marker.
	Mark(ctx context.Context, tenantID, key string) (bool, error)
}

// NewStore returns the distribution store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{e: e}, &mongoStore{e: e})
}

// ownSchema is this package's own tables.
var ownSchema = engine.NewSchema("distribution", schemaSQL,
	engine.Coll("distribution_settings"),
	engine.Coll("bindings",
		engine.Index("guide.id", "-updated_at"), engine.Index("distributor.id", "-updated_at")),
	engine.Coll("binding_log", engine.Index("fan_id", "-at")),
	engine.Coll("distribution_sales", engine.Index("distributor_id", "-paid_at")),
	engine.Coll("distribution_marks"),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string

// Schema is everything distribution keeps in a tenant database: guides and
// their funnel, the team tree, the commission ledger, and bindings, sales
// and settings. server adds it to the engine's schemas.
var Schema = merge("distribution", ownSchema, guide.Schema, tree.Schema, ledger.Schema)

// Schemas are the parts of Schema, one per package (contract tests pass
// these to enginetest.Kinds).
var Schemas = []engine.Schema{ownSchema, guide.Schema, tree.Schema, ledger.Schema}

func merge(name string, parts ...engine.Schema) engine.Schema {
	out := engine.Schema{Name: name}
	for _, p := range parts {
		out.SQLite = append(out.SQLite, p.SQLite...)
		out.Mongo = append(out.Mongo, p.Mongo...)
	}
	return out
}

// settingsDoc is where a shop's settings are kept.
var settingsDoc = engine.Doc{Table: "distribution_settings"}

// saveSettings saves st as revision st.Rev+1 if the stored settings are
// still at st.Rev (errSettingsChanged otherwise), the same way on both
// engines.
func saveSettings(ctx context.Context, e *engine.Engine, tenantID string, st Settings) error {
	return e.SaveDocNext(ctx, tenantID, settingsDoc, &st, &st.Rev, errSettingsChanged)
}

// errSettingsChanged: settings saved from a read another save overtook.
var errSettingsChanged = fault.Conflict("the distribution settings were changed meanwhile (in another tab, or by someone else): reload them and save again").
	WithCode(fault.CodeSettingsChanged)

// loadSettings reads the shop's settings document, the same way on both
// engines: the defaults until the shop saves its own.
func loadSettings(ctx context.Context, e *engine.Engine, tenantID string) (Settings, error) {
	st := DefaultSettings()
	if _, err := e.LoadDoc(ctx, tenantID, settingsDoc, &st); err != nil {
		return Settings{}, err
	}
	if st.Products == nil {
		st.Products = []ProductRule{}
	}
	return st, nil
}
