// Package enginetest runs a domain package's store contract tests against
// both storage engines: SQLite in a temporary directory, and MongoDB on
// FerretDB started in-process (or on a real MongoDB when
// MICROSHOP_TEST_MONGODB_URI is set).
//
// On the Mongo engine every query the test sends is recorded by a driver
// command monitor and checked, when the subtest ends, against the indexes
// the schemas declare: a query no declared index serves fails the test (see
// served in served.go for the rule). FerretDB ignores indexes and small
// test data hides a collection scan, so this is the only place an unindexed
// query shows before production.
//
// A typical contract test:
//
//	func TestStore(t *testing.T) {
//		enginetest.Kinds(t, []engine.Schema{catalog.Schema}, func(t *testing.T, e *engine.Engine) {
//			tenant := enginetest.Tenant(t, e)
//			s := catalog.NewStore(e)
//			...
//		})
//	}
package enginetest

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants"
	"microshop/tenants/engine"
)

// MongoURIEnv names the environment variable that points the Mongo cases at
// a real MongoDB instead of the in-process FerretDB.
const MongoURIEnv = "MICROSHOP_TEST_MONGODB_URI"

// openTimeout bounds opening an engine, provisioning a tenant and the
// clean-up at the end of a subtest.
const openTimeout = 60 * time.Second

var (
	// ferretEngines holds the engines Kinds opened on the in-process FerretDB.
	ferretEngines sync.Map // *engine.Engine -> struct{}
	// checkers holds the index checker of each Mongo engine Kinds opened.
	checkers sync.Map // *engine.Engine -> *checker
)

// Kinds runs fn once per engine, as subtests named "sqlite" and "mongo",
// and "pooled" (MongoDB with every shop in a pooled database) unless
// PooledKind is off. Each run gets a fresh engine with schemas applied to
// every tenant it provisions: SQLite files in a t.TempDir(), or MongoDB
// databases under a prefix of their own (so tests never share data), on
// the in-process FerretDB or on the MongoDB at MICROSHOP_TEST_MONGODB_URI.
// The engine is closed when the subtest ends; on Mongo its queries are
// checked against the declared indexes then, and its databases dropped.
func Kinds(t *testing.T, schemas []engine.Schema, fn func(t *testing.T, e *engine.Engine)) {
	t.Helper()
	if onlyPooled.Load() {
		Pooled(t, schemas, fn)
		return
	}
	t.Run(string(engine.SQLite), func(t *testing.T) {
		e, err := tenants.OpenSQLite(t.TempDir(), schemas...)
		if err != nil {
			t.Fatalf("open sqlite engine: %v", err)
		}
		t.Cleanup(func() {
			if err := e.Close(); err != nil {
				t.Errorf("close sqlite engine: %v", err)
			}
		})
		fn(t, e)
	})
	t.Run(string(engine.Mongo), func(t *testing.T) {
		e, chk := openMongo(t, schemas)
		t.Cleanup(func() {
			t.Helper()
			chk.report(t)
		})
		fn(t, e)
	})
	if PooledKind {
		Pooled(t, schemas, fn)
	}
}

// PooledKind makes Kinds run a third case, "pooled": the Mongo engine
// with every shop it provisions placed in one pooled database, so each
// store's contract holds when shops share a database (the scope's
// tenant_id and qualified _ids, the schema applied once per database). A
// test binary whose Kinds cases are slow and whose isolation is covered
// otherwise (the server's: server/pooled_test.go) turns it off in an init;
// MICROSHOP_TEST_POOLED=0 turns it off for a run.
var PooledKind = os.Getenv("MICROSHOP_TEST_POOLED") != "0"

// onlyPooled makes Kinds run the pooled case alone (OnlyPooled).
var onlyPooled atomic.Bool

// OnlyPooled runs test with every Kinds inside it running the "pooled"
// case alone: an existing test written for Kinds, run again on pooled
// placement without copying it (the server's isolation walk). Not for
// parallel tests: the switch is the test binary's.
func OnlyPooled(t *testing.T, test func(t *testing.T)) {
	t.Helper()
	onlyPooled.Store(true)
	defer onlyPooled.Store(false)
	test(t)
}

