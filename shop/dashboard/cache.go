package dashboard

import (
	"context"
	"sync"
	"time"
)

// cacheFor is how long a dashboard read is served again while nothing is
// counted for its shop on this replica.
const cacheFor = 5 * time.Second

// readCache keeps the dashboards read lately, per shop and range, with the
// shop's write generation they were read at: this replica's counting for a
// shop (an order event, a fan event, a page view) moves the shop's
// generation on, and a dashboard read at an older one is read again.
type readCache struct {
	mu       sync.Mutex
	gens     map[string]uint64 // tenant → generation
	entries  map[[2]string]cacheEntry
	inflight map[[2]string]chan struct{}
	reads    uint64 // the reads made: each entry's serial
}

type cacheEntry struct {
	d   Dashboard
	gen uint64
	at  time.Time
	// serial names the read the entry holds: what was drawn from a
	// dashboard (the console home's charts and figures) is still right
	// while the serial is the same.
	serial uint64
}

func newReadCache() *readCache {
	return &readCache{gens: map[string]uint64{}, entries: map[[2]string]cacheEntry{}, inflight: map[[2]string]chan struct{}{}}
}

// bump moves the shop's generation on (something was counted).
func (c *readCache) bump(tenantID string) {
	c.mu.Lock()
	c.gens[tenantID]++
	c.mu.Unlock()
}

// gen is the shop's generation.
func (c *readCache) gen(tenantID string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gens[tenantID]
}

// get returns the cached dashboard of (tenantID, rangeName) if it is fresh,
// else reads it with read (which returns the generation it read at), one
// read at a time per key: readers arriving meanwhile wait for it. It also
// returns the read's serial (cacheEntry).
func (c *readCache) get(ctx context.Context, tenantID, rangeName string, now func() time.Time,
	read func() (Dashboard, uint64, error)) (Dashboard, uint64, error) {
	k := [2]string{tenantID, rangeName}
	for {
		c.mu.Lock()
		e, ok := c.entries[k]
		if ok && e.gen == c.gens[tenantID] && now().Sub(e.at) < cacheFor {
			c.mu.Unlock()
			return e.d, e.serial, nil
		}
		if wait, busy := c.inflight[k]; busy {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return Dashboard{}, 0, ctx.Err()
			}
		}
		done := make(chan struct{})
		c.inflight[k] = done
		c.mu.Unlock()

		at := now()
		d, gen, err := read()
		c.mu.Lock()
		delete(c.inflight, k)
		c.reads++
		serial := c.reads
		if err == nil {
			if len(c.entries) >= maxCached {
				c.sweep(at)
			}
			c.entries[k] = cacheEntry{d: d, gen: gen, at: at, serial: serial}
		}
		c.mu.Unlock()
		close(done)
		return d, serial, err
	}
}

// maxCached bounds the entries before a sweep drops the stale ones.
const maxCached = 1000

func (c *readCache) sweep(now time.Time) {
	for k, e := range c.entries {
		if now.Sub(e.at) >= cacheFor || e.gen != c.gens[k[0]] {
			delete(c.entries, k)
		}
	}
}
