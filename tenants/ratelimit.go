package tenants

import (
	"sync"
	"time"
)

// failureLimiter counts failed attempts per key in a fixed window and refuses
// a key once it reaches its limit. It is per process: with several replicas
// an attacker gets the limit once per replica, which still bounds guessing.
type failureLimiter struct {
	mu     sync.Mutex
	window time.Duration
	counts map[string]*failureCount
}

type failureCount struct {
	n     int
	start time.Time
}

func newFailureLimiter(window time.Duration) *failureLimiter {
	return &failureLimiter{window: window, counts: map[string]*failureCount{}}
}

// Blocked reports whether key has reached limit failures in the window.
func (l *failureLimiter) Blocked(key string, limit int, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts[key]
	if c == nil || now.Sub(c.start) >= l.window {
		return false
	}
	return c.n >= limit
}

// Fail records a failure for key.
func (l *failureLimiter) Fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts[key]
	if c == nil || now.Sub(c.start) >= l.window {
		if len(l.counts) > 100_000 {
			l.sweep(now)
		}
		c = &failureCount{start: now}
		l.counts[key] = c
	}
	c.n++
}

// Reset forgets key's failures (after a successful sign-in).
func (l *failureLimiter) Reset(key string) {
	l.mu.Lock()
	delete(l.counts, key)
	l.mu.Unlock()
}

func (l *failureLimiter) sweep(now time.Time) {
	for k, c := range l.counts {
		if now.Sub(c.start) >= l.window {
			delete(l.counts, k)
		}
	}
}
