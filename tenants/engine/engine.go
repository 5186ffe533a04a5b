package engine

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"microshop/tenants/fault"
)

// Kind names a storage engine.
type Kind string

// The two engines behind every store interface.
const (
	SQLite Kind = "sqlite"
	Mongo  Kind = "mongo"
)

var errEngineClosed = errors.New("storage engine is closed")

// Engine is an opened storage engine: the platform database plus one
// database per tenant, with every registered Schema applied to each.
type Engine struct {
	kind     Kind
	schemas  []Schema
	platform Platform

	// SQLite
	dir        string
	platformDB *sql.DB
	// schemaVersion fingerprints the tenant schemas' SQLite statements; a
	// tenant file whose user_version holds it is up to date (files.go).
	schemaVersion int32
	mu            sync.Mutex
	files         map[string]*tenantFile   // open, opening or closing, by tenant id
	lru           *list.List               // the open files, most recently used first
	closing       map[string]chan struct{} // files being closed now, until done
	closeWG       sync.WaitGroup           // the closes running
	maxOpen       int                      // SetOpenShops
	closed        bool                     // set by Close: no file is opened again
	stopJanitor   chan struct{}            // closed by Close (both kinds: see Closed)
	templateMu    sync.Mutex
	template      []byte // an empty tenant file at this schema version (createFromTemplate)

	// writerHook is what every file's writer reports its batches to
	// (SetWriterMetrics).
	writerHook writerHook
	// onWrite hears every shop written (OnWrite).
	onWrite onWriteHook

	// MongoDB
	client   *mongo.Client
	dbPrefix string
	// place is where shops are (placement.go); moves, the writes running
	// per shop and the shops a move froze.
	place placements
	moves moves
}

// OpenSQLite opens (creating if needed) the SQLite engine in dir: the
// platform database platform.db, with the platform schema applied, and one
// file per tenant, t_<id>.db.
func OpenSQLite(dir string, platform Platform, schemas ...Schema) (*Engine, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	db, err := openSQLiteFile(filepath.Join(dir, "platform.db"))
	if err != nil {
		return nil, err
	}
	e := &Engine{kind: SQLite, schemas: schemas, platform: platform, dir: dir, platformDB: db,
		schemaVersion: schemaVersion(schemas), files: map[string]*tenantFile{}, lru: list.New(),
		closing: map[string]chan struct{}{}, maxOpen: DefaultOpenShops, stopJanitor: make(chan struct{})}
	for _, stmt := range platform.SQLite {
		if err := execSchema(context.Background(), db, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("platform schema: %w", err)
		}
	}
	go e.janitor(e.stopJanitor)
	return e, nil
}

// fileURI is path as a SQLite file: URI. A "#" or "?" in a directory name
// (Go test directories are named after subtests, "sqlite#01") would end the
// path there and open another file, so they are escaped, with "%".
func fileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

