package wechat

import (
	"context"
	"fmt"
	"time"

	"microshop/tenants"
)

// Cache is the SDK's cache interface (cache.Cache and cache.ContextCache)
// on the platform database's shared cache, for what the SDK caches itself
// (JS-API tickets). Keys are prefixed per shop. Values are strings.
type Cache struct {
	store  tenants.Store
	prefix string
	now    func() time.Time
}

// NewCache returns the SDK cache on store, its keys prefixed with prefix.
func NewCache(store tenants.Store, prefix string, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{store: store, prefix: prefix, now: now}
}

func (c *Cache) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// Get returns the value under key, or nil.
func (c *Cache) Get(key string) any {
	ctx, cancel := c.ctx()
	defer cancel()
	return c.GetContext(ctx, key)
}

// GetContext returns the value under key, or nil.
func (c *Cache) GetContext(ctx context.Context, key string) any {
	v, _, err := c.store.CacheGet(ctx, c.prefix+key, c.now())
	if err != nil {
		return nil
	}
	return v
}

// Set stores val (a string, or anything fmt prints) for timeout.
func (c *Cache) Set(key string, val any, timeout time.Duration) error {
	ctx, cancel := c.ctx()
	defer cancel()
	return c.SetContext(ctx, key, val, timeout)
}

// SetContext stores val for timeout.
func (c *Cache) SetContext(ctx context.Context, key string, val any, timeout time.Duration) error {
	if timeout <= 0 {
		return nil // already expired: nothing to keep
	}
	return c.store.CachePut(ctx, c.prefix+key, fmt.Sprint(val), c.now().Add(timeout))
}

// IsExist reports whether key holds an unexpired value.
func (c *Cache) IsExist(key string) bool { return c.Get(key) != nil }

// IsExistContext reports whether key holds an unexpired value.
func (c *Cache) IsExistContext(ctx context.Context, key string) bool {
	return c.GetContext(ctx, key) != nil
}

// Delete removes key.
func (c *Cache) Delete(key string) error {
	ctx, cancel := c.ctx()
	defer cancel()
	return c.DeleteContext(ctx, key)
}

// DeleteContext removes key.
func (c *Cache) DeleteContext(ctx context.Context, key string) error {
	return c.store.CacheDelete(ctx, c.prefix+key)
}
