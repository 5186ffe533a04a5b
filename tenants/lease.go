package tenants

import (
	"context"
	"microshop/tenants/engine"
	"time"
)

// Leases let one replica at a time run a job (a cron pass, a shop's sync):
// a lease is a named record in the platform database with a holder and an
// expiry. Taking it is a single conditional upsert, so two replicas racing
// for a free lease get one winner on SQLite and MongoDB alike (the loser's
// insert hits the unique name). A holder that dies simply lets it expire.

// Lease is a held lease.
type Lease struct {
	Name    string
	Holder  string
	Expires time.Time
}

// leaseStore is implemented by both platform stores.
type leaseStore interface {
	// TryLease takes or renews the named lease for holder until expires if
	// it is free, expired at now, or already held by holder.
	TryLease(ctx context.Context, name, holder string, now, expires time.Time) (bool, error)
	// ReleaseLease gives the lease up if holder holds it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Leaser takes leases on behalf of this process.
type Leaser struct {
	store  leaseStore
	holder string
	now    func() time.Time
}

// NewLeaser returns a leaser whose holder id is unique to this process.
func NewLeaser(store Store) *Leaser {
	return &Leaser{store: store, holder: engine.NewID(), now: time.Now}
}

// Holder is this process's holder id.
func (l *Leaser) Holder() string { return l.holder }

// Try takes the named lease for ttl; false means another replica holds it.
func (l *Leaser) Try(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	now := l.now().UTC()
	return l.store.TryLease(ctx, name, l.holder, now, now.Add(ttl))
}

// Release gives the lease up early.
func (l *Leaser) Release(ctx context.Context, name string) error {
	return l.store.ReleaseLease(ctx, name, l.holder)
}

// Run runs fn while holding the named lease, renewing it every ttl/3, and
// reports whether it ran (false: another replica holds the lease). fn's
// context is cancelled if the lease cannot be renewed.
func (l *Leaser) Run(ctx context.Context, name string, ttl time.Duration, fn func(ctx context.Context) error) (bool, error) {
	ok, err := l.Try(ctx, name, ttl)
	if err != nil || !ok {
		return false, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if ok, err := l.Try(ctx, name, ttl); err != nil || !ok {
					cancel()
					return
				}
			}
		}
	}()
	err = fn(ctx)
	close(done)
	if rerr := l.Release(context.WithoutCancel(ctx), name); err == nil {
		err = rerr
	}
	return true, err
}
