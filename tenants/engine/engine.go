package engine

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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

// maxOpenTenantFiles bounds how many tenant SQLite files stay open at once;
// the least recently used is closed beyond it (a platform holds many more
// tenants than a process should keep file handles for).
const maxOpenTenantFiles = 512

// Engine is an opened storage engine: the platform database plus one
// database per tenant, with every registered Schema applied to each.
type Engine struct {
	kind     Kind
	schemas  []Schema
	platform Platform

	// SQLite
	dir        string
	platformDB *sql.DB
	mu         sync.Mutex
	files      map[string]*list.Element // tenant id -> element holding *tenantFile
	lru        *list.List
	closed     bool // set by Close: no file is opened again

	// writerHook is what every file's writer reports its batches to
	// (SetWriterMetrics).
	writerHook writerHook

	// MongoDB
	client   *mongo.Client
	dbPrefix string
}

type tenantFile struct {
	id     string
	db     *sql.DB
	stmts  *stmtCache
	writer *fileWriter
}

// close lets the writing connection go, then closes the file.
func (tf *tenantFile) close() error {
	tf.writer.close()
	return tf.db.Close()
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
		files: map[string]*list.Element{}, lru: list.New()}
	for _, stmt := range platform.SQLite {
		if err := execSchema(context.Background(), db, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("platform schema: %w", err)
		}
	}
	return e, nil
}

func openSQLiteFile(path string) (*sql.DB, error) {
	// WAL lets readers run beside the single writer; busy_timeout makes a
	// writer wait for the lock instead of failing; _txlock=immediate takes
	// the write lock at BEGIN so transactions never deadlock on upgrade.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
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
	e := &Engine{kind: Mongo, schemas: schemas, platform: platform, client: client, dbPrefix: dbPrefix}
	if err := e.ensurePlatformMongo(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return e, nil
}

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
		return e.client.Disconnect(context.Background())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	var errs []error
	for el := e.lru.Front(); el != nil; el = el.Next() {
		errs = append(errs, el.Value.(*tenantFile).close())
	}
	e.files = map[string]*list.Element{}
	e.lru.Init()
	errs = append(errs, e.platformDB.Close())
	return errors.Join(errs...)
}

// Provision creates the tenant's database and applies every schema. It is
// idempotent: start-up calls it again for every tenant.
func (e *Engine) Provision(ctx context.Context, tenantID string) error {
	if !ValidID(tenantID) {
		return fmt.Errorf("provision: malformed tenant id %q", tenantID)
	}
	if e.kind == SQLite {
		tf, err := e.tenantSQL(tenantID, true)
		if err != nil {
			return err
		}
		db := tf.db
		for _, s := range e.schemas {
			for _, stmt := range s.SQLite {
				if err := execSchema(ctx, db, stmt); err != nil {
					return fmt.Errorf("schema %s for tenant %s: %w", s.Name, tenantID, err)
				}
			}
		}
		return nil
	}
	db := e.client.Database(e.tenantDBName(tenantID))
	for _, s := range e.schemas {
		for _, c := range s.Mongo {
			if err := ensureMongoIndexes(ctx, db.Collection(c.Name), c.Indexes); err != nil {
				return fmt.Errorf("schema %s for tenant %s: %w", s.Name, tenantID, err)
			}
		}
	}
	return nil
}

// execSchema runs one schema statement; an ADD COLUMN whose column is
// there already (the migration ran before) is done.
func execSchema(ctx context.Context, db *sql.DB, stmt string) error {
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

// tenantSQL returns the tenant's open SQLite database, opening the file if
// needed. Without create, a missing file is ErrNotFound: a request must not
// create a database for a tenant that was never provisioned.
func (e *Engine) tenantSQL(tenantID string, create bool) (*tenantFile, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		// Work still running at shutdown (a queued notice, a push's
		// follow-up) must not reopen, and so recreate, a tenant's file.
		return nil, errEngineClosed
	}
	if el, ok := e.files[tenantID]; ok {
		e.lru.MoveToFront(el)
		return el.Value.(*tenantFile), nil
	}
	path := filepath.Join(e.dir, "t_"+tenantID+".db")
	if !create {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("tenant %s database: %w", tenantID, fault.ErrNotFound)
		}
	}
	db, err := openSQLiteFile(path)
	if err != nil {
		return nil, err
	}
	stmts := newStmtCache(db)
	tf := &tenantFile{id: tenantID, db: db, stmts: stmts, writer: newFileWriter(db, stmts, &e.writerHook)}
	e.files[tenantID] = e.lru.PushFront(tf)
	for e.lru.Len() > maxOpenTenantFiles {
		old := e.lru.Back()
		tf := old.Value.(*tenantFile)
		e.lru.Remove(old)
		delete(e.files, tf.id)
		// A request may have just been handed this handle: close it only once
		// any request could have finished with it (the server's write timeout
		// is 60 s).
		time.AfterFunc(2*time.Minute, func() { tf.close() })
	}
	return tf, nil
}

// SQL returns the tenant-scoped accessor to a tenant's SQLite database.
func (e *Engine) SQL(tenantID string) (*SQLScope, error) {
	if e.kind != SQLite {
		return nil, errors.New("SQL scope requested on the mongo engine")
	}
	if !ValidID(tenantID) {
		return nil, fmt.Errorf("tenant %q: %w", tenantID, fault.ErrNotFound)
	}
	tf, err := e.tenantSQL(tenantID, false)
	if err != nil {
		return nil, err
	}
	return &SQLScope{db: tf.db, stmts: tf.stmts, writer: tf.writer, tenantID: tenantID}, nil
}

// Mongo returns the tenant-scoped accessor to a tenant's MongoDB database.
func (e *Engine) Mongo(tenantID string) *MongoScope {
	return &MongoScope{db: e.client.Database(e.tenantDBName(tenantID)), tenantID: tenantID}
}

// ByKind picks the store written for e's kind: every domain package's
// NewStore is `return engine.ByKind[Store](e, &sqliteStore{…}, &mongoStore{…})`.
func ByKind[S any](e *Engine, sqlite, mongo S) S {
	if e.kind == Mongo {
		return mongo
	}
	return sqlite
}
