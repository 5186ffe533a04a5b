package tenants

import (
	"context"
	"time"
)

// The shared cache is a small key-value table in the platform database for
// values every replica must agree on, such as WeChat access tokens (each
// fetch of a token invalidates the one before, so replicas cannot each keep
// their own). Each entry carries its expiry; an expired entry reads as
// missing. Writes are single-record upserts by key, and CacheDeleteValue
// is a conditional delete, so "drop the token I know is bad" never drops a
// fresh one another replica has just stored. Who may write is decided
// elsewhere (a lease): the cache itself is last-writer-wins.

// cacheStore is implemented by both platform stores.
type cacheStore interface {
	// CacheGet returns the value stored under key and when it expires;
	// a missing key, or one expired at now, is ErrNotFound.
	CacheGet(ctx context.Context, key string, now time.Time) (value string, expires time.Time, err error)
	// CachePut stores value under key until expires, replacing any value.
	CachePut(ctx context.Context, key, value string, expires time.Time) error
	// CacheDelete removes key.
	CacheDelete(ctx context.Context, key string) error
	// CacheDeleteValue removes key only if it still holds value, and says
	// whether it did.
	CacheDeleteValue(ctx context.Context, key, value string) (bool, error)
}