// Pooled runs fn as the subtest "pooled": a fresh Mongo engine placing
// every shop in a pooled database (engine.SetPlacement), queries checked
// against the declared indexes as pooled databases have them.
func Pooled(t *testing.T, schemas []engine.Schema, fn func(t *testing.T, e *engine.Engine)) {
	t.Helper()
	t.Run("pooled", func(t *testing.T) {
		e, chk := openMongo(t, schemas)
		e.SetPlacement(engine.Placement{Pooled: true})
		t.Cleanup(func() {
			t.Helper()
			chk.report(t)
		})
		fn(t, e)
	})
}

// openMongo opens a Mongo engine under a fresh prefix with an index checker
// attached, and registers its clean-up (which does not report the checker's
// findings: the caller decides what to do with them).
func openMongo(t testing.TB, schemas []engine.Schema) (*engine.Engine, *checker) {
	t.Helper()
	uri := MongoURI(t)
	prefix := "et" + engine.NewSecret(10)
	chk := newChecker(prefix, schemas)
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	opts := options.Client().SetMonitor(chk.monitor())
	if !server.external {
		// FerretDB loses updates only when operations of several connections
		// interleave inside one operation. With one connection every
		// operation is atomic, as on MongoDB, while goroutines still
		// interleave between operations, which is where an application's
		// races live: so concurrency cases run on FerretDB too.
		opts.SetMaxPoolSize(1)
	}
	e, err := tenants.OpenMongo(ctx, uri, prefix, opts, schemas...)
	if err != nil {
		t.Fatalf("open mongo engine on %s: %v", describeMongo(), err)
	}
	if !server.external {
		ferretEngines.Store(e, struct{}{})
	}
	chk.engine = e
	checkers.Store(e, chk)
	t.Cleanup(func() {
		chk.stop()
		checkers.Delete(e)
		ferretEngines.Delete(e)
		if err := e.Close(); err != nil {
			t.Errorf("close mongo engine: %v", err)
		}
		if err := dropDatabases(prefix); err != nil {
			t.Errorf("drop test databases %s*: %v", prefix, err)
		}
	})
	return e, chk
}

// FerretDBSkipReason was why concurrency cases skipped on FerretDB, before
// its engines used one connection.
//
// Deprecated: concurrency cases run on FerretDB; don't skip them.
const FerretDBSkipReason = "FerretDB 1.24 does not keep single-document updates atomic under concurrency"

// Tenant provisions a fresh tenant database on e (every schema applied) and
// returns its id. It creates no tenant record in the platform store.
func Tenant(t *testing.T, e *engine.Engine) string {
	t.Helper()
	id := engine.NewID()
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	if err := e.Provision(ctx, id); err != nil {
		t.Fatalf("provision tenant %s: %v", id, err)
	}
	return id
}

// OnFerretDB reports whether e is a Mongo engine that Kinds opened on the
// in-process FerretDB stand-in (through one connection: see openMongo).
func OnFerretDB(e *engine.Engine) bool {
	_, ok := ferretEngines.Load(e)
	return ok
}

// AllowFullScan exempts, on e, the queries on collection that read the
// whole collection (of the shop, in a tenant database) on purpose: a small
// collection such as settings, or a job pass that must see every document.
// It exempts a query bounded by tenant_id alone, whatever residual
// conditions it carries, and one with no condition an index could bound;
// a query that constrains by equality a field no index holds is still
// reported. reason says why the scan is acceptable: it is required, and
// `go test -v` logs it with the number of scans it allowed. It does nothing
// on SQLite.
func AllowFullScan(t testing.TB, e *engine.Engine, collection, reason string) {
	t.Helper()
	if strings.TrimSpace(reason) == "" {
		t.Fatalf("AllowFullScan(%q): say why a full scan is acceptable", collection)
	}
	if c, ok := checkers.Load(e); ok {
		c.(*checker).allowFullScan(collection, reason)
	}
}
