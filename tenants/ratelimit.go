package tenants

import (
	"context"
	"sync"
	"time"
)

// Limiters forget idle keys, and sweep themselves when they grow large, so
// an attacker cycling keys cannot grow them without bound.
//
// A WindowCounter made by NewSharedWindowCounter holds across replicas:
// besides counting in memory it sends its counts to the platform
// database's rate windows (window_store.go) and reads them back, so that
// a limit of 50 sign-in failures an address is 50 on every replica
// together, not 50 on each. It never asks the database per event: each
// replica counts at once in memory, sends what it counted at most every
// windowSync (one write per key with events), and reads a key's count when
// it has not for windowSync. Replicas see each other's events within about
// windowSync, so together they may pass a limit by what they take in that
// time; within one replica the limit is exact. When the database cannot
// be reached the counter keeps counting in memory (fails open: a limiter
// must not take sign-in down with the database).
//
// The per-account sign-in backoff stays per process: the address's shared
// failure window bounds guessing across replicas.

// maxLimiterKeys is how many keys a limiter keeps before sweeping idle ones.
const maxLimiterKeys = 100_000

// windowTimeout bounds a read made on a request's path (a variable: tests
// on FerretDB under load give it longer).
var windowTimeout = 200 * time.Millisecond

// windowSync is how often a shared counter sends and reads its counts.
const (
	windowSync = time.Second
	// Windows that started over windowKept ago are deleted (no limit's
	// window is that long), by any counter at most every windowSweep.
	windowKept  = 24 * time.Hour
	windowSweep = 10 * time.Minute
)

// WindowCounter counts events per key in a fixed window that starts at the
// key's first event: failed sign-ins and sign-ups by address here, orders
// placed by address in shop/order, image uploads, market reports.
type WindowCounter struct {
	mu     sync.Mutex
	window time.Duration
	counts map[string]*windowCount
	shared *sharedWindows // nil: per process
}

type windowCount struct {
	n     int // events in the window, as this replica knows them
	start time.Time
	// Shared counters: events counted here and not sent yet, when the last
	// of them happened (what the database's window is checked against),
	// and when the database's count was last read.
	pending int
	last    time.Time
	seen    time.Time
}

// sharedWindows is a shared counter's link to the database.
type sharedWindows struct {
	store     windowStore
	prefix    string // the counter's name: keys of counters never meet
	dirty     map[string]bool
	scheduled bool // a send is due within windowSync
	swept     time.Time
	// flush is held by a Flush from taking the counts to sending them, so
	// a Flush (a process stopping) returns only once counts another one
	// took are sent too.
	flush sync.Mutex
}

// NewWindowCounter returns a per-process counter whose windows last window.
func NewWindowCounter(window time.Duration) *WindowCounter {
	return &WindowCounter{window: window, counts: map[string]*windowCount{}}
}

// NewSharedWindowCounter returns a counter whose windows last window,
// shared by every replica on store's database under name (see above).
func NewSharedWindowCounter(store Store, name string, window time.Duration) *WindowCounter {
	l := NewWindowCounter(window)
	l.shared = &sharedWindows{store: store, prefix: name + ":", dirty: map[string]bool{}}
	return l
}

// Reached reports whether key has had limit events in its window.
func (l *WindowCounter) Reached(key string, limit int, now time.Time) bool {
	l.read(key, now)
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
	l.read(key, now)
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
		l.changed(key, c, -1)
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
		fresh := &windowCount{start: now}
		if c != nil {
			fresh.seen = c.seen
		}
		c = fresh
		l.counts[key] = c
	}
	c.n++
	c.last = now
	l.changed(key, c, 1)
}

// changed notes a shared counter's event to send (l.mu held).
func (l *WindowCounter) changed(key string, c *windowCount, delta int) {
	sh := l.shared
	if sh == nil {
		return
	}
	c.pending += delta
	sh.dirty[key] = true
	if !sh.scheduled {
		sh.scheduled = true
		time.AfterFunc(windowSync, l.Flush)
	}
}

// read brings a shared counter's key up to the database's count when it
// has not been read for windowSync.
func (l *WindowCounter) read(key string, now time.Time) {
	sh := l.shared
	if sh == nil {
		return
	}
	l.mu.Lock()
	c := l.counts[key]
	fresh := c != nil && now.Sub(c.seen) < windowSync
	l.mu.Unlock()
	if fresh {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), windowTimeout)
	defer cancel()
	n, start, err := sh.store.WindowGet(ctx, sh.prefix+key, l.window, now)
	if err != nil {
		return // fail open: count in memory
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c = l.counts[key]
	if c == nil {
		c = &windowCount{}
		l.counts[key] = c
	}
	l.merge(c, n, start, now)
}

// merge takes in the database's window of a key (l.mu held): its count
// plus what this replica has not sent yet.
func (l *WindowCounter) merge(c *windowCount, n int, start, now time.Time) {
	c.seen = now
	if start.IsZero() {
		return // no open window there: this replica's own events are all
	}
	c.n, c.start = n+c.pending, start
}

// Flush sends what a shared counter has counted and not sent, and takes in
// the totals the database answers. It runs windowSync after an event; a
// process may call it before it stops.
func (l *WindowCounter) Flush() {
	sh := l.shared
	if sh == nil {
		return
	}
	type events struct {
		n    int
		last time.Time
	}
	sh.flush.Lock()
	defer sh.flush.Unlock()
	l.mu.Lock()
	send := make(map[string]events, len(sh.dirty))
	for key := range sh.dirty {
		if c := l.counts[key]; c != nil && c.pending != 0 {
			send[key] = events{c.pending, c.last}
			c.pending = 0
		}
	}
	clear(sh.dirty)
	sh.scheduled = false
	now := time.Now()
	sweep := now.Sub(sh.swept) >= windowSweep
	if sweep {
		sh.swept = now
	}
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if sweep {
		_, _ = sh.store.SweepWindows(ctx, now.Add(-windowKept)) // best effort: the next sweep retries
	}
	for key, ev := range send {
		n, start, err := sh.store.WindowAdd(ctx, sh.prefix+key, ev.n, l.window, ev.last)
		l.mu.Lock()
		if c := l.counts[key]; c != nil {
			if err != nil {
				// Send again later, while the window lasts (a database
				// down for longer, or gone, is not retried for ever).
				if time.Since(ev.last) < l.window {
					l.changed(key, c, ev.n)
				}
			} else {
				l.merge(c, n, start, ev.last)
			}
		}
		l.mu.Unlock()
	}
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

// Counters makes a process's WindowCounters: shared by every replica when
// made over a platform store (NewCounters), per process when zero (tests,
// tools).
type Counters struct{ store Store }

// NewCounters returns the counters shared through store's database.
func NewCounters(store Store) Counters { return Counters{store: store} }

// Window returns a counter called name whose windows last window; name
// keeps its keys apart from every other counter's.
func (c Counters) Window(name string, window time.Duration) *WindowCounter {
	if c.store == nil {
		return NewWindowCounter(window)
	}
	return NewSharedWindowCounter(c.store, name, window)
}
