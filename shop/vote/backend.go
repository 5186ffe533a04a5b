package vote

import (
	"context"
	"database/sql"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
)

// The vote's stores run on two kinds of database with the same statements:
// a shop's own (the engine's tenant scope: shop rounds) and the platform
// database (the market's rounds, whose records no shop owns). The rules
// live once, in the statements and the conditional updates; what differs
// is only where they run, which sqlDB and coll hide.

// scanner is a row to scan.
type scanner interface{ Scan(dest ...any) error }

// sqlDB runs the SQLite store's statements for a scope (tenantID binds
// to the statement's `tenant_id = ?`, or to the first column of an INSERT,
// as engine.SQLScope does).
type sqlDB interface {
	exec(ctx context.Context, tenantID, q string, args ...any) (sql.Result, error)
	queryRow(ctx context.Context, tenantID, q string, args ...any) scanner
	query(ctx context.Context, tenantID, q string, args ...any) (*sql.Rows, error)
	tx(ctx context.Context, tenantID string, fn func(tx sqlTx) error) error
}

// sqlTx is a transaction of a sqlDB.
type sqlTx interface {
	Exec(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRow(ctx context.Context, q string, args ...any) scanner
}

// tenantSQL is a shop's SQLite file, through the engine.
type tenantSQL struct{ e *engine.Engine }

func (d tenantSQL) exec(ctx context.Context, tenantID, q string, args ...any) (sql.Result, error) {
	return d.e.SQLExec(ctx, tenantID, q, args...)
}

func (d tenantSQL) queryRow(ctx context.Context, tenantID, q string, args ...any) scanner {
	return d.e.SQLQueryRow(ctx, tenantID, q, args...)
}

func (d tenantSQL) query(ctx context.Context, tenantID, q string, args ...any) (*sql.Rows, error) {
	db, err := d.e.SQL(tenantID)
	if err != nil {
		return nil, err
	}
	return db.Query(ctx, q, args...)
}

func (d tenantSQL) tx(ctx context.Context, tenantID string, fn func(tx sqlTx) error) error {
	return d.e.SQLTx(ctx, tenantID, func(tx *engine.SQLTx) error { return fn(engineTx{tx}) })
}

type engineTx struct{ tx *engine.SQLTx }

func (t engineTx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.Exec(ctx, q, args...)
}

func (t engineTx) QueryRow(ctx context.Context, q string, args ...any) scanner {
	return t.tx.QueryRow(ctx, q, args...)
}

// platformSQL is the platform's SQLite database: the scope's key is bound
// where a shop's id would be.
type platformSQL struct{ db *sql.DB }

func (d platformSQL) exec(ctx context.Context, key, q string, args ...any) (sql.Result, error) {
	a, err := engine.BindTenant(q, key, args)
	if err != nil {
		return nil, err
	}
	return d.db.ExecContext(ctx, q, a...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (d platformSQL) queryRow(ctx context.Context, key, q string, args ...any) scanner {
	a, err := engine.BindTenant(q, key, args)
	if err != nil {
		return errRow{err}
	}
	return d.db.QueryRowContext(ctx, q, a...)
}

func (d platformSQL) query(ctx context.Context, key, q string, args ...any) (*sql.Rows, error) {
	a, err := engine.BindTenant(q, key, args)
	if err != nil {
		return nil, err
	}
	return d.db.QueryContext(ctx, q, a...)
}

func (d platformSQL) tx(ctx context.Context, key string, fn func(tx sqlTx) error) error {
	tx, err := d.db.BeginTx(ctx, nil) // the platform database's transactions take the write lock at BEGIN
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(platformTx{tx: tx, key: key}); err != nil {
		return err
	}
	return tx.Commit()
}

type platformTx struct {
	tx  *sql.Tx
	key string
}

func (t platformTx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	a, err := engine.BindTenant(q, t.key, args)
	if err != nil {
		return nil, err
	}
	return t.tx.ExecContext(ctx, q, a...)
}

func (t platformTx) QueryRow(ctx context.Context, q string, args ...any) scanner {
	a, err := engine.BindTenant(q, t.key, args)
	if err != nil {
		return errRow{err}
	}
	return t.tx.QueryRowContext(ctx, q, a...)
}

// sqlAll runs a query of the scope and scans every row.
func sqlAll[T any](ctx context.Context, db sqlDB, tenantID string, scan func(func(...any) error) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.query(ctx, tenantID, q, args...)
	return engine.ScanAll(rows, err, scan)
}

// coll is a MongoDB collection of a scope: a shop's (engine.Collection,
// tenant-scoped) or the platform database's.
type coll interface {
	FindOne(ctx context.Context, f bson.D, opts ...options.Lister[options.FindOneOptions]) *mongo.SingleResult
	Find(ctx context.Context, f bson.D, opts ...options.Lister[options.FindOptions]) (*mongo.Cursor, error)
	CountDocuments(ctx context.Context, f bson.D) (int64, error)
	InsertOne(ctx context.Context, v any) error
	UpdateOne(ctx context.Context, f bson.D, update any, opts ...options.Lister[options.UpdateOneOptions]) (*mongo.UpdateResult, error)
	FindOneAndUpdate(ctx context.Context, f bson.D, update any, opts ...options.Lister[options.FindOneAndUpdateOptions]) *mongo.SingleResult
}

// platformColl is a collection of the platform database, holding one
// scope (the market's).
type platformColl struct{ c *mongo.Collection }

func (p platformColl) FindOne(ctx context.Context, f bson.D, opts ...options.Lister[options.FindOneOptions]) *mongo.SingleResult {
	return p.c.FindOne(ctx, f, opts...)
}

func (p platformColl) Find(ctx context.Context, f bson.D, opts ...options.Lister[options.FindOptions]) (*mongo.Cursor, error) {
	return p.c.Find(ctx, f, opts...)
}

func (p platformColl) CountDocuments(ctx context.Context, f bson.D) (int64, error) {
	return p.c.CountDocuments(ctx, f)
}

func (p platformColl) InsertOne(ctx context.Context, v any) error {
	_, err := p.c.InsertOne(ctx, v)
	return err
}

func (p platformColl) UpdateOne(ctx context.Context, f bson.D, update any, opts ...options.Lister[options.UpdateOneOptions]) (*mongo.UpdateResult, error) {
	res, err := p.c.UpdateOne(ctx, f, update, opts...)
	if engine.IsUniqueViolation(err) { // two upserts of one new document raced: the loser's is now an update
		res, err = p.c.UpdateOne(ctx, f, update, opts...)
	}
	return res, err
}

func (p platformColl) FindOneAndUpdate(ctx context.Context, f bson.D, update any, opts ...options.Lister[options.FindOneAndUpdateOptions]) *mongo.SingleResult {
	return p.c.FindOneAndUpdate(ctx, f, update, opts...)
}
