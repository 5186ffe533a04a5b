// Package engine is the storage engine behind every store: SQLite files (one
// per tenant, plus the platform database) or a MongoDB cluster (one database
// per tenant). It applies every domain package's schema and indexes and hands
// out the tenant-scoped accessors (SQLScope, MongoScope) through which all
// tenant data is read and written, with the helpers the stores of both
// engines share: ids, time and JSON text, settings documents, unique
// violations.
//
// Every tenant record carries tenant_id and every tenant query filters on it,
// even where a tenant has a database of its own: the accessors add the
// filter so no handler can forget it, and it is what lets the Mongo engine
// pool many small tenants into one database (placement.go) without touching
// the domain code.
//
// Writes to a SQLite file go through one writer per file with group commit
// (writer.go): a SQLScope.Tx function must touch the database only through
// its tx, or it waits for itself.
package engine