func openSQLiteFile(path string) (*sql.DB, error) {
	// WAL lets readers run beside the single writer; busy_timeout makes a
	// writer wait for the lock instead of failing; _txlock=immediate takes
	// the write lock at BEGIN so transactions never deadlock on upgrade.
	dsn := fileURI(path) + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// OpenMongo connects to MongoDB at uri. The platform database is named
// dbPrefix and each tenant's dbPrefix_t_<id>. opts, if given, are applied
// after the URI (tests add a command monitor there).
func OpenMongo(ctx context.Context, uri, dbPrefix string, opts *options.ClientOptions, platform Platform, schemas ...Schema) (*Engine, error) {
	if dbPrefix == "" {
		dbPrefix = "microshop"
	}
	co := options.Client().ApplyURI(uri)
	if opts != nil {
		co = options.MergeClientOptions(co, opts)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("connect to mongodb: %w", err)
	}
	if err := client.Ping(ctx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("ping mongodb: %w", err)
	}
	platform.Mongo = append(slices.Clip(platform.Mongo), tenantSchemas, placementsColl, poolsColl)
	e := &Engine{kind: Mongo, schemas: schemas, platform: platform, client: client, dbPrefix: dbPrefix,
		stopJanitor: make(chan struct{})}
	if err := e.ensurePlatformMongo(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return e, nil
}

// Closed is closed when the engine closes: what runs beside the engine
// (a flush loop) stops with it.
func (e *Engine) Closed() <-chan struct{} { return e.stopJanitor }

// Kind says which engine this is.
func (e *Engine) Kind() Kind { return e.kind }

// Describe says where the data lives, for the start-up log.
func (e *Engine) Describe() string {
	if e.kind == SQLite {
		abs, err := filepath.Abs(e.dir)
		if err != nil {
			abs = e.dir
		}
		return "sqlite files in " + abs
	}
	if p := e.PlacementConfig(); p.Pooled {
		return "mongodb databases " + e.dbPrefix + ", pooled " + e.poolDBName(p.Pool, 1) + "… (new shops) and " + e.dbPrefix + "_t_<tenant>"
	}
	return "mongodb databases " + e.dbPrefix + " and " + e.dbPrefix + "_t_<tenant>"
}

// Schemas returns the schemas applied to every tenant database.
func (e *Engine) Schemas() []Schema { return e.schemas }

// PlatformSchema returns the schema of the platform database.
func (e *Engine) PlatformSchema() Platform { return e.platform }

// PlatformSQL returns the SQLite platform database (nil on MongoDB). Its
// records are not tenant-scoped: only the platform's own store uses it.
func (e *Engine) PlatformSQL() *sql.DB { return e.platformDB }

// PlatformMongo returns the MongoDB platform database (nil on SQLite).
func (e *Engine) PlatformMongo() *mongo.Database {
	if e.kind != Mongo {
		return nil
	}
	return e.client.Database(e.dbPrefix)
}

// Ping checks that the platform database answers.
func (e *Engine) Ping(ctx context.Context) error {
	if e.kind == SQLite {
		return e.platformDB.PingContext(ctx)
	}
	return e.client.Ping(ctx, nil)
}

// Close closes every open database.
func (e *Engine) Close() error {
	if e.kind == Mongo {
		e.mu.Lock()
		if !e.closed {
			e.closed = true
			close(e.stopJanitor)
		}
		e.mu.Unlock()
		return e.client.Disconnect(context.Background())
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.stopJanitor)
	var open []*tenantFile
	for _, tf := range e.files {
		tf.state = fileClosed
		open = append(open, tf)
	}
	e.files = map[string]*tenantFile{}
	e.lru.Init()
	e.mu.Unlock()
	e.closeWG.Wait() // the closes the pool started
	var errs []error
	for _, tf := range open {
		<-tf.ready
		if tf.openErr == nil {
			errs = append(errs, tf.close())
		}
	}
	errs = append(errs, e.platformDB.Close())
	return errors.Join(errs...)
}

// Provision creates the tenant's database and applies every schema. It is
// idempotent. On SQLite the file is created and migrated as every open does
// (a file already at this schema version runs no statement); on MongoDB a
// new shop is placed (placement.go: in a pooled database when SetPlacement
// says so, whose schema is applied once, or a database of its own, whose
// indexes are ensured and the shop's schema version recorded: Upgrade).
func (e *Engine) Provision(ctx context.Context, tenantID string) error {
	if !ValidID(tenantID) {
		return fmt.Errorf("provision: malformed tenant id %q", tenantID)
	}
	if e.kind == SQLite {
		if created, err := e.createFromTemplate(tenantID); created || err != nil {
			return err
		}
		tf, err := e.acquire(tenantID, true)
		if err != nil {
			return err
		}
		e.release(tf)
		return nil
	}
	if e.PlacementConfig().Pooled {
		return e.provisionPooled(ctx, tenantID)
	}
	return e.provisionPlaced(ctx, tenantID)
}

// execSchema runs one schema statement; an ADD COLUMN whose column is
// there already (the migration ran before) is done.
func execSchema(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, stmt string) error {
	_, err := db.ExecContext(ctx, stmt)
	if err != nil && isAddColumn(stmt) && strings.Contains(err.Error(), "duplicate column name") {
		return nil
	}
	return err
}

// isAddColumn reports whether stmt adds a column. SQLite has no
// "ADD COLUMN IF NOT EXISTS", so a schema that gains a column lists an
// ALTER TABLE ... ADD COLUMN after its CREATE TABLE, and Provision treats
// "duplicate column name" from it as done.
func isAddColumn(stmt string) bool {
	s := strings.ToUpper(strings.Join(strings.Fields(stmt), " "))
	return strings.HasPrefix(s, "ALTER TABLE ") && strings.Contains(s, " ADD COLUMN ")
}

func ensureMongoIndexes(ctx context.Context, coll *mongo.Collection, idx []MongoIndex) error {
	if len(idx) == 0 {
		return nil
	}
	// One command per index: FerretDB 1.24 drops the connection when one
	// createIndexes lists several indexes that already exist.
	for _, ix := range idx {
		m := mongo.IndexModel{Keys: ix.FullKeys(), Options: options.Index().SetUnique(ix.Unique)}
		if _, err := coll.Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("index %v on %s: %w", ix.FullKeys(), coll.Name(), err)
		}
	}
	return nil
}

func (e *Engine) tenantDBName(tenantID string) string { return e.dbPrefix + "_t_" + tenantID }

// SQL returns the tenant-scoped accessor to a tenant's SQLite database.
func (e *Engine) SQL(tenantID string) (*SQLScope, error) {
	if e.kind != SQLite {
		return nil, errors.New("SQL scope requested on the mongo engine")
	}
	if !ValidID(tenantID) {
		return nil, fmt.Errorf("tenant %q: %w", tenantID, fault.ErrNotFound)
	}
	// The file is opened (or found missing) now; each call on the scope
	// holds it for its own duration, so the pool may close it between calls.
	tf, err := e.acquire(tenantID, false)
	if err != nil {
		return nil, err
	}
	e.release(tf)
	return &SQLScope{e: e, tenantID: tenantID}, nil
}

// Mongo returns the tenant-scoped accessor to a tenant's MongoDB data, in
// its own database or a pooled one (see placement.go).
func (e *Engine) Mongo(tenantID string) *MongoScope {
	return &MongoScope{tenantID: tenantID, e: e}
}

// ByKind picks the store written for e's kind: every domain package's
// NewStore is `return engine.ByKind[Store](e, &sqliteStore{…}, &mongoStore{…})`.
func ByKind[S any](e *Engine, sqlite, mongo S) S {
	if e.kind == Mongo {
		return mongo
	}
	return sqlite
}
