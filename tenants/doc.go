// Package tenants owns the platform's own domain: tenants (merchants' shops),
// their users, API keys and sessions, the limits on signing in and up, the
// registry of which shop each WeChat AppID belongs to, the platform
// database's schema, leases for scheduled jobs and the shared cache, and
// resolving a request to its tenant. It opens the storage engine (package
// engine) with the platform schema; everything about how tenant data is
// stored lives in engine.
package tenants
