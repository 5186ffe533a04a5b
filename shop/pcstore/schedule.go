package pcstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"microshop/tenants/fault"
)

// RunDue starts the syncs that are due: shops whose link's interval has
// passed since their last sync, and interrupted runs (resumed here). The
// server's cron calls it every minute; it returns once the runs are
// started, and a shop whose sync is still running is skipped.
func (s *Syncer) RunDue(ctx context.Context) error {
	now := s.now().UTC()
	if err := s.rescan(ctx, now); err != nil {
		return err
	}
	s.mu.Lock()
	var due []string
	for t, at := range s.schedule {
		if !at.After(now) && s.active[t] == nil {
			due = append(due, t)
		}
	}
	s.mu.Unlock()
	for _, t := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		link, found := s.scheduledLink(ctx, t) // the schedule may be stale: the link is the truth
		at, ok := dueAt(link)
		s.plan(t, at, found && ok)
		if !found || !ok || at.After(now) {
			continue
		}
		select {
		case s.slots <- struct{}{}:
		default:
			return nil // every slot busy: the rest wait for the next minute
		}
		trigger := "schedule"
		if link.CurrentRun != "" {
			trigger = "resume"
		}
		if _, err := s.start(t, link, trigger, s.slots); err != nil {
			var b *Busy
			if !errors.As(err, &b) {
				s.log.Warn("pcstore scheduled sync", "tenant", t, "err", err)
			}
			continue
		}
		s.plan(t, now.Add(time.Duration(max(link.IntervalMinutes, MinInterval))*time.Minute), true)
	}
	return nil
}

// dueAt says when a link next needs a sync: now for an interrupted run,
// its next scheduled time otherwise; false if it syncs only on demand.
func dueAt(l Link) (time.Time, bool) {
	if l.CurrentRun != "" {
		return time.Time{}, true
	}
	if !l.scheduled() {
		return time.Time{}, false
	}
	return l.NextRunAt, true
}

// scheduledLink reads a shop's link for the scheduler: false when the shop
// has none, or it could not be read (logged).
func (s *Syncer) scheduledLink(ctx context.Context, tenantID string) (Link, bool) {
	l, err := s.store.GetLink(ctx, tenantID)
	if err != nil {
		if !errors.Is(err, fault.ErrNotFound) {
			s.log.Warn("pcstore schedule: read link", "tenant", tenantID, "err", err)
		}
		return Link{}, false
	}
	return l, true
}

// plan keeps in the schedule when the shop is next due, or drops the shop
// from it when !ok.
func (s *Syncer) plan(tenantID string, at time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.schedule[tenantID] = at
	} else {
		delete(s.schedule, tenantID)
	}
}

// forget drops the shop from the schedule: the next RunDue re-reads its
// link.
func (s *Syncer) forget(tenantID string) { s.plan(tenantID, time.Time{}, false) }

// rescan re-reads every shop's link into the in-memory schedule, at most
// every rescanEvery.
func (s *Syncer) rescan(ctx context.Context, now time.Time) error {
	s.mu.Lock()
	fresh := !s.scanned.IsZero() && now.Sub(s.scanned) < rescanEvery
	s.mu.Unlock()
	if fresh {
		return nil
	}
	ids, err := s.shops.TenantIDs(ctx)
	if err != nil {
		return fmt.Errorf("list shops: %w", err)
	}
	sched := map[string]time.Time{}
	for _, id := range ids {
		if l, found := s.scheduledLink(ctx, id); found {
			if at, ok := dueAt(l); ok {
				sched[id] = at
			}
		}
	}
	s.mu.Lock()
	s.schedule, s.scanned = sched, now
	s.mu.Unlock()
	return nil
}
