package tenants

import (
	"sync"
	"time"
)

// The limiters here are per process: with several replicas an attacker gets
// each limit once per replica, which still bounds guessing and sign-ups.
// Both forget idle keys, and sweep themselves when they grow large, so an
// attacker cycling keys cannot grow them without bound.

// maxLimiterKeys is how many keys a limiter keeps before sweeping idle ones.
const maxLimiterKeys = 100_000

// WindowCounter counts events per key in a fixed window that starts at the
// key's first event: failed sign-ins and sign-ups by address here, orders
// placed by address in shop/order. It is per process (see above).
type WindowCounter struct {
	mu     sync.Mutex
	window time.Duration
	counts map[string]*windowCount
}

type windowCount struct {
	n     int
	start time.Time
}

// NewWindowCounter returns a counter whose windows last window.
func NewWindowCounter(window time.Duration) *WindowCounter {
	return &WindowCounter{window: window, counts: map[string]*windowCount{}}
}

// Reached reports whether key has had limit events in its window.
func (l *WindowCounter) Reached(key string, limit int, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts[key]
	if c == nil || now.Sub(c.start) >= l.window {
		return false
	}
	return c.n >= limit
}

// Add counts an event of key.
func (l *WindowCounter) Add(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.add(key, now)
}

// Take counts an event of key unless it has had limit events in its
// window, and says whether it did, and if not how long until the window
// ends: check and count in one step, so that concurrent callers cannot all
// pass the check.
func (l *WindowCounter) Take(key string, limit int, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.counts[key]; c != nil && now.Sub(c.start) < l.window && c.n >= limit {
		return false, c.start.Add(l.window).Sub(now)
	}
	l.add(key, now)
	return true, 0
}

// Give takes back an event Take counted (the attempt did not happen).
func (l *WindowCounter) Give(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.counts[key]; c != nil && c.n > 0 {
		c.n--
	}
}

// Keys is how many keys the counter holds (its memory, for tests).
func (l *WindowCounter) Keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.counts)
}

func (l *WindowCounter) add(key string, now time.Time) {
	c := l.counts[key]
	if c == nil || now.Sub(c.start) >= l.window {
		if len(l.counts) >= maxLimiterKeys {
			for k, c := range l.counts {
				if now.Sub(c.start) >= l.window {
					delete(l.counts, k)
				}
			}
			if len(l.counts) >= maxLimiterKeys {
				clear(l.counts) // that many keys within one window: start over
			}
		}
		c = &windowCount{start: now}
		l.counts[key] = c
	}
	c.n++
}

// backoff makes a key wait after repeated failures: the first free failures
// cost nothing, each one after that doubles the wait before the next try
// (base, 2×base, … up to max). A key without a failure for forget starts
// over, and a success resets it.
type backoff struct {
	mu        sync.Mutex
	free      int
	base, max time.Duration
	forget    time.Duration
	fails     map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

func newBackoff(free int, base, max, forget time.Duration) *backoff {
	return &backoff{free: free, base: base, max: max, forget: forget, fails: map[string]*failures{}}
}

// Wait is how long key must still wait before its next try (0: it may try now).
func (b *backoff) Wait(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.fails[key]
	if f == nil || f.n < b.free || now.Sub(f.last) >= b.forget {
		return 0
	}
	return max(0, b.delay(f.n)-now.Sub(f.last))
}

// delay is the wait after n failures (n ≥ free).
func (b *backoff) delay(n int) time.Duration {
	d := b.base
	for i := b.free; i < n && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}

// Fail records a failure of key.
func (b *backoff) Fail(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.fails[key]
	if f == nil || now.Sub(f.last) >= b.forget {
		if len(b.fails) >= maxLimiterKeys {
			for k, f := range b.fails {
				if now.Sub(f.last) >= b.forget {
					delete(b.fails, k)
				}
			}
		}
		f = &failures{}
		b.fails[key] = f
	}
	f.n++
	f.last = now
}

// Reset forgets key's failures (after a success).
func (b *backoff) Reset(key string) {
	b.mu.Lock()
	delete(b.fails, key)
	b.mu.Unlock()
}
