package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// maxAttempts bounds how often an append recomputes after losing the race
// for the next sequence number (a hot beneficiary under many concurrent
// writes).
const maxAttempts = 200

// append writes the entry id for beneficiary, computed by build from the
// beneficiary's latest entry, at the next sequence number. If id exists it
// returns that entry and false (a replay). Errors from build (a refused
// withdrawal) come back as they are.
func (l *Ledger) append(ctx context.Context, tenantID, beneficiary, id string, build func(tail Entry) (Entry, error)) (Entry, bool, error) {
	next := l.next(id, beneficiary, build)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		// No read of id first: the insert's unique id says whether the
		// fact is recorded (a replay pays one failed insert, not every
		// first delivery one read).
		e, err := l.store.Append(ctx, tenantID, beneficiary, next)
		if err == nil {
			return e, true, nil
		}
		if !engine.IsUniqueViolation(err) {
			var fe *fault.Error
			if errors.As(err, &fe) {
				return Entry{}, false, err
			}
			return Entry{}, false, fmt.Errorf("append %s: %w", id, err)
		}
		// Either id is recorded (a replay, or a concurrent delivery won)
		// or another entry took the sequence number: then recompute from
		// the new tail.
		if e, err := l.store.Get(ctx, tenantID, id); err == nil {
			return e, false, nil
		} else if !errors.Is(err, fault.ErrNotFound) {
			return Entry{}, false, err
		}
		backoff := time.Duration(rand.IntN(1+min(attempt, 20))) * 200 * time.Microsecond
		select {
		case <-ctx.Done():
			return Entry{}, false, ctx.Err()
		case <-time.After(backoff):
		}
	}
	return Entry{}, false, fmt.Errorf("append %s: beneficiary %s too busy, gave up after %d attempts", id, beneficiary, maxAttempts)
}

// next turns build (the entry's own fields, from the tail) into the chain's
// next entry: id, sequence number and running balances.
func (l *Ledger) next(id, beneficiary string, build func(tail Entry) (Entry, error)) func(tail Entry) (Entry, error) {
	return func(tail Entry) (Entry, error) {
		e, err := build(tail)
		if err != nil {
			return Entry{}, err
		}
		e.ID, e.Beneficiary, e.Seq = id, beneficiary, tail.Seq+1
		e.Pending = tail.Pending + e.DPending
		e.Available = tail.Available + e.DAvailable
		e.Frozen = tail.Frozen + e.DFrozen
		e.Withdrawn = tail.Withdrawn + e.DWithdrawn
		e.Earned = tail.Earned
		if e.Class == ClassCommission && !e.Test {
			e.Earned += e.Amount
		}
		if e.At.IsZero() {
			e.At = l.clock()
		}
		return e, nil
	}
}

// errMoved: the chain moved between the reads an entry was computed from
// and its write.
var errMoved = errors.New("the beneficiary's ledger moved")

// appendRead is append for an entry computed from other reads (whether an
// earning is settled, its reversals so far). read runs after a read of the
// tail, outside any transaction, and the entry is written only if the tail
// is still that one: then no entry was added in between, so read saw every
// entry the new one must account for. Otherwise both run again. (build
// itself never reads: on SQLite it runs while the write lock is held.)
func (l *Ledger) appendRead(ctx context.Context, tenantID, beneficiary, id string, read func() error, build func(tail Entry) (Entry, error)) (Entry, bool, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		seen, err := l.store.Tail(ctx, tenantID, beneficiary)
		if err != nil {
			return Entry{}, false, err
		}
		if err := read(); err != nil {
			return Entry{}, false, err
		}
		e, ok, err := l.append(ctx, tenantID, beneficiary, id, func(tail Entry) (Entry, error) {
			if tail.Seq != seen.Seq {
				return Entry{}, errMoved
			}
			return build(tail)
		})
		if !errors.Is(err, errMoved) {
			return e, ok, err
		}
	}
	return Entry{}, false, fmt.Errorf("append %s: beneficiary %s too busy, gave up after %d attempts", id, beneficiary, maxAttempts)
}

func (l *Ledger) exists(ctx context.Context, tenantID, id string) (bool, error) {
	_, err := l.store.Get(ctx, tenantID, id)
	if errors.Is(err, fault.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
