// Package tenants owns the platform's tenants (merchants' shops), their users,
// API keys and sessions, and the storage engines: it opens SQLite files or a
// MongoDB cluster, gives each tenant its own database, applies every domain
// package's schema and indexes, and hands out the tenant-scoped accessors
// (SQLScope, MongoScope) through which all tenant data is read and written.
//
// Every tenant record carries tenant_id and every tenant query filters on it,
// even though each tenant already has its own database: the accessors add the
// filter so no handler can forget it, and it lets the Mongo engine pool many
// small tenants into one database later without touching the domain code.
package tenants
