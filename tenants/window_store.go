package tenants

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants/engine"
)

// Rate windows in the platform database: the counts behind every shared
// WindowCounter (ratelimit.go), so that a limit holds across replicas
// instead of once per process. A window is a key's count since its first
// event; an event after the window has run out starts a new one. The table
// joins the platform schema (Platform, store.go).

// windowStore is implemented by both platform stores.
type windowStore interface {
	// WindowAdd adds delta (which may be negative; the count never goes
	// below zero) to key's window if it is still open at now, else starts
	// a new window at now with delta, and returns the window as written.
	// Concurrent adds from any number of replicas all count.
	WindowAdd(ctx context.Context, key string, delta int, window time.Duration, now time.Time) (n int, start time.Time, err error)
	// WindowGet returns key's open window at now (0 and the zero time for
	// none).
	WindowGet(ctx context.Context, key string, window time.Duration, now time.Time) (n int, start time.Time, err error)
	// SweepWindows deletes the windows that started before before, and
	// says how many.
	SweepWindows(ctx context.Context, before time.Time) (int, error)
}

var windowSQLite = []string{
	`CREATE TABLE IF NOT EXISTS rate_windows (
		key TEXT PRIMARY KEY,
		n INTEGER NOT NULL,
		start_at TEXT NOT NULL) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS rate_windows_start ON rate_windows (start_at)`,
}

var windowMongo = []engine.MongoCollection{{Name: "rate_windows", Indexes: []engine.MongoIndex{
	{Keys: bson.D{{Key: "start_at", Value: 1}}}}}} // _id is the key

type windowDoc struct {
	Key   string    `bson:"_id"`
	N     int       `bson:"n"`
	Start time.Time `bson:"start_at"`
}
