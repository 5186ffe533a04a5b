package ledger

import (
	"context"
	_ "embed"
	"time"

	"microshop/tenants/engine"
)

// Store keeps ledger entries in the tenant's database. Insert is the only
// way money moves; the other writes change statuses and dates.
type Store interface {
	// Get returns the entry with id, or fault.ErrNotFound.
	Get(ctx context.Context, tenantID, id string) (Entry, error)
	// Tail returns the beneficiary's latest entry (Seq 0 and zero balances
	// if there is none).
	Tail(ctx context.Context, tenantID, beneficiary string) (Entry, error)
	// Insert writes e. An existing id, or an existing (beneficiary, seq),
	// is a unique violation (engine.IsUniqueViolation).
	Insert(ctx context.Context, tenantID string, e Entry) error
	// Append reads the beneficiary's tail, asks next for the entry that
	// follows it and inserts that, as Insert does. On SQLite the read and
	// the insert are one transaction (so the sequence never clashes); on
	// MongoDB they are two commands, and a clash on (beneficiary, seq) is
	// a unique violation the caller retries.
	Append(ctx context.Context, tenantID, beneficiary string, next func(tail Entry) (Entry, error)) (Entry, error)
	// AppendAll appends each item as Append does. On SQLite all of them are
	// one transaction (all or none); on MongoDB they are appended one after
	// the other and the first failure stops the rest.
	AppendAll(ctx context.Context, tenantID string, items []Appending) ([]Entry, error)
	// ByOrder returns every entry of an order.
	ByOrder(ctx context.Context, tenantID, orderID string) ([]Entry, error)
	// List returns entries of f.Class (with the other filters), newest first.
	List(ctx context.Context, tenantID string, f Filter) ([]Entry, error)
	// History returns a beneficiary's entries, newest first.
	History(ctx context.Context, tenantID, beneficiary string, limit int) ([]Entry, error)
	// Due returns up to limit pending earnings whose available date is
	// set and not after t, earliest first.
	Due(ctx context.Context, tenantID string, t time.Time, limit int) ([]Entry, error)
	// SetAvailableAt sets an earning's available date if it has none.
	SetAvailableAt(ctx context.Context, tenantID, id string, at time.Time) error
	// SetStatus moves the entry from one of from to to, applying ch, in
	// one conditional update; false when its status is not in from.
	SetStatus(ctx context.Context, tenantID, id string, from []string, to string, ch Change) (bool, error)
	// Close marks a withdrawal's closing entry written.
	Close(ctx context.Context, tenantID, id string) error
	// Unclosed returns up to limit withdrawals still open.
	Unclosed(ctx context.Context, tenantID string, limit int) ([]Entry, error)
}

// Appending is one entry for AppendAll: its beneficiary, and how it
// follows the beneficiary's tail.
type Appending struct {
	Beneficiary string
	Next        func(tail Entry) (Entry, error)
}

// Change is what a status change sets besides the status.
type Change struct {
	DecidedAt   *time.Time
	PaidAt      *time.Time
	TransferRef *string
}

// NewStore returns the ledger store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{e: e}, &mongoStore{e: e})
}

// Schema is the ledger's table and indexes in each tenant database.
var Schema = engine.NewSchema("ledger", schemaSQL,
	engine.Coll("ledger",
		engine.Unique("beneficiary", "seq"), engine.Index("order_id", "beneficiary", "seq"),
		engine.Index("class", "-at", "-_id"), engine.Index("class", "status", "-at", "-_id"),
		engine.Index("beneficiary", "class", "-at", "-_id"),
		engine.Index("beneficiary", "class", "status", "-at", "-_id"),
		engine.Index("type", "status", "available_at"), engine.Index("type", "open")),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string

// filterByOrder applies f's other conditions to an order's entries and
// orders them newest first, for List with an order id (an order has a
// handful of entries, so they are read whole through the order index).
func filterByOrder(all []Entry, f Filter) []Entry {
	var out []Entry
	for _, e := range all {
		if (f.Class == "" || e.Class == f.Class) && (f.Beneficiary == "" || e.Beneficiary == f.Beneficiary) &&
			(f.Status == "" || e.Status == f.Status) {
			out = append(out, e)
		}
	}
	for i := 1; i < len(out); i++ { // newest first; a handful of entries
		for j := i; j > 0 && newer(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if f.Offset >= len(out) {
		return nil
	}
	out = out[f.Offset:]
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

func newer(a, b Entry) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return a.ID > b.ID
}
